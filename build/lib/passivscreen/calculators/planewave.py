"""Plane-wave DFT through ASE: VASP, Quantum ESPRESSO, GPAW (PBE-D3, dipole correction for slabs)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from ase.calculators.calculator import Calculator

from passivscreen.calculators.common import BackendError, module_probe, require, workdir


def vasp_probe() -> str | None:
    if not (os.environ.get("ASE_VASP_COMMAND") or os.environ.get("VASP_COMMAND") or os.environ.get("VASP_SCRIPT")):
        return "VASP is not configured: set ASE_VASP_COMMAND (e.g. 'mpirun -np 2 vasp_std') and VASP_PP_PATH"
    if not os.environ.get("VASP_PP_PATH"):
        return "VASP_PP_PATH is not set (the folder holding potpaw_PBE/)"
    return None


def make_vasp(directory: str | None = None, command: str | None = None, **kw: Any) -> Calculator:
    """VASP through ``ase.calculators.vasp.Vasp`` (a FileIOCalculator)."""
    reason = None if command and os.environ.get("VASP_PP_PATH") else vasp_probe()
    if reason:
        raise BackendError(f"backend 'vasp': {reason}")
    from ase.calculators.vasp import Vasp

    return Vasp(directory=workdir("vasp", directory), command=command, **kw)


def espresso_pseudo_dir(pseudo_dir: str | None) -> str:
    return str(pseudo_dir or os.environ.get("ESPRESSO_PSEUDO") or Path.home() / "espresso" / "pseudo")


def espresso_probe() -> str | None:
    if not (os.environ.get("ASE_ESPRESSO_COMMAND") or shutil.which("pw.x")):
        return "Quantum ESPRESSO is not configured: put pw.x on PATH or set ASE_ESPRESSO_COMMAND"
    if not os.path.isdir(espresso_pseudo_dir(None)):
        return "no pseudopotential folder: set ESPRESSO_PSEUDO"
    return None


_ELEMENT_PREFIX = re.compile(r"^([A-Za-z][a-z]?)(?=[._\-]|$)")


def espresso_pseudopotentials(pseudo_dir: str | os.PathLike[str]) -> dict[str, str]:
    """Element -> UPF file name found in ``pseudo_dir`` (first match, sorted names).

    A file belongs to the element its name starts with, case-insensitively,
    followed by ``.``, ``_`` or ``-`` (``Pb.pbe-dn-kjpaw_psl.0.2.2.UPF``,
    ``br_pbe_v1.4.uspp.F.UPF``).
    """
    from ase.data import chemical_symbols

    known = {s.lower(): s for s in chemical_symbols[1:]}
    found: dict[str, str] = {}
    for f in sorted(Path(pseudo_dir).glob("*")):
        if f.suffix.lower() != ".upf":
            continue
        m = _ELEMENT_PREFIX.match(f.name)
        if m and m.group(1).lower() in known:
            found.setdefault(known[m.group(1).lower()], f.name)
    return found


def make_espresso(
    directory: str | None = None,
    command: str | None = None,
    pseudo_dir: str | None = None,
    pseudopotentials: dict[str, str] | None = None,
    **kw: Any,
) -> Calculator:
    """Quantum ESPRESSO pw.x through ``ase.calculators.espresso.Espresso`` and an EspressoProfile.

    ``pseudopotentials`` defaults to the UPF files found in ``pseudo_dir``
    (default ``$ESPRESSO_PSEUDO``), one per element.
    """
    from ase.calculators.espresso import Espresso, EspressoProfile

    pdir = espresso_pseudo_dir(pseudo_dir)
    if not os.path.isdir(pdir):
        raise BackendError(f"backend 'espresso': pseudopotential folder {pdir} not found: set ESPRESSO_PSEUDO")
    cmd = command or os.environ.get("ASE_ESPRESSO_COMMAND") or "pw.x"
    pseudos = dict(pseudopotentials or espresso_pseudopotentials(pdir))
    return Espresso(
        profile=EspressoProfile(command=cmd, pseudo_dir=pdir),
        directory=workdir("espresso", directory),
        pseudopotentials=pseudos,
        **kw,
    )


def gpaw_parameters(
    ecut: float = 400.0,
    xc: str = "PBE",
    kpts: list[int] | tuple[int, ...] = (2, 2, 1),
    smearing_width: float = 0.05,
    dipole_correction: bool = True,
    convergence: dict[str, float] | None = None,
    txt: str | None = "gpaw.txt",
    **kw: Any,
) -> dict[str, Any]:
    """Keyword arguments of ``gpaw.GPAW`` for a plane-wave PBE slab calculation.

    Plain dicts only (GPAW's documented dict forms), so they can be checked
    without GPAW installed. ``dipole_correction`` adds
    ``poissonsolver={'dipolelayer': 'xy'}`` (a dipole layer for a slab normal to z).
    """
    params: dict[str, Any] = {
        "mode": {"name": "pw", "ecut": float(ecut)},
        "xc": xc,
        "kpts": {"size": [int(k) for k in kpts], "gamma": True},
        "occupations": {"name": "fermi-dirac", "width": float(smearing_width)},
        "convergence": dict(convergence or {"energy": 1e-5, "density": 1e-5}),
        "txt": txt,
    }
    if dipole_correction:
        params["poissonsolver"] = {"dipolelayer": "xy"}
    params.update(kw)
    return params


def make_gpaw(directory: str | None = None, dispersion: str | None = "d3zero", **kw: Any) -> Calculator:
    """GPAW (plane waves), plus Grimme D3 from the ``dftd3`` package unless ``dispersion`` is None."""
    require("gpaw", "gpaw", "GPAW built against libxc with its PAW setups (pip install gpaw; gpaw install-data DIR)")
    from gpaw import GPAW

    params = gpaw_parameters(**kw)
    if params.get("txt"):
        params["txt"] = os.path.join(workdir("gpaw", directory), str(params["txt"]))
    calc = GPAW(**params)
    if not dispersion:
        return calc
    require("dftd3", "gpaw", "the dftd3 package for PBE-D3 (pip install dftd3), or set dispersion: null")
    from ase.calculators.mixing import SumCalculator
    from dftd3.ase import DFTD3

    return SumCalculator([calc, DFTD3(method=xc_name(params["xc"]), damping=dispersion)])


def xc_name(xc: Any) -> str:
    """Functional name of a GPAW ``xc`` argument (a string or a dict with ``name``)."""
    return str(xc["name"] if isinstance(xc, dict) else xc)


def gpaw_probe() -> str | None:
    return module_probe("gpaw", "GPAW is not installed (pip install gpaw, then gpaw install-data)")()
