"""Step: one ligand per face on a site, orientations screened by single point, the best relaxed on the held slab.

E_ads = E(complex) - E(slab) - n E(ligand) with n = 1 (top, bottom) or 2 (both), each
term from the same tier; ``E_ads_per_ligand_eV`` divides by n.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.io import read

from passivscreen.calculators import screen_tiers, set_threads, tiers_from_config
from passivscreen.placement import Complex
from passivscreen.placement.starts import placed_conformers
from passivscreen.records.files import read_json, write_json, write_record, write_structures
from passivscreen.records.provenance import provenance
from passivscreen.relaxation.tiers import run_chain, trajectory_names
from passivscreen.schema import section_defaults
from passivscreen.steps.common import Skip, failure, ligand_entry
from passivscreen.steps.jobs import fingerprint, screen_settings
from passivscreen.steps.probes import (
    held_placement,
    placement_guards,
    placement_stem,
    prerelax,
    probe_starts,
    unscreened,
)
from passivscreen.steps.properties import complex_properties
from passivscreen.steps.screening import NOT_SCREENED, pose, row_pose, screen_orientations, start_row, to_relax
from passivscreen.steps.surface import Job, References, make_job, tier_energies
from passivscreen.structures import face_tuple
from passivscreen.structures.cells import slab_spec
from passivscreen.types import E_ADS


def start_key(job: Job, c: Complex, screened: dict[str, Any]) -> str:
    """The fingerprint of everything a relaxed start's row depends on: the screen's settings, the reference
    energies, the electronic state, the start's screening row (pose, probe) and its atoms where the relaxation
    begins (after the probe)."""
    refs = {"n": job.refs.n_lig, "slab": job.refs.slab, "ligand": job.refs.ligand}
    atoms = {"numbers": c.atoms.numbers.tolist(), "positions": c.atoms.positions.round(6).tolist()}
    state = {"charge": job.charge, "multiplicity": job.multiplicity}
    return fingerprint("start", screen_settings(job.cfg), refs, state, screened, atoms)


def start_files(job: Job, stem: str) -> tuple[Path, Path]:
    """Where a relaxed start is kept: its row (with its :func:`start_key`) and its final atoms."""
    return job.workdir / "starts" / f"{stem}.json", job.workdir / "starts" / f"{stem}.extxyz"


def finished_start(job: Job, stem: str, key: str) -> tuple[dict[str, Any], Atoms] | None:
    """The row and final atoms of a start this job relaxed before with the same :func:`start_key`, else None."""
    done, xyz = start_files(job, stem)
    with contextlib.suppress(OSError, ValueError, KeyError, StopIteration):
        kept = read_json(done)
        if kept["key"] == key:
            return kept["row"], read(str(xyz), index=0)
    return None


def _relax_orientation(job: Job, c: Complex, screened: dict[str, Any]) -> tuple[dict[str, Any], Atoms]:
    """Relax one placement through the tier chain on the held slab; its row and final atoms.

    A relaxed start is kept in ``starts/`` of the work directory (:func:`start_key`): a job run again after
    it was stopped reads the starts it finished instead of resuming each one's trajectory (an SCF from scratch,
    the final single point and the analysis per start: 33 s each for benzophenone on 3x3, 13 min for the
    exhaustive search's 23 finished starts)."""
    stem = placement_stem(c)
    key = start_key(job, c, screened)
    kept = finished_start(job, stem, key)
    if kept is not None:
        return kept
    row, atoms = _relax_start(job, c, screened, stem)
    done, xyz = start_files(job, stem)
    write_structures(xyz, atoms)
    write_json(done, {"key": key, "row": row})  # last: the start is done
    return row, atoms


def _relax_start(job: Job, c: Complex, screened: dict[str, Any], stem: str) -> tuple[dict[str, Any], Atoms]:
    """:func:`_relax_orientation`'s relaxation and analysis."""
    names = trajectory_names(job.workdir, stem, job.chain)
    layers = {**section_defaults("placement"), **job.cfg["placement"]}["relax_layers"]
    pre = prerelax(job, c, layers, stem, names(0, job.chain[0])) if layers and job.chain[0].task == "relax" else {}
    atoms, free = held_placement(job, c)
    guards = placement_guards(job, free)
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
        **pre,
    }
    # the reduced model's energy where the whole slab took over (the probe's end, or the pre-relaxation's)
    # against the whole slab's there (the relaxation's first frame): how far probe_offset's shift holds away
    # from the start it was made at
    if pre:
        handover = pre.get("E_prerelax_eV")
    else:
        handover = screened.get("E_sp_eV") if screened.get("probe_layers") else None
    if handover is not None:
        with contextlib.suppress(Exception):
            first = read(str(names(0, job.chain[0])), index=0).get_potential_energy()
            row["probe_model_error_eV"] = handover - first
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
    chosen = to_relax(screened, settings["relax_top"], settings["probe_tie_eV"], settings["relax_each_tilt"])
    go_on = {id(s) for s in chosen}
    best: tuple[dict[str, Any], Atoms] | None = None
    unranked = [s for s in screened if s["sp_status"] == NOT_SCREENED]  # every start relaxed, in placement order
    dropped = [dropped_row(s) for s in screened if s["E_ads_sp_eV"] is None and s["sp_status"] != NOT_SCREENED]
    ranked = sorted((s for s in screened if s["E_ads_sp_eV"] is not None), key=lambda s: s["E_ads_sp_eV"])
    for s in ranked + unranked:
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
    orientations_out.extend(dropped)
    if best is None:
        failed = [o for o in orientations_out if o["status"] not in ("screened", "clash", "dropped")]
        if not failed and dropped:  # no start got as far as its relaxation
            raise Skip(dropped[0]["sp_status"], f"{len(dropped)} starts dropped, none relaxed: {dropped[0]['reason']}")
        raise Skip(
            failed[0]["status"] if failed else "failed",
            "; ".join(o.get("reason", "") for o in failed) or "no orientation converged",
        )
    return best


def dropped_row(s: dict[str, Any]) -> dict[str, Any]:
    """The orientation row of a start whose probe (or single point) gave no energy: kept with status ``dropped``
    and why, so that the record says how many starts were tried and what the lost ones cost (``sp_calc_s``: an SCF
    that fails every rung of the ladder costs minutes, docs/benchmarks.md stop 42)."""
    how = f"single point {s['sp_status']}"
    if "probe_force_calls" in s:
        how = f"probe ended {s['sp_status']} after {s['probe_force_calls']} calls"
    return {**s, "status": "dropped", "reason": f"{how} ({s['sp_calc_s']:.0f} s): not ranked, not relaxed"}


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
    placed = placed_conformers(
        job.slab, job.lig, job.sites, faces, job.cfg, job.frames, entry.get("orientations"), job.targets
    )
    ok = [c for a, _, _ in placed.values() for c in a]
    clash = [c for _, b, _ in placed.values() for c in b]
    record["rotation_span_deg"] = next(iter(placed.values()))[2]  # the site's: the same for every conformer
    record["n_conformers_placed"] = len(placed)
    record["placed_conformers"] = list(placed)
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
    settings = {**section_defaults("placement"), **job.cfg["placement"]}
    steps = settings["probe_steps"]
    if steps and first.task == "relax":
        screened = probe_starts(job, ok, steps)
    elif first.task == "relax" and settings["relax_top"] >= len(ok):
        # every start is relaxed: no single point ranks them. One whose SCF fails at its raw placement is relaxed
        # (the relaxation's own SCF recovery), not dropped after the ladder: TPPO's exhaustive reference on 3x3
        # spent 27 min on one such single point and then lost the start (stop 51)
        screened = [{**unscreened(c), "sp_status": NOT_SCREENED} for c in ok]
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
        # the label of the slab reference: the site on the ligand's cell (slab.repeat: auto), else the same
        "slab_site": slab_rec.get("site") or site,
        "site_type": slab_rec.get("site_type"),
        "face": face,
        "repeat": "x".join(map(str, slab_spec(cfg, slab_rec.get("site") or site).repeat)),
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
