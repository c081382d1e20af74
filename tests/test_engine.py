"""The engine itself: periodic GFN2-xTB energies must not depend on the box (the tblite 0.8.0 regression)."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from passivscreen.calculators import get_calculator
from passivscreen.structures import SlabSpec, build_slab


@pytest.mark.parametrize("method", ["gfn2", "gfn1"])
def test_nonpolar_slab_energy_is_independent_of_the_vacuum(method):
    """The held 2x2 PbBr2-terminated slab (no dipole) at 30 and 60 A of total vacuum: the same energy.

    tblite 0.7.0: equal to 1e-5 eV; tblite 0.8.0: 1.1 eV apart (docs/tblite-periodic.md).
    """
    e = {}
    for vac in (30.0, 60.0):
        slab = build_slab(SlabSpec(n_pbbr2=2, repeat=(2, 2), vacuum=vac / 2))
        slab.calc = get_calculator(method, {"accuracy": 1.0}, fresh=True)
        e[vac] = slab.get_potential_energy()
    assert abs(e[60.0] - e[30.0]) < 1e-3, f"tblite {version('tblite')}: {e}"
