"""Agreement of the screening tier with a check tier (DFT): per-row E_ads at both, errors, rank correlation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from passivscreen.types import tier_column


def agreement(tiers: pd.DataFrame, screen: str, check: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows of ``tiers`` (the ranking's tiers.csv) with E_ads at both tiers, and the statistics.

    Statistics: n, mean absolute error, mean signed error (screen - check), largest error, Kendall tau of
    the two orders with its p-value, and whether both tiers put the same row first.
    """
    from scipy.stats import kendalltau

    a, b = tier_column(screen), tier_column(check)
    cols = [c for c in ("ligand", "anchor", "site", "faces") if c in tiers]
    if a not in tiers or b not in tiers:
        return pd.DataFrame(columns=[*cols, a, b, "error_eV"]), {"n": 0}
    both = tiers[tiers[a].notna() & tiers[b].notna()][[*cols, a, b]].copy()
    both["error_eV"] = both[a] - both[b]
    stats: dict[str, Any] = {"n": len(both), "screen_tier": screen, "check_tier": check}
    if len(both):
        err = both["error_eV"].to_numpy(dtype=float)
        stats.update(mae_eV=float(np.abs(err).mean()), mse_eV=float(err.mean()), max_abs_eV=float(np.abs(err).max()))
        stats["same_first"] = bool(both[a].idxmin() == both[b].idxmin())
    if len(both) >= 2:
        tau, p = kendalltau(both[a], both[b])
        stats.update(kendall_tau=float(tau), kendall_p=float(p))
    return both.reset_index(drop=True), stats


def plot_parity(both: pd.DataFrame, stats: dict[str, Any], path: str | Path) -> None:
    """Screen-tier E_ads against check-tier E_ads, one point per row, labelled, with the y = x line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from passivscreen.analysis.figures import ANCHOR_COLORS

    screen, check = stats.get("screen_tier", "screen"), stats.get("check_tier", "check")
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    if len(both):
        x = both[tier_column(check)].to_numpy(dtype=float)
        y = both[tier_column(screen)].to_numpy(dtype=float)
        colors = [ANCHOR_COLORS.get(a, "#333333") for a in both.get("anchor", pd.Series([None] * len(both)))]
        ax.scatter(x, y, c=colors, s=40, zorder=3)
        for xi, yi, lab in zip(x, y, both["ligand"]):
            ax.annotate(lab, (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
        lo, hi = min(x.min(), y.min()) - 0.2, max(x.max(), y.max()) + 0.2
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.fill_between([lo, hi], [lo - 0.1, hi - 0.1], [lo + 0.1, hi + 0.1], color="0.9", zorder=0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    ax.set_xlabel(f"E_ads per ligand, {check} (eV)")
    ax.set_ylabel(f"E_ads per ligand, {screen} (eV)")
    text = f"n = {stats.get('n', 0)}"
    if "mae_eV" in stats:
        text += f", MAE {stats['mae_eV']:.2f} eV, mean error {stats['mse_eV']:+.2f} eV"
    if "kendall_tau" in stats:
        text += f", Kendall tau {stats['kendall_tau']:.2f}"
    ax.set_title(text + "\n(grey band: +/-0.1 eV)", fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
