"""The calibration's figures for docs/validation.md: the cross-validated statistics as a Markdown table, the
per-molecule table, and a parity plot of the raw and the calibrated (leave-one-molecule-out) E_ads against DFT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from passivscreen.calibration.dataset import loo_values as dataset_loo_values


def loo_values(data: dict[str, Any]) -> dict[str, float]:
    """Each molecule's leave-one-molecule-out calibrated E_ads (its raw value in an uncalibrated class)."""
    return dataset_loo_values(data["pairs"], data["classes"])


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def model_text(fit: dict[str, Any]) -> str:
    """A class fit's model with its parameters: ``shift +0.100``, ``linear 0.85 x -0.120``, ``group: P=O(C) -0.156,
    P=O(O) +0.208; else -0.035``."""
    if fit["model"] == "shift":
        return f"shift {fit['b']:+.3f}"
    if fit["model"] == "linear":
        return f"linear {fit['a']:.2f} x {fit['b']:+.3f}"
    if fit["model"] == "group":
        shifts = ", ".join(f"{g} {b:+.3f}" for g, b in sorted((fit.get("group_shifts_eV") or {}).items()))
        return f"group: {shifts}; else {fit['b']:+.3f}"
    return fit["model"]


def statistics_table(data: dict[str, Any]) -> str:
    """Markdown: per class and overall, n, model, raw and calibrated cross-validated MAE, largest error, Kendall
    tau, and the interval's half-width."""
    lines = [
        "| class | n | model | MAE raw (eV) | MAE calibrated, LOO (eV) | largest raw / calibrated (eV) "
        "| Kendall tau raw / calibrated | interval half-width (eV) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    stats = data["statistics"]
    for cls, s in sorted(stats["classes"].items()):
        fit = data["classes"].get(cls)
        model = model_text(fit) if fit else "not calibrated"
        hw = _fmt(fit["half_width_eV"]) if fit else "-"
        lines.append(
            f"| {cls} | {s['n']} | {model} | {_fmt(s['mae_raw_eV'])} | {_fmt(s['mae_eV'])} | "
            f"{_fmt(s['max_raw_eV'])} / {_fmt(s['max_eV'])} | "
            f"{_fmt(s['kendall_tau_raw'], '.2f')} / {_fmt(s['kendall_tau'], '.2f')} | {hw} |"
        )
    s = stats["overall"]
    lines.append(
        f"| **all** | {s['n']} | | {_fmt(s['mae_raw_eV'])} | {_fmt(s['mae_eV'])} | "
        f"{_fmt(s['max_raw_eV'])} / {_fmt(s['max_eV'])} | "
        f"{_fmt(s['kendall_tau_raw'], '.2f')} / {_fmt(s['kendall_tau'], '.2f')} | |"
    )
    return "\n".join(lines)


def molecule_table(data: dict[str, Any]) -> str:
    """Markdown: per molecule, its class, screening, calibrated (LOO) and DFT E_ads and both errors."""
    loo = loo_values(data)
    lines = [
        "| molecule | class | group | E_ads screen (eV) | calibrated, LOO (eV) | DFT (eV) "
        "| error raw / calibrated (eV) |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in sorted(data["pairs"], key=lambda p: (p["class"], p["E_dft_eV"])):
        c = loo[p["ligand"]]
        lines.append(
            f"| {p['ligand']} | {p['class']} | {p.get('group') or '-'} | {p['E_screen_eV']:.3f} | {c:.3f} | "
            f"{p['E_dft_eV']:.3f} | "
            f"{p['E_screen_eV'] - p['E_dft_eV']:+.3f} / {c - p['E_dft_eV']:+.3f} |"
        )
    return "\n".join(lines)


def plot_calibration_parity(data: dict[str, Any], path: str | Path) -> None:
    """Two panels: raw and leave-one-molecule-out calibrated screening E_ads against DFT, coloured by class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from passivscreen.analysis.figures import ANCHOR_COLORS

    loo = loo_values(data)
    pairs = data["pairs"]
    dft = np.array([p["E_dft_eV"] for p in pairs])
    panels = [
        ("raw", np.array([p["E_screen_eV"] for p in pairs]), "mae_raw_eV", "kendall_tau_raw"),
        ("calibrated (leave-one-molecule-out)", np.array([loo[p["ligand"]] for p in pairs]), "mae_eV", "kendall_tau"),
    ]
    allv = np.concatenate([dft] + [v for _, v, _, _ in panels])
    lo, hi = allv.min() - 0.15, allv.max() + 0.15
    fig, axes = plt.subplots(1, 2, figsize=(10, 5), sharey=True)
    overall = data["statistics"]["overall"]
    for ax, (label, values, mae, tau) in zip(axes, panels):
        for cls in sorted({p["class"] for p in pairs}):
            idx = [i for i, p in enumerate(pairs) if p["class"] == cls]
            anchor = pairs[idx[0]]["anchor"]
            ax.scatter(values[idx], dft[idx], s=30, label=cls, color=ANCHOR_COLORS.get(anchor, "#333333"), zorder=3)
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.fill_between([lo, hi], [lo - 0.05, hi - 0.05], [lo + 0.05, hi + 0.05], color="0.9", zorder=0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel(f"E_ads per ligand, screening level, {label.split(' (')[0]} (eV)")
        t = overall[tau]
        ax.set_title(f"{label}: MAE {overall[mae]:.3f} eV, Kendall tau {'-' if t is None else f'{t:.2f}'}", fontsize=9)
    axes[0].set_ylabel("E_ads per ligand, DFT (eV)")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"{data['name']} ({overall['n']} molecules; grey band +/-0.05 eV)", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
