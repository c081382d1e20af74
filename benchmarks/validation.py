"""Time from `passivscreen validate CONFIG` to its error, for each bad-input case (goal: < 5 s, before any compute).

Usage: python benchmarks/validation.py
Each case is a real config file run through the CLI in a fresh process (imports included).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

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
    worst = 0.0
    codes: dict[str, int] = {}
    print(f"{'case':28s} {'exit':>4s} {'seconds':>8s}  message")
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
            print(f"{name:28s} {out.returncode:4d} {dt:8.2f}  {msg}")
    print(f"slowest: {worst:.2f} s (goal < 5 s): {'PASS' if worst < 5 else 'MISS'}")
    refused = [n for n, code in codes.items() if n != "valid config (reference)" and code != 2]
    print(f"every bad config refused with exit code 2: {'PASS' if not refused else 'MISS: ' + ', '.join(refused)}")
    return 1 if worst >= 5 or refused else 0


if __name__ == "__main__":
    sys.exit(main())
