"""Relaxation engine: ASE optimizers with guards, SCF recovery and resumable trajectories."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import CalculationFailed, Calculator
from ase.io import Trajectory, read

try:  # ASE >= 3.23
    from ase.calculators.calculator import SCFError  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    SCFError = CalculationFailed  # type: ignore[misc,assignment]

#: SCF recovery ladder for tblite: each rung is applied on top of the previous.
#: The first rungs do not change the converged energy; a raised electronic
#: temperature does, so its final energy is re-evaluated at the base settings.
SCF_LADDER: list[dict[str, Any]] = [
    {"mixer_damping": 0.2, "max_iterations": 500},
    {"mixer_damping": 0.1, "max_iterations": 1000, "guess": "eeq"},
    {"electronic_temperature": 1000.0},
    {"electronic_temperature": 3000.0},
]

_ENERGY_NEUTRAL = {"mixer_damping", "max_iterations", "guess"}

OPTIMIZERS = ("BFGS", "LBFGS", "FIRE", "BFGSLineSearch", "LBFGSLineSearch", "GPMin", "MDMin", "PreconLBFGS")


class GuardTripped(RuntimeError):
    """A relaxation stopped by a guard; ``status`` names the guard."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Guards:
    """Limits checked after every step.

    Attributes
    ----------
    max_force
        Largest force (eV/A) on any atom that is still physical. Unphysical
        forces (the periodic GFN1 failure: ~100 eV/A) stop the run.
    watch
        Indices whose displacement from ``reference_positions`` is watched
        (free slab atoms); empty for a held slab.
    reference_positions
        Positions the watched atoms are compared with.
    max_displacement
        Largest allowed displacement (A) of a watched atom.
    energy_floor
        Lowest plausible energy (eV); falling below means the system left the
        reference basin (a reconstruction).
    """

    max_force: float = 50.0
    watch: list[int] = field(default_factory=list)
    reference_positions: np.ndarray | None = None
    max_displacement: float = 0.5
    energy_floor: float | None = None

    def check(self, atoms: Atoms, energy: float, forces: np.ndarray) -> None:
        fmax = float(np.linalg.norm(forces, axis=1).max())
        if not np.isfinite(energy) or fmax > self.max_force:
            i = int(np.linalg.norm(forces, axis=1).argmax())
            raise GuardTripped(
                "unphysical_forces",
                f"force {fmax:.1f} eV/A on atom {i} ({atoms[i].symbol}) exceeds {self.max_force} eV/A",
            )
        if self.watch and self.reference_positions is not None:
            d = atoms.positions[self.watch] - self.reference_positions[self.watch]
            d = np.linalg.norm(d, axis=1)
            if d.max() > self.max_displacement:
                i = self.watch[int(d.argmax())]
                raise GuardTripped(
                    "reconstruction",
                    f"slab atom {i} ({atoms[i].symbol}) moved {d.max():.2f} A > {self.max_displacement} A",
                )
        if self.energy_floor is not None and energy < self.energy_floor:
            raise GuardTripped(
                "reconstruction",
                f"energy {energy:.3f} eV fell {self.energy_floor - energy:.3f} eV below the reference basin floor",
            )


@dataclass
class RelaxResult:
    """Outcome of :func:`relax`."""

    status: str  # converged | not_converged | scf_failed | unphysical_forces | reconstruction | timeout
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


def _last_frame(traj: Path) -> tuple[Atoms | None, int]:
    """Last readable frame of a trajectory and the number of readable frames.

    A job killed while writing leaves a torn trailing frame (ASE's header
    already counts it) and the whole file cannot be read; the frames are then
    read one by one and the good ones before the torn frame are kept. The file
    is rewritten with the good frames only, so that appending to it leaves a
    fully readable trajectory. An unreadable file gives ``(None, 0)``.
    """
    if not traj.exists() or traj.stat().st_size == 0:
        return None, 0
    try:
        frames = read(str(traj), index=":")
        return (frames[-1], len(frames)) if frames else (None, 0)
    except Exception:  # a torn frame: read the good ones one by one
        pass
    good: list[Atoms] = []
    try:
        with Trajectory(str(traj), "r") as reader:
            n = len(reader)
            for i in range(n):
                try:
                    good.append(reader[i])
                except Exception:  # a torn frame after SIGKILL: keep what came before
                    break
    except Exception:  # header unreadable
        return None, 0
    if not good:
        return None, 0
    if len(good) < n:
        tmp = traj.with_name(traj.name + ".repair")
        with Trajectory(str(tmp), "w") as writer:
            for frame in good:
                writer.write(frame)
        tmp.replace(traj)
    return good[-1], len(good)


def _set_params(calc: Calculator, params: dict[str, Any]) -> None:
    if params:
        calc.set(**params)


def relax(
    atoms: Atoms,
    calc: Calculator,
    fmax: float = 0.05,
    steps: int = 200,
    optimizer: str = "BFGS",
    trajectory: str | Path | None = None,
    guards: Guards | None = None,
    scf_ladder: list[dict[str, Any]] | None = None,
    maxstep: float | None = None,
    alpha: float | None = None,
    max_wall_s: float | None = None,
) -> RelaxResult:
    """Relax ``atoms`` (its constraints respected) with ``calc``.

    The trajectory is appended after every step; if it already holds frames,
    the run resumes from the last one (a killed job loses at most one step).
    A run that exceeds ``max_wall_s`` seconds stops with status ``timeout``
    (its trajectory is kept, so a later run with a larger budget resumes).
    On SCF failure the run restarts from the last good geometry with the next
    rung of ``scf_ladder``; if a rung changed the electronic temperature, the
    final energy is re-evaluated at the base settings.

    Returns
    -------
    RelaxResult
        Never raises for a calculation failure: the status says what happened.
    """
    guards = guards or Guards()
    ladder = SCF_LADDER if scf_ladder is None else scf_ladder
    t0 = time.perf_counter()
    atoms = atoms.copy()
    constraints = atoms.constraints
    resumed = 0
    if trajectory is not None:
        trajectory = Path(trajectory)
        last, resumed = _last_frame(trajectory)
        if last is not None and len(last) == len(atoms):
            atoms.positions = last.positions
        elif trajectory.exists():
            trajectory.unlink()
            resumed = 0
    atoms.set_constraint(constraints)
    atoms.calc = calc
    counter = _Counter(calc)
    base = {k: calc.parameters.get(k) for rung in ladder for k in rung if k in calc.parameters}
    recoveries: list[dict[str, Any]] = []
    rung = 0
    good_positions = atoms.positions.copy()
    n_steps = 0
    status, reason = "not_converged", f"step limit {steps} reached"
    traj_writer = Trajectory(str(trajectory), "a", atoms) if trajectory is not None else None
    try:
        while True:
            kw: dict[str, Any] = {"maxstep": maxstep} if maxstep else {}
            if alpha and optimizer in ("BFGS", "LBFGS"):
                kw["alpha"] = alpha
            opt = make_optimizer(optimizer, atoms, logfile=None, **kw)
            if traj_writer is not None:
                opt.attach(traj_writer.write, interval=1)
            try:
                for converged in opt.irun(fmax=fmax, steps=max(steps - n_steps, 0)):
                    guards.check(atoms, atoms.get_potential_energy(), atoms.get_forces())
                    good_positions = atoms.positions.copy()
                    if max_wall_s is not None and time.perf_counter() - t0 > max_wall_s and not converged:
                        raise GuardTripped("timeout", f"wall-time budget of {max_wall_s} s exceeded")
                    if converged:
                        status, reason = "converged", ""
                        break
                    n_steps += 1
                break
            except (CalculationFailed, SCFError) as err:
                if rung >= len(ladder):
                    status, reason = "scf_failed", f"SCF failed after {len(ladder)} recovery rungs: {err}"
                    break
                recoveries.append({"at_step": n_steps, "error": str(err)[:200], "settings": ladder[rung]})
                _set_params(calc, ladder[rung])
                rung += 1
                atoms.positions = good_positions
                atoms.calc = calc
    except GuardTripped as g:
        status, reason = g.status, g.reason
    finally:
        if traj_writer is not None:
            traj_writer.close()
    energy = fmax_now = None
    try:
        if any(set(r["settings"]) - _ENERGY_NEUTRAL for r in recoveries):
            _set_params(calc, {k: v for k, v in base.items() if k not in _ENERGY_NEUTRAL})
            calc.reset()
        energy = float(atoms.get_potential_energy())
        fmax_now = float(np.linalg.norm(atoms.get_forces(), axis=1).max())
    except (CalculationFailed, SCFError) as err:
        if status == "converged":
            status, reason = "scf_failed", f"final single point at base settings failed: {err}"
    finally:
        _set_params(calc, base)
        counter.restore()
    return RelaxResult(
        status,
        reason,
        energy,
        fmax_now,
        n_steps,
        counter.n,
        time.perf_counter() - t0,
        atoms,
        recoveries,
        resumed,
        counter.seconds,
    )


def single_point(atoms: Atoms, calc: Calculator, scf_ladder: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Energy and forces with the energy-neutral SCF rungs as recovery.

    Returns a dict with ``status`` (``ok`` or ``scf_failed``), ``energy``,
    ``fmax`` and ``reason``.
    """
    ladder = [r for r in (SCF_LADDER if scf_ladder is None else scf_ladder) if not set(r) - _ENERGY_NEUTRAL]
    atoms.calc = calc
    base = {k: calc.parameters.get(k) for rung in ladder for k in rung if k in calc.parameters}
    errors = []
    try:
        for rung in [{}] + ladder:
            _set_params(calc, rung)
            try:
                e = float(atoms.get_potential_energy())
                f = float(np.linalg.norm(atoms.get_forces(), axis=1).max())
                return {"status": "ok", "energy": e, "fmax": f, "reason": "", "recoveries": errors}
            except (CalculationFailed, SCFError) as err:
                errors.append(str(err)[:200])
                calc.reset()
        return {"status": "scf_failed", "energy": None, "fmax": None, "reason": "; ".join(errors), "recoveries": errors}
    finally:
        _set_params(calc, base)
