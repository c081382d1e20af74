"""The free ligand's cell at a DFT funnel tier: the slab's whole cell against the short one the funnel uses.

Usage: python benchmarks/dft_ligand_box.py [configs/validation.yaml] [--threads 2] [--ligands a,b]

For every ligand of the finished DFT check (``results/<set>/ligands/*.extxyz``, the screen's geometries),
a single point at the config's last funnel tier (e.g. CP2K PBE-D3) in (a) the slab's own cell of that tier
(the same cell and grid as the slab and the complex) and (b) the slab's lateral cell with
:data:`~passivscreen.calculators.systems.SLAB_CELL_MOLECULE_VACUUM` A above and below the molecule
(:func:`~passivscreen.calculators.systems.molecule_box`, what the funnel uses), both with the molecule's
parameters (one SCF, the dipole correction on). E_ads changes by -(E_b - E_a): the goal is |E_b - E_a| < 0.02 eV
for every ligand. Prints the energies, the difference and the time of each (in seconds and in machine units,
``benchmarks/machine_unit.py``); exits 1 when one misses the goal.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ase.io import read
from machine_unit import SYMBOL, announce, to_units

from passivscreen.calculators import attach, funnel_tiers, set_threads, tiers_from_config
from passivscreen.calculators.systems import electronic_state, molecule_box
from passivscreen.config.load import load_config
from passivscreen.records.files import read_json
from passivscreen.records.layout import BASE, Results
from passivscreen.steps.funnel import tier_spec
from passivscreen.structures import build_slab

ROOT = Path(__file__).resolve().parents[1]
GOAL_EV = 0.02


def energy(atoms, tier, charge: int) -> tuple[float, float]:
    """Single point with a calculator of its own (a new cell gets a new CP2K force environment anyway)."""
    electronic_state(atoms, charge, 1)
    attach(atoms, tier.backend, tier.parameters, fresh=True)
    t0 = time.perf_counter()
    try:
        e = float(atoms.get_potential_energy())
    finally:
        close = getattr(atoms.calc, "close", None)
        if close is not None:
            close()
    return e, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", nargs="?", default=str(ROOT / "configs" / "validation.yaml"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ligands", default="", help="comma-separated names (default: every ligand of the run)")
    args = ap.parse_args()
    cfg = load_config(args.config)
    set_threads(args.threads)
    tier = funnel_tiers(tiers_from_config(cfg))[-1]
    molecule_tier = tier.for_molecule()
    res = Results.for_set(cfg["set"], ROOT / BASE)
    cell = build_slab(tier_spec(cfg, tier)).cell
    names = [n for n in args.ligands.split(",") if n] or sorted(p.stem for p in res.existing(res.ligand("*").xyz))
    announce()
    print(f"tier {tier.name} ({tier.backend}); slab cell {cell.lengths().round(2).tolist()} A")
    print(
        "| ligand | E, slab cell (eV) | E, short cell (eV) | c of the short cell (A) | difference (eV) | time (s) "
        f"| time ({SYMBOL}) |"
    )
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for name in names:
        files = res.ligand(name)
        lig = read(files.xyz)
        charge = int(read_json(files.json).get("charge", 0))
        whole = lig.copy()
        whole.cell, whole.pbc = cell, True
        whole.center()
        short = lig.copy()
        molecule_box(short, molecule_tier, cell=cell)
        e_a, t_a = energy(whole, molecule_tier, charge)
        e_b, t_b = energy(short, molecule_tier, charge)
        worst = max(worst, abs(e_b - e_a))
        c = short.cell.lengths()[2]
        print(
            f"| {name} | {e_a:.4f} | {e_b:.4f} | {c:.2f} | {e_b - e_a:+.4f} | {t_a:.0f} / {t_b:.0f} "
            f"| {to_units(t_a):.1f} / {to_units(t_b):.1f} |"
        )
    met = worst < GOAL_EV
    print(f"largest |difference| {worst:.4f} eV   goal < {GOAL_EV}   {'PASS' if met else 'MISS'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
