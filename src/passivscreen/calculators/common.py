"""What every backend module shares: the error type, package probes, work directories."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable
from importlib.util import find_spec

from ase.calculators.calculator import CalculationFailed

try:  # ASE >= 3.23
    from ase.calculators.calculator import SCFError  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    SCFError = CalculationFailed  # type: ignore[misc,assignment]

#: Install hint of the machine-learned potentials (the ``ml`` extra).
ML_HINT = 'pip install "passivscreen[ml]"'


class BackendError(ValueError):
    """Unknown backend, missing dependency, or elements it cannot treat."""


def interruption(err: BaseException) -> BaseException | None:
    """The stop (``KeyboardInterrupt``, ``SystemExit``) in ``err``'s chain of causes and contexts, if there is one.

    A sitting's or the user's SIGINT that lands inside an engine's call can surface as the engine's own error: the
    interrupted SCF leaves its error in tblite's context, and the next call (a ``finally`` that restores the SCF
    settings) raises it while the ``KeyboardInterrupt`` is being handled. Such a job was stopped, not failed.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if not isinstance(e, Exception):
            return e
        todo += [e.__cause__, e.__context__]
    return None


def module_probe(module: str, hint: str) -> Callable[[], str | None]:
    def probe() -> str | None:
        try:
            return None if find_spec(module) is not None else f"package {module!r} is not installed: {hint}"
        except (ImportError, ValueError):
            return f"package {module!r} is not installed: {hint}"

    return probe


def require(module: str, backend: str, hint: str) -> None:
    reason = module_probe(module, hint)()
    if reason:
        raise BackendError(f"backend {backend!r} needs {reason}")


_WORKDIRS: list[str] = []


def workdir(backend: str, directory: str | os.PathLike[str] | None) -> str:
    """``directory``, created; or a temporary directory removed at exit."""
    if directory:
        os.makedirs(directory, exist_ok=True)
        return str(directory)
    path = tempfile.mkdtemp(prefix=f"passivscreen-{backend}-")
    _WORKDIRS.append(path)
    return path


@atexit.register
def _remove_workdirs() -> None:  # pragma: no cover - runs at interpreter exit
    for path in _WORKDIRS:
        shutil.rmtree(path, ignore_errors=True)
