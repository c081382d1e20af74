"""Calculator registry: backends by name, imported lazily and built once per process.

Each backend has presets in ``presets/backends.yaml``; a config's
``calculator.params`` override them.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from ase import Atoms
from ase.calculators.calculator import Calculator


class BackendError(ValueError):
    """Unknown backend, missing dependency, or elements it cannot treat."""


@dataclass(frozen=True)
class Backend:
    """A calculator backend.

    Attributes
    ----------
    name
        Registry key.
    factory
        Builds the ASE calculator from keyword arguments.
    elements
        Elements it can treat (None: all).
    periodic
        Whether periodic calculations are trusted (see DEVELOPERS.md for GFN1).
    holds_slab
        Whether the backend passed the rattle-and-relax slab test, i.e. may relax slab atoms.
    scf
        Whether it has an SCF whose convergence can be recovered.
    """

    name: str
    factory: Callable[..., Calculator]
    elements: frozenset[str] | None = None
    periodic: bool = True
    holds_slab: bool = False
    scf: bool = False


def _tblite(**kw: Any) -> Calculator:
    try:
        from tblite.ase import TBLite
    except ImportError as err:  # pragma: no cover - tblite is a core dependency
        raise BackendError("backend needs tblite: pip install tblite") from err
    return TBLite(**kw)


def _emt(**kw: Any) -> Calculator:
    from ase.calculators.emt import EMT

    return EMT(**kw)


_EMT_ELEMENTS = frozenset({"H", "C", "N", "O", "Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"})

REGISTRY: dict[str, Backend] = {
    "gfn2": Backend("gfn2", _tblite, periodic=True, holds_slab=False, scf=True),
    # periodic GFN1 gave ~100 eV/A forces on an O anchor above Pb (finite-difference
    # confirmed): molecular use only.
    "gfn1": Backend("gfn1", _tblite, periodic=False, holds_slab=False, scf=True),
    "emt": Backend("emt", _emt, elements=_EMT_ELEMENTS, periodic=True, holds_slab=False),
}


def presets(name: str) -> dict[str, Any]:
    """Preset parameters of backend ``name``."""
    text = resources.files("passivscreen").joinpath("presets/backends.yaml").read_text()
    return dict((yaml.safe_load(text) or {}).get(name) or {})


def get_backend(name: str) -> Backend:
    if name not in REGISTRY:
        raise BackendError(f"unknown calculator backend {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]


def check_elements(name: str, symbols: set[str] | list[str], periodic: bool = False) -> None:
    """Raise :class:`BackendError` if backend ``name`` cannot treat these elements."""
    backend = get_backend(name)
    if backend.elements is not None:
        missing = sorted(set(symbols) - backend.elements)
        if missing:
            raise BackendError(
                f"backend {name!r} cannot treat element(s) {missing}: it knows only "
                f"{sorted(backend.elements)} (use it for plumbing tests only)"
            )
    if periodic and not backend.periodic:
        raise BackendError(f"backend {name!r} is not trusted for periodic systems")


def set_threads(threads: int) -> None:
    """Make the calculators use ``threads`` threads (OpenMP, BLAS, torch)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("OMP_STACKSIZE", "1G")


@functools.cache
def _cached(name: str, params_json: str) -> Calculator:
    return get_backend(name).factory(**json.loads(params_json))


def get_calculator(name: str, params: dict[str, Any] | None = None, fresh: bool = False) -> Calculator:
    """The calculator of backend ``name`` with presets overridden by ``params``.

    Built once per process and per parameter set unless ``fresh``.
    """
    kw = presets(name) | dict(params or {})
    if fresh:
        return get_backend(name).factory(**kw)
    return _cached(name, json.dumps(kw, sort_keys=True))


def calculator_parameters(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Effective parameters (presets + overrides) for provenance records."""
    return presets(name) | dict(params or {})


def attach(atoms: Atoms, name: str, params: dict[str, Any] | None = None, fresh: bool = False) -> Atoms:
    """Attach the calculator to ``atoms`` after checking its elements and periodicity."""
    check_elements(name, set(atoms.get_chemical_symbols()), periodic=bool(atoms.pbc.any()))
    atoms.calc = get_calculator(name, params, fresh=fresh)
    return atoms
