"""Threads of the calculators: OpenMP, BLAS, torch and CP2K, set once per process."""

from __future__ import annotations

import os
import sys

#: Process-wide parallel settings, set by :func:`set_threads`.
PARALLEL: dict[str, int | None] = {"threads": None, "mpi_ranks": None}


def set_threads(threads: int, mpi_ranks: int | None = None) -> None:
    """Make the calculators use ``threads`` threads (OpenMP, BLAS, torch, CP2K).

    Parameters
    ----------
    threads
        Cores a calculator may use: sets ``OMP_NUM_THREADS`` and the BLAS
        variables, ``torch.set_num_threads`` when torch is already imported
        (the ML factories apply it when they import torch), and the CP2K
        command (``threads // mpi_ranks`` OpenMP threads per MPI rank).
    mpi_ranks
        MPI ranks of a CP2K calculator built afterwards (``mpirun -np N``);
        None keeps the CP2K preset (1: no mpirun).
    """
    threads = max(int(threads), 1)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault("OMP_STACKSIZE", "1G")
    PARALLEL["threads"] = threads
    PARALLEL["mpi_ranks"] = None if mpi_ranks is None else max(int(mpi_ranks), 1)
    set_torch_threads()
    from passivscreen.calculators.lapack import set_lapack_threads

    set_lapack_threads(threads)  # a BLAS loaded already reads its variables no more


def set_torch_threads() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and PARALLEL["threads"]:
        torch.set_num_threads(int(PARALLEL["threads"]))
