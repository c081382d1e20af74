"""The convergence table of docs/convergence.md from a harness run, checked against the goal.

Usage: python benchmarks/convergence_table.py [results/default]
       (after `passivscreen converge configs/default.yaml`, or `snakemake converge`)

Prints, per complex (one per anchor class in the default screen): E_ads per ligand at the protocol, its
change at twice the vacuum, with one more PbBr2 layer, on the next lateral cell and at 3x tighter SCF,
then E_ads along each axis; the harness's time in seconds and in machine units (``benchmarks/machine_unit.py``,
measured here). Exits 1 if a check moves an E_ads by more than the tolerance (0.05 eV).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from machine_unit import announce, with_units

from passivscreen.records.layout import BASE, Results
from passivscreen.types import E_ADS_PER_LIGAND

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    res = Results(sys.argv[1]) if len(sys.argv) > 1 else Results.for_set("default", ROOT / BASE)
    df = pd.read_csv(res.convergence.csv)
    summary = json.loads(Path(res.convergence.summary).read_text())
    announce()
    tol = float(summary["tolerance_eV"])
    p = summary["protocol"]
    print(
        f"protocol: {p['backend']} ({p['parameters'].get('method')}, accuracy {p['parameters'].get('accuracy')}), "
        f"{p['repeat'][0]}x{p['repeat'][1]} cell, {p['layers']} PbBr2 layers, {p['total_vacuum_A']:g} A vacuum; "
        f"harness single points {with_units(summary.get('calc_s') or 0)}\n"
    )
    axes = [a for a in ("vacuum", "layers", "repeat", "accuracy") if a in set(df["axis"])]
    head = (
        "| ligand | anchor | E_ads at the protocol (eV) | "
        + " | ".join(f"{a}: check {df[(df.axis == a) & df.check].value.iloc[0]}" for a in axes)
        + " | largest change | within 0.05 eV |"
    )
    print(head)
    print("|" + "---|" * (len(axes) + 5))
    missed = []
    for (lig, anchor), g in df.groupby(["ligand", "anchor"], sort=False):
        e0 = g[g.protocol][E_ADS_PER_LIGAND].iloc[0]
        deltas = [g[(g.axis == a) & g.check].delta_eV.iloc[0] for a in axes]
        worst = max(abs(d) for d in deltas)
        ok = worst <= tol
        if not ok:
            missed.append(f"{lig} ({anchor}) {worst:.3f} eV")
        cells = " | ".join(f"{d:+.3f}" for d in deltas)
        print(f"| {lig} | {anchor} | {e0:.3f} | {cells} | {worst:.3f} | {'yes' if ok else '**no**'} |")
    for a in axes:
        sub = df[df.axis == a]
        values = list(dict.fromkeys(sub.value.astype(str)))
        print(f"\nE_ads per ligand (eV) against {a}:\n")
        print("| ligand | " + " | ".join(values) + " |")
        print("|" + "---|" * (len(values) + 1))
        for lig, g in sub.groupby("ligand", sort=False):
            e = dict(zip(g.value.astype(str), g[E_ADS_PER_LIGAND]))
            print(f"| {lig} | " + " | ".join(f"{e[v]:.3f}" if v in e else "" for v in values) + " |")
    print(f"\ngoal: every check within {tol} eV: {'PASS' if not missed else 'MISS: ' + '; '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
