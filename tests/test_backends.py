"""Calculator backends: real CP2K and CHGNet/SevenNet calculations, DFT input files, registry errors."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule

from passivscreen import calculators as calcs
from passivscreen.calculators import (
    REGISTRY,
    BackendError,
    attach,
    check_elements,
    common,
    cp2k,
    cp2k_input,
    get_backend,
    get_calculator,
    planewave,
    presets,
    threads,
)
from passivscreen.relaxation import relax
from passivscreen.structures import SlabSpec, build_slab

HAS_CP2K = cp2k.cp2k_executable() is not None
HAS_CHGNET = importlib.util.find_spec("chgnet") is not None
HAS_SEVENN = importlib.util.find_spec("sevenn") is not None


def _h2o_box() -> Atoms:
    atoms = molecule("H2O")
    atoms.cell = [6.0, 6.0, 6.0]
    atoms.pbc = True
    atoms.center()
    atoms.rattle(0.03, seed=0)
    return atoms


def _small_slab() -> Atoms:
    """1x1 slab with 2 PbBr2 layers (CsPb2Br5, 8 atoms; bottom layer fixed)."""
    return build_slab(SlabSpec(n_pbbr2=2, repeat=(1, 1), vacuum=8.0))


# --------------------------------------------------------------------------- registry


def test_registry_flags():
    assert {"gfn2", "gfn1", "emt", "chgnet", "sevenn", "cp2k", "vasp", "espresso", "gpaw"} <= set(REGISTRY)
    assert not REGISTRY["gfn2"].holds_slab  # falls into a reconstruction (docs/backends.md)
    assert REGISTRY["sevenn"].holds_slab and not REGISTRY["chgnet"].holds_slab  # benchmarks/slab_hold.py
    assert REGISTRY["cp2k"].scf and REGISTRY["cp2k"].kind == "dft"
    assert calcs.scf_ladder("gfn2") is None  # relax's own tblite ladder
    assert calcs.scf_ladder("chgnet") == []
    assert all(set(r) <= set(cp2k_input.CP2K_EXTRA_DEFAULTS) | {"max_scf"} for r in calcs.scf_ladder("cp2k"))


def test_presets_are_the_yaml_and_parameters_the_engines_take():
    """Each backend's presets are its section of backends.yaml, and every preset key is a parameter that
    backend's calculator (or factory) accepts."""
    import inspect

    import yaml
    from tblite.ase import TBLite

    from passivscreen.calculators import ml, planewave

    text = yaml.safe_load((calcs.registry.resources.files("passivscreen") / "presets/backends.yaml").read_text())
    assert set(text) <= set(REGISTRY)  # no section for a backend that does not exist
    # the presets reach the calculator that is built, and a parameter given replaces only its own preset
    for name in ("gfn2", "gfn1"):
        calc = get_calculator(name, fresh=True)
        assert {k: calc.parameters[k] for k in presets(name)} == text[name], name
    tuned = get_calculator("gfn2", {"accuracy": 7.0}, fresh=True).parameters
    assert tuned["accuracy"] == 7.0 and tuned["method"] == "GFN2-xTB"
    assert {k: tuned[k] for k in presets("gfn2") if k != "accuracy"} == {
        k: v for k, v in text["gfn2"].items() if k != "accuracy"
    }
    for name in ("gfn2", "gfn1"):
        assert set(presets(name)) <= set(TBLite.default_parameters), name
    cp2k_keys = set(cp2k.cp2k_class().default_parameters) | {"threads", "mpi_ranks", "command", "directory", "data_dir"}
    assert set(presets("cp2k")) <= cp2k_keys
    assert set(presets("chgnet")) <= set(inspect.signature(ml.make_chgnet).parameters)
    assert set(presets("sevenn")) <= set(inspect.signature(ml.make_sevenn).parameters)
    assert set(presets("gpaw")) <= set(inspect.signature(planewave.gpaw_parameters).parameters) | {"dispersion"}


def test_availability_probes_say_why(monkeypatch):
    """Installed engines are available; VASP without its environment is not, and says which variable."""
    for name in ("gfn2", "gfn1", "emt"):
        assert calcs.unavailable_reason(name) is None, name
    monkeypatch.delenv("ASE_VASP_COMMAND", raising=False)
    monkeypatch.delenv("VASP_COMMAND", raising=False)
    monkeypatch.delenv("VASP_SCRIPT", raising=False)
    assert "ASE_VASP_COMMAND" in calcs.unavailable_reason("vasp")
    monkeypatch.setenv("ASE_VASP_COMMAND", "vasp_std")
    monkeypatch.delenv("VASP_PP_PATH", raising=False)
    assert "VASP_PP_PATH" in calcs.unavailable_reason("vasp")
    monkeypatch.setenv("VASP_PP_PATH", "/nowhere")
    assert calcs.unavailable_reason("vasp") is None
    assert "vasp" in calcs.available_backends()


@pytest.mark.slow
@pytest.mark.ml
@pytest.mark.parametrize("name", ["chgnet", "sevenn"])
def test_holds_slab_flag_is_what_the_slab_test_finds(name):
    """The registry's holds_slab of each machine-learned potential, against the slab test itself."""
    pytest.importorskip(name, reason=f'{name} not installed: pip install "passivscreen[ml]"')
    from passivscreen.relaxation.slab_test import slab_hold_test

    calcs.set_threads(1)
    verdict = slab_hold_test(name)
    assert verdict["pass"] == REGISTRY[name].holds_slab, verdict


def test_emt_refuses_perovskite_elements():
    with pytest.raises(BackendError, match=r"cannot treat element\(s\) \['Br', 'Cs', 'Pb'\]"):
        check_elements("emt", {"Cs", "Pb", "Br", "O"})
    with pytest.raises(BackendError, match="plumbing tests only"):
        attach(_small_slab(), "emt")
    check_elements("emt", {"C", "O", "H"})  # fine


def test_unknown_backend():
    with pytest.raises(BackendError, match=r"unknown calculator backend 'nwchem'.*known: \["):
        get_calculator("nwchem")
    with pytest.raises(BackendError, match="unknown calculator backend"):
        get_backend("mace")


@pytest.mark.parametrize("name", ["chgnet", "sevenn"])
def test_missing_ml_package_says_what_to_install(monkeypatch, name):
    real = common.find_spec
    monkeypatch.setattr(common, "find_spec", lambda mod: None if mod == name else real(mod))
    with pytest.raises(BackendError, match=r"pip install \"passivscreen\[ml\]\"") as exc:
        get_calculator(name, fresh=True)
    assert name in str(exc.value)
    assert "passivscreen[ml]" in (calcs.unavailable_reason(name) or "")


def test_missing_cp2k_and_gpaw(monkeypatch):
    monkeypatch.delenv("ASE_CP2K_COMMAND", raising=False)
    monkeypatch.setattr(cp2k.shutil, "which", lambda exe: None)
    with pytest.raises(BackendError, match="apt-get install cp2k"):
        get_calculator("cp2k", fresh=True)
    real = common.find_spec
    monkeypatch.setattr(common, "find_spec", lambda mod: None if mod == "gpaw" else real(mod))
    with pytest.raises(BackendError, match="pip install gpaw"):
        get_calculator("gpaw", fresh=True)


def test_cp2k_command(monkeypatch):
    monkeypatch.delenv("ASE_CP2K_COMMAND", raising=False)
    monkeypatch.setattr(cp2k.shutil, "which", lambda exe: f"/usr/bin/{exe}" if exe in ("cp2k.psmp", "mpirun") else None)
    assert cp2k.cp2k_executable() == "cp2k.psmp --shell"
    assert cp2k.cp2k_command(threads=2) == "env OMP_NUM_THREADS=2 cp2k.psmp --shell"
    cmd = cp2k.cp2k_command(threads=4, mpi_ranks=2)
    assert cmd.startswith("env OMP_NUM_THREADS=2 ") and "/usr/bin/mpirun -np 2 cp2k.psmp --shell" in cmd
    monkeypatch.setattr(cp2k.shutil, "which", lambda exe: "/usr/bin/cp2k_shell" if exe == "cp2k_shell" else None)
    assert cp2k.cp2k_executable() == "cp2k_shell"


def test_set_threads_sets_torch_threads(monkeypatch):
    torch = pytest.importorskip("torch", reason="torch (the ml extra) not installed")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_STACKSIZE"):
        if var in os.environ:  # restored after the test
            monkeypatch.setenv(var, os.environ[var])
        else:
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(threads, "PARALLEL", {"threads": None, "mpi_ranks": None})
    before = torch.get_num_threads()
    try:
        calcs.set_threads(1, mpi_ranks=2)
        assert torch.get_num_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == "1"
        assert threads.PARALLEL == {"threads": 1, "mpi_ranks": 2}
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- CP2K, real


@pytest.mark.slow
@pytest.mark.cp2k
@pytest.mark.skipif(not HAS_CP2K, reason="CP2K not installed (no cp2k_shell / cp2k.psmp on PATH): apt-get install cp2k")
def test_cp2k_single_point_energy_and_finite_difference_forces(tmp_path):
    """PBE-D3/DZVP-MOLOPT-SR-GTH on H2O in a 6 A box (200 Ry): repeatable energy, forces = -dE/dx."""
    params = {"cutoff_ry": 200.0, "rel_cutoff_ry": 40.0, "eps_scf": 1e-7, "threads": 1, "directory": str(tmp_path)}
    calc = get_calculator("cp2k", params, fresh=True)
    try:
        atoms = _h2o_box()
        atoms.calc = calc
        t0 = time.perf_counter()
        e0 = atoms.get_potential_energy()
        f0 = atoms.get_forces()
        t_sp = time.perf_counter() - t0
        inp = (tmp_path / "cp2k.inp").read_text()
        for key in ("TYPE DFTD3", "REL_CUTOFF [Ry] 40.0", "&OT", "BASIS_SET DZVP-MOLOPT-SR-GTH", "POTENTIAL GTH-PBE"):
            assert key in inp, key
        assert -17.3 < e0 / 27.211386 < -17.1  # H2O with GTH-PBE pseudopotentials: about -17.2 Ha
        # central finite differences on two components
        d = 0.005
        errors = []
        for i, k in [(0, 2), (1, 1)]:
            disp = atoms.copy()
            disp.calc = calc
            disp.positions[i, k] += d
            ep = disp.get_potential_energy()
            disp.positions[i, k] -= 2 * d
            em = disp.get_potential_energy()
            errors.append(abs(-(ep - em) / (2 * d) - f0[i, k]))
        # back to the first geometry: the same energy again
        again = atoms.copy()
        again.calc = calc
        e1 = again.get_potential_energy()
    finally:
        calc.close()
    assert abs(e1 - e0) < 1e-4, (e0, e1)
    assert max(errors) < 0.01, errors
    print(f"\nCP2K H2O: E = {e0:.5f} eV, first SP {t_sp:.1f} s, FD force error max {max(errors):.1e} eV/A")


@pytest.mark.cp2k
@pytest.mark.skipif(not HAS_CP2K, reason="CP2K not installed (no cp2k_shell / cp2k.psmp on PATH): apt-get install cp2k")
def test_cp2k_reports_the_d3_term_that_the_same_calculation_without_d3_lacks(tmp_path):
    """The calculator's ``dispersion_energy`` (from CP2K's output) is E(PBE-D3) - E(PBE) at one geometry: D3 is
    added after the SCF, so a funnel row's E_ads without D3 is its E_ads minus the D3 part (issue 22 item 5)."""
    from ase.build import molecule

    from passivscreen.relaxation.tiers import dispersion_energy

    dimer = molecule("H2O") + molecule("H2O")
    dimer.positions[3:] += (0.0, 2.9, 0.3)
    dimer.cell, dimer.pbc = [8.0, 9.0, 8.0], True
    dimer.center()
    energies, reported = {}, {}
    for d3 in ("DFTD3", "none"):
        params = {"cutoff_ry": 200.0, "rel_cutoff_ry": 40.0, "eps_scf": 1e-7, "threads": 1, "dispersion": d3}
        calc = get_calculator("cp2k", {**params, "directory": str(tmp_path / d3)}, fresh=True)
        try:
            atoms = dimer.copy()
            atoms.calc = calc
            energies[d3] = atoms.get_potential_energy()
            reported[d3] = calc.results.get("dispersion_energy")
        finally:
            calc.close()
    assert reported["none"] is None
    assert -0.05 < reported["DFTD3"] < -0.005, reported  # a water dimer's D3 term: about -0.01 eV
    assert abs((energies["DFTD3"] - energies["none"]) - reported["DFTD3"]) < 1e-5, (energies, reported)

    class _Result:  # what tier_row reads: a finished result's atoms with their calculator
        energy = energies["DFTD3"]
        atoms = dimer.copy()

    _Result.atoms.calc = type("C", (), {"results": {"dispersion_energy": reported["DFTD3"]}})()
    assert dispersion_energy(_Result()) == pytest.approx(reported["DFTD3"])


@pytest.mark.skipif(not HAS_CP2K, reason="CP2K not installed (no cp2k_shell / cp2k.psmp on PATH): apt-get install cp2k")
def test_cp2k_input_takes_charge_and_spin_from_the_atoms(tmp_path):
    """A charged doublet (as the steps set it on the atoms for tblite) becomes CHARGE, UKS and MULTIPLICITY;
    the OT settings are the short inner loop in an outer loop with the FULL_ALL preconditioner."""
    from passivscreen.calculators.systems import electronic_state

    calc = get_calculator("cp2k", {"directory": str(tmp_path)}, fresh=True)
    atoms = _h2o_box()
    electronic_state(atoms, 1, 2)
    calc.atoms = atoms
    inp = calc._generate_input()
    for key in (
        "CHARGE 1",
        "MULTIPLICITY 2",
        "UNRESTRICTED_KOHN_SHAM ON",
        "PRECONDITIONER FULL_ALL",
        "ENERGY_GAP 0.01",
        "MAX_SCF 10",
    ):
        assert key in inp, key
    assert calc.parameters.charge == 0 and not calc.parameters.uks  # the calculator's own settings unchanged
    electronic_state(atoms, 0, 1)
    inp = calc._generate_input()
    assert "MULTIPLICITY" not in inp and "UNRESTRICTED" not in inp and "CHARGE" not in inp


@pytest.mark.cp2k
@pytest.mark.skipif(not HAS_CP2K, reason="CP2K not installed (no cp2k_shell / cp2k.psmp on PATH): apt-get install cp2k")
def test_cp2k_gives_hirshfeld_charges_and_the_spin_of_a_radical(tmp_path):
    """After each single point the calculator holds every atom's Hirshfeld charge and, spin-polarised, its spin
    moment (ASE's ``charges`` and ``magmoms``): the methyl radical's unpaired electron sits on its carbon, the
    charges sum to the molecule's charge, and water's oxygen is negative. Two evaluations: the second's values."""
    from passivscreen.calculators.systems import electronic_state

    methyl = molecule("CH3")
    methyl.center(vacuum=4.0)
    methyl.pbc = True
    electronic_state(methyl, 0, 2)
    methyl.calc = get_calculator("cp2k", {"directory": str(tmp_path / "ch3"), "cutoff_ry": 200.0}, fresh=True)
    methyl.get_potential_energy()
    q, m = methyl.calc.results["charges"], methyl.calc.results["magmoms"]
    assert len(q) == len(m) == 4
    assert abs(q.sum()) < 0.05 and m.sum() == pytest.approx(1.0, abs=0.05)
    assert m[0] > 0.6 and m[0] == m.max()
    methyl.positions[1] += [0.0, 0.0, 0.1]  # the next evaluation's table, not the first one's
    methyl.get_potential_energy()
    assert not np.allclose(methyl.calc.results["magmoms"], m)
    water = _h2o_box()
    water.calc = get_calculator("cp2k", {"directory": str(tmp_path / "h2o"), "cutoff_ry": 200.0}, fresh=True)
    water.get_potential_energy()
    assert water.calc.results["charges"][0] < -0.2 and "magmoms" not in water.calc.results


@pytest.mark.slow
@pytest.mark.cp2k
@pytest.mark.skipif(not HAS_CP2K, reason="CP2K not installed (no cp2k_shell / cp2k.psmp on PATH): apt-get install cp2k")
def test_cp2k_surface_dipole_correction_on_a_polar_system(tmp_path):
    """A polar molecule in a slab-like cell: the dipole-corrected energy is reached by the restart, is
    repeatable, differs from the uncorrected one by about the dipole-dipole term, and its forces are -dE/dx."""
    base = {"cutoff_ry": 200.0, "rel_cutoff_ry": 40.0, "eps_scf": 1e-7, "threads": 1}
    atoms = molecule("H2O")  # ASE's water: the dipole along z
    atoms.cell = [6.0, 6.0, 10.0]
    atoms.pbc = True
    atoms.center()
    calcs_ = {
        "dip": get_calculator("cp2k", {**base, "directory": str(tmp_path / "dip")}, fresh=True),
        "again": get_calculator("cp2k", {**base, "directory": str(tmp_path / "again")}, fresh=True),
        "plain": get_calculator(
            "cp2k", {**base, "dipole_correction": False, "directory": str(tmp_path / "plain")}, fresh=True
        ),
        # a free molecule's parameters (Tier.for_molecule): the correction on from the atomic guess, one SCF
        "single": get_calculator(
            "cp2k", {**base, **REGISTRY["cp2k"].molecule_parameters, "directory": str(tmp_path / "single")}, fresh=True
        ),
    }
    try:
        e, f = {}, None
        for key, calc in calcs_.items():
            a = atoms.copy()
            a.calc = calc
            e[key] = a.get_potential_energy()
            if key == "dip":
                f = a.get_forces()
                inp = (tmp_path / "dip" / "cp2k.inp").read_text()
                out = (tmp_path / "dip" / "cp2k.out").read_text()
                d = 0.005
                disp = a.copy()
                disp.calc = calc
                disp.positions[0, 2] += d
                ep = disp.get_potential_energy()
                disp.positions[0, 2] -= 2 * d
                em = disp.get_potential_energy()
                fd = -(ep - em) / (2 * d)
    finally:
        for calc in calcs_.values():
            calc.close()
    # the last input is the restart with the correction on; the output holds both stages, the first
    # converged only to eps_scf_plain (its wavefunction is all that is used)
    assert "SURFACE_DIPOLE_CORRECTION" in inp and "SCF_GUESS RESTART" in inp and "RESTART.wfn" in inp
    assert out.count("SCF WAVEFUNCTION OPTIMIZATION") >= 2
    eps = re.findall(r"^\s+eps_scf:\s+(\S+)", out, re.M)
    assert [float(x) for x in eps[:2]] == [cp2k_input.CP2K_EXTRA_DEFAULTS["eps_scf_plain"], 1e-7], eps
    assert abs(e["again"] - e["dip"]) < 1e-5, e
    single = (tmp_path / "single" / "cp2k.out").read_text()
    assert (
        single.count("SCF WAVEFUNCTION OPTIMIZATION") == 1
        and "SURFACE_DIPOLE_CORRECTION" in (tmp_path / "single" / "cp2k.inp").read_text()
    )
    assert abs(e["single"] - e["dip"]) < 1e-5, e
    mu = 0.39  # e A, water (1.85 D)
    estimate = 2 * np.pi * 14.3996 * mu**2 / atoms.get_volume()  # leading dipole-dipole term, eV
    assert 0.3 * estimate < abs(e["dip"] - e["plain"]) < 3 * estimate, (e, estimate)
    assert abs(fd - f[0, 2]) < 0.01, (fd, f[0, 2])


@pytest.mark.slow
@pytest.mark.cp2k
@pytest.mark.skipif(not HAS_CP2K, reason="CP2K not installed (no cp2k_shell / cp2k.psmp on PATH): apt-get install cp2k")
def test_cp2k_unconverged_scf_raises_scf_error(tmp_path):
    from ase.calculators.calculator import SCFError

    params = {"cutoff_ry": 150.0, "max_scf": 2, "outer_max_scf": 1, "threads": 1, "directory": str(tmp_path)}
    calc = get_calculator("cp2k", params, fresh=True)
    try:
        atoms = _h2o_box()
        atoms.calc = calc
        with pytest.raises(SCFError, match="SCF not converged"):
            atoms.get_potential_energy()
    finally:
        calc.close()


# --------------------------------------------------------------------------- ML potentials, real


@pytest.mark.slow
@pytest.mark.ml
@pytest.mark.skipif(not HAS_CHGNET, reason='chgnet not installed: pip install "passivscreen[ml]"')
def test_chgnet_relaxes_rattled_slab():
    slab = _small_slab()
    slab.rattle(0.05, seed=1)
    calc = get_calculator("chgnet", fresh=True)
    slab.calc = calc
    e0 = slab.get_potential_energy()
    r = relax(slab, calc, fmax=0.05, steps=200)
    assert r.status == "converged", r.reason
    assert r.fmax < 0.05 and r.energy < e0
    assert r.n_steps >= 1
    d = r.atoms.get_all_distances(mic=True)
    np.fill_diagonal(d, 10.0)
    assert d.min() > 2.5  # no collapse
    print(f"\nCHGNet 1x1 slab: {r.n_steps} steps, {r.wall_s:.1f} s, dE = {r.energy - e0:.3f} eV")


@pytest.mark.slow
@pytest.mark.ml
@pytest.mark.skipif(not HAS_SEVENN, reason='sevenn not installed: pip install "passivscreen[ml]"')
def test_sevenn_forces_match_finite_differences():
    slab = _small_slab()
    slab.rattle(0.05, seed=2)
    slab.calc = get_calculator("sevenn", fresh=True)
    f = slab.get_forces(apply_constraint=False)
    assert np.isfinite(slab.get_potential_energy())
    assert np.abs(f.sum(axis=0)).max() < 1e-3  # translation invariance
    i, d = 5, 0.01
    num = []
    for k in range(3):
        disp = slab.copy()
        disp.calc = slab.calc
        disp.positions[i, k] += d
        ep = disp.get_potential_energy()
        disp.positions[i, k] -= 2 * d
        em = disp.get_potential_energy()
        num.append(-(ep - em) / (2 * d))
    assert np.allclose(num, f[i], atol=0.02), (num, f[i])


# --------------------------------------------------------------------------- DFT input files, not run


def test_vasp_writes_pbe_d3_dipole_input(tmp_path, monkeypatch):
    pp = tmp_path / "pp"
    for setup in ("Cs_sv", "Pb_d", "Br"):  # stand-in POTCARs: ASE only concatenates them
        (pp / "potpaw_PBE" / setup).mkdir(parents=True)
        (pp / "potpaw_PBE" / setup / "POTCAR").write_text(
            f" PAW_PBE {setup} 01Jan2000\n   TITEL  = PAW_PBE {setup}\n   ZVAL   =    9.000\n End of Dataset\n"
        )
    monkeypatch.setenv("VASP_PP_PATH", str(pp))
    monkeypatch.setenv("ASE_VASP_COMMAND", "vasp_std")
    run = tmp_path / "run"
    calc = get_calculator("vasp", {"directory": str(run)}, fresh=True)
    calc.write_input(_small_slab())
    incar = {
        k.strip(): v.strip()
        for k, v in (line.split("=", 1) for line in (run / "INCAR").read_text().splitlines() if "=" in line)
    }
    assert float(incar["ENCUT"]) == 450
    assert incar["GGA"] == "PE" and incar["IVDW"] == "11"
    assert incar["LDIPOL"] == ".TRUE." and incar["IDIPOL"] == "3"
    assert incar["ISMEAR"] == "0"
    assert (run / "KPOINTS").read_text().splitlines()[3].split() == ["2", "2", "1"]
    assert "Selective dynamics" in (run / "POSCAR").read_text()  # fixed bottom layer
    potcar = (run / "POTCAR").read_text()
    assert all(f"PAW_PBE {s}" in potcar for s in ("Cs_sv", "Pb_d", "Br"))


def test_vasp_without_environment_says_what_to_set(monkeypatch):
    for var in ("ASE_VASP_COMMAND", "VASP_COMMAND", "VASP_SCRIPT", "VASP_PP_PATH"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(BackendError, match="ASE_VASP_COMMAND"):
        get_calculator("vasp", fresh=True)


def test_espresso_writes_pbe_d3_dipole_input(tmp_path, monkeypatch):
    pseudo = tmp_path / "pseudo"
    pseudo.mkdir()
    for f in ("Cs_pbe_v1.uspp.F.UPF", "Pb.pbe-dn-kjpaw_psl.0.2.2.UPF", "br_pbe_v1.4.uspp.F.UPF", "README"):
        (pseudo / f).write_text("stand-in\n")
    monkeypatch.setenv("ESPRESSO_PSEUDO", str(pseudo))
    monkeypatch.delenv("ASE_ESPRESSO_COMMAND", raising=False)
    assert planewave.espresso_pseudopotentials(pseudo) == {
        "Br": "br_pbe_v1.4.uspp.F.UPF",
        "Cs": "Cs_pbe_v1.uspp.F.UPF",
        "Pb": "Pb.pbe-dn-kjpaw_psl.0.2.2.UPF",
    }
    run = tmp_path / "run"
    calc = get_calculator("espresso", {"directory": str(run)}, fresh=True)
    calc.write_inputfiles(_small_slab(), ["energy", "forces"])
    text = next(run.glob("*.pwi")).read_text().lower()
    for line in (
        "ecutwfc          = 45.0",
        "input_dft        = 'pbe'",
        "vdw_corr         = 'dft-d3'",
        "tefield          = .true.",
        "dipfield         = .true.",
        "edir             = 3",
        "emaxpos          = 0.95",
        "tprnfor          = .true.",
    ):
        assert line in text, line
    assert "pb.pbe-dn-kjpaw_psl.0.2.2.upf" in text and "k_points automatic\n2 2 1" in text
    assert str(pseudo).lower() in text  # pseudo_dir from ESPRESSO_PSEUDO


def test_gpaw_parameters_pbe_dipole_layer():
    p = planewave.gpaw_parameters(**{k: v for k, v in presets("gpaw").items() if k != "dispersion"})
    assert p["mode"] == {"name": "pw", "ecut": 400.0}
    assert p["xc"] == "PBE"
    assert p["poissonsolver"] == {"dipolelayer": "xy"}
    assert p["kpts"] == {"size": [2, 2, 1], "gamma": True}
    assert p["occupations"]["name"] == "fermi-dirac"
    assert "poissonsolver" not in planewave.gpaw_parameters(dipole_correction=False)


@pytest.mark.skipif(importlib.util.find_spec("gpaw") is None, reason="GPAW not installed (pip install gpaw)")
def test_gpaw_calculator_is_built(tmp_path):
    """A real GPAW calculator with the presets: plane waves, PBE, the dipole layer of a slab."""
    calc = get_calculator("gpaw", {"directory": str(tmp_path), "dispersion": None}, fresh=True)
    p = calc.parameters
    params = p.todict() if hasattr(p, "todict") else dict(p)  # GPAW >= 24 (new API) or older
    assert params["poissonsolver"] == {"dipolelayer": "xy"}
    assert params["mode"]["name"] == "pw" and params["mode"]["ecut"] == 400.0
    assert (params["xc"]["name"] if isinstance(params["xc"], dict) else params["xc"]) == "PBE"


def test_heavy_packages_are_imported_lazily():
    code = (
        "import sys, passivscreen.calculators as c; c.REGISTRY; c.available_backends(); "
        "heavy = ('torch', 'chgnet', 'sevenn', 'gpaw', 'tblite', 'ase.calculators.cp2k'); "
        "print([m for m in heavy if m in sys.modules])"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_deep_work_directory_gets_a_label_that_fits_cp2k(tmp_path):
    """CP2K reads PROJECT (ASE's label) into 80 characters: a deeper directory is reached through a short link."""
    from passivscreen.calculators.cp2k import CP2K_STRING_LENGTH, short_label

    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    label = short_label(str(deep))
    assert len(label) + len("-RESTART.wfn") < CP2K_STRING_LENGTH
    assert os.path.samefile(os.path.dirname(label), deep)
    assert short_label(str(tmp_path.anchor + "w")) == os.path.join(tmp_path.anchor + "w", "cp2k")


def test_tblite_scf_settings_keep_the_wavefunction_and_a_new_guess_does_not():
    """A change of an SCF setting (:data:`~passivscreen.calculators.xtb.WARM_SETTINGS`) lets the next SCF restart
    from the last converged wavefunction: at the same geometry it converges within 2 cycles, where one from
    scratch needs 9 (ethanol) and fails. A new guess, or a reset, starts from scratch (the ladder's guess rung
    is meant to). tblite's own calculator resets on any change."""
    from ase.build import molecule

    from passivscreen.calculators.registry import get_calculator

    atoms = molecule("CH3CH2OH")
    calc = get_calculator("gfn2", fresh=True)
    atoms.calc = calc
    e0 = atoms.get_potential_energy()
    calc.set(max_iterations=2)
    assert atoms.get_potential_energy() == pytest.approx(e0, abs=1e-6)
    calc.set(accuracy=10.0, electronic_temperature=310.0, mixer_damping=0.3)
    assert atoms.get_potential_energy() == pytest.approx(e0, abs=1e-3)
    calc.set(guess="eeq")
    with pytest.raises(Exception, match="SCF not converged in 2 cycles"):
        atoms.get_potential_energy()
    calc.set(guess="sad", max_iterations=250)
    atoms.get_potential_energy()
    calc.set(max_iterations=2)
    calc.reset()
    with pytest.raises(Exception, match="SCF not converged in 2 cycles"):
        atoms.get_potential_energy()
