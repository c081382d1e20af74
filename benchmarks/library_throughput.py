"""Issue 24 item 4: the throughput of a library screen, measured on a generated library from a clean tree.

Usage: python benchmarks/library_throughput.py [N] [--cores 2] [--plumbing] [--workdir DIR] [--hours H]
[--archive ARCHIVE] [--report]   (default 50 ligands, in a temporary folder, to the end)

The whole run is about 12-18 h of 2 cores, more than one sitting, and a later sitting may be on a fresh
machine: ``--archive benchmarks/runs/throughput.tar.xz`` carries the finished work from machine to machine
(``benchmarks/sittings.py``: restored when the work directory holds no run, written after each sitting, refused
when the screening protocol changed). ``--workdir DIR`` keeps the library, the
results tree and the time spent in DIR, so that the run goes on where it stopped when the command is given
again (finished jobs are kept, a cut relaxation resumes from its trajectory); ``--hours H`` stops it after H
hours (Snakemake ends its jobs) and reports what has finished so far from ``passivscreen rank``: the figures
of a partial run are labelled PARTIAL and rest on the ligands finished, with the wall time of every sitting
(each in the machine unit measured at its start). ``--report`` runs no job and writes no archive: it ranks what has
finished (``passivscreen rank``) and prints the figures of the run in DIR (restored from ARCHIVE when DIR holds
none) as they stand.

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
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml
from library_scale import ALKYL, CORES, RESIDUES
from machine_unit import announce, in_units, machine_unit, with_units
from sittings import (
    check_protocol,
    core_seconds,
    cores_ran,
    protocol_of,
    restore,
    save,
    sit,
    sittings_of,
    snakemake_command,
    write_if_changed,
)

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
    ap.add_argument("--workdir", type=Path, help="keep the run here and go on with it when given again")
    ap.add_argument("--hours", type=float, help="stop after this many hours and report what has finished")
    ap.add_argument("--archive", type=Path, help="carry the run in this archive from machine to machine "
                    "(benchmarks/sittings.py): restored into the work directory when it holds no run, written "
                    "after the sitting and every --save-every minutes while it runs")  # fmt: skip
    ap.add_argument("--save-every", type=float, default=20.0, metavar="MIN", help="0: save only at the end")
    ap.add_argument("--report", action="store_true", help="no job, no archive written: rank what has "
                    "finished and print the figures of the run in --workdir (or restored there from --archive) "
                    "as they stand")  # fmt: skip
    args = ap.parse_args()
    announce()
    unit = machine_unit()
    from rdkit import Chem

    with tempfile.TemporaryDirectory(prefix="passivscreen-throughput-") as tmp:
        work = (args.workdir or Path(tmp)).resolve()
        archive = args.archive.resolve() if args.archive else None
        if archive and restore(archive, work):
            print(f"restored {len(sittings_of(work))} sitting(s) of work from {archive} into {work}")
        work.mkdir(parents=True, exist_ok=True)
        cands = candidates(args.n)
        atoms = {f"lib{i:03d}": Chem.AddHs(Chem.MolFromSmiles(smi)).GetNumAtoms() for i, (_, smi) in enumerate(cands)}
        if not (work / "library.csv").exists():
            with (work / "library.csv").open("w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["name", "smiles", "label"])
                for i, (cls, smi) in enumerate(cands):
                    w.writerow([f"lib{i:03d}", smi, cls])
        cfg = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
        cfg.update(set="throughput", ligands=[], ligands_file="library.csv", on_bad_ligand="skip")
        if args.plumbing:
            test = yaml.safe_load((ROOT / "configs" / "test.yaml").read_text())
            cfg.update(slab=test["slab"], relax=test["relax"], placement=test["placement"], sites=["pristine"])
            cfg.update(faces=["top"], conformers=1)
        write_if_changed(work / "library.yaml", yaml.safe_dump(cfg))
        protocol, fp = protocol_of(work / "library.yaml")
        why = check_protocol(sittings_of(work), protocol, fp)
        if why:
            print(f"{work}: {why}")
            return 1
        if args.report:  # partial until every ligand has its rows (below)
            code, stopped, stderr, archive = 0, True, "", None
        else:
            cmd = snakemake_command(work, "library.yaml", args.cores)
            record, stderr = sit(work, cmd, args.hours, unit, protocol, fp, None, archive, args.save_every * 60)
            code, stopped = record["exit"], record["stopped"]
        sittings = sittings_of(work)
        # each sitting's time in the unit of its own machine, then in seconds of this one
        wall_mu = sum(x["wall_s"] / x["mu_s"] for x in sittings)
        wall = wall_mu * unit
        core_s = core_seconds(sittings, unit)
        res = work / "results" / "throughput"
        if stopped:  # what has finished, ranked as a campaign is ranked while it runs
            subprocess.run([sys.executable, "-m", "passivscreen.cli", "rank", "library.yaml"], cwd=work, check=False)
        if archive:
            print(f"archive: {archive} ({save(work, archive) / 1e6:.2f} MB)")
        if not (res / "ranking.csv").exists():
            print(stderr)
            print("no ranking.csv: the run failed" if not stopped else "PARTIAL: no complex has finished yet")
            return 1 if not stopped else 2
        ranking = pd.read_csv(res / "ranking.csv")
        # the cell each ligand's job chose (slab.repeat: auto; ranking.csv's repeat column says the same per row)
        cell_of = {p.stem: int(json.loads(p.read_text()).get("cell", [0])[0]) for p in (res / "ligands").glob("*.json")}
        cells = Counter(cell_of.values())
        # the adsorption jobs' times, each in the unit of the machine it ran on, then in seconds of this one
        jobs = {
            name: sec / x["mu_s"] * unit
            for x in sittings
            for name, sec in x.get("jobs", {}).items()
            if "/benchmarks/adsorption/" in name
        }
        # the cell of each adsorption job: its log names its complexes ("<ligand> on <site> (<face>): ...")
        job_cell = {}
        for name in jobs:
            log = (work / name.replace("/benchmarks/", "/logs/")).with_suffix(".log")
            ligs = {line.split(" on ")[0] for line in log.read_text().splitlines() if " on " in line}
            job_cell[name] = {cell_of.get(x, 0) for x in ligs}
    cores = sorted({cores_ran(x) for x in sittings})
    complete = ranking.groupby("ligand")["complete"].all() if "complete" in ranking else None
    if complete is not None:  # a partial ranking: only the ligands whose every complex is in count
        ranking = ranking[ranking["ligand"].isin(complete[complete].index)]
    names = set(ranking["ligand"])
    missing = {f"lib{i:03d}" for i in range(args.n)} - names
    if args.report:
        stopped = bool(missing)
    n_ok = ranking.loc[ranking["status"] == "ok", "ligand"].nunique()
    per_core_hour = n_ok / (core_s / 3600)
    what = "plumbing" if args.plumbing else "shipped protocol"
    if len(sittings) > 1 or stopped:
        print(f"{'PARTIAL: ' if stopped else ''}{len(sittings)} sitting(s): "
              + ", ".join(f"{x['wall_s']:.0f} s at MU {x['mu_s']:.2f} s" for x in sittings)
              + f"; {wall_mu:.0f} MU in all")  # fmt: skip
    print(f"library: {args.n} generated ligands, {min(atoms.values())}-{max(atoms.values())} atoms "
          f"(median {statistics.median(atoms.values()):.0f}), classes in turn; {what}")  # fmt: skip
    print(
        "cells: " + ", ".join(f"{n}x{n} {k} ligands" if n else f"given {k} ligands" for n, k in sorted(cells.items()))
    )
    print(f"wall: {with_units(wall)}, core time {with_units(core_s)} (sittings on {'/'.join(map(str, cores))} cores; "
          f"the sittings' MU in seconds of this machine); "
          f"ranking.csv has {len(names)} ligands, {n_ok} with an ok row")  # fmt: skip
    print(f"throughput: {per_core_hour:.2f} ligands per core-hour "
          f"({in_units(core_s / max(n_ok, 1))} of core time per ligand)")  # fmt: skip
    if jobs:
        times = sorted(jobs.values())
        median, largest = with_units(statistics.median(times)), with_units(times[-1])
        print(f"adsorption jobs: {len(times)}, median {median}, largest {largest}")
        for n in sorted({c for cs in job_cell.values() for c in cs}):
            own = sorted(t for name, t in jobs.items() if job_cell[name] == {n})
            if own:  # a job cut by the end of a sitting counts only its last part (the rest is in the core time)
                print(f"  on {n}x{n}: {len(own)} jobs, median {with_units(statistics.median(own))}, "
                      f"largest {with_units(own[-1])}, sum {with_units(sum(own))}")  # fmt: skip
    if per_core_hour:
        core_h = 10_000 / per_core_hour
        print(f"10,000 ligands: {core_h:,.0f} core-hours; in one day {core_h / 24:,.0f} cores = "
              f"{core_h / 24 / 64:,.1f} 64-core nodes (MU here {unit:.2f} s)")  # fmt: skip
    if stopped:
        print(f"PARTIAL: {len(names)} of {args.n} ligands finished; run the same command to go on")
        return 2
    if missing or code != 0:
        print(stderr)
        print(f"run exit {code}; ligands without a row: {sorted(missing)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
