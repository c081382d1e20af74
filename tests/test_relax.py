from __future__ import annotations

import numpy as np
import pytest
from ase.build import molecule
from ase.constraints import FixAtoms
from ase.io import read

from passivscreen.calculators import REGISTRY, get_calculator
from passivscreen.relaxation import Guards, GuardTripped, relax, single_point


def test_real_gfn2_relaxation_of_water(tmp_path):
    atoms = molecule("H2O")
    atoms.positions[1] = atoms.positions[0] + 1.15 * (atoms.positions[1] - atoms.positions[0])
    calc = get_calculator("gfn2", fresh=True)
    atoms.calc = calc
    e0 = atoms.get_potential_energy()
    traj = tmp_path / "h2o.traj"
    r = relax(atoms, calc, fmax=0.01, steps=100, trajectory=traj)
    assert r.status == "converged", r.reason
    assert r.energy < e0 - 0.01
    assert r.fmax < 0.01
    assert 0.9 < r.atoms.get_distance(0, 1) < 1.0  # GFN2 O-H
    assert r.n_force_calls >= r.n_steps >= 1
    frames = read(traj, ":")
    assert len(frames) >= r.n_steps
    # a second call resumes from the converged last frame: no further steps
    again = relax(atoms, calc, fmax=0.01, steps=100, trajectory=traj)
    assert again.resumed_from_step == len(frames)
    assert again.n_steps == 0 and again.energy == pytest.approx(r.energy, abs=1e-6)


def test_scf_failure_is_recovered_and_recorded(tmp_path):
    atoms = molecule("CH3CHO")
    calc = get_calculator("gfn2", {"max_iterations": 2}, fresh=True)
    r = relax(atoms, calc, fmax=0.05, steps=100)
    assert r.status == "converged", r.reason
    assert r.scf_recoveries and "SCF not converged" in r.scf_recoveries[0]["error"]
    assert calc.parameters["max_iterations"] == 2  # settings restored after the run
    # ... and the final SCF's charges are kept for the analysis (restoring a parameter resets the calculator)
    assert "charges" in calc.results and len(calc.results["charges"]) == len(atoms)
    # a failure the ladder cannot fix is recorded, not raised
    calc = get_calculator("gfn2", {"max_iterations": 2}, fresh=True)
    r = relax(atoms, calc, fmax=0.05, steps=100, scf_ladder=[{"max_iterations": 3}])
    assert r.status == "scf_failed" and "SCF" in r.reason
    sp = single_point(atoms.copy(), get_calculator("gfn2", {"max_iterations": 2}, fresh=True), scf_ladder=[])
    assert sp["status"] == "scf_failed" and sp["energy"] is None


def test_energy_neutral_rungs_leave_the_energy():
    """Rungs that the ladder treats as energy-neutral (kept for the final energy) move E by < 1 meV."""
    from passivscreen.relaxation.scf import ENERGY_NEUTRAL, SCF_LADDER

    atoms = molecule("CH3CONH2")
    atoms.calc = get_calculator("gfn2", fresh=True)
    e0 = atoms.get_potential_energy()
    neutral = [r for r in SCF_LADDER if set(r) <= ENERGY_NEUTRAL]
    assert neutral and all(set(r) <= {"guess", "accuracy"} for r in neutral[:3])  # the cheap rungs first
    for rung in neutral:
        calc = get_calculator("gfn2", fresh=True)
        calc.set(**rung)
        atoms.calc = calc
        assert atoms.get_potential_energy() == pytest.approx(e0, abs=1e-3), rung


def test_force_guard_constructed_case():
    atoms = molecule("H2O")
    g = Guards(max_force=50.0)
    g.check(atoms, -10.0, np.full((3, 3), 1.0))  # clean: no exception
    forces = np.zeros((3, 3))
    forces[0] = [100.0, 0, 0]  # the periodic-GFN1 failure class
    with pytest.raises(GuardTripped) as exc:
        g.check(atoms, -10.0, forces)
    assert exc.value.status == "unphysical_forces" and "atom 0 (O)" in exc.value.reason
    with pytest.raises(GuardTripped):
        g.check(atoms, float("nan"), np.zeros((3, 3)))


def test_displacement_and_energy_guards_constructed_case():
    atoms = molecule("H2O")
    ref = atoms.positions.copy()
    g = Guards(watch=[0], reference_positions=ref, max_displacement=0.5, energy_floor=-20.0)
    g.check(atoms, -10.0, np.zeros((3, 3)))
    moved = atoms.copy()
    moved.positions[0] += [0, 0, 0.6]
    with pytest.raises(GuardTripped, match="moved 0.60 A"):
        g.check(moved, -10.0, np.zeros((3, 3)))
    with pytest.raises(GuardTripped, match="below the reference basin"):
        g.check(atoms, -25.0, np.zeros((3, 3)))


@pytest.mark.slow
def test_gfn2_rattled_slab_reconstruction_is_caught(small_slab):
    """GFN2-xTB does not hold the CsPbBr3 slab: freed and rattled it reconstructs; the guard records it."""
    slab = small_slab.copy()
    calc = get_calculator("gfn2", fresh=True)
    held = slab.copy()
    held.set_constraint(FixAtoms(indices=range(len(held))))
    e_ref = single_point(held, calc)["energy"]
    slab.rattle(0.05, seed=1)
    free = [i for i in range(len(slab)) if i not in set(slab.constraints[0].index)]
    guards = Guards(
        watch=free, reference_positions=small_slab.positions, max_displacement=0.5, energy_floor=e_ref - 1.0
    )
    r = relax(slab, calc, fmax=0.05, steps=150, guards=guards)
    assert r.status == "reconstruction", (r.status, r.reason, r.energy - e_ref)
    assert r.energy is not None
    assert r.energy < e_ref - 0.5 or "moved" in r.reason
    assert not REGISTRY["gfn2"].holds_slab  # the flag is what this test observes


def test_a_probes_quick_ladder_stops_before_the_damped_rungs():
    """placement.probe_scf quick: a probe's SCF gets the EEQ guess and the looser thresholds, not the 500- and
    1,000-cycle damped rungs (what two of nitrosobenzene's probes spent about 1,000 s each on before they were
    dropped). Real GFN2-xTB, with 2 SCF cycles allowed so that only a damped rung converges."""
    from passivscreen.calculators import scf_ladder
    from passivscreen.relaxation.scf import SCF_LADDER, quick_ladder

    assert quick_ladder(None) == SCF_LADDER[:3] == [{"guess": "eeq"}, {"accuracy": 10.0}, {"accuracy": 30.0}]
    assert quick_ladder(scf_ladder("cp2k")) == []  # its first rung raises CP2K's outer-loop limit
    atoms = molecule("CH3CHO")
    full = relax(atoms.copy(), get_calculator("gfn2", {"max_iterations": 2}, fresh=True), steps=0)
    assert full.energy is not None, full.reason
    assert any("max_iterations" in r["settings"] for r in full.scf_recoveries)  # a damped rung converged it
    quick = relax(
        atoms.copy(), get_calculator("gfn2", {"max_iterations": 2}, fresh=True), steps=0, scf_ladder=quick_ladder(None)
    )
    assert quick.status == "scf_failed" and quick.energy is None
    assert [r["settings"] for r in quick.scf_recoveries] == quick_ladder(None)  # the three quick rungs, no more
    assert "after 3 recovery rungs" in quick.reason
