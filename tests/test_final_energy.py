"""Which energy a relaxation reports after an SCF rescue (relaxation/optimizer.py::_final_energy), with real GFN2-xTB.

The SCF failures are real: a cycle cap (``max_iterations``) below what the SCF needs. Two systems:
acetaldehyde (converges in 9 cycles) and the Ag13 icosahedron, a small-gap metal cluster whose SCF needs
26 cycles from scratch at 300 K but converges within 20 at 5000 K (measured with tblite 0.7.0): the
case the electronic-temperature rungs of the ladder exist for, and a raised temperature moves its
energy by about 3 eV, so the temperature at which the final energy was taken cannot be mistaken.
"""

from __future__ import annotations

from typing import Any

import pytest
from ase import Atoms
from ase.build import molecule
from ase.cluster import Icosahedron

from passivscreen.calculators import get_calculator
from passivscreen.relaxation import relax

#: cycles allowed to the Ag13 SCF: enough at 5000 K, not at 300 K
AG13_CAP = 22
HOT = 5000.0


def _ag13() -> Atoms:
    """The 13-atom silver icosahedron (nearest neighbours 2.9 A)."""
    return Icosahedron("Ag", 2, latticeconstant=4.1)


def _energy(atoms: Atoms, **params: Any) -> float:
    """GFN2-xTB energy of ``atoms`` from a fresh calculator with ``params`` over the presets.

    Parameters
    ----------
    atoms
        The geometry (copied; not changed).
    **params
        tblite parameters that replace the presets.

    Returns
    -------
    float
        The energy in eV (raises if the SCF does not converge).
    """
    a = atoms.copy()
    a.calc = get_calculator("gfn2", params, fresh=True)
    return float(a.get_potential_energy())


def test_ag13_base_scf_stalls_where_the_hot_one_converges():
    """The premise of the Ag13 tests: at the cap the 300 K SCF fails and the 5000 K one converges."""
    with pytest.raises(Exception, match="SCF not converged"):
        _energy(_ag13(), max_iterations=AG13_CAP)
    assert _energy(_ag13(), max_iterations=AG13_CAP, electronic_temperature=HOT) < _energy(_ag13()) - 1.0


def test_energy_changing_rung_final_energy_at_base_temperature():
    """A rung that raised the electronic temperature: the reported energy is the 300 K one at the final
    geometry (the rung's cycle cap, energy-neutral, stays so that the 300 K SCF can converge)."""
    calc = get_calculator("gfn2", {"max_iterations": AG13_CAP}, fresh=True)
    r = relax(_ag13(), calc, fmax=0.05, steps=60, scf_ladder=[{"electronic_temperature": HOT, "max_iterations": 250}])
    assert r.status == "converged", r.reason
    assert [x["settings"]["electronic_temperature"] for x in r.scf_recoveries] == [HOT]
    e_base = _energy(r.atoms)
    assert r.energy == pytest.approx(e_base, abs=1e-5)
    assert abs(r.energy - _energy(r.atoms, electronic_temperature=HOT)) > 1.0
    assert calc.parameters["electronic_temperature"] == 300.0 and calc.parameters["max_iterations"] == AG13_CAP


def test_base_scf_failing_after_a_converged_run_is_scf_failed():
    """The steps converged at 5000 K, the 300 K single point at the end does not: no energy, status
    scf_failed with the reason (a temperature is not energy-neutral, so no fallback to the rung)."""
    calc = get_calculator("gfn2", {"max_iterations": AG13_CAP}, fresh=True)
    r = relax(_ag13(), calc, fmax=0.05, steps=60, scf_ladder=[{"electronic_temperature": HOT}])
    assert r.status == "scf_failed", (r.status, r.reason)
    assert r.reason.startswith("final single point at base settings failed") and "SCF not converged" in r.reason
    assert r.energy is None and r.fmax is None
    assert calc.parameters["electronic_temperature"] == 300.0


def test_loose_step_settings_final_energy_at_base_accuracy():
    """Steps at a loose SCF threshold (accuracy 1000: 0.015 eV off on acetaldehyde); the reported energy is
    at the calculator's own accuracy."""
    atoms = molecule("CH3CHO")
    atoms.rattle(0.05, seed=4)
    calc = get_calculator("gfn2", {"accuracy": 1.0}, fresh=True)
    r = relax(atoms, calc, fmax=0.05, steps=100, step_settings={"accuracy": 1000.0})
    assert r.status == "converged", r.reason
    assert not r.scf_recoveries
    e_base = _energy(r.atoms, accuracy=1.0)
    assert r.energy == pytest.approx(e_base, abs=1e-5)
    assert abs(_energy(r.atoms, accuracy=1000.0) - e_base) > 1e-3  # the loose setting would show
    assert calc.parameters["accuracy"] == 1.0


def test_final_single_point_restarts_from_the_last_steps_wavefunction():
    """The calculator's own cycle cap (2) is too small for an SCF from scratch (acetaldehyde needs 9 cycles) and the
    steps ran with 250: the final single point at the base settings restarts from the last step's converged
    wavefunction at this geometry and converges within the 2 cycles, so no fallback is needed (stop 50: an SCF from
    scratch at the ion pair's converged geometry fails at every rung, from its 3000 K wavefunction it converges)."""
    atoms = molecule("CH3CHO")
    calc = get_calculator("gfn2", {"max_iterations": 2}, fresh=True)
    r = relax(atoms, calc, fmax=0.05, steps=100, step_settings={"max_iterations": 250}, scf_ladder=[])
    assert r.status == "converged", r.reason
    assert not r.scf_recoveries, r.scf_recoveries
    assert r.energy == pytest.approx(_energy(r.atoms), abs=1e-5)
    assert calc.parameters["max_iterations"] == 2
    with pytest.raises(Exception, match="SCF not converged in 2 cycles"):  # from scratch it would not converge
        _energy(r.atoms, max_iterations=2)


def test_base_scf_stalling_falls_back_to_energy_neutral_step_settings():
    """The calculator's own cycle cap (1) is too small even from the last step's wavefunction and the steps ran
    with 250: the final single point at the base settings fails, and since a cycle cap does not change a converged
    energy it is taken at the step settings instead: converged, with the converged energy."""
    atoms = molecule("CH3CHO")
    calc = get_calculator("gfn2", {"max_iterations": 1}, fresh=True)
    r = relax(atoms, calc, fmax=0.05, steps=100, step_settings={"max_iterations": 250}, scf_ladder=[])
    assert r.status == "converged", r.reason
    assert r.energy == pytest.approx(_energy(r.atoms), abs=1e-5)
    assert calc.parameters["max_iterations"] == 1
    # the last step's own SCF at this geometry is what is taken, and said
    assert [(x["at_step"], x["settings"]) for x in r.scf_recoveries] == [("final", {"max_iterations": 250})]


def test_without_the_last_steps_results_the_energy_neutral_rungs_are_climbed():
    """The final single point where the calculator holds no results of this geometry (they were reset): the base
    settings (2 cycles) and the step settings (accuracy 10, still 2 cycles) stall from scratch, the ladder's
    energy-neutral rungs are tried in turn (a temperature is skipped) until one converges, and it is recorded."""
    from passivscreen.relaxation.guards import Guards
    from passivscreen.relaxation.optimizer import _final_energy, _Run

    atoms = molecule("CH3CHO")
    calc = get_calculator("gfn2", {"max_iterations": 2}, fresh=True)
    atoms.calc = calc
    ladder = [{"electronic_temperature": HOT}, {"guess": "eeq"}, {"max_iterations": 250}]
    run = _Run(0.05, 0, "BFGS", ladder, Guards(), {}, None, atoms.positions.copy(), {"accuracy": 10.0})
    run.status = "converged"
    energy, fmax = _final_energy(atoms, calc, run, {"accuracy": calc.parameters["accuracy"], "max_iterations": 2})
    assert run.status == "converged" and energy == pytest.approx(_energy(atoms), abs=1e-4) and fmax > 0
    assert [(x["at_step"], x["settings"]) for x in run.recoveries] == [("final", {"max_iterations": 250})]
    assert calc.parameters["electronic_temperature"] == 300.0


def test_step_setting_a_rung_had_to_change_keeps_the_rung():
    """A step setting that a rung replaced is not set back for the final energy: the cycle cap of the steps
    (2) and of the calculator (3) both fail, the rung's 250 is what the final single point needs."""
    atoms = molecule("CH3CHO")
    calc = get_calculator("gfn2", {"max_iterations": 3}, fresh=True)
    r = relax(
        atoms, calc, fmax=0.05, steps=100, step_settings={"max_iterations": 2}, scf_ladder=[{"max_iterations": 250}]
    )
    assert r.status == "converged", r.reason
    assert [x["settings"] for x in r.scf_recoveries] == [{"max_iterations": 250}]
    assert r.energy == pytest.approx(_energy(r.atoms), abs=1e-5)
    assert calc.parameters["max_iterations"] == 3


def test_a_raised_temperature_is_annealed_back_when_the_scf_restarts_from_it():
    """The methylthio radical (CH3S) at a 10-cycle cap: from scratch its SCF needs 11 cycles at 300 K and 8 at
    5000 K; from the 5000 K wavefunction the 300 K one needs 5. So the first step fails, the rung raises the
    temperature, and the relaxation sets its own 300 K back at once (``annealed_back``) and goes on at 300 K from
    the hot wavefunction, instead of relaxing on 5000 K forces (stop 50: the ion pair on the slab)."""
    atoms = molecule("CH3S")
    atoms.rattle(0.05, seed=0)
    calc = get_calculator("gfn2", {"max_iterations": 10}, fresh=True)
    with pytest.raises(Exception, match="SCF not converged in 10 cycles"):  # the premise: from scratch it fails
        _energy(atoms, max_iterations=10)
    r = relax(atoms, calc, fmax=0.05, steps=100, scf_ladder=[{"electronic_temperature": HOT}])
    assert r.status == "converged", r.reason
    rungs = [(x["settings"], x.get("annealed_back")) for x in r.scf_recoveries]
    assert rungs == [({"electronic_temperature": HOT}, True)]
    assert calc.parameters["electronic_temperature"] == 300.0 and calc.parameters["max_iterations"] == 10
    assert r.energy == pytest.approx(_energy(r.atoms), abs=1e-5) and r.fmax < 0.05


def test_a_relaxation_whose_first_scf_fails_from_scratch_restarts_from_the_previous_wavefunction():
    """Every relaxation starts from scratch (its result must not depend on what ran before). The methylthio
    radical at a 10-cycle cap fails from scratch (11 cycles needed); the calculator converged this radical before,
    0.02 A away, and water after it, so the first failure restarts from the radical's wavefunction (recorded, before
    any rung; once) and the relaxation converges with no rung at all."""
    calc = get_calculator("gfn2", fresh=True)
    before = molecule("CH3S")
    before.calc = calc
    before.get_potential_energy()  # converged with the preset cap
    other = molecule("H2O")  # another system in between (the reduced surface model before the whole slab)
    other.calc = calc
    other.get_potential_energy()
    calc.set(max_iterations=10)
    atoms = molecule("CH3S")
    atoms.rattle(0.02, seed=0)
    r = relax(atoms, calc, fmax=0.05, steps=100, scf_ladder=[])
    assert r.status == "converged", r.reason
    assert [(x["at_step"], x.get("restart")) for x in r.scf_recoveries] == [(0, "previous")]
    assert r.energy == pytest.approx(_energy(r.atoms), abs=1e-5)
    # with nothing before it (a fresh calculator) the same relaxation has no SCF to restart from and fails
    r = relax(atoms, get_calculator("gfn2", {"max_iterations": 10}, fresh=True), fmax=0.05, steps=100, scf_ladder=[])
    assert r.status == "scf_failed" and not r.scf_recoveries


def test_a_single_point_whose_scf_fails_restarts_from_the_previous_wavefunction():
    """A screening pass's single points, one start after another: the methylthio radical at a 10-cycle cap fails
    from scratch (11 cycles needed). With the calculator having converged this radical before (water in between),
    the single point restarts once from that wavefunction and converges, recorded, with no rung; a fresh
    calculator has nothing to restart from and fails."""
    from passivscreen.relaxation.scf import PREVIOUS, single_point

    calc = get_calculator("gfn2", fresh=True)
    for name in ("CH3S", "H2O"):
        seen = molecule(name)
        seen.calc = calc
        seen.get_potential_energy()
    calc.set(max_iterations=10)
    atoms = molecule("CH3S")
    atoms.rattle(0.02, seed=0)
    sp = single_point(atoms, calc, scf_ladder=[])
    assert sp["status"] == "ok", sp["reason"]
    assert len(sp["recoveries"]) == 2 and sp["recoveries"][1] == PREVIOUS
    assert sp["energy"] == pytest.approx(_energy(atoms), abs=1e-5)
    fresh = single_point(atoms.copy(), get_calculator("gfn2", {"max_iterations": 10}, fresh=True), scf_ladder=[])
    assert fresh["status"] == "scf_failed" and PREVIOUS not in fresh["recoveries"]
