"""CP2K (Quickstep, GPW) through ASE's CP2K shell: input template, SCF settings, error reporting."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import uuid
from typing import Any

from ase.calculators.calculator import Calculator

from passivscreen.calculators.common import BackendError, workdir
from passivscreen.calculators.threads import PARALLEL

#: Where Debian's cp2k-data puts basis sets, pseudopotentials and dftd3.dat.
CP2K_DATA_DIR = "/usr/share/cp2k"

_CP2K_SHELLS = ("cp2k_shell", "cp2k_shell.psmp", "cp2k_shell.ssmp", "cp2k_shell.popt", "cp2k_shell.sopt")
_CP2K_BINARIES = ("cp2k.psmp", "cp2k.ssmp", "cp2k.popt", "cp2k.sopt", "cp2k")


def cp2k_executable() -> str | None:
    """The CP2K shell command found on PATH (``cp2k_shell``, or ``cp2k.psmp --shell``...)."""
    for name in _CP2K_SHELLS:
        if shutil.which(name):
            return name
    for name in _CP2K_BINARIES:
        if shutil.which(name):
            return f"{name} --shell"
    return None


def cp2k_probe() -> str | None:
    if os.environ.get("ASE_CP2K_COMMAND") or cp2k_executable():
        return None
    return "no CP2K executable (cp2k_shell, cp2k.psmp...) on PATH: apt-get install cp2k"


def cp2k_command(threads: int | None = None, mpi_ranks: int = 1, executable: str | None = None) -> str:
    """Shell command that starts the CP2K shell.

    ``OMP_NUM_THREADS`` is set on the command itself (``threads // mpi_ranks``
    per rank); ``mpi_ranks > 1`` prefixes ``mpirun -np N`` (Open MPI's
    run-as-root variables are set, harmless elsewhere).
    """
    exe = executable or os.environ.get("ASE_CP2K_COMMAND") or cp2k_executable()
    if not exe:
        raise BackendError(f"backend 'cp2k' needs {cp2k_probe()}")
    mpi_ranks = max(int(mpi_ranks or 1), 1)
    threads = max(int(threads or os.environ.get("OMP_NUM_THREADS", 1)), 1)
    per_rank = max(threads // mpi_ranks, 1)
    prefix = f"env OMP_NUM_THREADS={per_rank} "
    if mpi_ranks > 1:
        mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
        if not mpirun:
            raise BackendError("cp2k: mpi_ranks > 1 needs mpirun (apt-get install openmpi-bin)")
        prefix += f"OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 {mpirun} -np {mpi_ranks} "
    return prefix + exe


@functools.cache
def cp2k_class() -> type[Calculator]:
    """:class:`~passivscreen.calculators.cp2k_calc.PassivCP2K`, imported on first use (imports ase.calculators.cp2k)."""
    from passivscreen.calculators.cp2k_calc import PassivCP2K

    return PassivCP2K


#: CP2K reads a keyword's value into at most 80 characters: a longer ``PROJECT`` (ASE writes the label there, an
#: absolute path) stops its input parser, as a work directory deep in a results tree or a test's tmp_path makes it
CP2K_STRING_LENGTH = 80
#: the longest suffix added to the label in a keyword (the wave function restart file)
_LONGEST_SUFFIX = "-RESTART.wfn"
_LINKS: list[str] = []


def short_label(directory: str) -> str:
    """The CP2K label (``<directory>/cp2k``); when it would not fit CP2K's 80 characters, the same files reached
    through a short symbolic link to ``directory`` under the system's temporary folder (removed at exit).

    Raises
    ------
    BackendError
        When even the link's label is too long (a temporary folder with a very long path).
    """
    label = os.path.join(directory, "cp2k")
    if len(label) + len(_LONGEST_SUFFIX) < CP2K_STRING_LENGTH:
        return label
    link = os.path.join(tempfile.gettempdir(), f"ps-cp2k-{uuid.uuid4().hex[:12]}")
    os.symlink(os.path.abspath(directory), link)
    _LINKS.append(link)
    label = os.path.join(link, "cp2k")
    if len(label) + len(_LONGEST_SUFFIX) >= CP2K_STRING_LENGTH:
        raise BackendError(f"cp2k: the label {label!r} is longer than CP2K's {CP2K_STRING_LENGTH} characters")
    return label


@atexit.register
def _remove_links() -> None:  # pragma: no cover - runs at interpreter exit
    for link in _LINKS:
        with contextlib.suppress(OSError):
            os.unlink(link)


def make_cp2k(
    threads: int | None = None,
    mpi_ranks: int | None = None,
    command: str | None = None,
    directory: str | None = None,
    data_dir: str | None = None,
    **kw: Any,
) -> Calculator:
    """CP2K (Quickstep, GPW) through ASE's CP2K shell interface.

    ``threads`` and ``mpi_ranks`` default to :func:`set_threads`' values;
    ``command`` overrides the detected ``cp2k_shell``; ``directory`` holds
    ``cp2k.inp``/``cp2k.out`` (default: a temporary directory removed at exit);
    ``data_dir`` sets ``CP2K_DATA_DIR`` (default: Debian's ``/usr/share/cp2k``
    when present). Other keywords are :class:`PassivCP2K` parameters.
    """
    threads = threads or PARALLEL["threads"]
    mpi_ranks = mpi_ranks or PARALLEL["mpi_ranks"] or 1
    cmd = cp2k_command(threads, mpi_ranks, executable=command)
    data = data_dir or os.environ.get("CP2K_DATA_DIR") or (CP2K_DATA_DIR if os.path.isdir(CP2K_DATA_DIR) else None)
    if data:
        os.environ["CP2K_DATA_DIR"] = str(data)
    label = short_label(workdir("cp2k", directory))
    cls = cp2k_class()
    unknown = sorted(set(kw) - set(cls.default_parameters))
    if unknown:
        raise BackendError(f"cp2k: unknown parameter(s) {unknown}; known: {sorted(cls.default_parameters)}")
    try:
        return cls(command=cmd, label=label, **kw)
    except (RuntimeError, AssertionError, OSError, ValueError) as err:
        raise BackendError(f"cp2k: could not start the CP2K shell with {cmd!r}: {err}") from err
