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
