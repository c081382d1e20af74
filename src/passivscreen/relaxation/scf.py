"""SCF recovery: the ladder of settings tried when an SCF does not converge, and a recovering single point."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import CalculationFailed, Calculator

from passivscreen.calculators.common import SCFError

#: SCF recovery ladder for tblite: each rung is applied on top of the previous.
#: The first rungs do not change the converged energy; a raised electronic
#: temperature does, so its final energy is re-evaluated at the base settings.
#: The first rungs loosen tblite's SCF thresholds (accuracy 10: 1e-5 Eh in the energy, 2e-4 e in the
#: charges; accuracy 30: 3e-5 Eh, 6e-4 e). An ion pair on the slab (methylammonium bromide, HOMO-LUMO
#: gap 2.8 eV) stalls at a charge error of 1e-4 to 3e-4 with its energy converged to 1e-6 Eh, and 250,
#: 500 or 1000 damped cycles do not get it below the default threshold; at accuracy 10 or 30 it
#: converges in 7-9 s. Measured on that complex against accuracy 3: E moves by 3e-5 eV (10) and
#: 3e-4 eV (30), the largest force component by 2e-4 and 9e-3 eV/A.
#: Before them, an SCF from scratch that stalls gets the EEQ charges as its guess (the same ion pair: fails
#: in 250 cycles from tblite's default guess, converges in 22 s from EEQ charges, energy equal to 1e-7 eV).
SCF_LADDER: list[dict[str, Any]] = [
    {"guess": "eeq"},
    {"accuracy": 10.0},
    {"accuracy": 30.0},
    {"mixer_damping": 0.2, "max_iterations": 500},
    {"mixer_damping": 0.1, "max_iterations": 1000, "guess": "eeq"},
    {"electronic_temperature": 1000.0},
    {"electronic_temperature": 3000.0},
]

ENERGY_NEUTRAL = {"mixer_damping", "max_iterations", "guess", "accuracy"}

#: the entry of a single point's ``recoveries`` when its SCF failed and was restarted from the last wavefunction
#: the calculator converged for the same atoms
PREVIOUS = "restarted from the previous wavefunction"

#: The settings of the rungs a probe climbs with ``placement.probe_scf: quick``: another guess and looser
#: thresholds, each SCF at the calculator's own iteration limit. The damped rungs of 500 and 1,000 cycles are
#: what a stalled SCF costs: tblite's Broyden mixer solves a system as large as its history every cycle, so a
#: 1,000-cycle SCF of a 45-atom probe takes minutes; two of nitrosobenzene's probes climbed every rung for about
#: 1,000 s each and failed all the same (docs/benchmarks.md, stop 37).
QUICK = {"guess", "accuracy"}


def quick_ladder(ladder: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The leading rungs of ``ladder`` (None: :data:`SCF_LADDER`) that only change the guess or loosen the
    thresholds (:data:`QUICK`): the ladder of a probe with ``placement.probe_scf: quick``. The rungs are applied
    one on top of the other, so the cut is a prefix; a backend whose first rung is another kind has none."""
    out = []
    for rung in SCF_LADDER if ladder is None else ladder:
        if set(rung) - QUICK:
            break
        out.append(rung)
    return out


def set_params(calc: Calculator, params: dict[str, Any]) -> None:
    """Set calculator parameters (nothing for an empty dict)."""
    if params:
        calc.set(**params)


def restore_settings(calc: Calculator, base: dict[str, Any]) -> None:
    """Set ``base`` back and keep the results computed under the rung: changing a parameter resets an
    ASE calculator, and the charges and dipole of the last converged SCF are still read afterwards
    (:func:`passivscreen.analysis.electronic.electronic_properties`)."""
    results, atoms = dict(calc.results), calc.atoms
    set_params(calc, base)
    if results and not calc.results:
        calc.results, calc.atoms = results, atoms


def base_settings(calc: Calculator, ladder: list[dict[str, Any]]) -> dict[str, Any]:
    """The calculator's current values of every parameter a rung of ``ladder`` changes."""
    return {k: calc.parameters.get(k) for rung in ladder for k in rung if k in calc.parameters}


def single_point(atoms: Atoms, calc: Calculator, scf_ladder: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Energy and forces with the energy-neutral SCF rungs as recovery; a calculator that keeps its converged
    wavefunctions (``restart_from_previous``: tblite's) first restarts a failed SCF once from the last one of
    these atoms (``recoveries`` then holds :data:`PREVIOUS`).

    Returns a dict with ``status`` (``ok`` or ``scf_failed``), ``energy``,
    ``fmax`` and ``reason``.
    """
    ladder = [r for r in (SCF_LADDER if scf_ladder is None else scf_ladder) if not set(r) - ENERGY_NEUTRAL]
    atoms.calc = calc
    base = base_settings(calc, ladder)
    errors: list[str] = []
    restart = getattr(calc, "restart_from_previous", None)
    try:
        rungs = [{}] + ladder
        while rungs:
            set_params(calc, rungs[0])
            try:
                e = float(atoms.get_potential_energy())
                f = float(np.linalg.norm(atoms.get_forces(), axis=1).max())
                return {"status": "ok", "energy": e, "fmax": f, "reason": "", "recoveries": errors}
            except (CalculationFailed, SCFError) as err:
                errors.append(str(err)[:200])
                if restart is not None and restart(atoms):
                    # once, before the ladder, as a relaxation does (optimizer._optimise): the last SCF the
                    # calculator converged for these atoms, the previous start's. One failure otherwise leaves
                    # every later start of the pass to start from scratch: TPPO's 32 starts on 3x3 then climbed
                    # the ladder one after another (stop 51)
                    restart = None
                    errors.append(PREVIOUS)
                    continue
                restart = None
                calc.reset()
                rungs.pop(0)
        return {"status": "scf_failed", "energy": None, "fmax": None, "reason": "; ".join(errors), "recoveries": errors}
    finally:
        restore_settings(calc, base)
