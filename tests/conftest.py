from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_STACKSIZE", "1G")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def small_slab():
    from passivscreen.structures import SlabSpec, build_slab

    return build_slab(SlabSpec(n_pbbr2=2, repeat=(2, 2), vacuum=8.0))


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


def pytest_terminal_summary(terminalreporter):
    if _FAULTS.rows:
        terminalreporter.write_sep("=", _FAULTS.summary())
