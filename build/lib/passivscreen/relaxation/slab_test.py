"""The rattle-and-relax slab test: does a backend hold the CsPbBr3 slab (may it relax slab atoms)?

The default slab (2x2, 3 PbBr2 layers, Cs8Pb12Br32, bottom layer fixed): the energy of the ideal slab,
then the free atoms rattled by 0.05 A (seeded) and relaxed with BFGS (fmax 0.05 eV/A) through
:func:`passivscreen.relaxation.relax`, with guards (free atoms watched against the ideal positions,
0.5 A; energy floor E_ideal - 1 eV). PASS = converged, no guard tripped, min Pb-Br >= 2.8 A and
min Cs-Br >= 3.5 A. ``Backend.holds_slab`` in the registry records the verdict; ``benchmarks/slab_hold.py``
runs it for every backend and the tests run it for the machine-learned potentials.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms

from passivscreen.calculators import get_calculator, scf_ladder
from passivscreen.relaxation.guards import Guards
from passivscreen.relaxation.optimizer import relax
from passivscreen.relaxation.scf import single_point
from passivscreen.structures import SlabSpec, build_slab

RATTLE = 0.05
SEED = 1
FMAX = 0.05
STEP_CAP = {"gfn2": 60}  # a GFN2 force call on the 52-atom slab takes ~3 s; it fails well before
MIN_PB_BR = 2.8
MIN_CS_BR = 3.5


def min_distance(atoms: Atoms, a: str, b: str) -> float:
    """Smallest minimum-image distance between an ``a`` and a ``b`` atom."""
    sym = np.array(atoms.get_chemical_symbols())
    d = atoms.get_all_distances(mic=True)
    return float(d[np.ix_(sym == a, sym == b)].min())


def slab_hold_test(backend: str, steps: int = 150, fmax: float = FMAX, max_displacement: float = 0.5) -> dict[str, Any]:
    """Run the slab test for ``backend``; the verdict is ``result["pass"]``."""
    ideal = build_slab(SlabSpec())
    fixed = set(int(i) for i in ideal.constraints[0].index)
    free = [i for i in range(len(ideal)) if i not in fixed]
    calc = get_calculator(backend, fresh=True)
    held = ideal.copy()
    held.set_constraint(FixAtoms(indices=range(len(held))))
    sp = single_point(held, calc, scf_ladder=scf_ladder(backend))
    if sp["status"] != "ok":
        return {"backend": backend, "status": "reference_failed", "reason": sp["reason"]}
    e_ideal = sp["energy"]
    slab = ideal.copy()
    slab.rattle(RATTLE, seed=SEED)
    slab.positions[list(fixed)] = ideal.positions[list(fixed)]
    guards = Guards(
        watch=free,
        reference_positions=ideal.positions.copy(),
        max_displacement=max_displacement,
        energy_floor=e_ideal - 1.0,
    )
    n = min(steps, STEP_CAP.get(backend, steps))
    t0 = time.perf_counter()
    r = relax(slab, calc, fmax=fmax, steps=n, optimizer="BFGS", guards=guards, scf_ladder=scf_ladder(backend))
    wall = time.perf_counter() - t0
    disp = np.linalg.norm(r.atoms.positions[free] - ideal.positions[free], axis=1).max()
    pb_br = min_distance(r.atoms, "Pb", "Br")
    cs_br = min_distance(r.atoms, "Cs", "Br")
    guard = r.status if r.status in ("reconstruction", "unphysical_forces") else "none"
    ok = r.status == "converged" and pb_br >= MIN_PB_BR and cs_br >= MIN_CS_BR and disp <= 0.5
    return {
        "backend": backend,
        "status": r.status,
        "reason": r.reason,
        "steps": r.n_steps,
        "cap": n,
        "force_calls": r.n_force_calls,
        "wall_s": wall,
        "dE": None if r.energy is None else r.energy - e_ideal,
        "fmax": r.fmax,
        "pb_br": pb_br,
        "cs_br": cs_br,
        "disp": float(disp),
        "guard": guard,
        "pass": ok,
    }
