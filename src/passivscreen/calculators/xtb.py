"""Tight binding (tblite: GFN2-xTB, GFN1-xTB) and ASE's EMT for plumbing tests."""

from __future__ import annotations

from typing import Any

from ase.calculators.calculator import Calculator

from passivscreen.calculators.common import BackendError


def make_tblite(**kw: Any) -> Calculator:
    try:
        from tblite.ase import TBLite
    except ImportError as err:  # pragma: no cover - tblite is a core dependency
        raise BackendError("backend needs tblite: pip install tblite") from err
    return TBLite(**kw)


def make_emt(**kw: Any) -> Calculator:
    from ase.calculators.emt import EMT

    return EMT(**kw)


EMT_ELEMENTS = frozenset({"H", "C", "N", "O", "Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"})
