"""An optimized BLAS/LAPACK for tblite.

tblite's PyPI wheels carry the reference (netlib) BLAS and LAPACK (``tblite.libs/libblas-*.so``,
``liblapack-*.so``): unblocked, single-threaded Fortran. A GFN2-xTB call spends most of its time in their
``dgemm`` and ``dsyevd``, so on the cells this project screens the reference library costs 1.6x (the 52-atom slab)
to 4.9x (the 208-atom 4x4 slab) against OpenBLAS, with the same energies to 1e-8 eV (docs/benchmarks.md, stop 45).

Loaded into the process's global symbol scope (``RTLD_GLOBAL``) *before* tblite's extension is imported, an
optimized library's ``dgemm_``, ``dsyevd_``, ... are found before the wheel's own, which the extension only
reaches through its local scope. :func:`use_fast_lapack` does that once per process, from (in this order)
``$PASSIVSCREEN_LAPACK`` (a path, or ``reference`` to keep the wheel's), the system's OpenBLAS (Debian
``libopenblas0``), and Intel's MKL from the Python environment (the ``mkl`` wheel, a dependency on Linux x86-64);
:func:`lapack_in_use` says which one a process computes with (every record's provenance carries it).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from glob import glob
from pathlib import Path

#: The environment variable that names the library (a path) or ``reference`` (the wheel's own).
ENV = "PASSIVSCREEN_LAPACK"

#: What this process loaded: ``{"name", "path"}``, or None before :func:`use_fast_lapack` ran.
_LOADED: dict[str, str | None] | None = None


def _tblite_loaded() -> bool:
    return "tblite._libtblite" in sys.modules


def _mkl() -> str | None:
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):  # the environment's own first, in that order
        found = sorted(glob(str(Path(prefix) / "lib" / "libmkl_rt.so*")))
        if found:
            return found[0]
    return None


def candidates() -> list[tuple[str, str]]:
    """The libraries to try, in order: ``(name, path)``."""
    out = []
    openblas = ctypes.util.find_library("openblas")
    if openblas:
        out.append(("openblas", openblas))
    mkl = _mkl()
    if mkl:
        out.append(("mkl", mkl))
    return out


def _load(name: str, path: str) -> bool:
    if "mkl" in name:
        # MKL's threads through GNU OpenMP (libgomp, which tblite uses already): OMP_NUM_THREADS counts for both
        os.environ.setdefault("MKL_THREADING_LAYER", "GNU")
    try:
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError:
        return False
    return all(hasattr(lib, sym) for sym in ("dgemm_", "dsyevd_", "dsygvd_"))


def use_fast_lapack() -> dict[str, str | None]:
    """Load an optimized BLAS/LAPACK for tblite (once per process; before tblite's extension is imported).

    Returns
    -------
    dict
        ``{"name": "openblas" | "mkl" | "<path>" | "reference", "path": ...}``; ``reference`` when
        ``$PASSIVSCREEN_LAPACK`` asks for it, when none is found, or when tblite was imported first (then its
        own library is bound already and the ``name`` says so).
    """
    global _LOADED
    if _LOADED is not None:
        return _LOADED
    want = os.environ.get(ENV, "").strip()
    if _tblite_loaded():
        _LOADED = {"name": "reference (tblite was imported before passivscreen could load another)", "path": None}
    elif want == "reference":
        _LOADED = {"name": "reference", "path": None}
    elif want:
        if not _load(Path(want).name, want):
            raise OSError(f"${ENV}={want}: not a loadable BLAS/LAPACK (dgemm_, dsyevd_, dsygvd_)")
        _LOADED = {"name": want, "path": want}
    else:
        _LOADED = {"name": "reference", "path": None}
        for name, path in candidates():
            if _load(name, path):
                _LOADED = {"name": name, "path": path}
                break
    threads = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()  # OpenMP allows "4,2" (nested levels)
    set_lapack_threads(int(threads) if threads.isdigit() else 0)
    return _LOADED


def lapack_in_use() -> str:
    """Which BLAS/LAPACK tblite computes with in this process (``not loaded yet`` before the first calculator)."""
    return "not loaded yet" if _LOADED is None else str(_LOADED["name"])


def set_lapack_threads(threads: int) -> None:
    """Set the loaded library's thread count (OpenBLAS and MKL read their variables only when loaded)."""
    if threads < 1 or _LOADED is None or _LOADED["path"] is None:
        return
    lib = ctypes.CDLL(_LOADED["path"], mode=ctypes.RTLD_GLOBAL)
    for sym in ("openblas_set_num_threads", "MKL_Set_Num_Threads"):
        fn = getattr(lib, sym, None)
        if fn is not None:
            fn(ctypes.c_int(threads))
            return
