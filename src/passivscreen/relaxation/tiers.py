"""The tier chain: each tier relaxes (or evaluates) the geometry the tier before it left.

One loop serves the slab, the free ligand and the complex; what differs between them
(how the atoms are prepared for a backend, which guards apply, where the trajectory
goes, which step limit) is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ase import Atoms

from passivscreen.calculators.tier import Tier
from passivscreen.relaxation.guards import Guards
from passivscreen.relaxation.optimizer import RelaxResult, relax


@dataclass
class ChainResult:
    """The last tier that ran, its result, and one row per tier that ran."""

    tier: Tier
    result: RelaxResult
    rows: list[dict[str, Any]]

    @property
    def ok(self) -> bool:
        return self.result.ok


def run_tier(
    atoms: Atoms,
    tier: Tier,
    steps: int,
    trajectory: str | Path | None = None,
    guards: Guards | None = None,
    scf_ladder: list[dict[str, Any]] | None = None,
) -> RelaxResult:
    """Relax ``atoms`` with ``tier`` (task ``relax``) or evaluate them (``single_point``).

    ``atoms`` must carry the tier's calculator (:meth:`Tier.attach`). ``scf_ladder`` replaces the tier's
    backend's SCF recovery ladder (a probe's short one: :func:`~passivscreen.relaxation.scf.quick_ladder`).
    """
    s = tier.relax
    r = relax(
        atoms,
        atoms.calc,
        fmax=s["fmax"],
        steps=steps if tier.task == "relax" else 0,
        optimizer=s["optimizer"],
        maxstep=s["maxstep"],
        alpha=s["alpha"],
        trajectory=trajectory,
        guards=guards,
        scf_ladder=tier.scf_ladder if scf_ladder is None else scf_ladder,
        max_wall_s=s["max_wall_s"],
        step_settings=tier.step_settings if tier.task == "relax" else None,
    )
    if tier.task == "single_point" and r.energy is not None and r.status == "not_converged":
        r.status, r.reason = "converged", ""
    return r


def tier_row(tier: Tier, r: RelaxResult) -> dict[str, Any]:
    """What a record keeps of one tier's result."""
    return {
        "name": tier.name,
        "backend": tier.backend,
        "task": tier.task,
        "status": "ok" if r.ok else r.status,
        "reason": r.reason,
        "energy_eV": r.energy,
        "n_steps": r.n_steps,
        "n_force_calls": r.n_force_calls,
        "wall_s": r.wall_s,
        "calc_s": r.calc_s,
        **({} if (d := dispersion_energy(r)) is None else {"dispersion_eV": d}),
    }


def dispersion_energy(r: RelaxResult) -> float | None:
    """The dispersion term of a converged result's energy where the calculator reports it (CP2K's D3), else None."""
    calc = getattr(r.atoms, "calc", None)
    value = None if calc is None or r.energy is None else calc.results.get("dispersion_energy")
    return None if value is None else float(value)


def run_chain(
    atoms: Atoms,
    chain: Sequence[Tier],
    steps_key: str,
    prepare: Callable[[Atoms, Tier], None] | None = None,
    guards: Callable[[Tier], Guards] | None = None,
    trajectory: Callable[[int, Tier], Path | None] | None = None,
) -> ChainResult:
    """Run the tiers of ``chain`` in turn on ``atoms``; stop at the first tier that fails.

    ``steps_key`` names the step limit in the tier's relax settings (``steps`` for a
    complex, ``ligand_steps`` for a free ligand); ``prepare`` readies the atoms for a
    tier's backend (cell, periodicity); ``guards`` and ``trajectory`` give each tier's
    guards and trajectory file.
    """
    rows: list[dict[str, Any]] = []
    for k, tier in enumerate(chain):
        if prepare is not None:
            prepare(atoms, tier)
        tier.attach(atoms)
        r = run_tier(
            atoms,
            tier,
            tier.relax[steps_key],
            None if trajectory is None else trajectory(k, tier),
            None if guards is None else guards(tier),
        )
        rows.append(tier_row(tier, r))
        if not r.ok:
            break
        atoms = r.atoms
    return ChainResult(tier, r, rows)


def trajectory_names(workdir: Path, stem: str, chain: Sequence[Tier]) -> Callable[[int, Tier], Path]:
    """``<workdir>/<stem>.traj`` for a one-tier chain, ``<stem>_<k>_<tier>.traj`` for longer ones."""
    return lambda k, tier: workdir / (stem + ("" if len(chain) == 1 else f"_{k}_{tier.name}") + ".traj")
