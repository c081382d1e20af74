"""The CP2K calculator class: ASE's CP2K shell calculator with passivscreen's input and two-stage dipole restart.

Imported only when a CP2K calculator is built (:func:`passivscreen.calculators.cp2k.cp2k_class`).
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import CalculationFailed, all_changes
from ase.calculators.cp2k import CP2K
from ase.units import Hartree, Rydberg

from passivscreen.calculators.common import SCFError
from passivscreen.calculators.cp2k_input import (
    CP2K_EXTRA_DEFAULTS,
    NOT_CONVERGED,
    cp2k_template,
    hirshfeld,
    merge_inputs,
    output_since,
)


class PassivCP2K(CP2K):
    """ASE's CP2K calculator with passivscreen's input template and error reporting.

    The extra parameters (:data:`CP2K_EXTRA_DEFAULTS`) are ordinary
    calculator parameters: ``calc.set(scf_method="smear")`` regenerates the
    input. ASE writes the input (the template, merged with ``inp`` and
    ``extra_inp``, plus coordinates, cell, kinds, XC and cutoff); the surface
    dipole correction is added only for slabs (pbc in x and y). With
    ``dipole_restart`` a slab's first evaluation is done twice: without the
    correction from the atomic guess, then with it from that wavefunction;
    later evaluations of the same system keep the corrected force environment.
    An unconverged SCF raises :class:`SCFError`; a crashed CP2K raises
    :class:`CalculationFailed` with the end of its output, and the shell is
    restarted on the next call.
    """

    default_parameters = dict(CP2K.default_parameters, **CP2K_EXTRA_DEFAULTS)
    _stage = "final"  # "plain": the first stage of a dipole restart; "restart": the second

    def _slab(self) -> bool:
        return bool(self.atoms is not None and self.atoms.pbc[0] and self.atoms.pbc[1])

    def _generate_input(self) -> str:
        p = self.parameters
        if p.cutoff_ry:
            p.cutoff = float(p.cutoff_ry) * Rydberg
        dipole = self._slab() and bool(p.dipole_correction) and self._stage != "plain"
        wfn = f"{self.label}-RESTART.wfn" if self._stage == "restart" else None
        user = {k: p.get(k) for k in ("inp", "charge", "multiplicity", "uks")}
        eps = p.eps_scf_plain if self._stage == "plain" else None
        p.inp = merge_inputs(cp2k_template(p, dipole, wfn, eps), (p.inp or "") + "\n" + (p.extra_inp or ""))
        # charge and spin from the atoms (as tblite reads them), unless given as parameters
        if not p.charge:
            p.charge = int(round(float(self.atoms.get_initial_charges().sum())))
        mult = 1 + int(round(float(self.atoms.get_initial_magnetic_moments().sum())))
        if not p.multiplicity and mult > 1:
            p.multiplicity, p.uks = mult, True
        try:
            return super()._generate_input()
        finally:
            p.update(user)

    def calculate(self, atoms: Atoms | None = None, properties: Any = None, system_changes: Any = all_changes) -> None:
        p = self.parameters
        slab = bool(atoms is not None and atoms.pbc[0] and atoms.pbc[1]) or (atoms is None and self._slab())
        new_env = self._force_env_id is None or "numbers" in system_changes or "pbc" in system_changes
        if not (slab and p.dipole_correction and p.dipole_restart and new_env):
            self._evaluate(atoms, properties, system_changes, check=True)
            return
        self._release_force_env()
        self._stage = "plain"
        try:
            self._evaluate(atoms, properties, all_changes, check=False)
            self._release_force_env()
            self._stage = "restart"
            self._evaluate(atoms, properties, all_changes, check=True)
        finally:
            self._stage = "final"

    def _evaluate(self, atoms: Atoms | None, properties: Any, system_changes: Any, check: bool) -> None:
        """One evaluation in the current force environment; ``check`` raises for an unconverged SCF."""
        out = self.label + ".out"
        start = os.path.getsize(out) if os.path.exists(out) else 0
        pop = self.label + "-populations.hirshfeld"  # its own file: closed (so complete) after each SCF
        pop_start = os.path.getsize(pop) if os.path.exists(pop) else 0
        try:
            super().calculate(atoms, properties, system_changes)
        except (AssertionError, ValueError, OSError, RuntimeError) as err:
            tail = "\n".join(output_since(out, start).strip().splitlines()[-15:])
            self._kill_shell()
            self.results = {}
            raise CalculationFailed(f"CP2K failed ({type(err).__name__}: {err}); end of {out}:\n{tail}") from err
        text = output_since(out, start)
        if check and re.search(NOT_CONVERGED, text):
            self.results = {}
            raise SCFError(f"SCF not converged (CP2K, see {out})")
        dispersion = re.findall(r"Dispersion energy:\s+(\S+)", text)
        if dispersion:  # the D3 term of the energy (added after the SCF: E without D3 is E minus it)
            self.results["dispersion_energy"] = float(dispersion[-1]) * Hartree
        populations = hirshfeld(output_since(pop, pop_start))
        if populations is not None:  # Hirshfeld net charges and spin moments: ASE's "charges" and "magmoms"
            charges, spins = populations
            if len(charges) == len(self.atoms):
                self.results["charges"] = np.array(charges)
                if spins is not None:
                    self.results["magmoms"] = np.array(spins)
                    self.results["magmom"] = float(np.sum(spins))

    def _release_force_env(self) -> None:
        if self._shell is not None:
            super()._release_force_env()
        self._force_env_id = None

    def _kill_shell(self) -> None:
        shell, self._shell, self._force_env_id = self._shell, None, None
        child = getattr(shell, "_child", None)
        if child is not None:
            with contextlib.suppress(Exception):
                child.kill()
                child.communicate(timeout=10)
            shell._child = None
            shell.isready = False
