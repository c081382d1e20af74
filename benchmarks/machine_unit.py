"""The machine unit (MU): the time of one GFN2-xTB energy + forces call of the default slab, on one thread.

Usage: python benchmarks/machine_unit.py [--repeats 3]     (prints the unit and the three times)

Time on a shared machine varies by 1.5x from one day to the next, so speed goals are stated in this unit
(issue 22) and every timing benchmark prints its wall times also in it: a goal of 60 MU holds on any machine.
What is timed: the default config's slab (``configs/default.yaml`` through :func:`load_config` and
:func:`validate_config`, so it follows the defaults: 2x2, 3 PbBr2 layers, 40 A of vacuum, Cs8Pb12Br32,
52 atoms), neutral and closed-shell, one energy + forces call of GFN2-xTB (the registry's ``gfn2`` backend
with the default protocol's parameters, tblite's SCF from the atomic guess) with a calculator built from
scratch each time; best of three, in a fresh process with ``OMP_NUM_THREADS=1`` (one thread for tblite and
BLAS), so that whatever the calling benchmark has imported or threaded does not count.

Imported by the timing benchmarks (``from machine_unit import describe, in_units, machine_unit``; run as
``python benchmarks/<script>.py``, which puts this directory on the import path). The unit is measured once
per process tree: the measuring process hands it to the processes it starts (worker pools, a table script)
in ``$PASSIVSCREEN_MACHINE_UNIT``, which is trusted only while the process that measured it is alive.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: the config whose slab and protocol define the unit
CONFIG = ROOT / "configs" / "default.yaml"
#: the calculations of one measurement; the unit is the fastest
REPEATS = 3
#: the backend of the unit (GFN2-xTB)
BACKEND = "gfn2"
#: the measured unit, handed to child processes (JSON: the measurement and the pid that made it)
ENV = "PASSIVSCREEN_MACHINE_UNIT"
#: the unit measured on the developers' machine when issue 22 restated the goals (s): a goal that was set in
#: seconds on that machine is that many seconds divided by this, in machine units (:func:`goal_units`)
REFERENCE_UNIT_S = 7.95
#: the symbol printed after a number of machine units
SYMBOL = "MU"


def _measure_here(config: Path, repeats: int) -> dict[str, Any]:
    """The measurement itself (run in a fresh one-thread process by :func:`measure`)."""
    from passivscreen.calculators import attach, calculator_parameters, set_threads, tiers_from_config
    from passivscreen.calculators.lapack import lapack_in_use
    from passivscreen.calculators.systems import electronic_state
    from passivscreen.config import load_config, validate_config
    from passivscreen.structures import build_slab
    from passivscreen.structures.cells import AUTO_MIN, is_auto, slab_spec

    set_threads(1)
    cfg = validate_config(load_config(config))
    # the default protocol's 2x2 cell (slab.repeat: auto starts from it; an explicit repeat is used as given)
    slab = build_slab(slab_spec(cfg, repeat=(AUTO_MIN, AUTO_MIN) if is_auto(cfg) else None))
    electronic_state(slab, 0, 1)
    tier = tiers_from_config(cfg)[0]
    # the default protocol's GFN2-xTB parameters (its first tier is gfn2); the presets if it ever is not
    parameters = tier.parameters if tier.backend == BACKEND else calculator_parameters(BACKEND)
    times = []
    for _ in range(repeats):
        atoms = slab.copy()
        t0 = time.perf_counter()
        attach(atoms, BACKEND, parameters, fresh=True)
        atoms.get_potential_energy()
        atoms.get_forces()  # the same SCF (tblite computes the gradient with the energy)
        times.append(time.perf_counter() - t0)
    return {
        "unit_s": min(times),
        "times_s": times,
        "formula": slab.get_chemical_formula(),
        "n_atoms": len(slab),
        "vacuum_A": float(slab.cell.lengths()[2] - (slab.positions[:, 2].max() - slab.positions[:, 2].min())),
        "backend": BACKEND,
        "parameters": {k: v for k, v in parameters.items() if k != "verbosity"},
        "config": str(config),
        "lapack": lapack_in_use(),
    }


def measure(config: str | Path = CONFIG, repeats: int = REPEATS) -> dict[str, Any]:
    """Measure the unit in a fresh one-thread Python process.

    Parameters
    ----------
    config
        The config whose slab and protocol define the unit (default: ``configs/default.yaml``).
    repeats
        Calculations timed; the unit is the fastest.

    Returns
    -------
    dict
        ``unit_s`` (the unit, s), ``times_s`` (every calculation), ``formula``, ``n_atoms``, ``vacuum_A``,
        ``backend``, ``parameters``, ``config``.

    Raises
    ------
    RuntimeError
        When the measuring process fails (its stderr in the message).
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop(ENV, None)
    run = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--config", str(config), "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        env=env,
    )
    if run.returncode != 0:
        raise RuntimeError(f"measuring the machine unit failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _inherited() -> dict[str, Any] | None:
    """The unit a live ancestor measured (from :data:`ENV`), or None."""
    text = os.environ.get(ENV)
    if not text:
        return None
    try:
        data = json.loads(text)
        os.kill(int(data["pid"]), 0)
    except (ValueError, KeyError, TypeError, ProcessLookupError, PermissionError):
        return None
    return data


@functools.cache
def measurement() -> dict[str, Any]:
    """The unit's measurement of this process tree: inherited from the process that measured it, else measured
    now (once per process); see :func:`measure` for the keys (``inherited`` is True when inherited)."""
    data = _inherited()
    if data is not None:
        return {**data, "inherited": True}
    data = {**measure(), "pid": os.getpid()}
    os.environ[ENV] = json.dumps(data)
    return {**data, "inherited": False}


def machine_unit() -> float:
    """The machine unit in seconds: one GFN2-xTB energy + forces call of the default slab, one thread, best of
    three (measured once per process tree)."""
    return float(measurement()["unit_s"])


def to_units(seconds: float) -> float:
    """``seconds`` in machine units of this machine (a number, for a table column headed in MU)."""
    return seconds / machine_unit()


def in_units(seconds: float, unit: float | None = None) -> str:
    """``seconds`` in machine units, formatted (``"124 MU"``).

    Parameters
    ----------
    seconds
        A wall time (s).
    unit
        The unit (s); default: :func:`machine_unit` of this machine.
    """
    u = machine_unit() if unit is None else unit
    x = seconds / u
    if not math.isfinite(x):
        return f"{x} {SYMBOL}"
    digits = 2 if abs(x) < 1 else 1 if abs(x) < 100 else 0
    return f"{x:.{digits}f} {SYMBOL}"


def with_units(seconds: float, spec: str = ".0f") -> str:
    """``seconds`` in seconds and in machine units (``"986 s (332 MU)"``); ``spec`` formats the seconds."""
    return f"{seconds:{spec}} s ({in_units(seconds)})"


def goal_units(seconds: float) -> float:
    """A goal that was set in seconds on the developers' machine, in machine units (:data:`REFERENCE_UNIT_S`)."""
    return seconds / REFERENCE_UNIT_S


def describe() -> str:
    """One line naming the unit, its value here and how it was measured (printed once by each benchmark)."""
    m = measurement()
    times = " / ".join(f"{t:.2f}" for t in m["times_s"])
    source = f"measured by process {m['pid']}" if m["inherited"] else "measured now"
    return (
        f"machine unit: 1 {SYMBOL} = {m['unit_s']:.2f} s = one GFN2-xTB energy + forces call of the default slab "
        f"({m['formula']}, {m['n_atoms']} atoms, {m['vacuum_A']:.0f} A vacuum), 1 thread, best of "
        f"{len(m['times_s'])} ({times} s; {source}; tblite's LAPACK: {m.get('lapack', '?')})"
    )


def announce() -> None:
    """Print :func:`describe` once per process tree: not in a process that inherited the unit from a benchmark
    that printed it already."""
    if not measurement()["inherited"]:
        print(describe(), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=REPEATS, help="calculations timed; the unit is the fastest")
    ap.add_argument("--config", default=str(CONFIG), help="the config whose slab and protocol define the unit")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_measure_here(Path(args.config), args.repeats)))
        return 0
    m = measure(args.config, args.repeats)
    print(json.dumps(m, indent=1))
    print(
        f"1 {SYMBOL} = {m['unit_s']:.3f} s (best of {len(m['times_s'])}: "
        + ", ".join(f"{t:.3f}" for t in m["times_s"])
        + " s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
