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

    settings = []
    real_set = type(xtb).set
    monkeypatch.setattr(type(xtb), "singlepoint", restart_fails)
    monkeypatch.setattr(
        type(xtb), "set", lambda self, key, value: settings.append((key, value)) or real_set(self, key, value)
    )
    got = orbital_summary(water, {}, [(0, 1)])
    # the restart at the calculator's own thresholds (accuracy 3), at accuracy 10 and 30, then a new SCF
    assert calls == [True, True, True, False]
    assert got is not None and got["scf"] == "atomic guess, damped"
    # the calculator's own settings again afterwards
    last = dict(settings)
    assert last["accuracy"] == 3.0 and last["max-iter"] == 250 and last["mixer-damping"] == 0.4
    assert last["save-integrals"] == 0
    assert got["bond_orders"][0] == pytest.approx(reference["bond_orders"][0], abs=1e-4)
    assert np.allclose(got["energies_eV"], reference["energies_eV"], atol=1e-3)


def test_the_analysis_gives_up_without_losing_the_row(water, monkeypatch):
    from tblite.exceptions import TBLiteRuntimeError

    from passivscreen.analysis.electronic import orbital_summary

    def never(self, res=None, copy=False):
        raise TBLiteRuntimeError("SCF not converged in 1000 cycles")

    monkeypatch.setattr(type(water.calc._xtb), "singlepoint", never)
    assert orbital_summary(water, {}, [(0, 1)]) is None


def test_a_stalled_restart_converges_at_looser_thresholds(root):
    """DMSO lying on the slab at the end of its relaxation (the default screen's S=O row, 62 atoms): at the
    calculator's accuracy 3 neither the restart nor an SCF from scratch converges, so that row had no bond order
    until stop 32. The analysis restarts at accuracy 10 (energy-neutral: the same energy as the relaxation's to
    1e-9 eV) and gets its S=O ... Pb bond order. About 25 s."""
    from ase.io import read

    from passivscreen.analysis.electronic import orbital_summary
    from passivscreen.analysis.geometry import nearest_pb
    from passivscreen.calculators import get_calculator

    atoms = read(root / "tests" / "data" / "dmso_on_slab_stalled_scf.extxyz")
    calc = get_calculator("gfn2", fresh=True)
    assert calc.parameters["accuracy"] == 3.0
    calc.set(accuracy=10.0)
    atoms.calc = calc
    energy = atoms.get_potential_energy()
    # as the relaxation leaves it: a converged result, the calculator at its own accuracy (set on tblite's object
    # directly: ASE's set() would reset the calculator and drop the result)
    calc._xtb.set("accuracy", 3.0)
    calc.parameters["accuracy"] = 3.0
    oxygen = next(i for i in range(52, len(atoms)) if atoms[i].symbol == "O")
    pb, d = nearest_pb(atoms, oxygen, 52)
    summary = orbital_summary(atoms, {}, [(oxygen, pb)])
    assert summary is not None and summary["scf"] == "restart at accuracy 10"
    assert 2.4 < d < 2.8 and 0.1 < summary["bond_orders"][0] < 0.4
    assert energy == pytest.approx(-4835.6756, abs=1e-3)  # the relaxation's E_complex (-4835.67560393 eV)
