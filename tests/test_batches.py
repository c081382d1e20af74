"""Batches: splitting, resources, and reuse of finished members (no calculator needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from passivscreen.steps.batches import Member, run_members
from passivscreen.steps.jobs import chunks, fingerprint, job_resources, result_settings


def test_chunks_keep_config_order():
    assert chunks(list("abcdefg"), 3) == [["a", "b", "c"], ["d", "e", "f"], ["g"]]
    assert chunks(list("ab"), 1) == [["a"], ["b"]]
    # appending a ligand changes only the last batch
    assert chunks(list("abcdefgh"), 3)[:2] == chunks(list("abcdefg"), 3)[:2]
    with pytest.raises(ValueError, match="batch size"):
        chunks(["a"], 0)


def test_execution_settings_change_no_fingerprint():
    cfg = {"seed": 1, "threads": 1, "batch_size": 1, "ligands": [{"name": "a"}], "relax": {"fmax": 0.05}}
    other = {**cfg, "threads": 4, "batch_size": 50, "ligand_batch_size": 7, "ligands": [{"name": "b"}]}
    assert fingerprint(result_settings(cfg)) == fingerprint(result_settings(other))
    assert fingerprint(result_settings(cfg)) != fingerprint(result_settings({**cfg, "relax": {"fmax": 0.01}}))


def test_resources_grow_with_batch_and_attempt():
    cfg = {"slab": {"repeat": [2, 2], "n_pbbr2_layers": 3}}
    one, ten = job_resources("adsorption", 1, cfg), job_resources("adsorption", 10, cfg)
    assert ten["runtime"] > one["runtime"] and ten["mem_mb"] == one["mem_mb"]
    assert job_resources("adsorption", 1, cfg, 2)["mem_mb"] == 2 * one["mem_mb"]
    with pytest.raises(ValueError):
        job_resources("nonsense", 1, cfg)


def test_one_complex_job_outlasts_the_slowest_measured_complex():
    """The slowest 2x2 complex measured (butylammonium bromide, stop 37: 2,366 s of one core, a whole-slab
    relaxation whose SCF failed) fits inside the first attempt's limit with room for a 1.5x slower node,
    and a batch allows that one complex besides its typical members."""
    cfg = {"slab": {"repeat": [2, 2], "n_pbbr2_layers": 3}}
    slowest_min = 2366 / 60
    assert job_resources("adsorption", 1, cfg)["runtime"] >= 1.5 * slowest_min
    assert job_resources("adsorption", 10, cfg)["runtime"] >= 1.5 * slowest_min + 9 * 10


def _member(tmp_path: Path, name: str, key: str) -> Member:
    return Member(name, key, {"out.txt": tmp_path / "results" / f"{name}.txt"}, tmp_path / "work" / name, {})


def test_finished_members_are_reused_and_a_failure_does_not_stop_the_others(tmp_path):
    ran: list[str] = []

    def run(m: Member) -> dict:
        ran.append(m.label)
        if m.label == "bad":
            raise RuntimeError("boom")
        m.outputs["out.txt"].parent.mkdir(parents=True, exist_ok=True)
        m.outputs["out.txt"].write_text(f"{m.label} {m.key}")
        return {"status": "ok"}

    members = [_member(tmp_path, "a", "k1"), _member(tmp_path, "bad", "k1"), _member(tmp_path, "c", "k1")]
    with pytest.raises(RuntimeError, match="1 of 3 batch members failed: bad"):
        run_members(members, run)
    assert ran == ["a", "bad", "c"]  # c ran although bad raised
    # the outputs are deleted (as Snakemake does before re-running a job) and the batch runs again
    for m in members:
        m.outputs["out.txt"].unlink(missing_ok=True)
    ran.clear()
    members[1] = _member(tmp_path, "bad", "k1")
    with pytest.raises(RuntimeError):
        run_members(members, run)
    assert ran == ["bad"]  # a and c were copied back, not recomputed
    assert (tmp_path / "results" / "a.txt").read_text() == "a k1"
    # a changed input (another fingerprint) is recomputed
    ran.clear()
    done = run_members([_member(tmp_path, "a", "k2")], run)
    assert ran == ["a"] and done[0]["reused"] is False
    assert (tmp_path / "results" / "a.txt").read_text() == "a k2"
