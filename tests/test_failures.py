"""Failures of the science become rows; bugs of the code fail the job loudly, with their traceback in its log."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from passivscreen.config import load_config, validate_config
from passivscreen.ligands import LigandError
from passivscreen.ranking import failure_summary
from passivscreen.records.files import write_record
from passivscreen.records.layout import Results
from passivscreen.steps import job_log, run_ligand_batch
from passivscreen.steps.common import is_expected
from passivscreen.steps.jobs import chunks, ligand_member
from passivscreen.steps.ligand import run_ligand
from passivscreen.types import check_record

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cfg():
    raw = load_config(ROOT / "configs" / "test.yaml")
    raw["ligands"] = [{"name": "formaldehyde", "smiles": "C=O"}, {"name": "methylamine", "smiles": "CN"}]
    return validate_config(raw)


def _tblite_error() -> Exception:
    from tblite.interface import Calculator

    try:
        Calculator("GFN2-xTB", np.array([1, 1]), np.zeros((2, 3)))
    except Exception as err:  # noqa: BLE001 - the engine's own exception is what is tested
        return err
    raise AssertionError("tblite accepted two atoms on one spot")


def test_what_is_a_failure_of_the_science():
    assert is_expected(LigandError("cannot embed"))
    assert is_expected(_tblite_error())  # raised inside the engine's package
    assert is_expected(ModuleNotFoundError("no module", name="chgnet"))  # a missing engine
    try:
        chunks([1, 2], 0)
    except ValueError as err:  # raised in our own code: a bug
        assert not is_expected(err)
    assert not is_expected(KeyError("ligands"))
    assert not is_expected(ModuleNotFoundError("no module", name="passivscreen.nothing"))


def test_a_bug_in_a_step_is_raised_not_recorded(cfg, tmp_path, monkeypatch):
    def broken(*args, **kw):
        raise KeyError("n_conformers")  # what a misspelt key in the step's own code raises

    monkeypatch.setattr("passivscreen.ligands.molecules.ligand_from_smiles", broken)
    out = tmp_path / "methanol.json"
    with pytest.raises(KeyError, match="n_conformers"):
        run_ligand(cfg, "formaldehyde", out, tmp_path / "m.extxyz", tmp_path / "work")
    assert not out.exists()


def test_a_failure_of_the_science_is_a_row(cfg, tmp_path, monkeypatch):
    def cannot(*args, **kw):
        raise LigandError("RDKit cannot embed it")

    monkeypatch.setattr("passivscreen.ligands.molecules.ligand_from_smiles", cannot)
    rec = run_ligand(cfg, "formaldehyde", tmp_path / "m.json", tmp_path / "m.extxyz", tmp_path / "work")
    assert rec["status"] == "invalid_structure" and "RDKit cannot embed it" in rec["reason"]
    assert (tmp_path / "m.json").exists()


def test_a_bug_fails_the_batch_after_its_other_members_ran(cfg, tmp_path, monkeypatch):
    import passivscreen.ligands.molecules as step  # what the ligand step builds its molecule with

    real = step.ligand_from_smiles

    def broken_for_methylamine(name, *args, **kw):
        if name == "methylamine":
            raise AttributeError("'Ligand' object has no attribute 'anchr'")
        return real(name, *args, **kw)

    monkeypatch.setattr(step, "ligand_from_smiles", broken_for_methylamine)
    layout = Results(str(tmp_path / "results"))
    members = [ligand_member(layout, n) for n in ("methylamine", "formaldehyde")]
    log = tmp_path / "batch.log"
    with pytest.raises(RuntimeError, match="1 of 2 batch members failed"), open(log, "w") as fh:
        run_ligand_batch(cfg, members, fh)
    text = log.read_text()
    assert "Traceback" in text and "AttributeError" in text and "anchr" in text
    assert Path(layout.ligand("formaldehyde").json).exists()  # the other member ran
    assert not Path(layout.ligand("methylamine").json).exists()


def test_job_log_keeps_the_traceback(tmp_path):
    log = tmp_path / "job.log"
    with pytest.raises(ZeroDivisionError), job_log(log) as fh:
        print("started", file=fh)
        _ = 1 / 0
    text = log.read_text()
    assert text.startswith("started") and "Traceback" in text and "ZeroDivisionError" in text


def test_a_misspelt_record_key_fails_where_it_is_written(tmp_path):
    good = {"kind": "adsorption", "ligand": "a", "status": "ok", "E_ads_per_ligand_eV": -0.5}
    check_record(good)
    with pytest.raises(TypeError, match="E_ads_per_ligand_ev"):
        write_record(tmp_path / "r.json", {**good, "E_ads_per_ligand_ev": -0.5})
    assert not (tmp_path / "r.json").exists()
    with pytest.raises(TypeError, match="unknown kind"):
        check_record({"kind": "adsorbtion"})


def test_failure_summary_groups_by_status_and_reason():
    df = pd.DataFrame(
        {
            "ligand": ["a", "b", "c", "d", "e"],
            "status": ["ok", "no_placement", "no_placement", "scf_failed", "no_placement"],
            "reason": ["", "all 4 orientations clash", "all 4 orientations clash", "SCF not converged\nmore", "x"],
        }
    )
    text = failure_summary(df)
    lines = text.splitlines()
    assert lines[0] == "4 of 5 rows failed:"
    assert "2  no_placement: all 4 orientations clash  [b, c]" in lines[1]  # the largest group first
    assert "more" not in text  # one line per reason
    assert failure_summary(df[df.status == "ok"]) == "1 rows, none failed"


@pytest.mark.slow
def test_snakemake_job_with_a_bug_fails_with_its_traceback_in_the_log(tmp_path):
    """A bug inside a job (injected through sitecustomize in the job's Python) fails the Snakemake run; the
    rule's log holds the traceback and no record is written."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import passivscreen.steps.ligand as step

            def broken(*args, **kw):
                raise KeyError("injected bug")

            step.entry_ligand = broken
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(inject), os.environ.get("PYTHONPATH", "")])}
    config = tmp_path / "c.yaml"
    config.write_text("set: bug\nligands:\n  - {name: methylamine, smiles: CN}\n")
    target = Results.for_set("bug").ligand("methylamine").json
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path)]
    run = subprocess.run(
        [*cmd, "--configfile", str(config), "--cores", "1", target],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode != 0, run.stderr[-2000:]
    log = (tmp_path / Results.for_set("bug").log("ligands", "batch_0000")).read_text()
    assert "Traceback" in log and "KeyError: 'injected bug'" in log
    assert not (tmp_path / target).exists()
