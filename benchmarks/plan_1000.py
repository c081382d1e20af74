"""Plan (dry run) the DAG of a generated 1,000-ligand config; print planning time and job counts.

Usage: python benchmarks/plan_1000.py [N] [--batch-size B]
The planning time is printed in seconds and in machine units (``benchmarks/machine_unit.py``, measured first).
The ligands are generated anchor-bearing molecules (alkyl phosphine oxides, sulfoxides,
ketones, acids, amines, thiols of growing chain length and branching).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml
from machine_unit import announce, with_units

ROOT = Path(__file__).resolve().parents[1]
ANCHORS = ["P(C)(C)=O", "S(C)=O", "C(C)=O", "C(=O)O", "N", "S"]


def ligands(n: int) -> list[dict]:
    out = []
    for i in range(n):
        anchor = ANCHORS[i % len(ANCHORS)]
        length = i // len(ANCHORS)
        chain = "C" * (1 + length % 12) + "C(C)" * (length // 12)
        out.append({"name": f"lig{i:04d}", "smiles": chain + anchor})
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=1000, help="number of ligands")
    ap.add_argument("--batch-size", type=int, default=50, help="relaxations per cluster job (ligands and complexes)")
    args = ap.parse_args()
    n = args.n
    announce()
    cfg = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    cfg["set"] = f"plan{n}"
    cfg["batch_size"] = args.batch_size
    cfg["ligand_batch_size"] = args.batch_size
    cfg["ligands"] = ligands(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.yaml"
        path.write_text(yaml.safe_dump(cfg))
        t0 = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(ROOT / "Snakefile"),
                "--directory",
                tmp,
                "--configfile",
                str(path),
                "-n",
                "--quiet",
                "rules",
            ],
            capture_output=True,
            text=True,
        )
        dt = time.perf_counter() - t0
    if out.returncode != 0:
        print(out.stderr[-2000:])
        return 1
    text = out.stdout + out.stderr
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", text, re.M)}
    local = {"all"}
    cluster = sum(v for k, v in counts.items() if k not in local and k != "total")
    families = Counter()
    for rule, count in counts.items():
        if rule != "total":
            families[re.sub(r"_\d{4}$", "", rule)] += count
    print(
        f"ligands: {n}; batch_size: {args.batch_size}; planning (dry run incl. config validation): "
        f"{with_units(dt, '.1f')}"
    )
    print(f"jobs by rule family: {dict(families)}")
    print(f"cluster jobs (all but `all`): {cluster}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
