"""The search's probes: the held placement of a start, its guards, and the first ``probe_steps`` relaxation
steps of every start (on the whole slab, or on the reduced model of ``placement.probe_layers``), cached as
they end (``probes.json``) so that a killed job repeats only the probe it cut."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io import read

from passivscreen.calculators import Tier
from passivscreen.calculators.systems import electronic_state
from passivscreen.placement import Complex
from passivscreen.records.files import read_json, write_json
from passivscreen.relaxation.guards import Guards
from passivscreen.relaxation.held import fixed_indices, free_slab_atoms, hold_slab
from passivscreen.relaxation.reduced import kept_atoms, reduced
from passivscreen.relaxation.resume import last_frame
from passivscreen.relaxation.scf import quick_ladder, single_point
from passivscreen.relaxation.tiers import run_tier
from passivscreen.schema import section_defaults
from passivscreen.steps.screening import pose, row_pose, screen_orientations, start_row, to_probe
from passivscreen.steps.surface import Job


def held_placement(job: Job, c: Complex) -> tuple[Atoms, list[int]]:
    """A copy of a placement with the slab held (but for ``hold.free_radius`` atoms) and its electronic state."""
    atoms = c.atoms.copy()
    free = free_slab_atoms(atoms, c.n_slab, c.anchors, job.cfg["hold"]["free_radius"], fixed_indices(job.slab))
    hold_slab(atoms, c.n_slab, free)
    electronic_state(atoms, job.charge, job.multiplicity)
    return atoms, free


def placement_guards(job: Job, free: list[int], ceiling_ads: float | None = None) -> Callable[[Tier], Guards]:
    """The guards of a complex's relaxation with ``tier`` (``free``: the slab atoms that may move); ``ceiling_ads``
    (eV of E_ads): the energy above which a probe stops (``placement.probe_clash_eV``)."""
    hold = job.cfg["hold"]

    def guards(tier: Tier) -> Guards:
        e_ref = job.refs.total(tier.name)
        return Guards(
            max_force=hold["max_force"],
            watch=free,
            reference_positions=job.slab.positions,
            max_displacement=hold["max_displacement"],
            energy_floor=None if e_ref is None else e_ref + job.refs.n_lig * hold["min_eads"],
            energy_ceiling=None if e_ref is None or ceiling_ads is None else e_ref + ceiling_ads,
        )

    return guards


def placement_stem(c: Complex) -> str:
    """A placement's name in the work directory."""
    stem = f"rot{c.rotation_deg:06.2f}" + (f"_c{c.conformer}" if c.conformer else "")
    stem += f"_h{c.height_offset:+.2f}" if c.height_offset else ""
    stem += f"_t{c.tilt_deg:02.0f}" if c.tilt_deg else ""
    stem += f"_r{c.roll_deg:03.0f}" if c.roll_deg else ""
    return stem + ("_bi" if c.denticity == 2 else "")


def unscreened(c: Complex) -> dict[str, Any]:
    """The row of a start that gets no single point (``probe_top: 0``: every start is probed)."""
    return {
        "sp_calc_s": 0.0,
        **start_row(c),
        "min_contact_ratio": c.min_contact_ratio,
        "E_sp_eV": None,
        "E_ads_sp_eV": None,
        "sp_status": "not_computed",
    }


def probe_model(job: Job, c: Complex, layers: int) -> tuple[Atoms, list[int], np.ndarray | None]:
    """The held placement a probe moves, its free slab atoms, and with ``layers`` > 0 the indices of the
    placement it keeps (:func:`~passivscreen.relaxation.reduced.reduced`; None: the whole placement)."""
    atoms, free = held_placement(job, c)
    if not layers:
        return atoms, free, None
    small, keep, _ = reduced(atoms, c.n_slab, layers)
    if len(keep) == len(atoms):
        return atoms, free, None
    where = {int(i): k for k, i in enumerate(keep)}
    return small, [where[i] for i in free if i in where], keep


def reduced_guards(
    job: Job,
    free: list[int],
    keep: np.ndarray,
    n_slab: int,
    offset: float | None,
    ceiling_ads: float | None = None,
) -> Callable[[Tier], Guards]:
    """The guards of :func:`placement_guards` on the reduced model (``keep``: the placement's kept indices,
    ``free``: the reduced model's free slab atoms): its slab atoms' reference positions, and the energy floor and
    ceiling shifted by ``offset`` onto the reduced model's scale (neither without an offset)."""
    whole = placement_guards(job, free, ceiling_ads)

    def guards(t: Tier) -> Guards:
        g = whole(t)
        g.reference_positions = job.slab.positions[keep[keep < n_slab]]
        g.energy_floor = None if g.energy_floor is None or offset is None else g.energy_floor - offset
        g.energy_ceiling = None if g.energy_ceiling is None or offset is None else g.energy_ceiling - offset
        return g

    return guards


def move_to_end(c: Complex, traj: Path, keep: np.ndarray | None) -> None:
    """Move ``c.atoms`` (a copy: the placement is not changed in place) to the last frame of ``traj``: a run on
    the whole placement (``keep`` None) or on the reduced model that kept ``keep`` (the rest as held). Nothing
    moves when the trajectory has no frame or does not match."""
    last, _ = last_frame(traj)
    n = len(c.atoms) if keep is None else len(keep)
    if last is None or len(last) != n:
        return
    positions = c.atoms.positions.copy()
    positions[slice(None) if keep is None else keep] = last.positions
    c.atoms = c.atoms.copy()
    c.atoms.positions = positions


def run_probe(
    job: Job,
    c: Complex,
    steps: int,
    traj: Path,
    layers: int = 0,
    offset: float = 0.0,
    ceiling_ads: float | None = None,
) -> dict[str, Any]:
    """The first ``steps`` relaxation steps of one placement with the first tier (slab held): its probe row.
    With ``layers`` on the reduced model (:func:`probe_model`), its energies shifted by ``offset`` onto the
    whole slab's scale (:func:`probe_offset`). ``ceiling_ads`` (eV of E_ads): the probe stops as soon as its
    energy lies above it (status ``probe_clash``, no energy: the start is dropped)."""
    tier = job.chain[0]
    traj.unlink(missing_ok=True)
    atoms, free, keep = probe_model(job, c, layers)
    if keep is None:
        guards = placement_guards(job, free, ceiling_ads)
    else:
        guards = reduced_guards(job, free, keep, c.n_slab, offset, ceiling_ads)
    tier.attach(atoms)
    r = run_tier(atoms, tier, steps, traj, guards(tier), probe_ladder(job, tier))
    failed = r.status not in ("converged", "not_converged") or r.energy is None
    e0 = None
    with contextlib.suppress(Exception):  # no frame written (the first call failed): no starting energy
        e0 = read(str(traj), index=0).get_potential_energy() + offset
    row = {
        "pose": list(pose(c)),
        "probe_calc_s": r.calc_s,
        "probe_steps": r.n_steps,
        "probe_force_calls": r.n_force_calls,
        "E_sp_eV": None if failed else r.energy + offset,
        "E_ads_sp_eV": None if failed else job.refs.e_ads(r.energy + offset, tier.name),
        "E_ads_start_eV": None if e0 is None else job.refs.e_ads(e0, tier.name),
        "sp_status": r.status,
    }
    return {**row, "probe_layers": layers, "probe_atoms": len(atoms)} if keep is not None else row


def probe_ladder(job: Job, tier: Tier) -> list[dict[str, Any]] | None:
    """The SCF recovery ladder of a probe: the tier's own with ``placement.probe_scf: full`` (None), its
    quick rungs with ``quick`` (:func:`~passivscreen.relaxation.scf.quick_ladder`): a probe whose SCF does not
    converge after them is dropped, as one that failed every rung was."""
    if {**section_defaults("placement"), **job.cfg["placement"]}["probe_scf"] == "quick":
        return quick_ladder(tier.scf_ladder)
    return None


#: How many starts :func:`first_offset` tries with a plain SCF before it climbs the SCF ladder on the first.
OFFSET_STARTS = 4


def probe_offset(job: Job, c: Complex, layers: int, scf_ladder: list[dict[str, Any]] | None = None) -> float | None:
    """E(whole placement) - E(reduced model) of one start with the first tier (two single points): the shift
    that puts the reduced model's probe energies on the whole slab's scale (the deeper layers' own energy and
    their share of the binding at that start; the same for every start to within the model's error, which
    the relaxation's first step measures: ``probe_model_error_eV``). None if either single point failed.
    ``scf_ladder``: the recovery rungs of the single points (None: the tier's own; ``[]``: none). The reduced
    model's, the cheaper, comes first: the whole slab's is not computed when it fails."""
    tier = job.chain[0]
    ladder = tier.scf_ladder if scf_ladder is None else scf_ladder
    energies = []
    for atoms in (probe_model(job, c, layers)[0], held_placement(job, c)[0]):
        tier.attach(atoms)
        energies.append(single_point(atoms, atoms.calc, ladder)["energy"])
        if energies[-1] is None:
            return None
    return energies[1] - energies[0]


def first_offset(job: Job, starts: list[Complex], layers: int) -> float | None:
    """The reduced model's offset (:func:`probe_offset`) from the first of ``starts`` whose two single points
    converge without recovery (at most :data:`OFFSET_STARTS` tried), else from the first start with the whole
    SCF ladder; None if that fails too (the probes then run on the whole slab).

    One start's SCF can stall where its neighbours' do not: propylammonium bromide's whole-slab SCF fails in 250
    cycles at the rotations 0 and 22.5 deg of its first conformer and converges in 28-31 s at 45 and 67.5 deg
    (the reduced model's in 4 s at each); the ladder on the first start took 13 min and failed, and every probe
    then ran on the whole slab, starting with that same stalled start. The offset is one constant added to
    every probe's energy, so which start gives it does not change which probes are relaxed or any E_ads."""
    for c in starts[:OFFSET_STARTS]:
        offset = probe_offset(job, c, layers, scf_ladder=[])
        if offset is not None:
            return offset
    return probe_offset(job, starts[0], layers) if starts else None


def probe_starts(job: Job, placements: list[Complex], steps: int) -> list[dict[str, Any]]:
    """The first ``steps`` relaxation steps (first tier, slab held as in the relaxation) of every start, or
    with ``placement.probe_top`` > 0 of the lowest distinct starts by single point (:func:`to_probe`); each
    probed placement's atoms move to where its probe stopped. Rows of probed starts carry the probe's energy
    (``E_ads_sp_eV``; the start's own in ``E_ads_start_eV``), the others their single point.

    A probe tells apart what the starting single points cannot: methanethiol's placements 2.7 A above the
    Pb have single points within 1 meV, but after a few steps the ones heading for the deep minimum
    (-0.63 eV, not -0.18) are already lower; the ion pair's four rotations have single points within 4 meV
    and minima 0.06 eV apart (docs/benchmarks.md). Single points are cached in ``screening.json``, each
    finished probe in ``probes.json`` as soon as it ends (trajectories in the work directory): a resumed
    job repeats at most the probe that was cut.
    """
    tier = job.chain[0]
    settings = {**section_defaults("placement"), **job.cfg["placement"]}
    e_ref = job.refs.total(tier.name) or 0.0
    if settings["probe_top"]:
        starts = screen_orientations(tier, placements, e_ref, job.workdir, job.charge, job.multiplicity)
        chosen = to_probe(starts, settings["probe_top"], settings["same_start_eV"])
    else:
        starts = chosen = [unscreened(c) for c in placements]
    layers = settings["probe_layers"]
    cache = job.workdir / "probes.json"
    key = {
        "calculator": {"backend": tier.backend, "parameters": tier.parameters},
        "e_ref": round(e_ref, 6),
        "charge": job.charge,
        "multiplicity": job.multiplicity,
        "probe_steps": steps,
        "free_radius": job.cfg["hold"]["free_radius"],
        "starts": [list(row_pose(s)) for s in chosen],
    }
    if layers:  # a cache of whole-slab probes (written before the key had it) stays valid
        key["probe_layers"] = layers
    if settings["probe_scf"] != "full":  # so does a cache of probes with the whole ladder
        key["probe_scf"] = settings["probe_scf"]
    clash = settings["probe_clash_eV"]
    if clash:  # and one of probes that all took their steps
        key["probe_clash_eV"] = clash
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    offset: float | None = 0.0
    resumed = False
    if cache.exists():
        with contextlib.suppress(KeyError, ValueError, TypeError):
            cached = read_json(cache)
            if cached.get("key") == key:
                done = {tuple(r["pose"]): r for r in cached["probes"]}
                offset, resumed = cached.get("offset_eV", 0.0), True
    by_pose = {pose(q): q for q in placements}
    if layers and not resumed and chosen:
        offset = first_offset(job, [by_pose[row_pose(s)] for s in chosen], layers)
        write_json(cache, {"key": key, "offset_eV": offset, "probes": []})
    if offset is None:  # a single point of the offset failed: the whole slab, as without the option
        layers, offset = 0, 0.0
    for s in chosen:
        c = by_pose[row_pose(s)]
        traj = job.workdir / f"probe_{placement_stem(c)}.traj"
        if pose(c) not in done:
            lowest = lowest_start(done.values())
            ceiling = lowest + clash if clash and lowest is not None else None
            done[pose(c)] = run_probe(job, c, steps, traj, layers, offset, ceiling)
            write_json(cache, {"key": key, "offset_eV": offset, "probes": list(done.values())})
        keep = kept_atoms(c.atoms, c.n_slab, layers) if done[pose(c)].get("probe_layers") else None
        move_to_end(c, traj, keep)
    rows = []
    for s in starts:
        p = done.get(row_pose(s))
        if p is None:
            rows.append(s)
            continue
        probe = {k: v for k, v in p.items() if k not in ("pose", "probe_calc_s")}
        start = s["E_ads_sp_eV"] if s["E_ads_sp_eV"] is not None else p.get("E_ads_start_eV")
        rows.append({**s, **probe, "E_ads_start_eV": start, "sp_calc_s": s["sp_calc_s"] + p["probe_calc_s"]})
    return rows


def lowest_start(probes: Iterable[dict[str, Any]]) -> float | None:
    """The lowest starting E_ads (the first call) of the probes done so far (None before the first): the
    reference of ``placement.probe_clash_eV``. The probes run in a fixed order and a resumed job reads the
    finished ones back, so a resumed search cuts the same probes."""
    starts = [p["E_ads_start_eV"] for p in probes if p.get("E_ads_start_eV") is not None]
    return min(starts) if starts else None


def cached_offset(job: Job, layers: int) -> float | None:
    """The reduced model's offset (:func:`probe_offset`) that this job's probes measured on ``layers`` layers,
    or None (probes on the whole slab, or on another cut)."""
    with contextlib.suppress(OSError, KeyError, ValueError, TypeError):
        cached = read_json(job.workdir / "probes.json")
        if cached["key"].get("probe_layers") == layers:
            return cached.get("offset_eV")
    return None


def prerelax(job: Job, c: Complex, layers: int, stem: str, whole_traj: Path) -> dict[str, Any]:
    """Relax a chosen placement with the first tier on the reduced model of ``layers`` layers (held slab,
    ``relax.steps``, ``relax.fmax``) and move ``c.atoms`` to where it stopped: the whole slab's relaxation
    (``whole_traj``) then starts near its minimum and needs a few of its costly steps instead of tens. Its
    columns (``prerelax_*``), and the reduced model's energy at the hand-over shifted onto the whole slab's
    scale (``E_prerelax_eV``, None without the probes' offset). No columns when the cut keeps everything. Its
    trajectory resumes a killed pre-relaxation; once the whole slab's relaxation has begun, its cached
    columns stand and it does not run again."""
    done = job.workdir / f"reduced_{stem}.json"
    if whole_traj.exists() and whole_traj.stat().st_size:
        with contextlib.suppress(OSError, ValueError):
            return read_json(done)
        return {}
    atoms, free, keep = probe_model(job, c, layers)
    if keep is None:
        return {}
    tier = job.chain[0]
    offset = cached_offset(job, layers)
    tier.attach(atoms)
    traj = job.workdir / f"reduced_{stem}.traj"
    r = run_tier(atoms, tier, tier.relax["steps"], traj, reduced_guards(job, free, keep, c.n_slab, offset)(tier))
    row: dict[str, Any] = {
        "prerelax_layers": layers,
        "prerelax_status": r.status,
        "prerelax_steps": r.n_steps,
        "prerelax_force_calls": r.n_force_calls,
        "prerelax_calc_s": r.calc_s,
        "E_prerelax_eV": None if r.energy is None or offset is None else r.energy + offset,
    }
    if r.status in ("converged", "not_converged"):
        move_to_end(c, traj, keep)
    write_json(done, row)
    return row
