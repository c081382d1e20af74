"""Tight binding (tblite: GFN2-xTB, GFN1-xTB) and ASE's EMT for plumbing tests."""

from __future__ import annotations

from typing import Any

from ase.calculators.calculator import Calculator

from passivscreen.calculators.common import BackendError

#: tblite releases whose periodic energies depend on the vacuum (docs/tblite-periodic.md).
BOX_DEPENDENT_TBLITE = {
    "0.8.0": "its periodic Klopman-Ohno Coulomb sum depends on the vacuum (1.5 eV on a non-polar NaCl slab)",
}


def periodic_tblite_problem() -> str | None:
    """Why the installed tblite cannot be trusted for periodic systems, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("tblite")
    except PackageNotFoundError:  # pragma: no cover - a core dependency
        return None
    why = BOX_DEPENDENT_TBLITE.get(v)
    return None if why is None else f"tblite {v}: {why}; install tblite==0.7.0 (docs/tblite-periodic.md)"


def make_tblite(**kw: Any) -> Calculator:
    from passivscreen.calculators.lapack import use_fast_lapack

    use_fast_lapack()  # before tblite's extension binds the wheel's reference LAPACK
    try:
        from tblite.ase import TBLite
    except ImportError as err:  # pragma: no cover - tblite is a core dependency
        raise BackendError("backend needs tblite: pip install tblite") from err
    return TBLite(**kw)


def make_emt(**kw: Any) -> Calculator:
    from ase.calculators.emt import EMT

    return EMT(**kw)


EMT_ELEMENTS = frozenset({"H", "C", "N", "O", "Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"})


def _xtb_elements() -> frozenset[str]:
    from ase.data import chemical_symbols

    return frozenset(chemical_symbols[1:87])


#: Elements GFN1-xTB and GFN2-xTB are parametrized for: H to Rn (Z 1-86).
XTB_ELEMENTS = _xtb_elements()
