"""Calculator registry: backends by name, imported lazily and built once per process.

Each backend has presets in ``presets/backends.yaml`` (read once); a tier's
``params`` override them. Every third-party package is imported inside its
backend's factory (``xtb``, ``ml``, ``cp2k``, ``planewave``), so a missing
package only matters when that backend is asked for, and then it raises
:class:`BackendError` saying what to install. ``docs/backends.md`` describes
each backend and which of them passed the rattle-and-relax slab test
(``benchmarks/slab_hold.py``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from ase import Atoms
from ase.calculators.calculator import Calculator
from ase.data import atomic_numbers

from passivscreen.calculators.common import ML_HINT, BackendError, module_probe
from passivscreen.calculators.cp2k import cp2k_probe, make_cp2k
from passivscreen.calculators.ml import make_chgnet, make_sevenn
from passivscreen.calculators.planewave import (
    espresso_probe,
    gpaw_probe,
    make_espresso,
    make_gpaw,
    make_vasp,
    vasp_probe,
)
from passivscreen.calculators.threads import PARALLEL
from passivscreen.calculators.xtb import EMT_ELEMENTS, XTB_ELEMENTS, make_emt, make_tblite, periodic_tblite_problem


@dataclass(frozen=True)
class Backend:
    """A calculator backend.

    Attributes
    ----------
    name
        Registry key.
    factory
        Builds the ASE calculator from keyword arguments (the presets merged
        with a config's ``calculator.params``).
    elements
        Elements it can treat (None: all, or whatever its data files cover).
    periodic
        Whether periodic calculations are trusted (periodic GFN1: docs/backends.md).
    holds_slab
        Whether the backend passed the rattle-and-relax slab test
        (``benchmarks/slab_hold.py``), i.e. may relax slab atoms.
    scf
        Whether it has an SCF whose convergence can be recovered.
    scf_ladder
        Recovery rungs for :func:`passivscreen.relaxation.relax` (``scf_ladder=``):
        None means relax's own tblite ladder, ``[]`` no recovery. Keys are
        parameters of this backend's calculator.
    kind
        ``xtb``, ``ml`` (machine-learned potential), ``dft`` or ``test``.
    probe
        Returns None if the backend can be built here, else the reason (a
        missing package, executable or environment variable), without
        importing heavy packages.
    molecule_parameters
        Parameters that replace the tier's for a free molecule (CP2K: no two-stage
        dipole restart, which only a polar slab needs).
    """

    name: str
    factory: Callable[..., Calculator]
    elements: frozenset[str] | None = None
    periodic: bool = True
    holds_slab: bool = False
    scf: bool = False
    scf_ladder: list[dict[str, Any]] | None = field(default=None, compare=False, hash=False)
    kind: str = "xtb"
    probe: Callable[[], str | None] | None = field(default=None, compare=False, hash=False)
    molecule_parameters: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


REGISTRY: dict[str, Backend] = {
    "gfn2": Backend("gfn2", make_tblite, elements=XTB_ELEMENTS, periodic=True, holds_slab=False, scf=True),
    # periodic GFN1 gave ~100 eV/A forces on an O anchor above Pb (finite-difference
    # confirmed): molecular use only.
    "gfn1": Backend("gfn1", make_tblite, elements=XTB_ELEMENTS, periodic=False, holds_slab=False, scf=True),
    "emt": Backend("emt", make_emt, elements=EMT_ELEMENTS, periodic=True, holds_slab=False, scf_ladder=[], kind="test"),
    # benchmarks/slab_hold.py (docs/backends.md): CHGNet trips the 0.5 A displacement guard
    # (it tilts the octahedra, Cs moves ~0.9 A); SevenNet converges at fmax 0.05 and passes.
    "chgnet": Backend(
        "chgnet", make_chgnet, holds_slab=False, scf_ladder=[], kind="ml", probe=module_probe("chgnet", ML_HINT)
    ),
    "sevenn": Backend(
        "sevenn", make_sevenn, holds_slab=True, scf_ladder=[], kind="ml", probe=module_probe("sevenn", ML_HINT)
    ),
    "cp2k": Backend(
        "cp2k",
        make_cp2k,
        holds_slab=False,
        scf=True,
        # more outer loops first (each rebuilds the OT preconditioner; a longer inner loop stalls)
        scf_ladder=[{"outer_max_scf": 60}, {"scf_method": "smear"}],
        kind="dft",
        probe=cp2k_probe,
        # a free ligand converges with the dipole correction on from the atomic guess: one SCF, not two
        # (TMPO: 17 OT steps, the same energy to 1e-9 eV as the restart's 17 + 6; docs/validation.md)
        molecule_parameters={"dipole_restart": False},
    ),
    "vasp": Backend("vasp", make_vasp, holds_slab=False, scf=True, scf_ladder=[], kind="dft", probe=vasp_probe),
    "espresso": Backend(
        "espresso", make_espresso, holds_slab=False, scf=True, scf_ladder=[], kind="dft", probe=espresso_probe
    ),
    "gpaw": Backend("gpaw", make_gpaw, holds_slab=False, scf=True, scf_ladder=[], kind="dft", probe=gpaw_probe),
}


@functools.cache
def _all_presets() -> dict[str, dict[str, Any]]:
    text = resources.files("passivscreen").joinpath("presets/backends.yaml").read_text()
    return yaml.safe_load(text) or {}


def presets(name: str) -> dict[str, Any]:
    """Preset parameters of backend ``name`` (``presets/backends.yaml``, read once per process)."""
    return json.loads(json.dumps(_all_presets().get(name) or {}))


def get_backend(name: str) -> Backend:
    if name not in REGISTRY:
        raise BackendError(f"unknown calculator backend {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]


def unavailable_reason(name: str) -> str | None:
    """None if backend ``name`` can be built on this machine, else why not (cheap: imports nothing heavy)."""
    backend = get_backend(name)
    return backend.probe() if backend.probe is not None else None


def available_backends() -> list[str]:
    """Registry names whose packages, executables and settings are present here."""
    return [name for name in REGISTRY if unavailable_reason(name) is None]


def scf_ladder(name: str) -> list[dict[str, Any]] | None:
    """SCF recovery ladder to pass to :func:`passivscreen.relaxation.relax` for backend ``name``."""
    ladder = get_backend(name).scf_ladder
    return None if ladder is None else [dict(r) for r in ladder]


def check_elements(name: str, symbols: set[str] | list[str], periodic: bool = False) -> None:
    """Raise :class:`BackendError` if backend ``name`` cannot treat these elements."""
    backend = get_backend(name)
    if backend.elements is not None:
        missing = sorted(set(symbols) - backend.elements)
        if missing:
            known: Any = sorted(backend.elements)
            if len(known) > 20:
                by_z = sorted(backend.elements, key=atomic_numbers.__getitem__)
                known = f"{len(known)} elements, {by_z[0]} to {by_z[-1]}"
            raise BackendError(
                f"backend {name!r} cannot treat element(s) {missing}: it knows only {known}"
                + (" (use it for plumbing tests only)" if backend.kind == "test" else "")
            )
    if periodic and not backend.periodic:
        raise BackendError(f"backend {name!r} is not trusted for periodic systems")
    if periodic and backend.kind == "xtb" and (problem := periodic_tblite_problem()):
        raise BackendError(f"backend {name!r} is not trusted for periodic systems with {problem}")


@functools.cache
def _cached(name: str, params_json: str, parallel_json: str) -> Calculator:
    return get_backend(name).factory(**json.loads(params_json))


def calculator_parameters(name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Effective parameters of backend ``name``: its presets overridden by ``params`` (the one merge)."""
    return presets(name) | dict(params or {})


def build_calculator(name: str, parameters: dict[str, Any], fresh: bool = False) -> Calculator:
    """The calculator of backend ``name`` with its effective ``parameters`` (already merged).

    Built once per process and per parameter set (and :func:`set_threads` setting)
    unless ``fresh``.

    Raises
    ------
    BackendError
        Unknown backend, or a package/executable/setting it needs is missing.
    """
    if fresh:
        return get_backend(name).factory(**parameters)
    return _cached(name, json.dumps(parameters, sort_keys=True), json.dumps(PARALLEL, sort_keys=True))


def get_calculator(name: str, params: dict[str, Any] | None = None, fresh: bool = False) -> Calculator:
    """The calculator of backend ``name`` with presets overridden by ``params`` (see :func:`build_calculator`)."""
    return build_calculator(name, calculator_parameters(name, params), fresh=fresh)


def attach(atoms: Atoms, name: str, params: dict[str, Any] | None = None, fresh: bool = False) -> Atoms:
    """Attach the calculator to ``atoms`` after checking its elements and periodicity."""
    check_elements(name, set(atoms.get_chemical_symbols()), periodic=bool(atoms.pbc.any()))
    atoms.calc = get_calculator(name, params, fresh=fresh)
    return atoms
