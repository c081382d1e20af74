"""The calibration's figures for docs/validation.md and its cost for docs/benchmarks.md (issue 23).

Usage: python benchmarks/calibration_table.py [DATA_SET] [--results results/calibration] [--plot PATH]

DATA_SET: a data set written by ``passivscreen calibrate`` (default: the one shipped,
src/passivscreen/presets/calibration.json). Prints per class and overall the raw and the leave-one-molecule-out
calibrated MAE, largest error and Kendall tau, the chosen model and the interval's half-width, then every
molecule; draws the parity plot of both (default docs/calibration_parity.png). With the run's results tree it
also sums the jobs' times from Snakemake's benchmark files (GFN2-xTB screen, DFT slabs, DFT rows) and states
them in machine units (``benchmarks/machine_unit.py``, measured here). Exits 1 when a goal of issue 23 is
missed: calibrated cross-validated MAE <= 0.05 eV and Kendall tau >= 0.8.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from machine_unit import announce, in_units

from passivscreen.calibration import shipped_dataset
from passivscreen.calibration.report import molecule_table, plot_calibration_parity, statistics_table

ROOT = Path(__file__).resolve().parents[1]
GOAL_MAE, GOAL_TAU = 0.05, 0.8


def job_seconds(results: Path) -> dict[str, float]:
    """Seconds of the run's jobs (Snakemake benchmark files), by kind."""
    out = {"screen (GFN2-xTB)": 0.0, "DFT slabs": 0.0, "DFT rows": 0.0, "other": 0.0}
    for tsv in (results / "benchmarks").rglob("*.tsv"):
        with tsv.open() as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        s = sum(float(r["s"]) for r in rows)
        rel = tsv.relative_to(results / "benchmarks").parts
        kind = (
            "DFT slabs"
            if rel[0] == "tiers" and "slab" in rel
            else "DFT rows"
            if rel[0] == "tiers"
            else "screen (GFN2-xTB)"
            if rel[0] in ("adsorption", "slab", "ligands")
            else "other"
        )
        out[kind] += s
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_set", nargs="?")
    parser.add_argument("--results", default=None, help="the calibration run's results tree (job times)")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "calibration_parity.png"))
    args = parser.parse_args()
    data = json.loads(Path(args.data_set).read_text()) if args.data_set else shipped_dataset()
    if data is None:
        print("no calibration data set shipped: run configs/calibration.yaml and passivscreen calibrate first")
        return 1
    print(f"data set {data['name']} ({data['created']}), protocol {data['fingerprint']}, level {data['level']}")
    print(statistics_table(data))
    print()
    print(molecule_table(data))
    plot_calibration_parity(data, args.plot)
    print(f"\nparity plot: {args.plot}")
    if args.results:
        announce()
        times = job_seconds(Path(args.results))
        total = sum(times.values())
        for kind, s in times.items():
            print(f"{kind:<20} {s:9.0f} s of jobs = {in_units(s)}")
        print(
            f"{'all jobs':<20} {total:9.0f} s = {in_units(total)}; "
            f"on 2 cores at least {in_units(total / 2)} of wall time"
        )
    overall = data["statistics"]["overall"]
    ok = overall["mae_eV"] <= GOAL_MAE and (overall["kendall_tau"] or 0) >= GOAL_TAU
    print(
        f"\ngoal: calibrated LOO MAE {overall['mae_eV']:.3f} eV (<= {GOAL_MAE}), Kendall tau "
        f"{overall['kendall_tau']:.2f} (>= {GOAL_TAU}): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
