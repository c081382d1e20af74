"""tblite's BLAS/LAPACK: one GFN2-xTB energy + forces call of the default slab per cell, per library.

Usage: python benchmarks/lapack_speed.py [--repeats 2 3 4] [--best-of 1] [--libraries reference openblas mkl]

tblite's PyPI wheel computes with the reference (netlib) BLAS/LAPACK it carries;
:mod:`passivscreen.calculators.lapack` loads an optimized one before tblite (docs/benchmarks.md, stop 45). This
script measures what that is worth on the cells the project screens: for each library (``reference``: the
wheel's own; ``openblas``: the system's; ``mkl``: the ``mkl`` wheel; the ones this machine has) and each n x n
cell of the default protocol's slab (3 PbBr2 layers, 40 A of vacuum: 52, 117, 208 atoms), one energy + forces
call from scratch (a new calculator, SCF from the atomic guess), one thread, best of ``--best-of``, each
library in its own fresh process (``$PASSIVSCREEN_LAPACK`` names it; a library is bound for the life of a
process). Prints the seconds, the machine unit (``benchmarks/machine_unit.py``) and the speed-up against the
reference library, and checks the energies.

Exits 1 when an optimized library gives another energy than the reference one (more than 1e-6 eV) or is not
faster than it on the largest cell measured: then loading it is a loss, not a gain; 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: the energies of one cell may differ between libraries by at most this much (eV): the same arithmetic, other
#: summation orders
SAME_ENERGY_EV = 1e-6


def _child(repeat: int, best_of: int) -> dict[str, Any]:
    """One library (chosen by ``$PASSIVSCREEN_LAPACK`` before tblite loads), one cell: the call's best time."""
    from passivscreen.calculators import attach, set_threads, tiers_from_config
    from passivscreen.calculators.lapack import lapack_in_use
    from passivscreen.calculators.systems import electronic_state
    from passivscreen.config import load_config, validate_config
    from passivscreen.structures import build_slab
    from passivscreen.structures.cells import slab_spec

    set_threads(1)
    cfg = validate_config(load_config(ROOT / "configs" / "default.yaml"))
    slab = build_slab(slab_spec(cfg, repeat=(repeat, repeat)))
    electronic_state(slab, 0, 1)
    tier = tiers_from_config(cfg)[0]
    times, energy = [], None
    for _ in range(best_of):
        atoms = slab.copy()
        t0 = time.perf_counter()
        attach(atoms, tier.backend, tier.parameters, fresh=True)
        energy = float(atoms.get_potential_energy())
        atoms.get_forces()
        times.append(time.perf_counter() - t0)
    return {"n_atoms": len(slab), "seconds": min(times), "times": times, "energy": energy, "lapack": lapack_in_use()}


def libraries(wanted: list[str]) -> dict[str, str]:
    """The libraries to compare that this machine has: name -> ``$PASSIVSCREEN_LAPACK`` value."""
    from passivscreen.calculators.lapack import candidates

    found = {"reference": "reference", **{name: path for name, path in candidates()}}
    return {name: found[name] for name in wanted if name in found}


def measure(value: str, repeat: int, best_of: int) -> dict[str, Any]:
    """:func:`_child` in a fresh one-thread process with ``$PASSIVSCREEN_LAPACK=value``."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PASSIVSCREEN_LAPACK"] = value
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(repeat), "--best-of", str(best_of)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"{value}, {repeat}x{repeat}: the measurement failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def verdict(table: dict[str, dict[int, dict[str, Any]]]) -> list[str]:
    """What is wrong with the measurements (empty: nothing): an optimized library with another energy than the
    reference's, or not faster on the largest cell."""
    ref = table.get("reference", {})
    problems = []
    for name, cells in table.items():
        if name == "reference":
            continue
        for n, row in cells.items():
            if n in ref and abs(row["energy"] - ref[n]["energy"]) > SAME_ENERGY_EV:
                problems.append(f"{name}, {n}x{n}: E = {row['energy']:.8f} eV, reference {ref[n]['energy']:.8f} eV")
        largest = max(n for n in cells if n in ref) if any(n in ref for n in cells) else None
        if largest is not None and cells[largest]["seconds"] >= ref[largest]["seconds"]:
            problems.append(
                f"{name} is not faster than the reference library on {largest}x{largest}: "
                f"{cells[largest]['seconds']:.1f} s against {ref[largest]['seconds']:.1f} s"
            )
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, nargs="+", default=[2, 3, 4], help="the n of the n x n cells")
    ap.add_argument("--best-of", type=int, default=1, help="calls per library and cell; the fastest counts")
    ap.add_argument("--libraries", nargs="+", default=["reference", "openblas", "mkl"])
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(_child(args.child, args.best_of)))
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    from machine_unit import announce, in_units

    announce()
    libs = libraries(args.libraries)
    print(f"libraries: {', '.join(f'{k} ({v})' for k, v in libs.items())}")
    table: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in libs}
    for n in args.repeats:
        for name, value in libs.items():
            row = table[name][n] = measure(value, n, args.best_of)
            ref = table.get("reference", {}).get(n)
            gain = f"{ref['seconds'] / row['seconds']:.1f}x" if ref and name != "reference" else ""
            print(
                f"{n}x{n} ({row['n_atoms']:3d} atoms)  {name:>10} ({row['lapack']}): {row['seconds']:7.1f} s = "
                f"{in_units(row['seconds']):>8}  {gain:>5}  E = {row['energy']:.8f} eV",
                flush=True,
            )
    problems = verdict(table)
    for p in problems:
        print(f"MISS: {p}")
    if not problems:
        print("every optimized library gives the reference energies and is faster on the largest cell")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
