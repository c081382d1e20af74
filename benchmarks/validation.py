"""Time from `passivscreen validate CONFIG` to its error, for each bad-input case (goal: < 0.63 MU, before any compute).

Usage: python benchmarks/validation.py
Each case is a real config file run through the CLI in a fresh process (imports included). Times in seconds and
in machine units (``benchmarks/machine_unit.py``, measured first); the goal, < 5 s before issue 22, in machine
units of the developers' machine (5 s / 7.95 s = 0.63 MU).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from machine_unit import SYMBOL, announce, goal_units, in_units, machine_unit, to_units

#: the goal before issue 22 (s), restated in machine units by :func:`goal_units`
GOAL_S = 5.0
BASE = {"set": "bench", "ligands": [{"name": "acetone", "smiles": "CC(C)=O"}]}
CASES = {
    "unknown key": {"colour": "red"},
    "wrong type": {"slab": {"vacuum": "lots"}},
    "zero layers": {"slab": {"n_pbbr2_layers": 0}},
    "negative vacuum": {"slab": {"vacuum": -3.0}},
    "unparsable SMILES": {"ligands": [{"name": "bad", "smiles": "C1CC(=O"}]},
    "no anchor": {"ligands": [{"name": "hexane", "smiles": "CCCCCC"}]},
    "ambiguous anchor": {"ligands": [{"name": "two", "smiles": "CP(C)(=O)CC(C)=O"}]},
    "elements of backend": {"calculator": {"backend": "emt"}},
    "duplicate names": {"ligands": [{"name": "a", "smiles": "CC=O"}, {"name": "a", "smiles": "CS"}]},
    "unknown backend": {"calculator": {"backend": "dftb9"}},
    "valid config (reference)": {},
}


def main() -> int:
    announce()
    goal = goal_units(GOAL_S)
    worst = 0.0
    codes: dict[str, int] = {}
    print(f"{'case':28s} {'exit':>4s} {'seconds':>8s} {SYMBOL:>6s}  message")
    with tempfile.TemporaryDirectory() as tmp:
        for name, change in CASES.items():
            path = Path(tmp) / "c.yaml"
            path.write_text(yaml.safe_dump(BASE | change))
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "passivscreen.cli", "validate", str(path)], capture_output=True, text=True
            )
            dt = time.perf_counter() - t0
            worst = max(worst, dt)
            codes[name] = out.returncode
            msg = (out.stderr or out.stdout).strip().splitlines()[-1][:110]
            print(f"{name:28s} {out.returncode:4d} {dt:8.2f} {to_units(dt):6.2f}  {msg}")
    met = to_units(worst) < goal
    print(
        f"slowest: {worst:.2f} s = {in_units(worst)} (goal < {goal:.2f} {SYMBOL} = {goal * machine_unit():.2f} s "
        f"on this machine; < {GOAL_S:g} s before issue 22): {'PASS' if met else 'MISS'}"
    )
    refused = [n for n, code in codes.items() if n != "valid config (reference)" and code != 2]
    print(f"every bad config refused with exit code 2: {'PASS' if not refused else 'MISS: ' + ', '.join(refused)}")
    return 1 if not met or refused else 0


if __name__ == "__main__":
    sys.exit(main())
