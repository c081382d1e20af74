"""The harness's outputs: ``convergence.csv``, ``convergence.png`` and the per-anchor uncertainty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from passivscreen.records.files import atomic_write_text, write_json


def plot_convergence(df: pd.DataFrame, path: str | Path, tolerance: float) -> None:
    """One panel per axis: E_ads minus E_ads at the protocol's setting, one line per complex."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes_names = list(dict.fromkeys(df["axis"])) if not df.empty else ["vacuum"]
    fig, axes = plt.subplots(1, len(axes_names), figsize=(4.2 * len(axes_names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], axes_names):
        sub = df[df["axis"] == name]
        labels = list(dict.fromkeys(sub["value"].astype(str)))
        numeric = name in ("vacuum", "accuracy", "layers")
        first = (sub["site"].iloc[0], sub["faces"].iloc[0]) if not sub.empty else None
        for (lig, site, faces), g in sub.groupby(["ligand", "site", "faces"], sort=False):
            x = g["value"].astype(float).to_numpy() if numeric else np.array([labels.index(str(v)) for v in g["value"]])
            order = np.argsort(x)
            anchor = g["anchor"].iloc[0]
            where = "" if (site, faces) == first else f" {site}/{faces}"
            ax.plot(x[order], g["delta_eV"].to_numpy()[order], "o-", ms=4, label=f"{lig} ({anchor}){where}")
            chk = g[g["check"]]
            if not chk.empty:
                xc = chk["value"].astype(float) if numeric else [labels.index(str(v)) for v in chk["value"]]
                ax.plot(xc, chk["delta_eV"], "ks", ms=7, mfc="none")
        ax.axhspan(-tolerance, tolerance, color="0.9", zorder=0)
        ax.axhline(0, color="k", lw=0.6)
        if name == "vacuum":
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel(
            {
                "vacuum": "total vacuum (A)",
                "layers": "PbBr2 layers",
                "repeat": "lateral cell",
                "accuracy": "SCF accuracy (tblite)",
            }.get(name, name)
        )
        ax.set_ylabel("E_ads - E_ads(protocol) per ligand (eV)")
        ax.set_title(name, fontsize=10)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(f"Convergence of E_ads (grey band: +/-{tolerance} eV; squares: the checks)", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_convergence(
    df: pd.DataFrame, csv_path: str | Path, png_path: str | Path, json_path: str | Path, protocol: dict[str, Any]
) -> dict[str, Any]:
    """Write the table, the figure and ``convergence.json`` (per anchor class: the largest change over
    the checks, and whether it is within the tolerance)."""
    from passivscreen.convergence.harness import anchor_uncertainty

    tol = float(protocol["tolerance"])
    atomic_write_text(csv_path, df.to_csv(index=False, float_format="%.4f"))
    plot_convergence(df, png_path, tol)
    unc = anchor_uncertainty(df)
    summary = {
        "protocol": protocol,
        "tolerance_eV": tol,
        "uncertainty_eV": unc,
        "converged": {a: u <= tol for a, u in unc.items()},
        "calc_s": df.attrs.get("seconds"),
    }
    write_json(json_path, summary)
    return summary
