"""Wall time of the DFT check (``configs/validation.yaml``) from a clean results tree, against its goal.

Usage: python benchmarks/dft_check.py [configs/validation.yaml] [--cores 2] [--goal-min 45]

Runs ``snakemake --cores N --configfile CONFIG`` after removing ``results/<set>``, then prints the wall
time against the goal, the time of the screening jobs and the DFT jobs (Snakemake's benchmark files),
and the table of ``benchmarks/validation_table.py`` (with the time of each DFT job).
Exits 1 when the run fails, the wall time misses the goal, or a selected row has no DFT energy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from snakemake_runs import ROOT, job_times, run_snakemake


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", nargs="?", default=str(ROOT / "configs" / "validation.yaml"))
    ap.add_argument("--cores", default="2")
    ap.add_argument("--goal-min", type=float, default=45.0)
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    res = ROOT / "results" / cfg["set"]
    if res.exists():
        shutil.rmtree(res)
    run, wall = run_snakemake(args.config, args.cores)
    if run.returncode != 0:
        print(run.stderr[-3000:])
        return 1
    times = job_times(res)
    dft = {k: v for k, v in times.items() if k.startswith("tiers/")}
    screen = {k: v for k, v in times.items() if not k.startswith("tiers/")}
    print(f"config: {args.config}  cores: {args.cores}")
    print(f"screening tier jobs: {sum(screen.values()):.0f} s in {len(screen)} jobs")
    print(f"DFT jobs in all: {sum(dft.values()):.0f} s; {args.cores} cores x wall: {float(args.cores) * wall:.0f} s")
    table = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "validation_table.py"), str(res)], cwd=ROOT)
    met = wall < 60 * args.goal_min
    print(
        f"{'wall time, clean results tree (min)':50s} {wall / 60:10.1f}   goal < {args.goal_min:g}  "
        f"{'PASS' if met else 'MISS'}"
    )
    return 0 if met and table.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
