"""Issue 24 item 2: validation and planning of a ligand library file, against the goals for 10,000 rows.

Usage: python benchmarks/library_scale.py [N] [--batch-size B]     (default 10,000 rows, batches of 50)

Generates a CSV library of N rows as a chemist's file brings them: distinct molecules of 10-60 atoms over the
neutral anchor classes (phosphine oxides, sulfoxides, ketones, acids, amines, thiols, nitroso compounds) with
their own alkyl groups, on alkyl chains, branches and substituted phenylenes, with one broken row, one
repeat of a molecule and one hydrochloride per 100 rows and one name in ten with spaces and a comma; then
times ``passivscreen validate`` (``on_bad_ligand: skip``) and ``snakemake -n`` on a config that names it
(``slab.repeat: auto``, the default), counts the cluster jobs, and states both times in machine units
(``benchmarks/machine_unit.py``, measured first).
Goals (issue 24): validate < 2 min, ``snakemake -n`` < 2 min, at most 500 cluster jobs. Exits 1 on a miss
(for N other than 10,000 the goals are scaled to N / 10,000).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from machine_unit import announce, with_units

from passivscreen.schema import top_level_default
from passivscreen.structures.cells import AUTO_MAX, AUTO_MIN

ROOT = Path(__file__).resolve().parents[1]
ALKYL = ["C", "CC", "CCC", "CC(C)", "CCCC", "CC(C)C", "C(C)(C)C", "CCCCC", "CCC(C)C", "CCCCCC", "CCCCCCC", "C1CC1"]
#: anchor groups with their own alkyl groups: the neutral anchor classes
ANCHORS = (
    [f"P(=O)({a})({b})" for a, b in itertools.combinations_with_replacement(ALKYL, 2)]
    + [f"S(=O){a}" for a in ALKYL]
    + [f"C(=O){a}" for a in ALKYL]
    + [f"N{a}" for a in ALKYL]
    + ["C(=O)O", "N", "S", "N=O"]
)
#: what carries the anchor: an alkyl chain, or a phenylene (para, meta, ortho; para with a ring substituent)
CORES = ["{R}{A}", "{R}c1ccc(cc1){A}", "{R}c1cccc(c1){A}", "{R}c1ccccc1{A}"] + [
    "{R}c1c(" + x + ")cc(cc1){A}" for x in ("F", "Cl", "C", "OC", "C(F)(F)F")
]
RESIDUES = [""] + ALKYL + ["OC", "FC(F)(F)"]
GOAL_S, GOAL_JOBS = 120.0, 500


def molecules(n: int) -> list[str]:
    """n distinct canonical SMILES of 10-60 atoms (hydrogens included), in a fixed order."""
    from rdkit import Chem

    out, seen = [], set()
    for r, core, a in itertools.product(RESIDUES, CORES, ANCHORS):
        if not r and core == "{R}{A}":
            continue
        mol = Chem.MolFromSmiles(core.format(R=r, A=a))
        if mol is None or not 10 <= Chem.AddHs(mol).GetNumAtoms() <= 60:
            continue
        can = Chem.MolToSmiles(mol)
        if can not in seen:
            seen.add(can)
            out.append(can)
            if len(out) == n:
                return out
    raise ValueError(f"the generator makes {len(out)} distinct molecules, fewer than {n}")


def write_library(path: Path, n: int) -> int:
    """The CSV: n rows, one in 100 broken, one in 100 a repeat (another SMILES of an earlier molecule)."""
    mols = molecules(n)
    bad = 0
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "smiles", "label"])
        for i, smi in enumerate(mols):
            if i % 100 == 37:
                smi, bad = smi + "((", bad + 1
            elif i % 100 == 71 and i > 0:
                smi, bad = mols[i - 1], bad + 1
            elif i % 100 == 53:
                smi += ".Cl"  # a hydrochloride, as catalogues sell amines: screened without its HCl
            # one name in ten as a catalogue writes it (spaces, a comma): run under a file-safe name
            w.writerow([f"candidate {i:05d}, lot A" if i % 10 == 3 else f"cand{i:05d}", smi, "generated"])
    return bad


def run(cmd: list[str], cwd: Path, timeout: float | None = None) -> tuple[subprocess.CompletedProcess | None, float]:
    """The finished process and its wall time; None when it was stopped after ``timeout`` s."""
    t0 = time.perf_counter()
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=50)
    args = ap.parse_args()
    announce()
    scale = args.n / 10_000
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bad = write_library(work / "library.csv", args.n)
        cfg = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
        cfg.update(set="library", ligands=[], ligands_file="library.csv", on_bad_ligand="skip")
        cfg.update(batch_size=args.batch_size, ligand_batch_size=args.batch_size)
        (work / "library.yaml").write_text(yaml.safe_dump(cfg))
        val, t_val = run([sys.executable, "-m", "passivscreen.cli", "validate", "library.yaml"], work)
        if val.returncode != 0:
            print(val.stderr[-2000:])
            return 1
        plan, t_plan = run(
            [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", tmp,
             "--configfile", "library.yaml", "-n", "--quiet", "rules"],
            work,
            timeout=2 * GOAL_S * scale,
        )  # fmt: skip
        if plan is None:
            print(f"library: {args.n} rows ({bad} broken or repeated), batches of {args.batch_size}")
            print(f"validate: {with_units(t_val, '.1f')}; goal {GOAL_S * scale:.0f} s")
            print(f"snakemake -n: stopped after {with_units(t_plan, '.1f')} (twice the goal of {GOAL_S * scale:.0f} s)")
            print("goals: MISSED")
            return 1
        if plan.returncode != 0:
            print(plan.stderr[-2000:])
            return 1
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", plan.stdout + plan.stderr, re.M)}
    jobs = sum(v for k, v in counts.items() if k not in ("all", "total"))
    # with slab.repeat: auto the slab references join the plan when the ligand jobs (checkpoints) have chosen the
    # cells: at most one per site, face set and cell auto may choose (and the clean slab of each cell)
    n_cells = AUTO_MAX - AUTO_MIN + 1 if cfg["slab"].get("repeat") == "auto" else 0
    sites, faces = (cfg.get(k, top_level_default(k)) for k in ("sites", "faces"))
    slabs = n_cells * (len(sites) * len(faces) + 1)
    jobs += slabs
    used = re.search(r"(\d+) of (\d+) rows used", val.stdout)
    print(f"library: {args.n} rows ({bad} broken or repeated), batches of {args.batch_size}")
    print(f"validate: {with_units(t_val, '.1f')}, {used.group(0) if used else '?'}; goal {GOAL_S * scale:.0f} s")
    print(f"snakemake -n: {with_units(t_plan, '.1f')}, {jobs} cluster jobs (with at most {slabs} slab references that "
          f"the ligand jobs add by the cells they choose); goals {GOAL_S * scale:.0f} s, "
          f"{GOAL_JOBS * scale:.0f} jobs")  # fmt: skip
    print(f"per row: validate {1000 * t_val / args.n:.1f} ms, plan {1000 * t_plan / args.n:.1f} ms")
    ok = t_val <= GOAL_S * scale and t_plan <= GOAL_S * scale and jobs <= GOAL_JOBS * max(scale, 1.0)
    print("goals: " + ("met" if ok else "MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
