"""The table of docs/validation.md: E_ads at the screening tier and at the DFT tier, errors, MAE, Kendall tau.

Usage: python benchmarks/validation_table.py [results/validation]
       (after `snakemake --cores 2 --configfile configs/validation.yaml`)

Prints per row: anchor, E_ads per ligand at both tiers, the error (screen - DFT), the rank at each; then
the statistics of validation.json and the time each DFT job took (Snakemake's benchmark files), in seconds
and in machine units (``benchmarks/machine_unit.py``: measured here, or handed on by dft_check.py). Exits 1
when a row the DFT tier selected has no DFT energy (a failed check is not a result).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from machine_unit import announce, in_units
from snakemake_runs import job_times

from passivscreen.records.layout import BASE, Results
from passivscreen.types import tier_column

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    res = Results(sys.argv[1]) if len(sys.argv) > 1 else Results.for_set("validation", ROOT / BASE)
    stats = json.loads(Path(res.validation.summary).read_text())
    df = pd.read_csv(res.validation.csv)
    announce()
    screen, check = stats["screen_tier"], stats["check_tier"]
    a, b = tier_column(screen), tier_column(check)
    df = df.sort_values(b, na_position="last")
    df["rank_screen"] = df[a].rank(method="min").astype("Int64")
    df["rank_check"] = df[b].rank(method="min").astype("Int64")
    print(f"| ligand | anchor | E_ads {screen} (eV) | E_ads {check} (eV) | error (eV) | rank {screen} | rank {check} |")
    print("|---|---|---|---|---|---|---|")
    for r in df.itertuples():
        e_check = getattr(r, b)
        cell = "failed" if pd.isna(e_check) else f"{e_check:.3f}"
        err = "" if pd.isna(r.error_eV) else f"{r.error_eV:+.3f}"
        print(f"| {r.ligand} | {r.anchor} | {getattr(r, a):.3f} | {cell} | {err} | {r.rank_screen} | {r.rank_check} |")
    print(
        f"\nn = {stats['n']}; MAE {stats.get('mae_eV', float('nan')):.3f} eV; mean error (screen - DFT) "
        f"{stats.get('mse_eV', float('nan')):+.3f} eV; largest {stats.get('max_abs_eV', float('nan')):.3f} eV; "
        f"Kendall tau {stats.get('kendall_tau', float('nan')):.2f} (p = {stats.get('kendall_p', float('nan')):.2f}); "
        f"same first: {stats.get('same_first')}"
    )
    times = job_times(res, "tiers")
    if times:
        print("\nDFT jobs (s): " + ", ".join(f"{p}: {t:.0f} ({in_units(t)})" for p, t in times.items()))
    missing = int(df[b].isna().sum())
    print(f"\ngoal: every selected row has a DFT E_ads: {'PASS' if not missing else f'MISS ({missing} failed)'}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
