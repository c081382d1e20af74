"""What the steps share: the ligand's config entry, failures as records, the GFN2-xTB view."""

from __future__ import annotations

import traceback
from typing import Any

from ase import Atoms

from passivscreen.calculators import BackendError, get_calculator
from passivscreen.relaxation.scf import single_point


class Skip(Exception):
    """A step that cannot go on for a known reason: ``status`` and ``reason`` go into its record."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def ligand_entry(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    """The config entry of ligand ``name``."""
    for lig in cfg["ligands"]:
        if lig["name"] == name:
            return lig
    raise KeyError(f"ligand {name!r} not in config")


def error_status(err: Exception) -> str:
    """``backend_error`` for a backend that is missing or crashed, ``error`` otherwise."""
    from ase.calculators.calculator import CalculationFailed, InputError

    if isinstance(err, BackendError | CalculationFailed | InputError | ImportError):
        return "backend_error"
    # an exception raised inside the calculator's own package is a backend crash
    package = type(err).__module__.split(".")[0]
    return "backend_error" if package in {"tblite", "chgnet", "sevenn", "torch", "gpaw"} else "error"


def failure(err: Exception, energy_key: str) -> dict[str, Any]:
    """The record fields of a step that failed with ``err`` (a :class:`Skip` carries its own status)."""
    if isinstance(err, Skip):
        return {"status": err.status, "reason": err.reason, energy_key: None}
    return {
        "status": error_status(err),
        "reason": f"{type(err).__name__}: {err}",
        energy_key: None,
        "traceback": traceback.format_exc(),
    }


def gfn2_view(atoms: Atoms) -> Atoms:
    """``atoms`` evaluated by GFN2-xTB (for bond orders, charges, orbitals) whatever backend relaxed them."""
    if (
        atoms.calc is not None
        and getattr(atoms.calc, "_xtb", None) is not None
        and (atoms.calc.parameters.get("method") == "GFN2-xTB")
    ):
        if "charges" not in atoms.calc.results:  # results dropped: evaluate again (with SCF recovery)
            single_point(atoms, atoms.calc)
        return atoms
    view = atoms.copy()
    view.calc = get_calculator("gfn2")
    single_point(view, view.calc)
    return view
