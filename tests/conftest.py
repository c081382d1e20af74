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
    """Faults injected by the test suite and what became of them (printed at the end of the run)."""

    OUTCOMES = ("rejected", "recovered", "recorded")

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []
        self.lost = 0

    def add(self, fault: str, outcome: str) -> None:
        assert outcome in self.OUTCOMES, outcome
        self.rows.append((fault, outcome))

    def lose(self, n: int) -> None:
        self.lost += n

    def summary(self) -> str:
        n = {o: sum(1 for _, x in self.rows if x == o) for o in self.OUTCOMES}
        return (
            f"fault injection: {len(self.rows)} faults injected; {n['rejected']} rejected before compute, "
            f"{n['recovered']} recovered, {n['recorded']} recorded as failed; finished results lost: {self.lost}"
        )


_FAULTS = FaultLog()


@pytest.fixture(scope="session")
def faults() -> FaultLog:
    return _FAULTS


def pytest_terminal_summary(terminalreporter):
    if _FAULTS.rows:
        terminalreporter.write_sep("=", _FAULTS.summary())
