"""Fault injection: bad input, faults during compute, killed runs, partial files; nothing finished is lost.

Every test registers its injected fault with the ``faults`` fixture; the run ends with the summary line
``fault injection: N faults injected; ... finished results lost: 0``.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from ase.build import molecule
from ase.io import read
from bad_configs import BAD_CONFIGS

from passivscreen.calculators import get_calculator
from passivscreen.config import ConfigError, validate_config
from passivscreen.records.files import write_json
from passivscreen.relaxation import relax
from passivscreen.steps.ligand import run_ligand

BASE = {"set": "faults", "ligands": [{"name": "acetone", "smiles": "CC(C)=O"}]}

#: the rows of the bad-config table that are configs (the file-level rows need the CLI: test_bad_configs.py)
BAD_INPUTS = {name: bad for name, bad in BAD_CONFIGS.items() if bad.change is not None}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_rejected_before_compute(case, faults):
    bad = BAD_INPUTS[case]
    with pytest.raises(ConfigError, match=bad.message):
        validate_config(bad.config())
    faults.add(f"bad input: {case}", "rejected")


def test_charged_slab_rejected(monkeypatch, faults):
    import passivscreen.structures as st

    monkeypatch.setitem(st.FORMAL_CHARGES, "Br", -2)  # a slab whose ions do not balance
    with pytest.raises(ConfigError, match="formal charge"):
        validate_config(BASE)
    faults.add("bad input: charged slab", "rejected")


def _ligand_cfg(tmp_path: Path, **relax_cfg) -> dict:
    cfg = validate_config(copy.deepcopy(BASE))
    cfg["relax"].update(relax_cfg)
    return cfg


def test_forced_scf_failure_is_recovered(tmp_path, faults):
    cfg = _ligand_cfg(tmp_path)
    cfg["calculator"]["params"] = {"max_iterations": 2}  # the SCF cannot converge in 2 cycles
    rec = run_ligand(cfg, "acetone", tmp_path / "a.json", tmp_path / "a.extxyz", tmp_path / "w")
    assert rec["status"] == "ok" and rec["scf_recoveries"], rec
    assert "SCF not converged" in rec["scf_recoveries"][0]["error"]
    faults.add("SCF non-convergence (recoverable)", "recovered")


def test_unrecoverable_scf_failure_is_recorded(faults):
    calc = get_calculator("gfn2", {"max_iterations": 2}, fresh=True)
    r = relax(molecule("CH3CHO"), calc, scf_ladder=[{"max_iterations": 3}])
    assert r.status == "scf_failed" and "SCF" in r.reason
    faults.add("SCF non-convergence (unrecoverable)", "recorded")


def test_step_limit_is_recorded(tmp_path, faults):
    cfg = _ligand_cfg(tmp_path, ligand_steps=1, fmax=0.001)
    rec = run_ligand(cfg, "acetone", tmp_path / "a.json", tmp_path / "a.extxyz", tmp_path / "w")
    assert rec["status"] == "not_converged" and "step limit" in rec["reason"]
    assert json.loads((tmp_path / "a.json").read_text())["status"] == "not_converged"
    faults.add("optimizer step limit", "recorded")


def test_wall_time_budget_is_recorded(tmp_path, faults):
    cfg = _ligand_cfg(tmp_path, max_wall_s=1e-3, fmax=0.001)
    rec = run_ligand(cfg, "acetone", tmp_path / "a.json", tmp_path / "a.extxyz", tmp_path / "w")
    assert rec["status"] == "timeout" and "wall-time budget" in rec["reason"]
    faults.add("wall-time budget exceeded", "recorded")


def test_crashed_backend_is_recorded(tmp_path, faults):
    cfg = _ligand_cfg(tmp_path)
    cfg["calculator"]["params"] = {"method": "GFN9-xTB"}  # tblite refuses to build this calculator
    rec = run_ligand(cfg, "acetone", tmp_path / "a.json", tmp_path / "a.extxyz", tmp_path / "w")
    assert rec["status"] == "backend_error" and "GFN9-xTB" in rec["reason"], rec
    on_disk = json.loads((tmp_path / "a.json").read_text())  # what the ranking and the funnel will read
    assert (on_disk["status"], on_disk["reason"], on_disk["energy_eV"]) == ("backend_error", rec["reason"], None)
    faults.add("backend crashes", "recorded")


def test_missing_backend_is_recorded(tmp_path, faults, monkeypatch):
    monkeypatch.delenv("ASE_VASP_COMMAND", raising=False)
    monkeypatch.delenv("VASP_COMMAND", raising=False)
    monkeypatch.delenv("VASP_SCRIPT", raising=False)
    cfg = _ligand_cfg(tmp_path)
    cfg["calculator"] = {"backend": "vasp", "params": {}}
    rec = run_ligand(cfg, "acetone", tmp_path / "a.json", tmp_path / "a.extxyz", tmp_path / "w")
    assert rec["status"] == "backend_error" and "vasp" in rec["reason"].lower(), rec
    faults.add("backend missing", "recorded")


def test_torn_trajectory_resumes(tmp_path, faults):
    atoms = molecule("CH3CHO")
    atoms.rattle(0.1, seed=3)
    traj = tmp_path / "r.traj"
    calc = get_calculator("gfn2", fresh=True)
    first = relax(atoms, calc, fmax=0.01, steps=4, trajectory=traj)
    assert first.status == "not_converged"
    size = traj.stat().st_size
    with open(traj, "r+b") as fh:  # a job killed while writing its last frame
        fh.truncate(size - 200)
    again = relax(atoms, calc, fmax=0.01, steps=300, trajectory=traj)
    assert again.status == "converged" and again.resumed_from_step >= 2
    ref = relax(atoms, get_calculator("gfn2", fresh=True), fmax=0.01, steps=300)
    assert again.energy == pytest.approx(ref.energy, abs=1e-3)
    faults.add("partial trajectory file", "recovered")


def test_interrupted_write_leaves_old_file(tmp_path, faults, monkeypatch):
    """The new content is half written when the write dies (a full disk, a kill): the old file survives.

    The failure is injected after the temporary file has been opened and written, in ``os.fsync``; a
    plain ``path.write_text`` would have replaced the old content by then.
    """
    import os

    from passivscreen.records import files

    path = tmp_path / "result.json"
    write_json(path, {"E_ads_eV": -1.0})
    written = []

    def dying_fsync(fd):
        written.append(os.fstat(fd).st_size)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", dying_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_json(path, {"E_ads_eV": -2.0, "pad": "x" * 5000})
    assert written and written[0] > 5000  # the new content had reached the disk's cache
    assert json.loads(path.read_text()) == {"E_ads_eV": -1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left behind
    faults.add("write interrupted", "recovered")


def test_reproducible_energies(tmp_path):
    cfg = _ligand_cfg(tmp_path)
    a = run_ligand(cfg, "acetone", tmp_path / "a.json", tmp_path / "a.extxyz", tmp_path / "wa")
    b = run_ligand(cfg, "acetone", tmp_path / "b.json", tmp_path / "b.extxyz", tmp_path / "wb")
    assert a["energy_eV"] == pytest.approx(b["energy_eV"], abs=1e-6)
    assert np.allclose(read(tmp_path / "a.extxyz").positions, read(tmp_path / "b.extxyz").positions, atol=1e-6)


FAULT_CONFIG = {
    "set": "faults",
    "seed": 7,
    "slab": {"n_pbbr2_layers": 2, "repeat": [2, 2], "vacuum": 8.0},
    "relax": {"fmax": 0.05, "steps": 80},
    # one start ranked by single point: the kill lands in a relaxation, whose trajectory the re-run resumes
    # (a kill during the probes repeats them: their trajectories are not resumed)
    "placement": {"orientations": 1, "tilts": [0.0], "probe_steps": 0},
    "ligands": [{"name": "tmpo", "smiles": "CP(C)(C)=O"}, {"name": "dmso", "smiles": "CS(C)=O"}],
}


def _smk(root: Path, work: Path, cfg: Path, *extra: str, **kw) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(root / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(cfg),
        "--cores",
        "2",
        *extra,
    ]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kw
    )


@pytest.mark.slow
def test_killed_workflow_resumes_and_loses_nothing(root, tmp_path, faults):
    """SIGKILL a running screen; a second Snakemake is refused by the lock; the re-run resumes."""
    cfg_path = tmp_path / "faults.yaml"
    cfg_path.write_text(yaml.safe_dump(FAULT_CONFIG))
    res = tmp_path / "results" / "faults"
    first = _smk(root, tmp_path, cfg_path)
    deadline = time.time() + 600
    # wait until some results are finished and a complex relaxation is under way
    while time.time() < deadline:
        done = list((res / "ligands").glob("*.json")) if (res / "ligands").exists() else []
        trajs = list((res / "work" / "adsorption").rglob("*.traj")) if (res / "work").exists() else []
        if len(done) == 2 and any(t.stat().st_size > 2000 for t in trajs):
            break
        assert first.poll() is None, first.stdout.read()
        time.sleep(0.5)
    # a second Snakemake on the same results tree is refused by Snakemake's lock
    second = _smk(root, tmp_path, cfg_path)
    out2, _ = second.communicate(timeout=120)
    assert second.returncode != 0 and "lock" in out2.lower(), out2[-2000:]
    faults.add("second Snakemake on the same tree", "rejected")
    # kill the whole first run (Snakemake and its jobs)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    faults.add("SIGKILL of a running screen", "recovered")
    finished = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in res.rglob("*.json") if "work" not in p.parts}
    assert finished, "nothing had finished before the kill"
    unlock = _smk(root, tmp_path, cfg_path, "--unlock")
    assert unlock.wait(timeout=120) == 0
    rerun = _smk(root, tmp_path, cfg_path)
    out, _ = rerun.communicate(timeout=1200)
    assert rerun.returncode == 0, out[-3000:]
    lost = sum(1 for p, (mtime, data) in finished.items() if p.stat().st_mtime_ns != mtime or p.read_bytes() != data)
    faults.lose(lost)
    assert lost == 0
    records = [json.loads(p.read_text()) for p in (res / "adsorption").rglob("*.json")]
    assert len(records) == 2 and all(r["status"] == "ok" for r in records)
    resumed = [o for r in records for o in r["orientations"] if o.get("resumed_from_step", 0) > 0]
    assert resumed, "the killed relaxation did not resume from its trajectory"


def test_a_job_run_again_reads_its_finished_starts_and_relaxes_a_start_whose_inputs_changed(
    tiny_screen, tmp_path, monkeypatch
):
    """A relaxed start is kept with the fingerprint of its inputs (``starts/`` in the job's work directory): the
    same job run again returns the same record and structure without relaxing it (no trajectory resumed, no
    final single point, no analysis), and a start whose fingerprint no longer matches is relaxed again."""
    import shutil

    from passivscreen.records.layout import Results
    from passivscreen.steps import adsorption
    from passivscreen.steps.jobs import complex_member

    res = tmp_path / "results" / "tiny"
    shutil.copytree(tiny_screen.results, res)
    member = complex_member(Results(str(res)), "formaldehyde", tiny_screen.site, "top")
    kept = sorted((Path(member["workdir"]) / "starts").glob("*.json"))
    assert len(kept) == 1  # the one start of TINY_CONFIG

    def relaxed_again(*args, **kwargs):
        raise AssertionError("a finished start was relaxed again")

    monkeypatch.setattr(adsorption, "_relax_start", relaxed_again)
    before = read(member["xyz"])
    rec = adsorption.run_adsorption_member(tiny_screen.cfg, member)
    assert rec["status"] == "ok" and rec["E_ads_eV"] == tiny_screen.records["formaldehyde"]["E_ads_eV"]
    assert rec["bond_order"] == tiny_screen.records["formaldehyde"]["bond_order"]
    assert np.array_equal(read(member["xyz"]).positions, before.positions)
    stale = json.loads(kept[0].read_text())
    write_json(kept[0], {**stale, "key": "0" * 64})  # e.g. a reference energy changed since
    with pytest.raises(AssertionError, match="relaxed again"):
        adsorption.run_adsorption_member(tiny_screen.cfg, member)


def test_a_screening_pass_stopped_midway_resumes_from_its_last_single_point(tmp_path, monkeypatch):
    """The starts' single points (``screening.json``) are cached after each one: a job stopped after two of three
    computes only the third when it runs again, and the first two rows are the ones computed before."""
    from passivscreen.calculators import tiers_from_config
    from passivscreen.placement import Complex
    from passivscreen.steps import screening

    tier = tiers_from_config(validate_config({"set": "s", "ligands": [{"name": "a", "smiles": "CC=O"}]}))[0]
    starts = []
    for rot in (0.0, 90.0, 180.0):
        atoms = molecule("CH3CHO")
        atoms.rotate(rot, "z")
        starts.append(Complex(atoms, rot, 1, len(atoms) - 1, [1], [0], ("top",), 1.0))
    real, calls = screening.single_point, []

    def counted(atoms, calc, *args, **kwargs):
        if len(calls) == 2 and not resumed:
            raise KeyboardInterrupt  # the job is stopped before the third
        calls.append(1)
        return real(atoms, calc, *args, **kwargs)

    monkeypatch.setattr(screening, "single_point", counted)
    resumed = False
    with pytest.raises(KeyboardInterrupt):
        screening.screen_orientations(tier, starts, 0.0, tmp_path, 0, 1)
    before = json.loads((tmp_path / "screening.json").read_text())["orientations"]
    assert [r["rotation_deg"] for r in before] == [0.0, 90.0]
    resumed = True
    rows = screening.screen_orientations(tier, starts, 0.0, tmp_path, 0, 1)
    assert len(calls) == 3 and [r["rotation_deg"] for r in rows] == [0.0, 90.0, 180.0]
    assert rows[:2] == before and rows[2]["sp_status"] == "ok" and rows[2]["E_sp_eV"] is not None


def test_when_every_start_is_relaxed_no_single_point_ranks_them(tiny_screen, tmp_path, monkeypatch):
    """No probes and ``relax_top`` at least the number of starts: the starts get no single point (one whose SCF
    fails at its raw placement would cost the whole ladder and then be dropped, not relaxed); every start is
    relaxed, with ``sp_status`` ``not_screened``. With fewer to relax than starts, the single points rank them."""
    import shutil

    from passivscreen.records.layout import Results
    from passivscreen.steps import adsorption
    from passivscreen.steps.jobs import complex_member
    from passivscreen.steps.screening import NOT_SCREENED

    res = tmp_path / "results" / "tiny"
    shutil.copytree(tiny_screen.results, res)
    member = complex_member(Results(str(res)), "formaldehyde", tiny_screen.site, "top")

    def with_starts(relax_top):  # two rotations, one height and tilt
        cfg = copy.deepcopy(tiny_screen.cfg)
        cfg["placement"].update(orientations=2, relax_top=relax_top)
        return validate_config(cfg)

    cfg = with_starts(2)

    def no_single_points(*args, **kwargs):
        raise AssertionError("the starts were screened by single point")

    with monkeypatch.context() as m:
        m.setattr(adsorption, "screen_orientations", no_single_points)
        rec = adsorption.run_adsorption_member(cfg, member)
    assert rec["status"] == "ok", rec.get("reason")
    assert [(o["status"], o["sp_status"]) for o in rec["orientations"]] == [("ok", NOT_SCREENED)] * 2
    assert rec["E_ads_eV"] == min(o["E_ads_eV"] for o in rec["orientations"])
    rec = adsorption.run_adsorption_member(with_starts(1), member)
    assert sorted(o["status"] for o in rec["orientations"]) == ["ok", "screened"]
    assert all(o["E_ads_sp_eV"] is not None for o in rec["orientations"])


def _scf_error_while_stopping(atoms) -> None:
    """What a stop inside tblite's SCF looks like to Python (stop 51, TPPO's reference job): the SIGINT's
    ``KeyboardInterrupt``, and while it is handled (a ``finally`` that restores the SCF settings) the next call
    into tblite raises the SCF error the interrupted call left behind, here a real one of a 1-cycle SCF."""
    calc = get_calculator("gfn2", {"max_iterations": 1}, fresh=True)  # not the process's shared calculator
    atoms = atoms.copy()
    atoms.calc = calc
    try:
        raise KeyboardInterrupt
    finally:
        atoms.get_potential_energy()


def test_a_stop_inside_a_tblite_scf_is_a_stop_not_an_scf_failure():
    """The tblite calculator raises the stop that an SCF error hides, so that no SCF recovery follows a stop."""
    with pytest.raises(KeyboardInterrupt) as stop:
        _scf_error_while_stopping(molecule("H2O"))
    assert "SCF not converged" in str(stop.value.__cause__)


def test_a_job_stopped_inside_an_scf_writes_no_row(tiny_screen, tmp_path, monkeypatch, faults):
    """A job stopped while a start relaxes ends without a record, a structure or a kept result (a row would be its
    output: Snakemake would never run it again), even when the stop surfaces as an engine's error; the job run
    again relaxes the start and writes its row."""
    import shutil

    from passivscreen.records.layout import Results
    from passivscreen.steps import adsorption
    from passivscreen.steps.batches import Member, run_members
    from passivscreen.steps.common import failure
    from passivscreen.steps.jobs import complex_member

    res = tmp_path / "results" / "tiny"
    shutil.copytree(tiny_screen.results, res)
    spec = complex_member(Results(str(res)), "formaldehyde", tiny_screen.site, "top")
    work = Path(spec["workdir"])
    shutil.rmtree(work / "starts")
    for out in (spec["json"], spec["xyz"]):
        Path(out).unlink()
    member = Member("formaldehyde", "key", {"record.json": Path(spec["json"])}, work, spec)
    real = adsorption._relax_start

    def stopped(job, c, *args, **kwargs):
        _scf_error_while_stopping(c.atoms)

    monkeypatch.setattr(adsorption, "_relax_start", stopped)
    with pytest.raises(KeyboardInterrupt):
        run_members([member], lambda m: adsorption.run_adsorption_member(tiny_screen.cfg, m.spec))
    assert not Path(spec["json"]).exists() and not Path(spec["xyz"]).exists()
    assert not (work / "finished").exists()
    faults.add("stop (SIGINT) inside an SCF", "recovered")
    try:  # the same stop, had the calculator not raised it, is raised again by failure()
        try:
            raise KeyboardInterrupt
        finally:
            raise RuntimeError("SCF not converged in 500 cycles")
    except RuntimeError as err:
        with pytest.raises(KeyboardInterrupt):
            failure(err, "E_ads_eV")
    monkeypatch.setattr(adsorption, "_relax_start", real)
    rec = adsorption.run_adsorption_member(tiny_screen.cfg, spec)
    # relaxed again (the trajectory it resumes ends at a converged geometry; its SCF starts afresh): the same E_ads
    expected = tiny_screen.records["formaldehyde"]["E_ads_eV"]
    assert rec["status"] == "ok" and rec["E_ads_eV"] == pytest.approx(expected, abs=1e-3)
