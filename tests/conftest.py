from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_STACKSIZE", "1G")

# the tests that import tblite themselves compute with the library the package uses (calculators.lapack)
from passivscreen.calculators.lapack import use_fast_lapack  # noqa: E402

use_fast_lapack()

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def small_slab():
    from passivscreen.structures import SlabSpec, build_slab

    return build_slab(SlabSpec(n_pbbr2=2, repeat=(2, 2), vacuum=8.0))


#: The tiny screen that the slow step tests share: a 2x2 slab of two PbBr2 layers, formaldehyde and methylamine
#: on its first site (top face), a GFN2-xTB screen tier named ``gfn2`` (the default tier's name, so that a
#: config without ``tiers`` reads the same slab record) and a GFN2-xTB funnel tier ``check``.
TINY_CONFIG = {
    "set": "tiny",
    "slab": {"n_pbbr2_layers": 2, "repeat": [2, 2], "vacuum": 8.0},
    "relax": {"fmax": 0.1, "steps": 40},
    # one start, ranked by single point: the plumbing of the steps (the search itself: test_search.py)
    "placement": {"orientations": 1, "heights": [0.0], "tilts": [0.0], "probe_steps": 0, "relax_top": 1},
    "convergence": {"vacuum": [12], "layers": [2], "repeat": [[2, 2]], "accuracy": [3.0]},
    "tiers": [
        {"name": "gfn2", "backend": "gfn2"},
        {
            "name": "check",
            "backend": "gfn2",
            "task": "single_point",
            "top_k": 1,
            "vacuum": 6.0,
            "params": {"accuracy": 1.0},
        },
    ],
    "ligands": [{"name": "formaldehyde", "smiles": "C=O"}, {"name": "methylamine", "smiles": "CN"}],
}


@dataclass(frozen=True)
class TinyScreen:
    """A finished screen on the tiny slab (computed once per session; read it, do not write into ``results``).

    Attributes
    ----------
    cfg
        The validated :data:`TINY_CONFIG`.
    results
        Its results directory (``results/tiny`` as the workflow lays it out).
    site
        The site label of the slab (``site_labels(cfg)[0]``), top face.
    paths
        Per ligand, the files of its complex and references (:func:`passivscreen.steps.convergence.complex_paths`).
    records
        Per ligand, the adsorption record that :func:`passivscreen.steps.adsorption.run_adsorption` returned.
    """

    cfg: dict[str, Any]
    results: Path
    site: str
    paths: dict[str, dict[str, Path]]
    records: dict[str, dict[str, Any]]


@pytest.fixture(scope="session")
def tiny_screen(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> TinyScreen:
    """The slab, both ligands and both complexes of :data:`TINY_CONFIG`, relaxed with real GFN2-xTB once per test
    run (shared by the xdist workers, each with its own copy of the results)."""
    from passivscreen.config import validate_config
    from passivscreen.steps.convergence import complex_paths
    from passivscreen.structures import site_labels

    cfg = validate_config(copy.deepcopy(TINY_CONFIG))
    site = site_labels(cfg)[0]

    def make(work: Path) -> dict[str, dict[str, Any]]:
        from passivscreen.records.layout import Results
        from passivscreen.steps.adsorption import run_adsorption_member
        from passivscreen.steps.jobs import complex_member
        from passivscreen.steps.ligand import run_ligand
        from passivscreen.steps.slab import run_slab

        res = work / "results" / "tiny"
        records = {}
        for lig in ("formaldehyde", "methylamine"):
            p = complex_paths(res, lig, site, "top")
            if not p["slab_record"].exists():
                slab = run_slab(cfg, site, "top", p["slab_record"], p["slab"])
                assert slab["status"] == "ok", slab.get("reason")
            lrec = run_ligand(cfg, lig, p["ligand_record"], p["ligand"], res / "work" / lig)
            assert lrec["status"] == "ok", lrec.get("reason")
            rec = run_adsorption_member(cfg, complex_member(Results(str(res)), lig, site, "top"))
            assert rec["status"] == "ok", rec.get("reason")
            records[lig] = rec
        return records

    work, records = _once_per_run(tmp_path_factory, worker_id, "tiny", make)
    res = work / "results" / "tiny"
    paths = {lig: complex_paths(res, lig, site, "top") for lig in records}
    return TinyScreen(cfg, res, site, paths, records)


@dataclass(frozen=True)
class WorkflowRun:
    """A finished Snakemake run of ``configs/test.yaml`` (local, 2 cores) from a clean directory."""

    workdir: Path
    run: Any  # subprocess.CompletedProcess
    wall_s: float


def _once_per_run(tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str, make) -> tuple[Path, Any]:
    """Run ``make(directory)`` once for the whole test run, however many pytest-xdist workers ask for it.

    A session fixture is made once per worker: under ``pytest -n 2`` two files that need the same slow run would
    compute it twice. The first worker to ask computes it into a directory beside the workers' own (under a file
    lock); every worker then gets its own copy of that directory, so that a test may write into it, and the value
    ``make`` returned (pickled: it must not hold paths into the directory).

    Returns
    -------
    tuple
        This worker's copy of the directory and ``make``'s value.
    """
    import pickle
    import shutil

    from filelock import FileLock

    if worker_id == "master":  # no xdist: nothing to share
        work = tmp_path_factory.mktemp(name)
        return work, make(work)
    shared = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    value_file = shared / "value.pickle"
    with FileLock(f"{shared}.lock"):
        if not value_file.exists():
            shutil.rmtree(shared, ignore_errors=True)
            (shared / "work").mkdir(parents=True)
            value_file.write_bytes(pickle.dumps(make(shared / "work")))
    mine = tmp_path_factory.mktemp(name)
    shutil.copytree(shared / "work", mine, symlinks=True, dirs_exist_ok=True)
    return mine, pickle.loads(value_file.read_bytes())


@pytest.fixture(scope="session")
def test_config_run(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> WorkflowRun:
    """configs/test.yaml through the real workflow once per test run (shared by the xdist workers, each with its
    own copy of the directory): test_workflow.py checks it end to end (and goes on from it: re-runs, report,
    database), test_slurm.py takes it as the local run the cluster's must match."""

    def make(work: Path) -> tuple[Any, float]:
        import subprocess
        import sys
        import time

        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work)]
        cmd += ["--configfile", str(ROOT / "configs" / "test.yaml"), "--cores", "2"]
        start = time.monotonic()
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200)
        return run, time.monotonic() - start

    work, (run, wall_s) = _once_per_run(tmp_path_factory, worker_id, "test_config", make)
    return WorkflowRun(work, run, wall_s)


class FaultLog:
    """Faults injected by the test suite and what became of them (printed at the end of the run).

    The summary names the kinds of fault this run did not exercise (a deselected or skipped test), and
    reports lost results only when the test that can lose them ran.
    """

    OUTCOMES = ("rejected", "recovered", "recorded")
    #: every kind of fault the suite injects (the prefix before ":" for parametrized ones)
    KINDS = (
        "bad input",
        "bad config",
        "SCF non-convergence (recoverable)",
        "SCF non-convergence (unrecoverable)",
        "optimizer step limit",
        "wall-time budget exceeded",
        "backend crashes",
        "backend missing",
        "partial trajectory file",
        "write interrupted",
        "second Snakemake on the same tree",
        "SIGKILL of a running screen",
        "stop (SIGINT) inside an SCF",
    )

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []
        self.lost: int | None = None

    def add(self, fault: str, outcome: str) -> None:
        assert outcome in self.OUTCOMES, outcome
        assert fault.split(":")[0] in self.KINDS, f"unknown fault kind {fault!r}: add it to FaultLog.KINDS"
        self.rows.append((fault, outcome))

    def lose(self, n: int) -> None:
        self.lost = (self.lost or 0) + n

    def summary(self) -> str:
        n = {o: sum(1 for _, x in self.rows if x == o) for o in self.OUTCOMES}
        seen = {f.split(":")[0] for f, _ in self.rows}
        missing = [k for k in self.KINDS if k not in seen]
        lost = (
            f"finished results lost: {self.lost}"
            if self.lost is not None
            else "finished results lost: not measured (the killed-workflow test did not run)"
        )
        text = (
            f"fault injection: {len(self.rows)} faults injected; {n['rejected']} rejected before compute, "
            f"{n['recovered']} recovered, {n['recorded']} recorded as failed; {lost}"
        )
        return text + (f"; not exercised in this run: {', '.join(missing)}" if missing else "")


_FAULTS = FaultLog()


@pytest.fixture(scope="session")
def faults() -> FaultLog:
    return _FAULTS


def pytest_sessionfinish(session):
    """In a worker of ``pytest -n`` (pytest-xdist), hand this worker's faults to the controller, which prints the
    summary of the whole run."""
    out = getattr(session.config, "workeroutput", None)
    if out is not None:
        out["faults"] = {"rows": _FAULTS.rows, "lost": _FAULTS.lost}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """The controller of ``pytest -n`` collects each worker's faults (see :func:`pytest_sessionfinish`)."""
    data = getattr(node, "workeroutput", {}).get("faults")
    if data:
        _FAULTS.rows += [tuple(row) for row in data["rows"]]
        if data["lost"] is not None:
            _FAULTS.lose(data["lost"])


def pytest_terminal_summary(terminalreporter):
    if _FAULTS.rows:
        terminalreporter.write_sep("=", _FAULTS.summary())
