"""Step: one ligand per face on a site, orientations screened by single point, the best relaxed on the held slab.

E_ads = E(complex) - E(slab) - n E(ligand) with n = 1 (top, bottom) or 2 (both), each
term from the same tier; ``E_ads_per_ligand_eV`` divides by n.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io import read

from passivscreen.calculators import Tier, screen_tiers, set_threads, tiers_from_config
from passivscreen.calculators.systems import electronic_state
from passivscreen.ligands import Ligand
from passivscreen.placement import Complex, orientations
from passivscreen.records.files import read_json, write_json, write_record, write_structures
from passivscreen.records.provenance import provenance
from passivscreen.relaxation.guards import Guards
from passivscreen.relaxation.held import fixed_indices, free_slab_atoms, hold_slab
from passivscreen.relaxation.reduced import reduced
from passivscreen.relaxation.resume import last_frame
from passivscreen.relaxation.scf import single_point
from passivscreen.relaxation.tiers import run_chain, run_tier, trajectory_names
from passivscreen.schema import section_defaults
from passivscreen.steps.common import Skip, failure, ligand_entry
from passivscreen.steps.properties import complex_properties
from passivscreen.steps.screening import pose, row_pose, screen_orientations, start_row, to_probe, to_relax
from passivscreen.steps.surface import Job, References, make_job, tier_energies
from passivscreen.structures import face_tuple, site_rotation_order
from passivscreen.structures.cells import slab_spec
from passivscreen.types import E_ADS


def place_all(
    slab: Atoms,
    lig: Ligand,
    sites: dict[str, int],
    faces: tuple[str, ...],
    cfg: dict[str, Any],
    n: int | None = None,
    targets: dict[str, Any] | None = None,
    conformer: int = 0,
) -> tuple[list[Complex], list[Complex], float]:
    """``n`` placements (default ``placement.orientations``) of one ligand on each face, the same rotation on
    every face, over the symmetry-distinct span of the first face's site: (accepted, clashing, span).
    ``targets``: the removed Br's position per face, for an X-type anion. Settings missing from
    ``cfg["placement"]`` take the schema's defaults."""
    settings = {**section_defaults("placement"), **cfg["placement"]}
    n = n or settings["orientations"]
    span = 360.0 / site_rotation_order(slab, sites[faces[0]])
    on = {f: sites[f] for f in faces}
    ok, clash = orientations(
        slab,
        lig,
        on,
        n,
        min_contact_ratio=settings["min_contact_ratio"],
        span_deg=span,
        targets=targets,
        conformer=conformer,
        height_offsets=settings["heights"],
        tilts=settings["tilts"],
    )
    return ok, clash, span


def _held(job: Job, c: Complex) -> tuple[Atoms, list[int]]:
    """A copy of a placement with the slab held (but for ``hold.free_radius`` atoms) and its electronic state."""
    atoms = c.atoms.copy()
    free = free_slab_atoms(atoms, c.n_slab, c.anchors, job.cfg["hold"]["free_radius"], fixed_indices(job.slab))
    hold_slab(atoms, c.n_slab, free)
    electronic_state(atoms, job.charge, job.multiplicity)
    return atoms, free


def _guards(job: Job, free: list[int]) -> Callable[[Tier], Guards]:
    """The guards of a complex's relaxation with ``tier`` (``free``: the slab atoms that may move)."""
    hold = job.cfg["hold"]

    def guards(tier: Tier) -> Guards:
        e_ref = job.refs.total(tier.name)
        return Guards(
            max_force=hold["max_force"],
            watch=free,
            reference_positions=job.slab.positions,
            max_displacement=hold["max_displacement"],
            energy_floor=None if e_ref is None else e_ref + job.refs.n_lig * hold["min_eads"],
        )

    return guards


def _stem(c: Complex) -> str:
    """A placement's name in the work directory."""
    stem = f"rot{c.rotation_deg:06.2f}" + (f"_c{c.conformer}" if c.conformer else "")
    stem += f"_h{c.height_offset:+.2f}" if c.height_offset else ""
    stem += f"_t{c.tilt_deg:02.0f}" if c.tilt_deg else ""
    return stem + ("_bi" if c.denticity == 2 else "")


def _unscreened(c: Complex) -> dict[str, Any]:
    """The row of a start that gets no single point (``probe_top: 0``: every start is probed)."""
    return {
        "sp_calc_s": 0.0,
        **start_row(c),
        "min_contact_ratio": c.min_contact_ratio,
        "E_sp_eV": None,
        "E_ads_sp_eV": None,
        "sp_status": "not_computed",
    }


def _probe_model(job: Job, c: Complex, layers: int) -> tuple[Atoms, list[int], np.ndarray | None]:
    """The held placement a probe moves, its free slab atoms, and with ``layers`` > 0 the indices of the
    placement it keeps (:func:`~passivscreen.relaxation.reduced.reduced`; None: the whole placement)."""
    atoms, free = _held(job, c)
    if not layers:
        return atoms, free, None
    small, keep, _ = reduced(atoms, c.n_slab, layers)
    if len(keep) == len(atoms):
        return atoms, free, None
    where = {int(i): k for k, i in enumerate(keep)}
    return small, [where[i] for i in free if i in where], keep


def _run_probe(job: Job, c: Complex, steps: int, traj: Path, layers: int = 0, offset: float = 0.0) -> dict[str, Any]:
    """The first ``steps`` relaxation steps of one placement with the first tier (slab held): its probe row.
    With ``layers`` on the reduced model (:func:`_probe_model`), its energies shifted by ``offset`` onto the
    whole slab's scale (:func:`_probe_offset`)."""
    tier = job.chain[0]
    traj.unlink(missing_ok=True)
    atoms, free, keep = _probe_model(job, c, layers)
    guards = _guards(job, free)
    if keep is not None:
        whole = guards

        def guards(t: Tier) -> Guards:
            g = whole(t)
            g.reference_positions = job.slab.positions[keep[keep < c.n_slab]]
            g.energy_floor = None if g.energy_floor is None else g.energy_floor - offset
            return g

    tier.attach(atoms)
    r = run_tier(atoms, tier, steps, traj, guards(tier))
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


def _probe_offset(job: Job, c: Complex, layers: int) -> tuple[float | None, float]:
    """E(whole placement) - E(reduced model) of one start with the first tier (two single points): the shift
    that puts the reduced model's probe energies on the whole slab's scale (the deeper layers' own energy and
    their share of the binding at that start; the same for every start to within the model's error, which
    the relaxation's first step measures: ``probe_model_error_eV``). None if either single point failed; and the
    seconds spent."""
    tier = job.chain[0]
    energies, spent = [], 0.0
    for atoms in (_held(job, c)[0], _probe_model(job, c, layers)[0]):
        tier.attach(atoms)
        t0 = time.perf_counter()
        energies.append(single_point(atoms, atoms.calc, tier.scf_ladder)["energy"])
        spent += time.perf_counter() - t0
    if None in energies:
        return None, spent
    return energies[0] - energies[1], spent


def _probe(job: Job, placements: list[Complex], steps: int) -> list[dict[str, Any]]:
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
        starts = chosen = [_unscreened(c) for c in placements]
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
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    offset: float | None = 0.0
    resumed = False
    if cache.exists():
        with contextlib.suppress(KeyError, ValueError, TypeError):
            cached = read_json(cache)
            if cached.get("key") == key:
                done = {tuple(r["pose"]): r for r in cached["probes"]}
                offset, resumed = cached.get("offset_eV", 0.0), True
    if layers and not resumed and chosen:
        first = next(q for q in placements if pose(q) == row_pose(chosen[0]))
        offset, _ = _probe_offset(job, first, layers)
        write_json(cache, {"key": key, "offset_eV": offset, "probes": []})
    if offset is None:  # a single point of the offset failed: the whole slab, as without the option
        layers, offset = 0, 0.0
    for s in chosen:
        c = next(q for q in placements if pose(q) == row_pose(s))
        traj = job.workdir / f"probe_{_stem(c)}.traj"
        if pose(c) not in done:
            done[pose(c)] = _run_probe(job, c, steps, traj, layers, offset)
            write_json(cache, {"key": key, "offset_eV": offset, "probes": list(done.values())})
        last, _ = last_frame(traj)
        keep = _probe_model(job, c, layers)[2] if done[pose(c)].get("probe_layers") else None
        if last is not None and keep is None and len(last) == len(c.atoms):
            c.atoms = c.atoms.copy()
            c.atoms.positions = last.positions
        elif last is not None and keep is not None and len(last) == len(keep):
            # the ligand where the reduced model's probe left it; the slab as held
            c.atoms = c.atoms.copy()
            positions = c.atoms.positions.copy()
            positions[keep] = last.positions
            c.atoms.positions = positions
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


def _relax_orientation(job: Job, c: Complex, screened: dict[str, Any]) -> tuple[dict[str, Any], Atoms]:
    """Relax one placement through the tier chain on the held slab; its row and final atoms."""
    atoms, free = _held(job, c)
    guards = _guards(job, free)
    stem = _stem(c)
    names = trajectory_names(job.workdir, stem, job.chain)
    run = run_chain(atoms, job.chain, "steps", guards=guards, trajectory=names)
    for row in run.rows:
        row["E_ads_eV"] = job.refs.e_ads(row["energy_eV"], row["name"])
    r = run.result
    row = {
        **screened,
        "status": "ok" if r.ok else r.status,
        "reason": r.reason,
        "tier": run.tier.name,
        "backend": run.tier.backend,
        "tiers": run.rows,
        "n_steps": sum(x["n_steps"] for x in run.rows),
        "n_force_calls": run.rows[-1]["n_force_calls"],
        "wall_s": sum(x["wall_s"] for x in run.rows),
        "calc_s": sum(x["calc_s"] for x in run.rows),
        "scf_recoveries": r.scf_recoveries,
        "resumed_from_step": r.resumed_from_step,
        "free_slab_atoms": free,
    }
    if screened.get("probe_layers") and screened.get("E_sp_eV") is not None:
        # the reduced model's energy where its probe stopped against the whole slab's there (the relaxation's
        # first frame): how far the shift of _probe_offset holds away from the start it was made at
        with contextlib.suppress(Exception):
            first = read(str(names(0, job.chain[0])), index=0).get_potential_energy()
            row["probe_model_error_eV"] = screened["E_sp_eV"] - first
    e_ads = job.refs.e_ads(r.energy, run.tier.name)
    if e_ads is not None:
        row["E_complex_eV"] = r.energy
        row.update(
            complex_properties(
                r.atoms, e_ads, c, job.lig, job.slab, job.groups, job.cfg, run.tier.backend, job.traps_before
            )
        )
    return row, r.atoms


def _relax_best(
    job: Job, ok: list[Complex], screened: list[dict[str, Any]], orientations_out: list[dict[str, Any]]
) -> tuple[dict[str, Any], Atoms]:
    """Relax the ``relax_top`` lowest screened placements (with probes: the lowest ``relax_top`` of those whose probe
    converged and of those still descending); the lowest converged one (raises :class:`Skip` if none)."""
    settings = {**section_defaults("placement"), **job.cfg["placement"]}
    go_on = {id(s) for s in to_relax(screened, settings["relax_top"], settings["probe_tie_eV"])}
    best: tuple[dict[str, Any], Atoms] | None = None
    for s in sorted((s for s in screened if s["E_ads_sp_eV"] is not None), key=lambda s: s["E_ads_sp_eV"]):
        if id(s) not in go_on:
            orientations_out.append({**s, "status": "screened"})
            continue
        c = next(q for q in ok if pose(q) == row_pose(s))
        row, atoms = _relax_orientation(job, c, s)
        orientations_out.append(row)
        if (
            row.get("E_ads_eV") is not None
            and row["status"] == "ok"
            and (best is None or row["E_ads_eV"] < best[0]["E_ads_eV"])
        ):
            best = (row, atoms)
    if best is None:
        failed = [o for o in orientations_out if o["status"] not in ("screened", "clash")]
        raise Skip(
            failed[0]["status"] if failed else "failed",
            "; ".join(o.get("reason", "") for o in failed) or "no orientation converged",
        )
    return best


def _references(slab_rec: dict[str, Any], lig_rec: dict[str, Any], n_lig: int, first: str) -> References:
    """The reference energies, or :class:`Skip` when a reference failed or lacks the first tier."""
    if slab_rec.get("status") != "ok" or lig_rec.get("status") != "ok":
        raise Skip(
            "reference_failed",
            f"slab: {slab_rec.get('status')}, ligand: {lig_rec.get('status')} "
            f"({lig_rec.get('reason') or slab_rec.get('reason')})",
        )
    refs = References(n_lig, tier_energies(slab_rec), tier_energies(lig_rec))
    if refs.total(first) is None:
        raise Skip("reference_failed", f"no {first} energy for the slab or the ligand")
    return refs


def _adsorb(
    job: Job, entry: dict[str, Any], faces: tuple[str, ...], slab_rec: dict[str, Any], record: dict[str, Any]
) -> Atoms:
    """Place, screen and relax; fills ``record`` and returns the best complex."""
    ok, clash, span = [], [], 360.0
    for k, frame in enumerate(job.frames):
        job.lig.atoms.positions = frame.positions
        a, b, span = place_all(job.slab, job.lig, job.sites, faces, job.cfg, entry.get("orientations"), job.targets, k)
        ok, clash = ok + a, clash + b
    record["rotation_span_deg"] = span
    record["n_conformers_placed"] = len(job.frames)
    for c in clash:
        record["orientations"].append(
            {
                **start_row(c),
                "status": "clash",
                "min_contact_ratio": c.min_contact_ratio,
            }
        )
    if not ok:
        raise Skip("no_placement", f"all {len(clash)} orientations clash with the slab or images")
    first = job.chain[0]
    steps = {**section_defaults("placement"), **job.cfg["placement"]}["probe_steps"]
    if steps and first.task == "relax":
        screened = _probe(job, ok, steps)
    else:
        screened = screen_orientations(first, ok, job.refs.total(first.name), job.workdir, job.charge, job.multiplicity)
    best, atoms = _relax_best(job, ok, screened, record["orientations"])
    record.update(
        status="ok",
        reason="",
        E_slab_eV=job.refs.slab.get(best["tier"]),
        E_ligand_eV=job.refs.ligand.get(best["tier"]),
        provenance={**record["provenance"], "backend": best["backend"], "tier": best["tier"]},
    )
    record.update({k: v for k, v in best.items() if k not in ("status", "reason", "sp_status")})
    return atoms


def run_adsorption(
    cfg: dict[str, Any],
    name: str,
    site: str,
    face: str,
    slab_json: str | Path,
    slab_xyz: str | Path,
    ligand_json: str | Path,
    ligand_xyz: str | Path,
    out_json: str | Path,
    out_xyz: str | Path,
    workdir: str | Path,
) -> dict[str, Any]:
    """One ligand per face on a site: screen orientations by single point, relax the best on the held slab.

    Never raises for a failed calculation: the record's ``status`` and ``reason`` say what happened.
    """
    set_threads(cfg["threads"])
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    slab_rec, lig_rec = read_json(slab_json), read_json(ligand_json)
    faces = face_tuple(face)
    chain = screen_tiers(tiers_from_config(cfg))
    record: dict[str, Any] = {
        "kind": "adsorption",
        "ligand": name,
        "site": site,
        "site_type": slab_rec.get("site_type"),
        "face": face,
        "repeat": "x".join(map(str, slab_spec(cfg, site).repeat)),
        "n_ligands": len(faces),
        "smiles": lig_rec.get("smiles"),
        "anchor": lig_rec.get("anchor"),
        "orientations": [],
        "provenance": provenance(
            cfg, chain[-1], chain, slab_reference=slab_rec.get("reference"), free_radius=cfg["hold"]["free_radius"]
        ),
    }
    best_atoms: Atoms | None = None
    try:
        refs = _references(slab_rec, lig_rec, len(faces), chain[0].name)
        job = make_job(cfg, chain, name, faces, slab_rec, slab_xyz, lig_rec, ligand_xyz, refs, workdir)
        record.update(
            binding=job.lig.binding,
            n_conformers=lig_rec.get("n_conformers", 1),
            charge=job.charge,
            multiplicity=job.multiplicity,
        )
        best_atoms = _adsorb(job, ligand_entry(cfg, name), faces, slab_rec, record)
    except Exception as err:  # noqa: BLE001 - a failure of the science becomes a row; failure() re-raises a bug
        record.update(failure(err, E_ADS))
    record["n_orientations"] = len(record["orientations"])
    record["traps_before"] = slab_rec.get("traps")
    write_structures(out_xyz, best_atoms if best_atoms is not None else Atoms())
    write_record(out_json, record)
    return record


def run_adsorption_member(cfg: dict[str, Any], member: dict[str, str]) -> dict[str, Any]:
    """:func:`run_adsorption` on the files of a complex as a batch member names them
    (:func:`passivscreen.steps.jobs.complex_member`: the results layout's paths)."""
    m = member
    return run_adsorption(
        cfg,
        m["ligand"],
        m["site"],
        m["face"],
        m["slab_json"],
        m["slab_xyz"],
        m["ligand_json"],
        m["ligand_xyz"],
        m["json"],
        m["xyz"],
        m["workdir"],
    )
