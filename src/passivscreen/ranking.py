"""The ranking: one row per ligand, site and faces from the adsorption records, ordered by the config's criteria."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from passivscreen.analysis.figures import plot_ranking
from passivscreen.analysis.integrity import flags_of, record_backend
from passivscreen.records.files import atomic_write_text, read_json

COLUMNS = [
    "rank",
    "ligand",
    "smiles",
    "anchor",
    "site",
    "faces",
    "E_ads_eV",
    "E_ads_per_ligand_eV",
    "cooperativity_eV",
    "bond_order",
    "d_anchor_Pb_A",
    "charge_transfer_e",
    "trap_depth_eV_before",
    "trap_depth_eV_after",
    "trap_removed_eV",
    "gap_eV_before",
    "gap_eV_after",
    "dipole_energy_estimate_eV",
    "n_orientations",
    "status",
    "flags",
    "backend",
    "reason",
]

#: Ranking criteria: column and whether larger is better.
CRITERIA: dict[str, tuple[str, bool]] = {
    "flags": ("_flagged", False),
    "E_ads_eV": ("E_ads_per_ligand_eV", False),
    "bond_order": ("bond_order", True),
    "trap_removed_eV": ("trap_removed_eV", True),
    "cooperativity_eV": ("cooperativity_eV", False),
    "charge_transfer_e": ("charge_transfer_e", True),
}


def _trap(rec: dict[str, Any], key: str, which: str) -> float | None:
    traps = rec.get("traps_before") if which == "before" else rec.get("traps")
    return None if not traps else traps.get(key)


def ranking_table(records: list[dict[str, Any]], order: list[str] | None = None) -> pd.DataFrame:
    """One row per ligand, site and faces (best orientation), ranked.

    Failed rows always come last; the others are sorted by the criteria in
    ``order`` (default: flagged rows last, then E_ads per ligand). Each criterion
    also gets its own ``rank_<criterion>`` column.
    """
    order = list(order or ["flags", "E_ads_eV"])
    rows = []
    for rec in records:
        flags = flags_of(rec)
        before, after = _trap(rec, "trap_depth_eV", "before"), _trap(rec, "trap_depth_eV", "after")
        rows.append(
            {
                "ligand": rec["ligand"],
                "smiles": rec.get("smiles"),
                "anchor": rec.get("anchor"),
                "site": rec.get("site"),
                "faces": rec.get("face", "top"),
                "E_ads_eV": rec.get("E_ads_eV"),
                "E_ads_per_ligand_eV": rec.get("E_ads_per_ligand_eV", rec.get("E_ads_eV")),
                "bond_order": rec.get("bond_order"),
                "d_anchor_Pb_A": rec.get("d_anchor_Pb_A"),
                "charge_transfer_e": rec.get("charge_transfer_e"),
                "trap_depth_eV_before": before,
                "trap_depth_eV_after": after,
                "trap_removed_eV": None if before is None or after is None else before - after,
                "gap_eV_before": _trap(rec, "gap_eV", "before"),
                "gap_eV_after": _trap(rec, "gap_eV", "after"),
                "dipole_energy_estimate_eV": rec.get("dipole_energy_estimate_eV"),
                "n_orientations": rec.get("n_orientations", 0),
                "status": rec.get("status"),
                "flags": ";".join(flags),
                "backend": record_backend(rec),
                "reason": rec.get("reason", ""),
            }
        )
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("rank", "cooperativity_eV")])
    df["cooperativity_eV"] = _cooperativity(df)
    df["_flagged"] = (df["flags"] != "").astype(int)
    df["_failed"] = (df["status"] != "ok").astype(int)
    for name, (col, larger) in CRITERIA.items():
        df[f"rank_{name}"] = df[col].rank(method="min", ascending=not larger, na_option="bottom").astype(int)
    keys = ["_failed"] + [CRITERIA[c][0] for c in order]
    asc = [True] + [not CRITERIA[c][1] for c in order]
    df = df.sort_values(keys, ascending=asc, na_position="last", kind="stable")
    df = df.drop(columns=["_flagged", "_failed"])
    df.insert(0, "rank", range(1, len(df) + 1))
    cols = COLUMNS + [c for c in df.columns if c.startswith("rank_")]
    return df[cols].reset_index(drop=True)


def _cooperativity(df: pd.DataFrame) -> pd.Series:
    """E_both - (E_top + E_bottom) for each ligand and site with all three faces converged."""
    out = pd.Series([None] * len(df), index=df.index, dtype=object)
    ok = df[df["status"] == "ok"]
    for (lig, site), grp in ok.groupby(["ligand", "site"]):
        e = grp.set_index("faces")["E_ads_eV"]
        if {"top", "bottom", "both"} <= set(e.index):
            coop = float(e["both"] - (e["top"] + e["bottom"]))
            out[(df["ligand"] == lig) & (df["site"] == site)] = coop
    return pd.to_numeric(out)


def tier_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """E_ads of the best orientation at every tier of the protocol, and the rank each tier gives."""
    rows = []
    for rec in records:
        row = {"ligand": rec["ligand"], "site": rec.get("site"), "faces": rec.get("face"), "status": rec.get("status")}
        n = 2 if rec.get("face") == "both" else 1
        for tier in rec.get("tiers") or []:
            e = tier.get("E_ads_eV")
            row[f"E_ads_per_ligand_eV_{tier['name']}"] = None if e is None else e / n
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in [c for c in df.columns if c.startswith("E_ads_per_ligand_eV_")]:
        name = col.removeprefix("E_ads_per_ligand_eV_")
        df[f"rank_{name}"] = df[col].rank(method="min", na_option="bottom").astype(int)
    return df


def write_ranking(
    record_paths: list[str | Path],
    csv_path: str | Path,
    png_path: str | Path,
    orient_csv: str | Path | None = None,
    set_name: str = "",
    order: list[str] | None = None,
    tiers_csv: str | Path | None = None,
) -> pd.DataFrame:
    """Read the adsorption JSONs, write ``ranking.csv`` (+ per-orientation and per-tier CSV) and ``ranking.png``.

    The figure's title names the backend(s) that computed the ranked E_ads (the records' final tiers).
    """
    records = [read_json(p) for p in record_paths]
    df = ranking_table(records, order)
    atomic_write_text(csv_path, df.to_csv(index=False, float_format="%.4f"))
    if tiers_csv is not None:
        atomic_write_text(tiers_csv, tier_table(records).to_csv(index=False, float_format="%.4f"))
    if orient_csv is not None:
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
        atomic_write_text(orient_csv, pd.DataFrame(rows).to_csv(index=False, float_format="%.4f"))
    plot_ranking(df, png_path, ranking_title(df, set_name))
    return df


def ranking_title(df: pd.DataFrame, set_name: str = "") -> str:
    """``<set>: E_ads at <backends of the ranked rows>, held slab``."""
    backends = sorted({b for b in df["backend"].dropna() if b})
    at = "/".join(backends) or "no backend"
    return f"{set_name + ': ' if set_name else ''}E_ads at {at}, held slab"
