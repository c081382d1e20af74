"""Figures: projected DOS and the ranking bar chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from passivscreen.analysis.electronic import pdos, trap_states
from passivscreen.types import E_ADS_CALIBRATED, E_ADS_INTERVAL, E_ADS_PER_LIGAND, E_ADS_UNCERTAINTY

#: Anchor class colours for the bar chart.
ANCHOR_COLORS = {
    "P=O": "#1f77b4",
    "S=O": "#2ca02c",
    "C=O": "#ff7f0e",
    "N=O": "#d62728",
    "COOH": "#9467bd",
    "amine": "#8c564b",
    "thiol": "#7f7f7f",
    "pyridine": "#17becf",
    "nitrile": "#9edae5",
    "phosphine": "#393b79",
    "thioether": "#637939",
    "carboxylate": "#c5b0d5",
    "thiolate": "#c7c7c7",
    "phosphonate": "#aec7e8",
    "halide": "#bcbd22",
    "ammonium": "#e377c2",
}


def plot_pdos(systems: list[tuple[str, dict[str, Any]]], path: str | Path, title: str = "") -> None:
    """Stacked total and surface-Pb projected DOS, each aligned at its own VBM."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(systems), 1, figsize=(7, 2.2 * len(systems) + 0.6), sharex=True, squeeze=False)
    grid = np.linspace(-3.0, 6.0, 900)
    for ax, (label, summ) in zip(axes[:, 0], systems):
        if summ is None:
            ax.text(0.5, 0.5, label, transform=ax.transAxes, ha="center", va="center")
            ax.set_yticks([])
            continue
        traps = trap_states(summ)
        x = grid + traps["vbm_eV"]
        ax.fill_between(grid, pdos(summ, None, x), color="0.85", label="total")
        ax.plot(grid, pdos(summ, "surface_Pb", x), color="C0", label="surface Pb")
        ax.plot(grid, pdos(summ, "defect", x), color="C3", label="defect/site Pb")
        if "w_ligand" in summ:
            ax.plot(grid, pdos(summ, "ligand", x), color="C2", lw=0.8, label="ligand")
        ax.axvline(0.0, color="k", lw=0.6)
        if np.isfinite(traps["cbm_eV"]):
            ax.axvline(traps["cbm_eV"] - traps["vbm_eV"], color="k", lw=0.6, ls="--")
        for t in traps["trap_energies_eV"]:
            ax.axvline(t, color="C3", lw=1.2, ls=":")
        ax.set_ylabel("DOS (1/eV)")
        ax.set_title(f"{label}: gap {traps['gap_eV']:.2f} eV, trap depth {traps['trap_depth_eV']:.2f} eV", fontsize=9)
        ax.set_ylim(0, None)
    for ax in axes[:, 0]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    axes[-1, 0].set_xlabel("E - VBM (eV)   [solid: VBM, dashed: CBM, dotted: trap states]")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ranking(df: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Horizontal bars of E_ads per ligand coloured by anchor class (like the seed's Fig. 1e).

    Bars: the calibrated E_ads per ligand (``E_ads_calibrated_eV``, the raw value where no calibration
    applies; raw-only tables: ``E_ads_per_ligand_eV``). Error bars: the whole interval (``E_ads_interval_eV``:
    the method's, from the calibration, with the convergence uncertainty), or the harness's numerical
    uncertainty alone in a table without it; a row that is not calibrated is named ``raw``; hatched bars:
    flagged rows; the tier that computed each E_ads is named when there are several.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df[df["E_ads_eV"].notna()].iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(len(ok), 2) + 1.6))
    multi = ok["site"].nunique() > 1 or ok["faces"].nunique() > 1
    tiers = "tier" in ok and ok["tier"].nunique() > 1
    calibrated = "calibration" in ok and not ok["calibration"].fillna("none").astype(str).str.startswith("none").all()
    labels = [
        f"{r.ligand} ({r.anchor})"
        + (f" {r.site}/{r.faces}" if multi else "")
        + (f" [{r.tier}]" if tiers else "")
        + (" [flag]" if r.flags else "")
        + (" [raw]" if calibrated and str(getattr(r, "calibration", "")).startswith("none") else "")
        for r in ok.itertuples()
    ]
    value_col = E_ADS_CALIBRATED if E_ADS_CALIBRATED in ok else E_ADS_PER_LIGAND
    values = pd.to_numeric(ok[value_col]).fillna(ok[E_ADS_PER_LIGAND]).to_numpy(dtype=float)
    err_col = E_ADS_INTERVAL if E_ADS_INTERVAL in ok else E_ADS_UNCERTAINTY
    err = pd.to_numeric(ok.get(err_col, pd.Series(index=ok.index, dtype=float))).to_numpy(dtype=float)
    y = range(len(ok))
    bars = ax.barh(
        y,
        values,
        color=[ANCHOR_COLORS.get(a, "#333333") for a in ok["anchor"]],
        xerr=None if pd.isna(err).all() else pd.Series(err).fillna(0.0).to_numpy(),
        capsize=3,
    )
    for bar, flagged in zip(bars, ok["flags"].fillna("").astype(bool)):
        if flagged:
            bar.set_hatch("///")
            bar.set_alpha(0.55)
    # each label beyond its error bar, so that the bar does not run through the text
    reach = np.nan_to_num(err, nan=0.0)
    for k, (v, e, bo) in enumerate(zip(values, reach, ok["bond_order"].to_numpy())):
        txt = f"{v:.2f} eV" + ("" if pd.isna(bo) else f", BO {bo:.2f}")
        at, side = (v + e, "left") if v >= 0 else (v - e, "right")
        ax.text(at, k, " " + txt + " ", va="center", ha=side, fontsize=8)
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.axvline(0, color="k", lw=0.8)
    what = "calibrated E_ads per ligand (eV)" if calibrated else "E_ads per ligand (eV)"
    if err_col == E_ADS_INTERVAL and not pd.isna(err).all():
        what += ", bars: the whole interval"
    ax.set_xlabel(f"{what}  [E(complex) - E(slab) - n E(ligand), held slab]")
    ax.set_title(title or "Adsorption energy on the PbBr2-terminated CsPbBr3 (001) slab", fontsize=10)
    lo = min(float((values - reach).min()) if len(ok) else -1.0, -0.5)
    ax.set_xlim(lo * 1.7, max(0.3, float((values + reach).max()) + 0.3 if len(ok) else 0.3))
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
