"""Rattle-and-relax slab test: does a backend hold the CsPbBr3 slab?

Usage: python benchmarks/slab_hold.py [BACKEND ...] [--threads 2] [--steps 150] [--dft]

For each backend (default: every available xTB and ML backend; ``--dft`` adds the
available DFT ones, which take hours on 2 cores): build the default slab
(2x2, 3 PbBr2 layers, Cs8Pb12Br32, bottom layer fixed), take the energy of the
ideal slab, rattle the free atoms by 0.05 A (seeded), relax with BFGS (fmax
0.05 eV/A, up to ``--steps`` steps; GFN2-xTB capped at 60) through
:func:`passivscreen.relaxation.relax` with guards (free atoms watched against the
ideal positions, 0.5 A; energy floor E_ideal - 1 eV), and print a Markdown table.

PASS = converged, no guard tripped, min Pb-Br >= 2.8 A and min Cs-Br >= 3.5 A.
A backend that passes may relax slab atoms (``holds_slab=True`` in the registry).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms

from passivscreen.calculators import REGISTRY, get_calculator, scf_ladder, set_threads, unavailable_reason
from passivscreen.relaxation import Guards, relax, single_point
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


def run(backend: str, steps: int, fmax: float = FMAX, max_displacement: float = 0.5) -> dict:
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("backends", nargs="*", help="backends to test (default: every available xtb and ml backend)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--fmax", type=float, default=FMAX)
    ap.add_argument(
        "--max-displacement", type=float, default=0.5, help="displacement guard (A); PASS needs the default 0.5"
    )
    ap.add_argument("--dft", action="store_true", help="also the available DFT backends (hours on 2 cores)")
    args = ap.parse_args()
    set_threads(args.threads)
    kinds = {"xtb", "ml"} | ({"dft"} if args.dft else set())
    names = args.backends or [n for n, b in REGISTRY.items() if b.kind in kinds]
    rows, skipped = [], []
    for name in names:
        backend = REGISTRY[name]
        reason = unavailable_reason(name)
        if reason is None and not backend.periodic:
            reason = "not trusted for periodic systems"
        if reason is None and backend.elements is not None and not {"Cs", "Pb", "Br"} <= backend.elements:
            reason = "cannot treat Cs/Pb/Br"
        if reason:
            skipped.append((name, reason))
            continue
        print(f"... {name}", file=sys.stderr, flush=True)
        rows.append(run(name, args.steps, args.fmax, args.max_displacement))
    print(
        f"slab: 2x2, 3 PbBr2 layers (Cs8Pb12Br32), rattle {RATTLE} A seed {SEED}, BFGS fmax {args.fmax}, "
        f"displacement guard {args.max_displacement} A, threads {args.threads}"
    )
    print()
    print(
        "| backend | status | steps (cap) | wall s | E - E_ideal (eV) | min Pb-Br (A) | min Cs-Br (A) "
        "| max displ. (A) | guard | result |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "steps" not in r:
            print(f"| {r['backend']} | {r['status']} | | | | | | | | FAIL |")
            continue
        de = "n/a" if r["dE"] is None else f"{r['dE']:+.3f}"
        print(
            f"| {r['backend']} | {r['status']} | {r['steps']} ({r['cap']}) | {r['wall_s']:.0f} | {de} "
            f"| {r['pb_br']:.2f} | {r['cs_br']:.2f} | {r['disp']:.2f} | {r['guard']} "
            f"| {'PASS' if r['pass'] else 'FAIL'} |"
        )
    for r in rows:
        if r.get("reason"):
            print(f"\n{r['backend']}: {r['reason']}")
    for name, reason in skipped:
        print(f"\nnot run: {name}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
