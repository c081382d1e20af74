"""Minimal reproducer for the tblite maintainers: the energy of a non-polar slab must not depend on the vacuum.

A 16-atom NaCl(001) slab (two layers, no dipole) is evaluated with GFN2-xTB and GFN1-xTB at 20-160 A of
vacuum along z. Once the slabs stop overlapping (20 A is plenty), the energy must stay constant. The script
prints the energies and exits non-zero if the spread from 40 to 160 A exceeds 1 meV.
tblite 0.7.0 passes (spread < 1e-4 eV); tblite 0.8.0 fails (GFN2: 1.55 eV, GFN1: 0.6 eV).

Usage: python benchmarks/tblite_box_reproducer.py            (needs only ase and tblite)
"""

from __future__ import annotations

import sys
from importlib.metadata import version

from ase.build import bulk, surface
from tblite.ase import TBLite

VACUA = (20, 40, 80, 160)
TOLERANCE_EV = 1e-3


def energies(method: str) -> dict[int, float]:
    slab = surface(bulk("NaCl", "rocksalt", a=5.64, cubic=True), (0, 0, 1), layers=2, periodic=True)
    out = {}
    for vac in VACUA:
        s = slab.copy()
        s.center(vacuum=vac / 2, axis=2)
        s.pbc = True
        s.calc = TBLite(method=method, verbosity=0, accuracy=1.0, max_iterations=500)
        out[vac] = float(s.get_potential_energy())
    return out


def main() -> int:
    print(f"tblite {version('tblite')}: NaCl(001), 2 layers, 16 atoms, energy (eV) vs total vacuum (A)")
    failed = False
    for method in ("GFN2-xTB", "GFN1-xTB"):
        e = energies(method)
        spread = max(e[v] for v in VACUA[1:]) - min(e[v] for v in VACUA[1:])
        ok = spread <= TOLERANCE_EV
        failed |= not ok
        row = "  ".join(f"{v:>4d}: {e[v]:.6f}" for v in VACUA)
        print(f"{method}  {row}  spread 40-160 A {spread:.2e} eV  {'PASS' if ok else 'FAIL'} (goal <= {TOLERANCE_EV})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
