"""Wall time of a screen from a clean results tree, with force calls and calculator share.

Usage: python benchmarks/default_screen.py [configs/default.yaml] [--cores 2] [--goal-mu 60]

Issue 22's goals: the default screen at most 60 MU; TSPO1 on its auto cell, conformers and orientations
included, at most 300 MU (``python benchmarks/default_screen.py configs/tspo1.yaml --goal-mu 300``).

Prints the machine unit (``benchmarks/machine_unit.py``, measured first), the wall time in seconds and in
machine units against the goal of issue 22 (at most 60 MU), the GFN2-xTB force calls per complex relaxation
(median), the time spent inside calculator calls (from the per-calculation JSON records) and
the workflow overhead, i.e. everything that is not a calculator call; every time also in machine units.
Exits 1 when the run fails or misses a goal.

The overhead is measured from the clock: every process of the run (Snakemake and its job
scripts) imports a ``sitecustomize`` from a temporary directory that times each
``tblite.ase.TBLite.calculate`` call (start and end, wall clock) into a log. The wall time
during which no calculator call runs in any process is the workflow overhead: Snakemake's
start-up and scheduling, job start-up and imports, placement, RDKit, figures and file I/O.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml
from machine_unit import SYMBOL, describe, in_units, machine_unit, with_units
from snakemake_runs import job_times, run_snakemake

from passivscreen.records.layout import BASE, Results
from passivscreen.types import E_ADS, STATUS

ROOT = Path(__file__).resolve().parents[1]
#: the goal of a screen from a clean results tree (issue 22): at most this many machine units of wall time
WALL_GOAL_MU = 60.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", nargs="?", default=str(ROOT / "configs" / "default.yaml"))
    ap.add_argument("--cores", default="2")
    ap.add_argument("--keep", action="store_true", help="do not wipe results/<set> first")
    ap.add_argument("--goal-mu", type=float, default=WALL_GOAL_MU, help="wall-time goal in machine units")
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    res = Results.for_set(cfg["set"], ROOT / BASE)
    if Path(res.root).exists() and not args.keep:
        shutil.rmtree(res.root)
    unit = machine_unit()  # before the run, on the same machine, with its cores free of our jobs
    print(describe(), flush=True)
    hook = Path(tempfile.mkdtemp(prefix="passivscreen-calls-"))
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    call_log = hook / "calls.log"
    env = dict(os.environ, PASSIVSCREEN_CALL_LOG=str(call_log))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hook), env.get("PYTHONPATH", "")) if p)
    start = time.time()
    run, wall = run_snakemake(args.config, args.cores, env=env)
    calls_clock = _read_calls(call_log)
    shutil.rmtree(hook, ignore_errors=True)
    if run.returncode != 0:
        print(run.stderr[-3000:])
        return 1
    ads = [json.loads(p.read_text()) for p in res.existing(res.complex("*", "*", "*").json)]
    ligs = [json.loads(p.read_text()) for p in res.existing(res.ligand("*").json)]
    slabs = [json.loads(p.read_text()) for p in res.existing(res.slab("*", "*").json)]
    relaxed = [o for r in ads for o in r.get("orientations", []) if "n_force_calls" in o]
    calls = [o["n_force_calls"] for o in relaxed]
    # every GFN2-xTB calculation of a complex: orientation single points + relaxation + orbital analysis
    per_complex = [
        sum(1 for o in r.get("orientations", []) if o.get("E_sp_eV") is not None)
        + sum(o.get("n_force_calls", 0) + o.get("prerelax_force_calls", 0) for o in r.get("orientations", []))
        + sum(1 for o in r.get("orientations", []) if "analysis_calc_s" in o)
        for r in ads
        if r.get(STATUS) == "ok"
    ]
    calc_s = sum(o.get("calc_s", 0.0) + o.get("prerelax_calc_s", 0.0) + o.get("analysis_calc_s", 0.0) for o in relaxed)
    calc_s += sum(o.get("sp_calc_s", 0.0) for r in ads for o in r.get("orientations", []))
    calc_s += sum(r.get("calc_s", 0.0) for r in ligs)
    calc_s += sum(s.get("calc_s", 0.0) + s.get("analysis_calc_s", 0.0) for s in slabs)
    # time inside jobs, from Snakemake's benchmark files (every rule has one)
    job_s = sum(job_times(res).values())
    busy = float(args.cores) * wall
    print(f"config: {args.config}  cores: {args.cores}")
    computing = _union(calls_clock)
    overhead = 100 * (1 - computing / wall)
    _goal("workflow overhead: no calculator call running (% of wall)", overhead, "< 5", overhead < 5)
    if calls_clock:
        first = min(a for a, _ in calls_clock) - start
        last = wall - (max(b for _, b in calls_clock) - start)
        print(
            f"  {len(calls_clock)} calculator calls timed; computing {with_units(computing)} of "
            f"{with_units(wall)} wall; before the first call {with_units(first, '.1f')}, after the last "
            f"{with_units(last, '.1f')}, gaps between calls {with_units(wall - computing - first - last, '.1f')}"
        )
    mu = wall / unit
    _goal(f"wall time, clean results tree ({SYMBOL})", mu, f"<= {args.goal_mu:g}", mu <= args.goal_mu)
    print(
        f"  wall time {wall:.1f} s = {in_units(wall)}; goal {args.goal_mu:g} {SYMBOL} = {args.goal_mu * unit:.0f} s "
        f"on this machine (the goal before issue 22: < 600 s)"
    )
    med = statistics.median(per_complex) if per_complex else 0
    _goal("median GFN2-xTB calculations per complex", med, "<= 60", med <= 60)
    print(
        f"  per complex (single points + relaxation + orbital analysis): {per_complex}; relaxation force calls: {calls}"
    )
    print(
        f"time inside calculator calls: {with_units(calc_s)}; inside jobs (Snakemake benchmarks): "
        f"{with_units(job_s)}; {args.cores} cores x wall: {with_units(busy)}"
    )
    inside = 100 * (1 - calc_s / job_s) if job_s else float("nan")
    print(f"  not a calculator call, inside jobs: {inside:.1f} % of job time")
    idle = 100 * (1 - job_s / busy)
    print(
        f"  cores idle or between jobs: {idle:.1f} % of {args.cores} cores x wall; everything that is not a "
        f"calculator call: {100 * (1 - calc_s / busy):.1f} % of {args.cores} cores x wall"
    )
    print("E_ads (eV):")
    for r in sorted(ads, key=lambda r: (r.get(E_ADS) is None, r.get(E_ADS) or 0)):
        e = r.get(E_ADS)
        value = f"{e:.3f}" if e is not None else r[STATUS]
        print(f"  {r['ligand']:28s} {r.get('anchor', ''):6s} {value:>8s}  BO {r.get('bond_order')}")
    if MISSED:
        print(f"goals missed: {', '.join(MISSED)}")
        return 1
    return 0


SITECUSTOMIZE = textwrap.dedent(
    """
    # Times every tblite.ase.TBLite.calculate call of this process into $PASSIVSCREEN_CALL_LOG.
    import importlib.abc
    import importlib.util
    import os
    import sys
    import time

    _LOG = os.environ.get("PASSIVSCREEN_CALL_LOG")


    class _TimeTBLite(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "tblite.ase":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                calculate = module.TBLite.calculate

                def timed(self, *args, **kwargs):
                    t0 = time.time()
                    try:
                        return calculate(self, *args, **kwargs)
                    finally:
                        with open(_LOG, "a") as log:
                            log.write(f"{os.getpid()} {t0:.4f} {time.time():.4f}\\n")

                module.TBLite.calculate = timed

            spec.loader.exec_module = exec_module
            return spec


    if _LOG:
        sys.meta_path.insert(0, _TimeTBLite())
    """
)


def _read_calls(path: Path) -> list[tuple[float, float]]:
    if not path.exists():
        return []
    return [(float(a), float(b)) for _, a, b in (line.split() for line in path.read_text().splitlines())]


def _union(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of time intervals (s)."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


#: goals this run missed (the script exits 1 when there is one)
MISSED: list[str] = []


def _goal(what: str, value: float, goal: str, met: bool) -> None:
    print(f"{what:50s} {value:10.1f}   goal {goal:7s} {'PASS' if met else 'MISS'}")
    if not met:
        MISSED.append(what)


if __name__ == "__main__":
    sys.exit(main())
