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
    "face",
    "E_ads_eV",
    "bond_order",
    "d_anchor_Pb_A",
    "charge_transfer_e",
    "n_orientations",
    "status",
    "flags",
    "backend",
    "reason",
]

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
    flags = []
    if rec.get("bonds_changed"):
        flags.append("ligand_bonds_changed")
    if rec.get("status") == "reconstruction":
        flags.append("reconstruction")
    return flags


def ranking_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per ligand and site, best orientation; ranked by E_ads, failed and flagged rows last."""
    rows = []
    for rec in records:
        flags = flags_of(rec)
        rows.append(
            {
                "ligand": rec["ligand"],
                "smiles": rec.get("smiles"),
                "anchor": rec.get("anchor"),
                "site": rec.get("site"),
                "face": rec.get("face", "top"),
                "E_ads_eV": rec.get("E_ads_eV"),
                "bond_order": rec.get("bond_order"),
                "d_anchor_Pb_A": rec.get("d_anchor_Pb_A"),
                "charge_transfer_e": rec.get("charge_transfer_e"),
                "n_orientations": rec.get("n_orientations", 0),
                "status": rec.get("status"),
                "flags": ";".join(flags),
                "backend": rec.get("provenance", {}).get("backend"),
                "reason": rec.get("reason", ""),
            }
        )
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"])
    df["_bad"] = (df["status"] != "ok") | (df["flags"] != "")
    df = df.sort_values(["_bad", "E_ads_eV"], na_position="last", kind="stable").drop(columns="_bad")
    df.insert(0, "rank", range(1, len(df) + 1))
    return df.reset_index(drop=True)


def plot_ranking(df: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Horizontal bars of E_ads per ligand coloured by anchor class (like the seed's Fig. 1e)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df[df["E_ads_eV"].notna()]
    fig, ax = plt.subplots(figsize=(7, 0.5 * max(len(ok), 2) + 1.5))
    labels = [f"{r.ligand} ({r.anchor})" + (" [flag]" if r.flags else "") for r in ok.itertuples()]
    colors = [ANCHOR_COLORS.get(a, "#333333") for a in ok["anchor"]]
    ax.barh(labels[::-1], ok["E_ads_eV"].to_numpy()[::-1], color=colors[::-1])
    for y, (v, bo) in enumerate(zip(ok["E_ads_eV"].to_numpy()[::-1], ok["bond_order"].to_numpy()[::-1])):
        txt = f"{v:.2f} eV" + ("" if pd.isna(bo) else f", BO {bo:.2f}")
        ax.text(v, y, " " + txt, va="center", ha="left" if v >= 0 else "right", fontsize=8)
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("E_ads (eV)  [E(complex) - E(slab) - E(ligand), held slab]")
    ax.set_title(title or "Adsorption energy on the PbBr2-terminated CsPbBr3 (001) slab")
    lo = min(float(ok["E_ads_eV"].min()) if len(ok) else -1.0, -0.5)
    ax.set_xlim(lo * 1.6, max(0.3, float(ok["E_ads_eV"].max()) + 0.3 if len(ok) else 0.3))
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_ranking(
    record_paths: list[str | Path],
    csv_path: str | Path,
    png_path: str | Path,
    orient_csv: str | Path | None = None,
    title: str = "",
) -> pd.DataFrame:
    """Read the adsorption JSONs, write ``ranking.csv`` (+ per-orientation CSV) and ``ranking.png``."""
    records = [read_json(p) for p in record_paths]
    df = ranking_table(records)
    atomic_write_text(csv_path, df.to_csv(index=False, float_format="%.4f"))
    if orient_csv is not None:
        rows = [
            {"ligand": r["ligand"], "site": r.get("site"), **{k: v for k, v in o.items() if not isinstance(v, list)}}
            for r in records
            for o in r.get("orientations", [])
        ]
        atomic_write_text(orient_csv, pd.DataFrame(rows).to_csv(index=False, float_format="%.4f"))
    plot_ranking(df, png_path, title)
    return df
