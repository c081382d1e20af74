"""The orbital analysis (bond orders, trap states) when the restarted SCF it needs does not converge."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule


@pytest.fixture
def water():
    from passivscreen.calculators import get_calculator

    atoms = molecule("H2O")
    atoms.calc = get_calculator("gfn2", fresh=True)
    atoms.get_potential_energy()
    return atoms


def test_a_restart_that_fails_falls_back_to_a_new_damped_scf(water, monkeypatch):
    from tblite.exceptions import TBLiteRuntimeError

    from passivscreen.analysis.electronic import orbital_summary

    reference = orbital_summary(water, {}, [(0, 1)])
    xtb = water.calc._xtb
    real = type(xtb).singlepoint
    calls = []

    def restart_fails(self, res=None, copy=False):
        calls.append(res is not None)
        if res is not None:
            raise TBLiteRuntimeError("SCF not converged in 250 cycles")
        return real(self, res, copy)

    monkeypatch.setattr(type(xtb), "singlepoint", restart_fails)
    got = orbital_summary(water, {}, [(0, 1)])
    assert calls == [True, False]  # the restart, then a new SCF
    assert got is not None
    assert got["bond_orders"][0] == pytest.approx(reference["bond_orders"][0], abs=1e-4)
    assert np.allclose(got["energies_eV"], reference["energies_eV"], atol=1e-3)


def test_the_analysis_gives_up_without_losing_the_row(water, monkeypatch):
    from tblite.exceptions import TBLiteRuntimeError

    from passivscreen.analysis.electronic import orbital_summary

    def never(self, res=None, copy=False):
        raise TBLiteRuntimeError("SCF not converged in 1000 cycles")

    monkeypatch.setattr(type(water.calc._xtb), "singlepoint", never)
    assert orbital_summary(water, {}, [(0, 1)]) is None
