"""What conformers do to E_ads: the seed set's flexible molecules with one conformer and with the default.

Usage: python benchmarks/conformers.py [--ligands a,b] [--jobs 2]

For each ligand (default: the flexible small molecules of configs/seed_paper.yaml), runs the free ligand and
the complex (default protocol, pristine site, top face) once with ``conformers: 1`` and once with the default
(1 + 3 per rotatable bond), and prints the number of conformers, E_ads both ways, the change, and the wall
time of each (in seconds and in machine units, ``benchmarks/machine_unit.py``). Goal: with conformers the
free-ligand reference is never higher than with one (the lowest conformer is the reference), i.e. every
E(ligand) change <= 0.005 eV; exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from machine_unit import SYMBOL, announce, to_units

ROOT = Path(__file__).resolve().parents[1]
FLEXIBLE = {
    "propanoic_acid": "CCC(=O)O",
    "propylamine": "CCCN",
    "propanethiol": "CCCS",
    "butylammonium_bromide": "CCCC[NH3+].[Br-]",
    "propanoate": "CCC(=O)[O-]",
    "hexanoic_acid": "CCCCCC(=O)O",
}


def run_one(name: str, smiles: str, conformers: int | None) -> dict[str, Any]:
    from passivscreen.calculators import set_threads
    from passivscreen.config import validate_config
    from passivscreen.records.layout import Results
    from passivscreen.steps.adsorption import run_adsorption_member
    from passivscreen.steps.convergence import complex_paths
    from passivscreen.steps.jobs import complex_member
    from passivscreen.steps.ligand import run_ligand
    from passivscreen.steps.slab import run_slab
    from passivscreen.structures import site_labels

    set_threads(1)
    cfg = validate_config({"set": "conf", "conformers": conformers, "ligands": [{"name": name, "smiles": smiles}]})
    with tempfile.TemporaryDirectory() as tmp:
        res = Path(tmp)
        site = site_labels(cfg, (2, 2))[0]  # the default slab.repeat: auto; 2x2 holds these molecules
        p = complex_paths(res, name, site, "top")
        layout = Results(str(res))
        t0 = time.perf_counter()
        run_slab(cfg, site, "top", p["slab_record"], p["slab"])
        lig = run_ligand(cfg, name, p["ligand_record"], p["ligand"], layout.ligand(name).workdir)
        rec = run_adsorption_member(cfg, complex_member(layout, name, site, "top"))
        wall = time.perf_counter() - t0
    return {
        "ligand": name,
        "conformers": conformers,
        "n": lig.get("n_conformers"),
        "E_ligand": lig.get("energy_eV"),
        "E_ads": rec.get("E_ads_eV"),
        "status": rec.get("status"),
        "wall_s": wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ligands", default=",".join(FLEXIBLE))
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    names = args.ligands.split(",")
    tasks = [(n, FLEXIBLE[n], c) for n in names for c in (1, None)]
    announce()  # the unit first, with the cores free
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(run_one, *zip(*tasks)))
    by = {(r["ligand"], r["conformers"]): r for r in rows}
    print(
        "| ligand | conformers | E_ads one conformer (eV) | E_ads lowest of N (eV) | change (eV) "
        f"| E(ligand) change (eV) | wall 1 / N (s) | wall 1 / N ({SYMBOL}) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for n in names:
        a, b = by[(n, 1)], by[(n, None)]
        if a["E_ads"] is None or b["E_ads"] is None:
            print(f"| {n} | {b['n']} | {a['status']} | {b['status']} | | | | |")
            continue
        d_lig = b["E_ligand"] - a["E_ligand"]
        worst = max(worst, d_lig)
        print(
            f"| {n} | {b['n']} | {a['E_ads']:.3f} | {b['E_ads']:.3f} | {b['E_ads'] - a['E_ads']:+.3f} "
            f"| {d_lig:+.3f} | {a['wall_s']:.0f} / {b['wall_s']:.0f} "
            f"| {to_units(a['wall_s']):.1f} / {to_units(b['wall_s']):.1f} |"
        )
    ok = worst <= 0.005
    print(
        f"\ngoal: the lowest conformer is never above the single one (E(ligand) change <= 0.005 eV): "
        f"{'PASS' if ok else 'MISS'} ({worst:+.3f} eV)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
