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
Wall times in seconds and in machine units (``benchmarks/machine_unit.py``, measured first).
"""

from __future__ import annotations

import argparse
import sys

from machine_unit import SYMBOL, announce, to_units

from passivscreen.calculators import REGISTRY, set_threads, unavailable_reason
from passivscreen.relaxation.slab_test import FMAX, RATTLE, SEED, slab_hold_test


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
    announce()  # the unit first (one thread, in a fresh process), then the backends
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
        rows.append(slab_hold_test(name, args.steps, args.fmax, args.max_displacement))
    print(
        f"slab: 2x2, 3 PbBr2 layers (Cs8Pb12Br32), rattle {RATTLE} A seed {SEED}, BFGS fmax {args.fmax}, "
        f"displacement guard {args.max_displacement} A, threads {args.threads}"
    )
    print()
    print(
        f"| backend | status | steps (cap) | wall s | wall {SYMBOL} | E - E_ideal (eV) | min Pb-Br (A) "
        "| min Cs-Br (A) | max displ. (A) | guard | result |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "steps" not in r:
            print(f"| {r['backend']} | {r['status']} | | | | | | | | | FAIL |")
            continue
        de = "n/a" if r["dE"] is None else f"{r['dE']:+.3f}"
        print(
            f"| {r['backend']} | {r['status']} | {r['steps']} ({r['cap']}) | {r['wall_s']:.0f} "
            f"| {to_units(r['wall_s']):.1f} | {de} "
            f"| {r['pb_br']:.2f} | {r['cs_br']:.2f} | {r['disp']:.2f} | {r['guard']} "
            f"| {'PASS' if r['pass'] else 'FAIL'} |"
        )
    for r in rows:
        if r.get("reason"):
            print(f"\n{r['backend']}: {r['reason']}")
    for name, reason in skipped:
        print(f"\nnot run: {name}: {reason}")
    # the goal: the registry's holds_slab is what this test finds (at the default settings)
    default = args.steps == 150 and args.fmax == FMAX and args.max_displacement == 0.5
    wrong = [r["backend"] for r in rows if "pass" in r and r["pass"] != REGISTRY[r["backend"]].holds_slab]
    print(
        f"\ngoal: Backend.holds_slab agrees with the slab test: {'PASS' if not wrong else 'MISS: ' + ', '.join(wrong)}"
    )
    return 1 if wrong and default else 0


if __name__ == "__main__":
    sys.exit(main())
