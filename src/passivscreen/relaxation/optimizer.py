"""The optimizer runner: an ASE optimizer on any calculator, with guards, SCF recovery and resumption."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import CalculationFailed, Calculator
from ase.io import Trajectory

from passivscreen.calculators.common import SCFError
from passivscreen.relaxation.guards import ABANDONED, Guards, GuardTripped
from passivscreen.relaxation.resume import last_frame
from passivscreen.relaxation.scf import ENERGY_NEUTRAL, SCF_LADDER, base_settings, restore_settings, set_params
from passivscreen.schema import section_defaults

OPTIMIZERS = ("BFGS", "LBFGS", "FIRE", "BFGSLineSearch", "LBFGSLineSearch", "GPMin", "MDMin", "PreconLBFGS")


@dataclass
class RelaxResult:
    """Outcome of :func:`relax`."""

    status: str  # converged | not_converged | scf_failed | unphysical_forces | reconstruction | timeout | probe_clash
    reason: str
    energy: float | None
    fmax: float | None
    n_steps: int
    n_force_calls: int
    wall_s: float
    atoms: Atoms
    scf_recoveries: list[dict[str, Any]] = field(default_factory=list)
    resumed_from_step: int = 0
    calc_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "converged"


class _Counter:
    """Counts real calculator evaluations."""

    def __init__(self, calc: Calculator):
        self.calc = calc
        self.n = 0
        self.seconds = 0.0
        self._orig = calc.calculate

        def counted(*args: Any, **kw: Any) -> Any:
            self.n += 1
            t = time.perf_counter()
            try:
                return self._orig(*args, **kw)
            finally:
                self.seconds += time.perf_counter() - t

        calc.calculate = counted  # type: ignore[method-assign]

    def restore(self) -> None:
        self.calc.calculate = self._orig  # type: ignore[method-assign]


def make_optimizer(name: str, atoms: Atoms, **kw: Any):
    """An ASE optimizer by name (``PreconLBFGS`` from ase.optimize.precon)."""
    import ase.optimize as opt

    if name == "PreconLBFGS":
        from ase.optimize.precon import PreconLBFGS

        return PreconLBFGS(atoms, use_armijo=True, **kw)
    if name not in OPTIMIZERS or not hasattr(opt, name):
        raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")
    return getattr(opt, name)(atoms, **kw)


@dataclass
class _Run:
    """Settings and mutable state of one relaxation."""

    fmax: float
    steps: int
    optimizer: str
    ladder: list[dict[str, Any]]
    guards: Guards
    optimizer_kw: dict[str, Any]
    max_wall_s: float | None
    good_positions: np.ndarray
    step_settings: dict[str, Any] = field(default_factory=dict)
    before_ladder: dict[str, Any] = field(default_factory=dict)
    restarted: bool = False
    t0: float = field(default_factory=time.perf_counter)
    n_steps: int = 0
    rung: int = 0
    recoveries: list[dict[str, Any]] = field(default_factory=list)
    status: str = "not_converged"
    reason: str = ""


def _resume(atoms: Atoms, trajectory: Path | None) -> tuple[Atoms, int]:
    """A copy of ``atoms`` (constraints kept) at the last frame of ``trajectory``, and that frame's count."""
    atoms = atoms.copy()
    constraints = atoms.constraints
    resumed = 0
    if trajectory is not None:
        last, resumed = last_frame(trajectory)
        if last is not None and len(last) == len(atoms):
            atoms.positions = last.positions
        elif trajectory.exists():
            trajectory.unlink()
            resumed = 0
    atoms.set_constraint(constraints)
    return atoms, resumed


def _in_effect(calc: Calculator, rung: dict[str, Any]) -> bool:
    return bool(rung) and all(calc.parameters.get(k) == v for k, v in rung.items())


def _optimise(atoms: Atoms, calc: Calculator, run: _Run, writer: Trajectory | None) -> None:
    """Run the optimizer until converged or out of steps, climbing the SCF ladder on SCF failures."""
    while True:
        opt = make_optimizer(run.optimizer, atoms, logfile=None, **run.optimizer_kw)
        if writer is not None:
            opt.attach(writer.write, interval=1)
        try:
            for converged in opt.irun(fmax=run.fmax, steps=max(run.steps - run.n_steps, 0)):
                run.guards.check(atoms, atoms.get_potential_energy(), atoms.get_forces())
                run.good_positions = atoms.positions.copy()
                if run.max_wall_s is not None and time.perf_counter() - run.t0 > run.max_wall_s and not converged:
                    raise GuardTripped("timeout", f"wall-time budget of {run.max_wall_s} s exceeded")
                if converged:
                    run.status, run.reason = "converged", ""
                    return
                run.n_steps += 1
            return
        except (CalculationFailed, SCFError) as err:
            restart = None if run.restarted else getattr(calc, "restart_from_previous", None)
            if restart is not None and restart(atoms):
                run.restarted = True
                # once, before the ladder: the last SCF the calculator converged for these atoms (the previous
                # start of the same complex, or the screening's single points) as the start (stop 50: seven ion-pair
                # starts that failed from scratch relaxed from the previous start's wavefunction)
                run.recoveries.append(
                    {"at_step": run.n_steps, "error": str(err)[:200], "settings": {}, "restart": "previous"}
                )
                atoms.positions = run.good_positions
                continue
            if not _climb(atoms, calc, run, err):
                return
            atoms.calc = calc


def _climb(atoms: Atoms, calc: Calculator, run: _Run, err: Exception) -> bool:
    """Put the next rung of the ladder in effect after the SCF failure ``err`` (positions back to the last good
    ones); False, with the run's status ``scf_failed``, when no rung is left. A rung whose own SCF
    :func:`_anneal_back` already saw fail is followed by the next at once, not tried again by the optimizer."""
    while True:
        while run.rung < len(run.ladder) and _in_effect(calc, run.ladder[run.rung]):
            run.rung += 1  # a rung already in effect (e.g. the step settings) cannot help
        if run.rung >= len(run.ladder):
            run.status = "scf_failed"
            run.reason = f"SCF failed after {len(run.ladder)} recovery rungs: {err}"
            return False
        rung = run.ladder[run.rung]
        run.recoveries.append({"at_step": run.n_steps, "error": str(err)[:200], "settings": rung})
        set_params(calc, rung)
        run.rung += 1
        atoms.positions = run.good_positions
        failed = _anneal_back(atoms, calc, run, rung)
        if failed is None:
            return True
        err = failed


def _anneal_back(atoms: Atoms, calc: Calculator, run: _Run, rung: dict[str, Any]) -> Exception | None:
    """After ``rung`` changed a setting that changes the energy (a raised electronic temperature): where the
    calculator keeps its wavefunction across that setting (``warm_settings``, calculators.xtb), converge the SCF at
    the rung's settings here, then set the run's own value back and converge again from the rung's wavefunction.
    If that converges the relaxation goes on at its own temperature (the rung's record gets ``annealed_back``);
    if not, the rung stays in effect, as it would without this step, and the next SCF restarts from the rung's
    converged wavefunction (kept by the calculator). Returns the error when the SCF at the rung's own settings
    failed (the caller climbs on), else None.

    The ion pair on the slab (stop 50): at its converged geometry an SCF from scratch fails at every rung up to
    3000 K, from the 3000 K wavefunction it converges at 300 K in 3 s, within 1e-5 eV of the state the steps
    followed; without this the rest of the relaxation ran on 3000 K forces."""
    hot = {k: v for k, v in rung.items() if k not in ENERGY_NEUTRAL}
    cool = {k: run.before_ladder[k] for k in hot if k in run.before_ladder}
    if not cool or not set(cool) <= set(getattr(calc, "warm_settings", ())):
        return None
    try:
        atoms.get_potential_energy()
    except (CalculationFailed, SCFError) as err:
        return err
    set_params(calc, cool)
    try:
        atoms.get_potential_energy()
    except (CalculationFailed, SCFError):
        set_params(calc, hot)
        calc.restart_from_previous(atoms)  # the rung's converged wavefunction, not a second SCF from scratch
        return None
    run.recoveries[-1]["annealed_back"] = True
    return None


def _last_step(atoms: Atoms, calc: Calculator) -> tuple[float, float] | None:
    """Energy and largest force of the calculator's last results if they are of ``atoms`` at their present
    positions (the relaxation's last step), else None."""
    res, at = calc.results, calc.atoms
    if "energy" not in res or "forces" not in res or at is None or len(at) != len(atoms):
        return None
    if not np.allclose(at.positions, atoms.positions, atol=1e-10, rtol=0.0):
        return None
    return float(res["energy"]), float(np.linalg.norm(res["forces"], axis=1).max())


def _neutral_final(atoms: Atoms, calc: Calculator, run: _Run, error: str) -> float:
    """The final energy where the base settings' SCF stalls and the last step's results are gone: the step
    settings, then each energy-neutral rung of the run's ladder on top (the EEQ guess, looser thresholds,
    damping), from scratch each time; the rung that converged is recorded in ``run.recoveries``
    (``at_step: "final"``). Raises the last SCF error when none converges.

    Ethylammonium bromide on the slab (calibration run, stop 35) shows why the last step comes first: relaxed at
    the step settings (accuracy 10, each step's SCF restarted from the last), at its final geometry an SCF from
    scratch stalls for 250 cycles at accuracy 3, at 10, at 10 from EEQ charges and at 30 (55 s each)."""
    rungs = [run.step_settings] + [r for r in run.ladder if not set(r) - ENERGY_NEUTRAL]
    for rung in rungs:
        set_params(calc, rung)
        calc.reset()
        try:
            energy = float(atoms.get_potential_energy())
        except (CalculationFailed, SCFError) as err:
            error = str(err)
            continue
        if rung is not run.step_settings:
            run.recoveries.append({"at_step": "final", "error": error[:200], "settings": rung})
        return energy
    raise SCFError(error)


def _final_energy(atoms: Atoms, calc: Calculator, run: _Run, base: dict[str, Any]) -> tuple[float | None, float | None]:
    """Energy and largest force at the final geometry, at the base settings if a rung changed the energy
    or the steps ran at looser ``step_settings`` (unless a rung needed those: then they stay). Where the base
    settings' SCF stalls and only energy-neutral settings differ, the last step's own energy and forces at this
    geometry are taken (recorded in ``scf_recoveries``, ``at_step: "final"``): the relaxation converged on them,
    and the thresholds differ by 3e-5 eV (:data:`~.scf.SCF_LADDER`)."""
    climbed = {k for r in run.recoveries for k in r["settings"]}
    back = {k: base[k] for k in climbed if k in base and k not in ENERGY_NEUTRAL}
    back |= {k: base[k] for k in run.step_settings if k in base and k not in climbed}
    last = _last_step(atoms, calc)
    try:
        if back:  # no reset: tblite's SCF restarts from the last step's wavefunction (calculators.xtb.make_tblite)
            set_params(calc, back)
        try:
            energy = float(atoms.get_potential_energy())
        except (CalculationFailed, SCFError) as first:
            if not back or set(back) - ENERGY_NEUTRAL:
                raise
            if last is not None:  # the last step's SCF, converged here at energy-neutral settings
                run.recoveries.append(
                    {"at_step": "final", "error": str(first)[:200], "settings": dict(run.step_settings)}
                )
                return last
            energy = _neutral_final(atoms, calc, run, str(first))
        return energy, float(np.linalg.norm(atoms.get_forces(), axis=1).max())
    except (CalculationFailed, SCFError) as err:
        if run.status == "converged":
            run.status, run.reason = "scf_failed", f"final single point at base settings failed: {err}"
        return None, None


def _begin(calc: Calculator, run: _Run) -> None:
    """Set the run's step settings on ``calc``; ``run.before_ladder`` holds the values they and the ladder replace
    (set back at the end, and by :func:`_anneal_back`). A calculator
    that keeps its wavefunction starts afresh, as tblite's own calculator starts every relaxation (its step
    settings reset it): a relaxation's result must not depend on what the process computed before it
    (tests/test_faults.py); the calculator keeps its converged wavefunctions for an SCF that fails from scratch
    (_optimise)."""
    if getattr(calc, "warm_settings", None):
        calc.reset()
    run.before_ladder = base_settings(calc, [*run.ladder, run.step_settings])
    set_params(calc, run.step_settings)


def relax(
    atoms: Atoms,
    calc: Calculator,
    fmax: float | None = None,
    steps: int | None = None,
    optimizer: str | None = None,
    trajectory: str | Path | None = None,
    guards: Guards | None = None,
    scf_ladder: list[dict[str, Any]] | None = None,
    maxstep: float | None = None,
    alpha: float | None = None,
    max_wall_s: float | None = None,
    step_settings: dict[str, Any] | None = None,
) -> RelaxResult:
    """Relax ``atoms`` (its constraints respected) with ``calc``.

    ``fmax``, ``steps`` and ``optimizer`` default to the config schema's ``relax``
    section; ``maxstep`` and ``alpha`` (BFGS/LBFGS initial Hessian) to the optimizer's own.
    The trajectory is appended after every step; a run with frames in it resumes from the last one.
    A run over ``max_wall_s`` seconds stops with status ``timeout`` (a later run resumes). On SCF failure
    the run restarts from the last good geometry with the next rung of ``scf_ladder``; if a rung changed
    the energy, the final energy is evaluated at the base settings. ``step_settings`` (energy-neutral,
    e.g. looser SCF thresholds) apply to the steps only, not to the final energy and forces.

    Returns
    -------
    RelaxResult
        Never raises for a calculation failure: the status says what happened.
    """
    defaults = section_defaults("relax")
    trajectory = None if trajectory is None else Path(trajectory)
    atoms, resumed = _resume(atoms, trajectory)
    kw: dict[str, Any] = {"maxstep": maxstep} if maxstep else {}
    name = optimizer or defaults["optimizer"]
    if alpha and name in ("BFGS", "LBFGS"):
        kw["alpha"] = alpha
    steps = defaults["steps"] if steps is None else steps
    run = _Run(
        fmax=defaults["fmax"] if fmax is None else fmax,
        steps=steps,
        optimizer=name,
        ladder=SCF_LADDER if scf_ladder is None else scf_ladder,
        guards=guards or Guards(),
        optimizer_kw=kw,
        max_wall_s=max_wall_s,
        good_positions=atoms.positions.copy(),
        reason=f"step limit {steps} reached",
        step_settings=dict(step_settings or {}),
    )
    atoms.calc = calc
    _begin(calc, run)
    base = run.before_ladder
    counter = _Counter(calc)
    writer = Trajectory(str(trajectory), "a", atoms) if trajectory is not None else None
    try:
        _optimise(atoms, calc, run, writer)
    except GuardTripped as g:
        run.status, run.reason = g.status, g.reason
    finally:
        if writer is not None:
            writer.close()
    try:
        energy, fmax_now = (None, None) if run.status in ABANDONED else _final_energy(atoms, calc, run, base)
    finally:
        restore_settings(calc, base)
        counter.restore()
    return RelaxResult(
        run.status,
        run.reason,
        energy,
        fmax_now,
        run.n_steps,
        counter.n,
        time.perf_counter() - run.t0,
        atoms,
        run.recoveries,
        resumed,
        counter.seconds,
    )
