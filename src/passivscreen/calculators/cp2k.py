"""CP2K (Quickstep, GPW) through ASE's CP2K shell: input template, SCF settings, error reporting."""

from __future__ import annotations

import functools
import os
import shutil
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


#: Parameters of :class:`PassivCP2K` beyond ASE's CP2K ones; they build the ``inp`` template.
CP2K_EXTRA_DEFAULTS: dict[str, Any] = {
    "cutoff_ry": 400.0,  # finest grid cutoff (Ry); sets ASE's ``cutoff`` (eV) unless None
    "rel_cutoff_ry": 50.0,
    "ngrids": 4,
    "eps_default": 1.0e-12,
    "eps_scf": 1.0e-6,
    "outer_max_scf": 20,
    "ot_preconditioner": "FULL_ALL",  # rebuilt at every outer loop: the first OT loop can stall near 1e-4
    "ot_energy_gap": 0.01,  # Ha; the preconditioner's gap estimate
    "scf_method": "ot",  # ot | smear (diagonalisation, Fermi-Dirac smearing, Broyden mixing)
    "smear_temperature_k": 300.0,
    "added_mos": 40,
    "mixing_alpha": 0.2,
    "dispersion": "DFTD3",  # DFTD3 | DFTD3(BJ) | none
    "dipole_correction": True,  # SURFACE_DIPOLE_CORRECTION along z for slabs (pbc in x and y)
    # converge without the dipole correction first, then restart from that wavefunction with it on:
    # switched on from the atomic guess it made a polar complex diverge (20-40 Ha per step)
    "dipole_restart": True,
    # EPS_SCF of that first, uncorrected stage: only its wavefunction is used (TMPO complex: 25 + 8 OT
    # steps instead of 30 + 8, the same energy to 1e-8 eV)
    "eps_scf_plain": 1.0e-4,
    "extra_inp": "",  # more CP2K input, merged into the generated template
}


def _cp2k_scf_section(p: Any, guess: str = "ATOMIC", eps_scf: float | None = None) -> str:
    """The SCF section: OT (a short inner loop inside outer loops) or diagonalisation with smearing;
    ``eps_scf`` replaces ``p.eps_scf``."""
    eps = float(eps_scf or p.eps_scf)
    if p.scf_method == "ot":
        return f"""
    &SCF
      SCF_GUESS {guess}
      EPS_SCF {eps:.3e}
      &OT
        MINIMIZER DIIS
        PRECONDITIONER {p.ot_preconditioner}
        ENERGY_GAP {float(p.ot_energy_gap)}
      &END OT
      &OUTER_SCF
        MAX_SCF {int(p.outer_max_scf)}
        EPS_SCF {eps:.3e}
      &END OUTER_SCF
    &END SCF"""
    if p.scf_method == "smear":
        return f"""
    &SCF
      SCF_GUESS {guess}
      EPS_SCF {eps:.3e}
      ADDED_MOS {int(p.added_mos)}
      &DIAGONALIZATION
        ALGORITHM STANDARD
      &END DIAGONALIZATION
      &SMEAR ON
        METHOD FERMI_DIRAC
        ELECTRONIC_TEMPERATURE [K] {float(p.smear_temperature_k)}
      &END SMEAR
      &MIXING
        METHOD BROYDEN_MIXING
        ALPHA {float(p.mixing_alpha)}
        NBROYDEN 8
      &END MIXING
    &END SCF"""
    raise BackendError(f"cp2k: scf_method must be 'ot' or 'smear', got {p.scf_method!r}")


def _cp2k_template(p: Any, dipole: bool, restart_wfn: str | None = None, eps_scf: float | None = None) -> str:
    """The CP2K input template (ASE adds coordinates, cell, kinds, XC, cutoff).

    ``dipole`` adds the surface dipole correction along z; ``restart_wfn`` starts the SCF
    from that wavefunction file instead of the atomic guess; ``eps_scf`` replaces ``p.eps_scf``.
    """
    dispersion = str(p.dispersion or "none")
    vdw = ""
    if dispersion.lower() != "none":
        vdw = f"""
      &VDW_POTENTIAL
        POTENTIAL_TYPE PAIR_POTENTIAL
        &PAIR_POTENTIAL
          TYPE {dispersion}
          PARAMETER_FILE_NAME dftd3.dat
          REFERENCE_FUNCTIONAL {p.xc}
        &END PAIR_POTENTIAL
      &END VDW_POTENTIAL"""
    head = "\n    SURFACE_DIPOLE_CORRECTION T\n    SURF_DIP_DIR Z" if dipole else ""
    if restart_wfn:
        head += f"\n    WFN_RESTART_FILE_NAME {restart_wfn}"
    return f"""&FORCE_EVAL
  &DFT{head}
    &MGRID
      NGRIDS {int(p.ngrids)}
      REL_CUTOFF [Ry] {float(p.rel_cutoff_ry)}
    &END MGRID
    &QS
      EPS_DEFAULT {p.eps_default:.3e}
    &END QS{_cp2k_scf_section(p, "RESTART" if restart_wfn else "ATOMIC", eps_scf)}
    &XC{vdw}
    &END XC
  &END DFT
&END FORCE_EVAL
"""


#: What CP2K prints when an SCF (or its outer loop) gives up.
_NOT_CONVERGED = r"SCF run NOT converged|outer SCF loop FAILED to converge"


def _output_since(path: str, start: int) -> str:
    """Text of CP2K's output file after byte ``start`` (all of it if the file was truncated)."""
    try:
        with open(path, errors="replace") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(start if fh.tell() >= start else 0)
            return fh.read()
    except OSError:
        return ""


def _merge_inputs(base: str, extra: str) -> str:
    """CP2K input ``base`` with ``extra`` merged in: sections of the same name and
    parameters are merged (keywords of ``extra`` replace those of ``base``)."""
    from ase.calculators.cp2k import parse_input

    def merge(a: Any, b: Any) -> None:
        keys_b = {k.split()[0].upper() for k in b.keywords}
        a.keywords = [k for k in a.keywords if k.split()[0].upper() not in keys_b] + list(b.keywords)
        for sb in b.subsections:
            same = [sa for sa in a.subsections if sa.name == sb.name and sa.params == sb.params]
            if same:
                merge(same[0], sb)
            else:
                a.subsections.append(sb)

    root = parse_input(base)
    if extra and extra.strip():
        merge(root, parse_input(extra))
    return "\n".join(root.write())


@functools.cache
def cp2k_class() -> type[Calculator]:
    """:class:`~passivscreen.calculators.cp2k_calc.PassivCP2K`, imported on first use (imports ase.calculators.cp2k)."""
    from passivscreen.calculators.cp2k_calc import PassivCP2K

    return PassivCP2K


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
    label = os.path.join(workdir("cp2k", directory), "cp2k")
    cls = cp2k_class()
    unknown = sorted(set(kw) - set(cls.default_parameters))
    if unknown:
        raise BackendError(f"cp2k: unknown parameter(s) {unknown}; known: {sorted(cls.default_parameters)}")
    try:
        return cls(command=cmd, label=label, **kw)
    except (RuntimeError, AssertionError, OSError, ValueError) as err:
        raise BackendError(f"cp2k: could not start the CP2K shell with {cmd!r}: {err}") from err
