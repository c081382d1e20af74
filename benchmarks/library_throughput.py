"""Issue 24 item 4: the throughput of a library screen, measured on a generated library from a clean tree.

Usage: python benchmarks/library_throughput.py [N] [--cores 2] [--plumbing]      (default 50 ligands)

Generates N distinct candidates of 10-40 atoms (hydrogens included), the neutral anchor classes in turn
(phosphine oxides, sulfoxides, ketones, acids, amines, thiols, nitroso compounds; the generator of
``library_scale.py``: alkyl chains, branches and substituted phenylenes), writes them as a ``ligands_file``
CSV beside a copy of configs/default.yaml (the shipped protocol: GFN2-xTB, the search, ``slab.repeat: auto``)
in a temporary folder, runs ``snakemake --cores C --keep-going`` there from a clean tree and reports:
the wall time in seconds and machine units, the ligands finished per core-hour, the cells the ligands got,
the adsorption job time per ligand against its atom count (median and largest, in MU), and what 10,000
ligands would take (core-hours; 64-core nodes for one day). ``--plumbing`` runs the same on the tiny slab
with one start per ligand (configs/test.yaml's search) to check the script, not to measure.

Exits 1 when the run fails or a ligand has no row in ranking.csv. There is no speed goal in the issue: the
figures go to docs/benchmarks.md and docs/slurm.md turns them into an allocation.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml
from library_scale import ALKYL, CORES, RESIDUES
from machine_unit import announce, in_units, machine_unit, with_units

ROOT = Path(__file__).resolve().parents[1]
#: one anchor family per neutral class, each with its own alkyl groups
FAMILIES = {
    "P=O": [f"P(=O)({a})({a})" for a in ALKYL],
    "S=O": [f"S(=O){a}" for a in ALKYL],
    "C=O": [f"C(=O){a}" for a in ALKYL],
    "COOH": ["C(=O)O"],
    "amine": ["N", *[f"N{a}" for a in ALKYL]],
    "thiol": ["S"],
    "N=O": ["N=O"],
}


def candidates(n: int, low: int = 10, high: int = 40) -> list[tuple[str, str]]:
    """n distinct (class, canonical SMILES) of ``low``-``high`` atoms, the classes in turn, in a fixed order."""
    from rdkit import Chem

    pools = {}
    for cls, anchors in FAMILIES.items():
        pool = []
        for r, core, a in itertools.product(RESIDUES, CORES, anchors):
            if not r and core == "{R}{A}":
                continue
            mol = Chem.MolFromSmiles(core.format(R=r, A=a))
            if mol is not None and low <= Chem.AddHs(mol).GetNumAtoms() <= high:
                pool.append(Chem.MolToSmiles(mol))
        pools[cls] = list(dict.fromkeys(pool))
    out, seen = [], set()
    for i in itertools.count():
        for cls, pool in pools.items():
            if len(out) == n:
                return out
            smi = pool[(i * 7919) % len(pool)]  # a prime stride: spread over residues and cores, not the first ones
            if smi not in seen:
                seen.add(smi)
                out.append((cls, smi))
        if i > 100 * n:
            raise ValueError(f"only {len(out)} distinct candidates")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=50)
    ap.add_argument("--cores", default="2")
    ap.add_argument("--plumbing", action="store_true", help="tiny slab and one start: checks the script only")
    args = ap.parse_args()
    announce()
    unit = machine_unit()
    from rdkit import Chem

    with tempfile.TemporaryDirectory(prefix="passivscreen-throughput-") as tmp:
        work = Path(tmp)
        cands = candidates(args.n)
        atoms = {}
        with (work / "library.csv").open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["name", "smiles", "label"])
            for i, (cls, smi) in enumerate(cands):
                name = f"lib{i:03d}"
                atoms[name] = Chem.AddHs(Chem.MolFromSmiles(smi)).GetNumAtoms()
                w.writerow([name, smi, cls])
        cfg = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
        cfg.update(set="throughput", ligands=[], ligands_file="library.csv", on_bad_ligand="skip")
        if args.plumbing:
            test = yaml.safe_load((ROOT / "configs" / "test.yaml").read_text())
            cfg.update(slab=test["slab"], relax=test["relax"], placement=test["placement"], sites=["pristine"])
            cfg.update(faces=["top"], conformers=1)
        (work / "library.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", tmp]
        cmd += ["--configfile", "library.yaml", "--cores", args.cores, "--keep-going"]
        t0 = time.perf_counter()
        run = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        res = work / "results" / "throughput"
        if not (res / "ranking.csv").exists():
            print(run.stderr[-3000:])
            print("no ranking.csv: the run failed")
            return 1
        ranking = pd.read_csv(res / "ranking.csv")
        # the cell each ligand's job chose (slab.repeat: auto; ranking.csv's repeat column says the same per row)
        cells = Counter(int(json.loads(p.read_text()).get("cell", [0])[0]) for p in (res / "ligands").glob("*.json"))
        jobs = {}
        for tsv in (res / "benchmarks" / "adsorption").glob("*.tsv"):
            jobs[tsv.stem] = float(tsv.read_text().splitlines()[1].split("\t")[0])
    cores = int(args.cores)
    names = set(ranking["ligand"])
    n_ok = ranking.loc[ranking["status"] == "ok", "ligand"].nunique()
    per_core_hour = n_ok / (wall / 3600 * cores)
    what = "plumbing" if args.plumbing else "shipped protocol"
    print(f"library: {args.n} generated ligands, {min(atoms.values())}-{max(atoms.values())} atoms "
          f"(median {statistics.median(atoms.values()):.0f}), classes in turn; {what}")  # fmt: skip
    print(
        "cells: " + ", ".join(f"{n}x{n} {k} ligands" if n else f"given {k} ligands" for n, k in sorted(cells.items()))
    )
    print(f"wall: {with_units(wall)} on {cores} cores; ranking.csv has {len(names)} ligands, {n_ok} with an ok row")
    print(f"throughput: {per_core_hour:.2f} ligands per core-hour "
          f"({in_units(wall * cores / max(n_ok, 1))} of core time per ligand)")  # fmt: skip
    if jobs:
        times = sorted(jobs.values())
        median, largest = with_units(statistics.median(times)), with_units(times[-1])
        print(f"adsorption jobs: {len(times)}, median {median}, largest {largest}")
    if per_core_hour:
        core_h = 10_000 / per_core_hour
        print(f"10,000 ligands: {core_h:,.0f} core-hours; in one day {core_h / 24:,.0f} cores = "
              f"{core_h / 24 / 64:,.1f} 64-core nodes (MU here {unit:.2f} s)")  # fmt: skip
    missing = {f"lib{i:03d}" for i in range(args.n)} - names
    if missing or run.returncode != 0:
        print(f"run exit {run.returncode}; ligands without a row: {sorted(missing)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
