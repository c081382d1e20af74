"""The ranking: one row per ligand, site and faces from the adsorption records, ordered by the config's criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from passivscreen.analysis.figures import plot_ranking
from passivscreen.analysis.integrity import flags_of, record_backend
from passivscreen.calibration import calibrate
from passivscreen.calibration.dataset import screen_reduced
from passivscreen.records.files import atomic_write_text, read_json
from passivscreen.records.layout import RankingFiles
from passivscreen.types import (
    E_ADS,
    E_ADS_CALIBRATED,
    E_ADS_INTERVAL,
    E_ADS_PER_LIGAND,
    E_ADS_UNCERTAINTY,
    RANKING_COLUMNS,
    tier_column,
)

#: The columns of ranking.csv, in order (the ``rank_<criterion>`` columns follow): :class:`RankingRow`.
COLUMNS = RANKING_COLUMNS

#: Ranking criteria: column and whether larger is better.
CRITERIA: dict[str, tuple[str, bool]] = {
    "flags": ("_flagged", False),
    "E_ads_eV": (E_ADS_CALIBRATED, False),  # per ligand, calibrated where a calibration applies
    "bond_order": ("bond_order", True),
    "trap_removed_eV": ("trap_removed_eV", True),
    "cooperativity_eV": ("cooperativity_eV", False),
    "charge_transfer_e": ("charge_transfer_e", True),
}


def _key(rec: dict[str, Any]) -> tuple[str, str | None, str]:
    return rec["ligand"], rec.get("site"), rec.get("face", "top")


def merge_levels(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per ligand, site and faces: the one of the highest tier that computed it (status ok).

    Screen records are level 0, the funnel tiers' records level 1, 2, ...; a funnel record that failed
    does not replace the row below it, and records of unused funnel ranks (``not_selected``) are dropped.
    """
    best: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        if rec.get("status") == "not_selected":
            continue
        cur = best.get(_key(rec))
        ok = rec.get("status") == "ok"
        if cur is None or (ok and (cur.get("status") != "ok" or rec.get("level", 0) > cur.get("level", 0))):
            best[_key(rec)] = rec
    return list(best.values())


def _trap(rec: dict[str, Any], key: str, which: str) -> float | None:
    traps = rec.get("traps_before") if which == "before" else rec.get("traps")
    return None if not traps else traps.get(key)


def ranking_table(
    records: list[dict[str, Any]],
    order: list[str] | None = None,
    uncertainty: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per ligand, site and faces (best orientation, highest tier reached), ranked.

    Failed rows always come last; rows that reached a higher funnel tier come before the others (they
    are ranked by the better method); within a tier the rows are sorted by the criteria in ``order``
    (default: flagged rows last, then E_ads per ligand). Each criterion also gets its own
    ``rank_<criterion>`` column. ``uncertainty`` (``{"tier": name, "anchors": {class: eV}}``, from the
    convergence harness) fills ``E_ads_uncertainty_eV`` for the rows computed by that tier. ``calibration``
    (:func:`passivscreen.calibration.resolve`) gives ``E_ads_calibrated_eV`` (per ligand), its interval's
    half-width ``E_ads_interval_eV`` (the method's interval and the convergence uncertainty) and the column
    ``calibration`` (the data set's name, or ``none: why``); the E_ads criterion ranks by the calibrated value.
    """
    order = list(order or ["flags", "E_ads_eV"])
    unc = uncertainty or {}
    rows = []
    for rec in merge_levels(records):
        flags = flags_of(rec)
        before, after = _trap(rec, "trap_depth_eV", "before"), _trap(rec, "trap_depth_eV", "after")
        rows.append(
            {
                "ligand": rec["ligand"],
                "smiles": rec.get("smiles"),
                "anchor": rec.get("anchor"),
                "binding": rec.get("binding", "L"),
                "site": rec.get("site"),
                "faces": rec.get("face", "top"),
                "repeat": rec.get("repeat"),
                E_ADS: rec.get(E_ADS),
                **_energies(rec, unc, calibration),
                "bond_order": rec.get("bond_order"),
                "denticity": rec.get("denticity"),
                "d_anchor_Pb_A": rec.get("d_anchor_Pb_A"),
                "charge_transfer_e": rec.get("charge_transfer_e"),
                "trap_depth_eV_before": before,
                "trap_depth_eV_after": after,
                "trap_removed_eV": None if before is None or after is None else before - after,
                "gap_eV_before": _trap(rec, "gap_eV", "before"),
                "gap_eV_after": _trap(rec, "gap_eV", "after"),
                "dipole_energy_estimate_eV": rec.get("dipole_energy_estimate_eV"),
                "n_orientations": rec.get("n_orientations", 0),
                "n_conformers": rec.get("n_conformers", 1),
                "min_image_distance_A": rec.get("min_image_distance_A"),
                "complete": True,
                "status": rec.get("status"),
                "flags": ";".join(flags),
                "tier": rec.get("tier"),
                "_level": -int(rec.get("level", 0)),
                "backend": record_backend(rec),
                "reason": rec.get("reason", ""),
            }
        )
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("rank", "cooperativity_eV")] + ["_level"])
    df["cooperativity_eV"] = _cooperativity(df)
    df["_flagged"] = (df["flags"] != "").astype(int)
    df["_failed"] = (df["status"] != "ok").astype(int)
    for name, (col, larger) in CRITERIA.items():
        df[f"rank_{name}"] = df[col].rank(method="min", ascending=not larger, na_option="bottom").astype(int)
    keys = ["_failed", "_level"] + [CRITERIA[c][0] for c in order]
    asc = [True, True] + [not CRITERIA[c][1] for c in order]
    df = df.sort_values(keys, ascending=asc, na_position="last", kind="stable")
    df = df.drop(columns=["_flagged", "_failed", "_level"])
    df.insert(0, "rank", range(1, len(df) + 1))
    cols = COLUMNS + [c for c in df.columns if c.startswith("rank_")]
    return df[cols].reset_index(drop=True)


def _energies(rec: dict[str, Any], unc: dict[str, Any], calibration: dict[str, Any] | None) -> dict[str, Any]:
    """A row's E_ads per ligand, its convergence uncertainty, calibrated value, interval and calibration."""
    per_ligand = rec.get(E_ADS_PER_LIGAND, rec.get(E_ADS))
    conv = (unc.get("anchors") or {}).get(rec.get("anchor")) if rec.get("tier") == unc.get("tier") else None
    e_cal, interval, how = calibrate(
        calibration,
        anchor=rec.get("anchor"),
        binding=rec.get("binding", "L"),
        site=rec.get("site"),
        tier=rec.get("tier"),
        e_raw=per_ligand,
        convergence=conv,
        smiles=rec.get("smiles"),
        reduced=screen_reduced(rec, (calibration or {}).get("backend")),
    )
    return {
        E_ADS_PER_LIGAND: per_ligand,
        E_ADS_UNCERTAINTY: conv,
        E_ADS_CALIBRATED: e_cal,
        E_ADS_INTERVAL: interval,
        "calibration": how,
    }


def _cooperativity(df: pd.DataFrame) -> pd.Series:
    """E_both - (E_top + E_bottom) for each ligand and site with all three faces converged."""
    out = pd.Series([None] * len(df), index=df.index, dtype=object)
    ok = df[df["status"] == "ok"]
    for (lig, site), grp in ok.groupby(["ligand", "site"]):
        e = grp.set_index("faces")[E_ADS]
        if {"top", "bottom", "both"} <= set(e.index):
            coop = float(e["both"] - (e["top"] + e["bottom"]))
            out[(df["ligand"] == lig) & (df["site"] == site)] = coop
    return pd.to_numeric(out)


def tier_table(
    records: list[dict[str, Any]], tier_names: list[str] | None = None, calibration: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Per ligand, site and faces: E_ads at every tier that saw it, which tiers saw it, the rank each gives.

    A funnel tier "saw" a row when it selected it (``seen_<tier>``), whether or not its calculation
    finished; ``tier`` names the highest tier whose E_ads the ranking uses. With a ``calibration``, the
    calibrated tier's E_ads also calibrated (``E_ads_per_ligand_eV_<tier>_calibrated``), for every row,
    those a funnel tier re-evaluated included.
    """
    by_key: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        if rec.get("status") == "not_selected":
            continue
        row = by_key.setdefault(
            _key(rec),
            {"ligand": rec["ligand"], "anchor": rec.get("anchor"), "site": rec.get("site"), "faces": rec.get("face")},
        )
        n = 2 if rec.get("face") == "both" else 1
        for tier in rec.get("tiers") or []:
            e = tier.get(E_ADS)
            row[tier_column(tier["name"])] = None if e is None else e / n
            row[f"seen_{tier['name']}"] = True
            if tier.get("E_ads_dispersion_eV") is not None:  # a DFT-D row: the dispersion part of its E_ads
                row[f"E_ads_dispersion_per_ligand_eV_{tier['name']}"] = tier["E_ads_dispersion_eV"] / n
            for what in ("ligand_charge_e", "ligand_spin"):  # a funnel tier's populations (CP2K's Hirshfeld)
                if tier.get(what) is not None:
                    row[f"{what}_{tier['name']}"] = tier[what]
        if rec.get("kind") == "funnel":
            row[f"seen_{rec['tier']}"] = True
            row[f"status_{rec['tier']}"] = rec.get("status")
        if calibration and row.get(tier_column(calibration["tier"])) is not None:
            row["binding"] = rec.get("binding", "L")
            row[tier_column(calibration["tier"] + "_calibrated")] = calibrate(
                calibration,
                anchor=rec.get("anchor"),
                binding=row["binding"],
                site=rec.get("site"),
                tier=calibration["tier"],
                e_raw=row[tier_column(calibration["tier"])],
                smiles=rec.get("smiles"),
                reduced=screen_reduced(rec, calibration.get("backend")),
            )[0]
    merged = {_key(r): r for r in merge_levels(records)}
    for key, row in by_key.items():
        row["tier"] = merged[key].get("tier")
        row["status"] = merged[key].get("status")
    df = pd.DataFrame(list(by_key.values()))
    for name in tier_names or []:
        col = f"seen_{name}"
        df[col] = df[col].fillna(False).astype(bool) if col in df else False
    for col in [c for c in df.columns if c.startswith(tier_column(""))]:
        name = col.removeprefix(tier_column(""))
        df[f"rank_{name}"] = df[col].rank(method="min", na_option="bottom").astype(int)
    return df


def write_ranking(
    record_paths: list[str | Path],
    files: RankingFiles,
    *,
    set_name: str = "",
    order: list[str] | None = None,
    uncertainty: dict[str, Any] | None = None,
    tier_names: list[str] | None = None,
    pending: dict[str, int] | None = None,
    calibration: dict[str, Any] | None = None,
    n_expected: int | None = None,
) -> pd.DataFrame:
    """Read the adsorption (and funnel) JSONs and write the ranking's files (:class:`RankingFiles`):
    ``ranking.csv``, the per-orientation and per-tier tables, ``ranking.png`` and the failed-row summary.

    The figure's title names the backend(s) that computed the ranked E_ads (the records' final tiers).
    A ranking of a run still going (``passivscreen rank``): ``pending`` counts each ligand's complexes not
    finished (column ``complete``: every complex of the row's ligand is in, so its best site is final) and
    ``n_expected`` the complexes of the whole screen (the title says how many of them are in).
    ``calibration``: :func:`passivscreen.calibration.resolve` of the config (None: raw values only).
    """
    records = [read_json(p) for p in record_paths]
    df = ranking_table(records, order, uncertainty, calibration)
    df["complete"] = ~df["ligand"].isin([k for k, n in (pending or {}).items() if n])
    atomic_write_text(files.csv, df.to_csv(index=False, float_format="%.4f"))
    atomic_write_text(
        files.tiers, tier_table(records, tier_names, calibration).to_csv(index=False, float_format="%.4f")
    )
    rows = [
        {
            "ligand": r["ligand"],
            "site": r.get("site"),
            "faces": r.get("face"),
            **{k: v for k, v in o.items() if not isinstance(v, (list, dict))},
        }
        for r in records
        for o in r.get("orientations", [])
    ]
    atomic_write_text(files.orientations, pd.DataFrame(rows).to_csv(index=False, float_format="%.4f"))
    atomic_write_text(files.failures, failure_summary(df) + "\n")
    n_in = sum(r.get("kind") == "adsorption" for r in records)
    plot_ranking(df, files.png, ranking_title(df, set_name, n_in, n_expected))
    return df


def failure_summary(df: pd.DataFrame, max_groups: int = 15) -> str:
    """One screen on the rows that did not finish: how many of how many, grouped by status and reason, with the
    ligands of each group (the first few)."""
    failed = df[df["status"] != "ok"]
    if failed.empty:
        return f"{len(df)} rows, none failed"
    reason = failed["reason"].fillna("").astype(str).str.split("\n").str[0].str.slice(0, 100)
    groups = failed.assign(_reason=reason).groupby(["status", "_reason"], sort=False)["ligand"].agg(list)
    groups = groups.loc[groups.map(len).sort_values(ascending=False, kind="stable").index]
    lines = [f"{len(failed)} of {len(df)} rows failed:"]
    for (status, why), ligands in list(groups.items())[:max_groups]:
        names = ", ".join(sorted(set(ligands))[:4]) + (", ..." if len(set(ligands)) > 4 else "")
        lines.append(f"  {len(ligands):5d}  {status}: {why or '(no reason given)'}  [{names}]")
    if len(groups) > max_groups:
        lines.append(f"  ... and {len(groups) - max_groups} more groups (ranking.csv, columns status and reason)")
    return "\n".join(lines)


def ranking_title(df: pd.DataFrame, set_name: str = "", n_in: int | None = None, n_expected: int | None = None) -> str:
    """``<set>: E_ads at <backends of the ranked rows>, held slab``, and ``(k of n complexes in)`` while a
    run is still going (``n_in < n_expected``)."""
    backends = sorted({b for b in df["backend"].dropna() if b})
    at = "/".join(backends) or "no backend"
    partial = f" ({n_in} of {n_expected} complexes in)" if n_expected and (n_in or 0) < n_expected else ""
    return f"{set_name + ': ' if set_name else ''}E_ads at {at}, held slab{partial}"


def write_validation(
    record_paths: list[str | Path],
    tier_names: list[str],
    screen: str,
    check: str,
    csv_path: str | Path,
    png_path: str | Path,
    json_path: str | Path,
    calibration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The screening tier against the check tier: ``validation.csv`` (per row, E_ads at every tier and the
    error), ``validation.json`` (MAE, mean error, Kendall tau) and ``parity.png``. With an active
    ``calibration``, ``validation.json`` also holds the calibrated screening values' agreement (key
    ``calibrated``; in-sample for molecules of the calibration data set)."""
    from passivscreen.analysis.validation import agreement, plot_parity
    from passivscreen.records.files import write_json

    records = [read_json(p) for p in record_paths]
    tiers = tier_table(records, tier_names, calibration)
    both, stats = agreement(tiers, screen, check)
    if calibration and calibration.get("active"):
        cal = agreement(tiers, f"{screen}_calibrated", check)[1]
        stats["calibrated"] = {**cal, "data_set": calibration["name"]}
    col = f"seen_{check}"
    seen = tiers[tiers[col].astype(bool)] if col in tiers else tiers.iloc[:0]
    table = seen.merge(both[["ligand", "site", "faces", "error_eV"]], on=["ligand", "site", "faces"], how="left")
    atomic_write_text(csv_path, table.to_csv(index=False, float_format="%.4f"))
    write_json(json_path, stats)
    plot_parity(both, stats, png_path)
    return stats
