"""CP2K input text: passivscreen's extra parameters, the input template, merging user input, reading the output.

Shared by the factory (:mod:`.cp2k`) and the calculator class (:mod:`.cp2k_calc`); imports nothing of either.
"""

from __future__ import annotations

import os
import re
from typing import Any

from passivscreen.calculators.common import BackendError

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
    # Hirshfeld charges and spin moments of every atom, printed after each SCF (results "charges", "magmoms"):
    # the funnel sums them over the ligand (is it reduced at this tier?)
    "populations": True,
    "extra_inp": "",  # more CP2K input, merged into the generated template
}


def scf_section(p: Any, guess: str = "ATOMIC", eps_scf: float | None = None) -> str:
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


def cp2k_template(p: Any, dipole: bool, restart_wfn: str | None = None, eps_scf: float | None = None) -> str:
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
    prints = ""
    if p.populations:  # to its own file (<label>-populations.hirshfeld), closed and so complete after each SCF
        prints = "\n    &PRINT\n      &HIRSHFELD ON\n        SHAPE_FUNCTION DENSITY\n        FILENAME populations"
        prints += "\n      &END HIRSHFELD\n    &END PRINT"
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
    &END QS{scf_section(p, "RESTART" if restart_wfn else "ATOMIC", eps_scf)}
    &XC{vdw}
    &END XC{prints}
  &END DFT
&END FORCE_EVAL
"""


#: What CP2K prints when an SCF (or its outer loop) gives up.
NOT_CONVERGED = r"SCF run NOT converged|outer SCF loop FAILED to converge"


#: One atom's row of CP2K's Hirshfeld table: index, element, kind, then the reference charge, the population
#: (alpha and beta with spin), the spin moment (with spin) and the net charge.
_HIRSHFELD_ROW = re.compile(r"^\s*(\d+)\s+[A-Z][a-z]?\s+\d+((?:\s+-?\d+\.\d+)+)\s*$")


def hirshfeld(text: str) -> tuple[list[float], list[float] | None] | None:
    """The last Hirshfeld table of CP2K output ``text``: the net charge of every atom (e) and, for a
    spin-polarised run, its spin moment (alpha minus beta electrons); None when the text has no table."""
    blocks = text.split("Hirshfeld Charges")
    if len(blocks) < 2:
        return None
    charges: list[float] = []
    spins: list[float] = []
    for line in blocks[-1].splitlines():
        if "Total Charge" in line:
            break
        m = _HIRSHFELD_ROW.match(line)
        if m is None:
            continue
        values = [float(v) for v in m.group(2).split()]
        charges.append(values[-1])
        if len(values) == 5:  # reference, alpha, beta, spin moment, net charge
            spins.append(values[-2])
    if not charges:
        return None
    return charges, (spins if len(spins) == len(charges) else None)


def output_since(path: str, start: int) -> str:
    """Text of CP2K's output file after byte ``start`` (all of it if the file was truncated)."""
    try:
        with open(path, errors="replace") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(start if fh.tell() >= start else 0)
            return fh.read()
    except OSError:
        return ""


def merge_inputs(base: str, extra: str) -> str:
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
