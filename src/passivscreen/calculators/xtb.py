"""Tight binding (tblite: GFN2-xTB, GFN1-xTB) and ASE's EMT for plumbing tests."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ase.calculators.calculator import Calculator

from passivscreen.calculators.common import BackendError, interruption

#: tblite releases whose periodic energies depend on the vacuum (docs/tblite-periodic.md).
BOX_DEPENDENT_TBLITE = {
    "0.8.0": "its periodic Klopman-Ohno Coulomb sum depends on the vacuum (1.5 eV on a non-polar NaCl slab)",
}


def periodic_tblite_problem() -> str | None:
    """Why the installed tblite cannot be trusted for periodic systems, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("tblite")
    except PackageNotFoundError:  # pragma: no cover - a core dependency
        return None
    why = BOX_DEPENDENT_TBLITE.get(v)
    return None if why is None else f"tblite {v}: {why}; install tblite==0.7.0 (docs/tblite-periodic.md)"


#: tblite settings that steer the SCF, not the Hamiltonian: changing one keeps the last wavefunction as the next
#: SCF's start (:func:`make_tblite`). The guess is not among them: a rung that changes it wants a cold start.
WARM_SETTINGS = frozenset({"accuracy", "max_iterations", "mixer_damping", "mixer_memory", "electronic_temperature"})


#: systems (atom lists) whose last converged wavefunction a calculator keeps for a restart
KEPT_SYSTEMS = 4


@lru_cache(maxsize=1)
def _warm_tblite() -> type[Calculator]:
    """tblite's ASE calculator whose SCF restarts from the last wavefunction when only
    :data:`WARM_SETTINGS` change.

    ``tblite.ase.TBLite.set`` resets the ASE calculator on any change, so the next SCF starts from scratch (the
    calculator sees the system as new). An ion pair on the slab shows what that costs (stop 50,
    docs/benchmarks.md): at its converged geometry an SCF from scratch fails at every rung up to 3000 K, while one
    from the 3000 K wavefunction converges at 1000 K, 300 K and the base thresholds in 2-3 s each; and a relaxation
    whose start's single point had just converged lost the start when its step settings reset the SCF. After a
    failed SCF the next one starts from scratch, as before (the failed one's last iterate is no start)."""
    from tblite.ase import TBLite
    from tblite.interface import Result

    class WarmTBLite(TBLite):
        #: settings whose change keeps the wavefunction (relaxation.optimizer._anneal_back reads it)
        warm_settings = WARM_SETTINGS

        def set(self, **kwargs: Any) -> dict:
            res, xtb, atoms = self._res, self._xtb, self.atoms
            try:
                changed = super().set(**kwargs)
            except Exception as err:
                _raise_stop(err)
                raise
            if changed and not set(changed) - WARM_SETTINGS and xtb is not None and self._xtb is xtb:
                self._res, self.atoms = res, atoms  # the system is not new: the next SCF restarts from ``res``
            return changed

        def calculate(self, *args: Any, **kwargs: Any) -> None:
            try:
                super().calculate(*args, **kwargs)
            except Exception as err:
                self._res = None  # a failed SCF leaves its last iterate in the restart: the next one starts afresh
                _raise_stop(err)
                raise
            kept = self.__dict__.setdefault("_kept", {})  # a copy: later SCFs update the restart in place
            key = self.atoms.numbers.tobytes()
            kept.pop(key, None)
            kept[key] = Result(self._res)
            while len(kept) > KEPT_SYSTEMS:
                kept.pop(next(iter(kept)))

        def restart_from_previous(self, atoms: Any) -> bool:
            """Let the next SCF of ``atoms`` restart from the last wavefunction converged for the same atoms (the
            same elements in the same order, any geometry); False when there is none."""
            kept = self.__dict__.get("_kept", {}).get(atoms.numbers.tobytes())
            if kept is None or self.atoms is None or self.atoms.numbers.tobytes() != atoms.numbers.tobytes():
                return False
            self._res = Result(kept)
            return True

    WarmTBLite.__name__ = WarmTBLite.__qualname__ = "WarmTBLite"
    return WarmTBLite


def _raise_stop(err: Exception) -> None:
    """Raise the stop (SIGINT's ``KeyboardInterrupt``) that ``err`` hides, if any. An SCF interrupted by SIGINT
    leaves its error in tblite's context, and the next call into tblite (the ``finally`` that restores the SCF
    settings) raises it: TPPO's reference job, stopped at the end of a sitting (stop 51), then wrote "SCF not
    converged" as its result. The stop must end the job instead, and no SCF recovery may follow it."""
    stop = interruption(err)
    if stop is not None:
        raise stop from err


def make_tblite(**kw: Any) -> Calculator:
    """A tblite calculator (:func:`_warm_tblite`) with the fast LAPACK bound first."""
    from passivscreen.calculators.lapack import use_fast_lapack

    use_fast_lapack()  # before tblite's extension binds the wheel's reference LAPACK
    try:
        cls = _warm_tblite()
    except ImportError as err:  # pragma: no cover - tblite is a core dependency
        raise BackendError("backend needs tblite: pip install tblite") from err
    return cls(**kw)


def make_emt(**kw: Any) -> Calculator:
    from ase.calculators.emt import EMT

    return EMT(**kw)


EMT_ELEMENTS = frozenset({"H", "C", "N", "O", "Al", "Ni", "Cu", "Pd", "Ag", "Pt", "Au"})


def _xtb_elements() -> frozenset[str]:
    from ase.data import chemical_symbols

    return frozenset(chemical_symbols[1:87])


#: Elements GFN1-xTB and GFN2-xTB are parametrized for: H to Rn (Z 1-86).
XTB_ELEMENTS = _xtb_elements()
