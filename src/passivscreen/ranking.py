"""Ranking table and bar chart from the adsorption records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from passivscreen.io import atomic_write_text, read_json

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

#: Anchor class colours for the bar chart.
ANCHOR_COLORS = {
    "P=O": "#1f77b4",
    "S=O": "#2ca02c",
    "C=O": "#ff7f0e",
    "N=O": "#d62728",
    "COOH": "#9467bd",
    "amine": "#8c564b",
    "thiol": "#7f7f7f",
}


def flags_of(rec: dict[str, Any]) -> list[str]:
    """Integrity flags of an adsorption record (empty for a clean row)."""
    flags = list((rec.get("integrity") or {}).get("flags", []))
    backend = rec.get("provenance", {}).get("backend", "?")
    if rec.get("status") == "reconstruction":
        flags.append(f"reconstruction[{backend}]")
    return flags


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
                "backend": rec.get("provenance", {}).get("backend"),
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


def plot_ranking(df: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Horizontal bars of E_ads per ligand coloured by anchor class (like the seed's Fig. 1e)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df[df["E_ads_eV"].notna()]
    fig, ax = plt.subplots(figsize=(7, 0.5 * max(len(ok), 2) + 1.5))
    multi = ok["site"].nunique() > 1 or ok["faces"].nunique() > 1
    labels = [
        f"{r.ligand} ({r.anchor})" + (f" {r.site}/{r.faces}" if multi else "") + (" [flag]" if r.flags else "")
        for r in ok.itertuples()
    ]
    colors = [ANCHOR_COLORS.get(a, "#333333") for a in ok["anchor"]]
    values = ok["E_ads_per_ligand_eV"].to_numpy(dtype=float)
    ax.barh(labels[::-1], values[::-1], color=colors[::-1])
    for y, (v, bo) in enumerate(zip(values[::-1], ok["bond_order"].to_numpy()[::-1])):
        txt = f"{v:.2f} eV" + ("" if pd.isna(bo) else f", BO {bo:.2f}")
        ax.text(v, y, " " + txt, va="center", ha="left" if v >= 0 else "right", fontsize=8)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("E_ads per ligand (eV)  [E(complex) - E(slab) - n E(ligand), held slab]")
    ax.set_title(title or "Adsorption energy on the PbBr2-terminated CsPbBr3 (001) slab")
    lo = min(float(values.min()) if len(ok) else -1.0, -0.5)
    ax.set_xlim(lo * 1.6, max(0.3, float(values.max()) + 0.3 if len(ok) else 0.3))
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
    title: str = "",
    order: list[str] | None = None,
    tiers_csv: str | Path | None = None,
) -> pd.DataFrame:
    """Read the adsorption JSONs, write ``ranking.csv`` (+ per-orientation and per-tier CSV) and ``ranking.png``."""
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
    plot_ranking(df, png_path, title)
    return df


def write_pdos_plot(
    clean_json: str | Path, defect_json: str | Path, complex_json: str | Path, path: str | Path
) -> None:
    """Projected DOS of the clean slab, the site's slab and the passivated complex (one figure)."""
    from passivscreen.electronic import plot_pdos

    clean, defect, cpx = read_json(clean_json), read_json(defect_json), read_json(complex_json)
    systems = [("clean slab", clean.get("orbitals"))]
    if defect.get("site_type") != "pristine":
        systems.append((f"{defect['site']} slab ({defect['face']})", defect.get("orbitals")))
    systems.append((f"{cpx['ligand']} on {cpx['site']} ({cpx['face']})", cpx.get("orbitals")))
    systems = [(label, s) for label, s in systems if s]
    if not cpx.get("orbitals"):
        systems.append((f"{cpx['ligand']}: no complex ({cpx.get('status')})", None))
    plot_pdos(systems, path, title=f"Projected DOS: {cpx['ligand']}, {cpx['site']}, {cpx['face']}")


def write_structure_picture(xyz: str | Path, record_json: str | Path, path: str | Path) -> None:
    """Side and top views of a relaxed complex (ASE's PNG writer), or a note when there is none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ase.io import read
    from ase.visualize.plot import plot_atoms

    rec = read_json(record_json)
    atoms = read(xyz) if Path(xyz).stat().st_size > 0 else None
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    if atoms is None or len(atoms) == 0:
        for ax in axes:
            ax.text(0.5, 0.5, f"no structure: {rec.get('status')}", ha="center", va="center")
            ax.axis("off")
    else:
        plot_atoms(atoms, axes[0], rotation="-90x", radii=0.5)
        plot_atoms(atoms, axes[1], rotation="0x", radii=0.5)
        axes[0].set_title("side view", fontsize=9)
        axes[1].set_title("top view", fontsize=9)
        for ax in axes:
            ax.axis("off")
    e = rec.get("E_ads_eV")
    what = f"E_ads {e:.2f} eV, BO {rec.get('bond_order') or 0:.2f}" if e is not None else rec.get("status", "")
    fig.suptitle(f"{rec['ligand']} on {rec.get('site')} ({rec.get('face')}): {what}", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
