"""Wall time of a screen from a clean results tree, with force calls and calculator share.

Usage: python benchmarks/default_screen.py [configs/default.yaml] [--cores 2]

Prints the wall time, the GFN2-xTB force calls per complex relaxation (median), the
time spent inside calculator calls (from the per-calculation JSON records) and
the workflow overhead, i.e. everything that is not a calculator call.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", nargs="?", default=str(ROOT / "configs" / "default.yaml"))
    ap.add_argument("--cores", default="2")
    ap.add_argument("--keep", action="store_true", help="do not wipe results/<set> first")
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    res = ROOT / "results" / cfg["set"]
    if res.exists() and not args.keep:
        shutil.rmtree(res)
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", args.cores, "--configfile", args.config],
                         cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        print(run.stderr[-3000:])
        return 1
    ads = [json.loads(p.read_text()) for p in sorted((res / "adsorption").glob("*/*/*.json"))]
    ligs = [json.loads(p.read_text()) for p in sorted((res / "ligands").glob("*.json"))]
    slabs = [json.loads(p.read_text()) for p in sorted((res / "slab").glob("*/*.json"))]
    relaxed = [o for r in ads for o in r.get("orientations", []) if "n_force_calls" in o]
    calls = [o["n_force_calls"] for o in relaxed]
    sp_calls = sum(1 for r in ads for o in r.get("orientations", []) if o.get("E_sp_eV") is not None)
    calc_s = sum(o.get("calc_s", 0.0) for o in relaxed)
    calc_s += sum(o.get("sp_calc_s", 0.0) for r in ads for o in r.get("orientations", []))
    calc_s += sum(r.get("calc_s", 0.0) for r in ligs) + sum(s.get("calc_s", 0.0) for s in slabs)
    cpu_s = sum(o.get("wall_s", 0.0) for o in relaxed)
    print(f"config: {args.config}  cores: {args.cores}")
    print(f"wall time: {wall:.0f} s ({wall / 60:.1f} min)")
    print(f"complex relaxations: {len(calls)}, force calls median {statistics.median(calls) if calls else 0}, "
          f"all {calls}; orientation single points: {sp_calls}")
    print(f"time inside calculator calls (summed over jobs): {calc_s:.0f} s; relaxation wall (summed): {cpu_s:.0f} s")
    busy = float(args.cores) * wall
    print(f"workflow overhead: {100 * (1 - calc_s / busy):.1f} % of {args.cores} cores x wall "
          f"(idle cores count as overhead)")
    print("E_ads (eV):")
    for r in sorted(ads, key=lambda r: (r.get("E_ads_eV") is None, r.get("E_ads_eV") or 0)):
        e = r.get("E_ads_eV")
        value = f"{e:.3f}" if e is not None else r["status"]
        print(f"  {r['ligand']:28s} {r.get('anchor', ''):6s} {value:>8s}  BO {r.get('bond_order')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
