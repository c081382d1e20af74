"""What the steps share: the ligand's config entry, failures as records, the GFN2-xTB view."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ase import Atoms
from ase.calculators.calculator import CalculationFailed, InputError

from passivscreen.calculators import BackendError, SCFError, get_calculator
from passivscreen.calculators.common import interruption
from passivscreen.ligands import LigandError
from passivscreen.relaxation.guards import GuardTripped
from passivscreen.relaxation.scf import single_point
from passivscreen.structures import SlabError


class Skip(Exception):
    """A step that cannot go on for a known reason: ``status`` and ``reason`` go into its record."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


#: The exception types that are failures of the science (a row), not bugs of the code (a failed job): a known
#: reason to stop (:class:`Skip`), an engine that is missing, crashed or whose SCF did not converge, a guard
#: that tripped, a ligand or slab that cannot be built.
EXPECTED_FAILURES: tuple[type[BaseException], ...] = (
    Skip,
    BackendError,
    SCFError,
    CalculationFailed,
    InputError,
    GuardTripped,
    LigandError,
    SlabError,
)


def ligand_entry(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    """The config entry of ligand ``name``."""
    for lig in cfg["ligands"]:
        if lig["name"] == name:
            return lig
    raise KeyError(f"ligand {name!r} not in config")


#: Packages of the engines: an exception raised inside one of them is the engine failing, not our code.
ENGINE_PACKAGES = frozenset({"tblite", "chgnet", "sevenn", "torch", "gpaw"})


def is_expected(err: BaseException) -> bool:
    """Whether ``err`` is a failure of the science that becomes a row (see :data:`EXPECTED_FAILURES`): one of
    those types, an exception raised inside an engine's own package, or a missing engine package."""
    if isinstance(err, EXPECTED_FAILURES):
        return True
    if isinstance(err, ImportError):
        return not (err.name or "passivscreen").startswith("passivscreen")
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    raised_in = "" if tb is None else tb.tb_frame.f_globals.get("__name__", "")
    return type(err).__module__.split(".")[0] in ENGINE_PACKAGES or raised_in.split(".")[0] in ENGINE_PACKAGES


def error_status(err: BaseException) -> str:
    """``backend_error`` for an engine that is missing or crashed; ``scf_failed``, the guard's status or
    ``invalid_structure`` for the other failures of the science."""
    if isinstance(err, SCFError):
        return "scf_failed"
    if isinstance(err, GuardTripped):
        return err.status
    if isinstance(err, LigandError | SlabError):
        return "invalid_structure"
    return "backend_error"


def failure(err: BaseException, energy_key: str) -> dict[str, Any]:
    """The record fields of a step that failed with ``err``, a failure of the science (a :class:`Skip` carries
    its own status). Anything else is a bug of the code and is raised again, with its traceback: a job must
    fail loudly, not write an error row. A job that was stopped (:func:`interruption`) writes no row either: a
    row would be its output, and the stopped step would never run again.

    Raises
    ------
    BaseException
        The stop in ``err``'s chain (:func:`interruption`); else ``err`` itself when it is not an expected
        failure (:func:`is_expected`).
    """
    stop = interruption(err)
    if stop is not None and stop is not err:
        raise stop from err
    if isinstance(err, Skip):
        return {"status": err.status, "reason": err.reason, energy_key: None}
    if not is_expected(err):
        raise err
    return {
        "status": error_status(err),
        "reason": f"{type(err).__name__}: {err}",
        energy_key: None,
        "traceback": "".join(traceback.format_exception(err)),
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


@contextlib.contextmanager
def job_log(path: str | Path) -> Iterator[IO[str]]:
    """The rule's log file, open for the job; an exception that escapes the job (a bug: failures of the science
    are rows) is written to it with its traceback and raised again, so that the job fails and its log says why."""
    with open(path, "w") as log:
        try:
            yield log
        except BaseException:
            log.write(traceback.format_exc())
            log.flush()
            raise
