"""The screening steps that the Snakemake rules call: slab, ligand, adsorption.

Each step writes a JSON record with its provenance and never raises for a
failed calculation: the record's ``status`` and ``reason`` say what happened.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms
from ase.io import read

from passivscreen import analysis
from passivscreen.calculators import BackendError, attach, calculator_parameters, get_backend, set_threads
from passivscreen.electronic import dipole_energy_estimate, orbital_summary, trap_states
from passivscreen.io import read_json, versions, write_json, write_structures
from passivscreen.ligands import ligand_from_smiles, resolve_smiles
from passivscreen.placement import Complex, orientations
from passivscreen.relax import Guards, relax, single_point
from passivscreen.structures import SlabSpec, build_slab, distinct_surface_sites, site_rotation_order, site_slab

#: Version of the JSON record layout (in every record's provenance).
SCHEMA_VERSION = 1


FACES = ("top", "bottom", "both")


def site_labels(cfg: dict[str, Any]) -> list[str]:
    """Site labels ``<type>-Pb<index>``: each site type on each chosen top-face Pb.

    ``Pb<index>`` numbers the Pb in the pristine slab; for a vacancy it is the Pb
    next to the removed Br, i.e. the one the ligand binds to.
    """
    pbs = cfg["placement"]["sites"]
    if pbs == "all":
        pbs = distinct_surface_sites(build_slab(SlabSpec.from_config(cfg["slab"])))
    return [f"{kind}-Pb{int(i)}" for kind in cfg["sites"] for i in pbs]


def parse_site(label: str) -> tuple[str, int]:
    """``"vBr0-Pb10"`` -> ``("vBr0", 10)``."""
    kind, _, pb = label.rpartition("-Pb")
    return kind, int(pb)


def face_tuple(face: str) -> tuple[str, ...]:
    if face not in FACES:
        raise ValueError(f"unknown face {face!r}; choose from {FACES}")
    return ("top", "bottom") if face == "both" else (face,)


def _electronic_state(atoms: Atoms, charge: int, multiplicity: int) -> None:
    """Charge and spin for the calculator (tblite reads their sums from the atoms)."""
    q = np.zeros(len(atoms))
    m = np.zeros(len(atoms))
    q[0], m[0] = charge, multiplicity - 1
    atoms.set_initial_charges(q)
    atoms.set_initial_magnetic_moments(m)


def _provenance(cfg: dict[str, Any], **extra: Any) -> dict[str, Any]:
    backend = cfg["calculator"]["backend"]
    return {
        "schema_version": SCHEMA_VERSION,
        "backend": backend,
        "parameters": calculator_parameters(backend, cfg["calculator"]["params"]),
        "relax": cfg["relax"],
        "seed": cfg["seed"],
        "versions": versions(),
        **extra,
    }


def _calc(cfg: dict[str, Any], atoms: Atoms) -> Atoms:
    set_threads(int(cfg.get("threads", 1)))
    return attach(atoms, cfg["calculator"]["backend"], cfg["calculator"]["params"])


def tiers(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """The calculation protocol: ``cfg["tiers"]``, or one relax tier with ``cfg["calculator"]``.

    Each tier has a ``name``, a ``backend`` with ``params``, a ``task`` (``relax``:
    the geometry is relaxed and handed on; ``single_point``: evaluated at the
    geometry of the tier before) and optional ``fmax`` / ``steps``.
    """
    chain = cfg.get("tiers") or [
        {"backend": cfg["calculator"]["backend"], "params": cfg["calculator"].get("params", {}), "task": "relax"}
    ]
    out = []
    for tier in chain:
        tier = {"params": {}, "task": "relax", **tier}
        tier.setdefault("name", tier["backend"])
        out.append(tier)
    return out


def _relax_tier(atoms: Atoms, tcfg: dict[str, Any], tier: dict[str, Any], steps: int, trajectory: Path, guards: Guards):
    """Relax ``atoms`` (task ``relax``) or evaluate them (``single_point``) with the tier's attached calculator."""
    r = relax(
        atoms,
        atoms.calc,
        fmax=tcfg["relax"]["fmax"],
        steps=steps if tier["task"] == "relax" else 0,
        optimizer=tcfg["relax"]["optimizer"],
        maxstep=tcfg["relax"]["maxstep"],
        alpha=tcfg["relax"].get("alpha"),
        trajectory=trajectory,
        guards=guards,
        scf_ladder=get_backend(tier["backend"]).scf_ladder,
        max_wall_s=tcfg["relax"].get("max_wall_s"),
    )
    if tier["task"] == "single_point" and r.energy is not None and r.status == "not_converged":
        r.status, r.reason = "converged", ""
    return r


def _tier_energies(rec: dict[str, Any]) -> dict[str, float | None]:
    """Energy of each tier of a slab or ligand record (older records: one tier)."""
    if rec.get("tiers"):
        return {t["name"]: t.get("energy_eV") for t in rec["tiers"]}
    return {rec.get("provenance", {}).get("backend", "final"): rec.get("energy_eV")}


def _molecule_box(atoms: Atoms, backend: str, vacuum: float = 10.0) -> None:
    """A free molecule for ``backend``: no periodic boundaries for xTB, else centred in a large box.

    ML potentials and plane-wave/GPW DFT need a cell; with ``vacuum`` A on each side
    the molecule does not see its images (ML cutoffs are 5-6 A).
    """
    if get_backend(backend).kind in ("xtb", "test"):
        atoms.pbc = False
    else:
        atoms.center(vacuum=vacuum)
        atoms.pbc = True


def _tier_cfg(cfg: dict[str, Any], tier: dict[str, Any]) -> dict[str, Any]:
    """``cfg`` with the calculator and convergence settings of ``tier``."""
    relax_cfg = dict(cfg["relax"])
    for key in ("fmax", "steps"):
        if tier.get(key) is not None:
            relax_cfg[key] = tier[key]
    return {**cfg, "calculator": {"backend": tier["backend"], "params": tier.get("params", {})}, "relax": relax_cfg}


def _gfn2_view(atoms: Atoms, cfg: dict[str, Any]) -> Atoms:
    """``atoms`` evaluated by GFN2-xTB (for bond orders, charges, orbitals) whatever backend relaxed them."""
    if (
        atoms.calc is not None
        and getattr(atoms.calc, "_xtb", None) is not None
        and (atoms.calc.parameters.get("method") == "GFN2-xTB")
    ):
        return atoms
    view = atoms.copy()
    gfn2 = {**cfg, "calculator": {"backend": "gfn2", "params": {}}}
    _calc(gfn2, view)
    single_point(view, view.calc)
    return view


def _groups(slab: Atoms, faces: tuple[str, ...], sites: dict[str, int], vacancies: dict[str, list[float]]):
    """Atom groups for projected DOS: outer-layer Pb of the faces, and the defect Pb.

    The defect Pb are the Pb within 3.6 A of a removed Br, or the site Pb itself on
    a pristine surface.
    """
    tags = slab.get_tags()
    sym = slab.get_chemical_symbols()
    want = {1 if f == "top" else -1 for f in faces}
    surface = [i for i in range(len(slab)) if sym[i] == "Pb" and tags[i] in want]
    if vacancies:
        pb = [i for i in range(len(slab)) if sym[i] == "Pb"]
        defect = sorted(
            {
                i
                for pos in vacancies.values()
                for i in pb
                if np.linalg.norm(_mic(slab, slab.positions[i] - np.asarray(pos))) < 3.6
            }
        )
    else:
        defect = sorted(sites.values())
    return {"surface_Pb": surface, "defect": defect}


def _mic(atoms: Atoms, vec: np.ndarray) -> np.ndarray:
    from ase.geometry import find_mic

    return find_mic(vec[None, :], atoms.cell, atoms.pbc)[0][0]


def run_slab(cfg: dict[str, Any], site: str, face: str, out_json: str | Path, out_xyz: str | Path) -> dict[str, Any]:
    """Reference slab of one site type and face set, held at its reference geometry: single point.

    Records the energy, charges, orbital summary and trap states.
    """
    kind, pb = parse_site(site)
    faces = face_tuple(face)
    pristine = build_slab(SlabSpec.from_config(cfg["slab"]))
    ss = site_slab(pristine, kind, faces, pb)
    slab = ss.atoms
    _electronic_state(slab, ss.charge, ss.multiplicity)
    fixed = slab.constraints[0].index.tolist() if slab.constraints else []
    groups = _groups(slab, faces, ss.sites, ss.vacancies)
    record: dict[str, Any] = {
        "kind": "slab",
        "site": site,
        "site_type": kind,
        "face": face,
        "formula": slab.get_chemical_formula(),
        "n_atoms": len(slab),
        "charge": ss.charge,
        "multiplicity": ss.multiplicity,
        "binding_pb": ss.sites,
        "vacancies": ss.vacancies,
        "groups": groups,
        "reference": cfg["slab"]["reference"],
        "spec": cfg["slab"],
        "provenance": _provenance(cfg, fixed_atoms=fixed, held="all slab atoms at the reference geometry"),
    }
    try:
        record["tiers"] = []
        t0 = time.perf_counter()
        for tier in tiers(cfg):
            held = slab.copy()
            held.set_constraint(FixAtoms(indices=range(len(held))))
            _calc(_tier_cfg(cfg, tier), held)
            sp = single_point(held, held.calc)
            record["tiers"].append(
                {
                    "name": tier["name"],
                    "backend": tier["backend"],
                    "energy_eV": sp["energy"],
                    "status": sp["status"],
                    "reason": sp["reason"],
                }
            )
            if sp["status"] != "ok":
                break
        record["calc_s"] = time.perf_counter() - t0
        last = record["tiers"][-1]
        record.update(status=last["status"], energy_eV=last["energy_eV"], fmax_eV_A=sp["fmax"], reason=last["reason"])
        if last["status"] == "ok":
            t0 = time.perf_counter()
            record.update(_electronic(_gfn2_view(held, cfg), groups))
            record["analysis_calc_s"] = time.perf_counter() - t0
    except Exception as err:  # noqa: BLE001 - recorded, not raised
        record.update(
            status=_error_status(err),
            energy_eV=None,
            reason=f"{type(err).__name__}: {err}",
            traceback=traceback.format_exc(),
        )
    write_structures(out_xyz, slab)
    write_json(out_json, record)
    return record


def _electronic(
    atoms: Atoms, groups: dict[str, list[int]], pairs: list[tuple[int, int]] | None = None
) -> dict[str, Any]:
    """Charges, dipole, orbital summary and trap states of the evaluated ``atoms``."""
    out: dict[str, Any] = {}
    calc = atoms.calc
    if "charges" in calc.results:
        out["charges"] = np.asarray(calc.results["charges"]).tolist()
    if "dipole" in calc.results:
        dz = float(np.asarray(calc.results["dipole"])[2])
        out["dipole_z_eA"] = dz
        out["dipole_energy_estimate_eV"] = dipole_energy_estimate(dz, atoms.get_volume())
    summary = orbital_summary(atoms, groups, pairs)
    if summary is not None:
        out["orbitals"] = summary
        out["traps"] = trap_states(summary)
    return out


def _ligand_entry(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    for lig in cfg["ligands"]:
        if lig["name"] == name:
            return lig
    raise KeyError(f"ligand {name!r} not in config")


def run_ligand(
    cfg: dict[str, Any], name: str, out_json: str | Path, out_xyz: str | Path, workdir: str | Path
) -> dict[str, Any]:
    """Free ligand: RDKit geometry relaxed once with the backend, no periodic boundaries."""
    entry = _ligand_entry(cfg, name)
    record: dict[str, Any] = {"kind": "ligand", "ligand": name, "provenance": _provenance(cfg)}
    try:
        smiles = resolve_smiles(entry)
        lig = ligand_from_smiles(name, smiles, entry.get("anchor"), entry.get("anchor_index"), cfg["seed"])
        atoms = lig.atoms.copy()
        atoms.pbc = False
        _electronic_state(atoms, lig.charge, 1)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        chain = tiers(cfg)
        record["tiers"] = []
        for k, tier in enumerate(chain):
            tcfg = _tier_cfg(cfg, tier)
            _molecule_box(atoms, tier["backend"])
            _calc(tcfg, atoms)
            r = _relax_tier(
                atoms,
                tcfg,
                tier,
                tcfg["relax"]["ligand_steps"],
                workdir / ("ligand.traj" if len(chain) == 1 else f"ligand_{k}_{tier['name']}.traj"),
                Guards(max_force=cfg["hold"]["max_force"]),
            )
            record["tiers"].append(
                {
                    "name": tier["name"],
                    "backend": tier["backend"],
                    "task": tier["task"],
                    "energy_eV": r.energy,
                    "status": "ok" if r.ok else r.status,
                    "n_force_calls": r.n_force_calls,
                    "wall_s": r.wall_s,
                }
            )
            if not r.ok:
                break
            atoms = r.atoms
        changed = analysis.ligand_bonds_changed(lig.atoms, r.atoms)
        record.update(
            status="ok" if r.ok else r.status,
            reason=r.reason,
            smiles=smiles,
            anchor=lig.anchor_class,
            anchor_index=lig.anchor_index,
            formula=atoms.get_chemical_formula(),
            charge=lig.charge,
            bonds=lig.bonds,
            energy_eV=r.energy,
            n_steps=r.n_steps,
            n_force_calls=r.n_force_calls,
            wall_s=r.wall_s,
            calc_s=r.calc_s,
            scf_recoveries=r.scf_recoveries,
            bonds_changed=changed,
        )
        write_structures(out_xyz, r.atoms)
    except Exception as err:  # noqa: BLE001
        record.update(
            status=_error_status(err),
            energy_eV=None,
            reason=f"{type(err).__name__}: {err}",
            traceback=traceback.format_exc(),
            smiles=entry.get("smiles"),
            anchor=entry.get("anchor"),
        )
        write_structures(out_xyz, Atoms())
    write_json(out_json, record)
    return record


def _free_indices(atoms: Atoms, n_slab: int, anchor: int, radius: float, fixed: list[int]) -> list[int]:
    if radius <= 0:
        return []
    d = atoms.get_distances(anchor, list(range(n_slab)), mic=True)
    return [i for i in range(n_slab) if d[i] <= radius and i not in set(fixed)]


def _place_all(
    slab: Atoms, lig, sites: dict[str, int], faces: tuple[str, ...], cfg: dict[str, Any], n: int | None = None
) -> tuple[list[Complex], list[Complex], float]:
    """``n`` placements of one ligand on each face (default ``placement.orientations``), the same rotation on
    every face, over the symmetry-distinct span of the first face's site."""
    n = n or cfg["placement"]["orientations"]
    span = 360.0 / site_rotation_order(slab, sites[faces[0]])
    on = {f: sites[f] for f in faces}
    ok, clash = orientations(slab, lig, on, n, min_contact_ratio=cfg["placement"]["min_contact_ratio"], span_deg=span)
    return ok, clash, span


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

    E_ads = E(complex) - E(slab) - n E(ligand) with n = 1 (top, bottom) or 2 (both);
    ``E_ads_per_ligand_eV`` divides by n.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    slab_rec, lig_rec = read_json(slab_json), read_json(ligand_json)
    faces = face_tuple(face)
    hold = cfg["hold"]
    record: dict[str, Any] = {
        "kind": "adsorption",
        "ligand": name,
        "site": site,
        "site_type": slab_rec.get("site_type"),
        "face": face,
        "n_ligands": len(faces),
        "smiles": lig_rec.get("smiles"),
        "anchor": lig_rec.get("anchor"),
        "orientations": [],
        "provenance": _provenance(cfg, slab_reference=slab_rec.get("reference"), free_radius=hold["free_radius"]),
    }
    best_atoms: Atoms | None = None
    try:
        if slab_rec.get("status") != "ok" or lig_rec.get("status") != "ok":
            raise _Skip(
                "reference_failed",
                f"slab: {slab_rec.get('status')}, ligand: {lig_rec.get('status')} "
                f"({lig_rec.get('reason') or slab_rec.get('reason')})",
            )
        slab = read(slab_xyz)
        slab.pbc = True
        n_lig = len(faces)
        e_slab, e_lig = float(slab_rec["energy_eV"]), float(lig_rec["energy_eV"])
        e_ref = e_slab + n_lig * e_lig
        entry = _ligand_entry(cfg, name)
        lig = ligand_from_smiles(name, lig_rec["smiles"], entry.get("anchor"), entry.get("anchor_index"), cfg["seed"])
        lig.atoms.positions = read(ligand_xyz).positions  # the relaxed free ligand
        sites = {f: int(i) for f, i in slab_rec["binding_pb"].items()}
        ok, clash, span = _place_all(slab, lig, sites, faces, cfg, entry.get("orientations"))
        record["rotation_span_deg"] = span
        for c in clash:
            record["orientations"].append(
                {"rotation_deg": c.rotation_deg, "status": "clash", "min_contact_ratio": c.min_contact_ratio}
            )
        if not ok:
            raise _Skip("no_placement", f"all {len(clash)} orientations clash with the slab or images")
        n_slab = ok[0].n_slab
        charge = int(slab_rec.get("charge", 0)) + n_lig * int(lig_rec.get("charge", 0))
        chain = tiers(cfg)
        e_slab_t, e_lig_t = _tier_energies(slab_rec), _tier_energies(lig_rec)
        first = chain[0]["name"]
        if e_slab_t.get(first) is None or e_lig_t.get(first) is None:
            raise _Skip("reference_failed", f"no {first} energy for the slab or the ligand")
        e_ref_first = e_slab_t[first] + n_lig * e_lig_t[first]
        screened = _screen(
            _tier_cfg(cfg, chain[0]), ok, e_ref_first, workdir, charge, int(slab_rec.get("multiplicity", 1))
        )
        ranked = sorted((s for s in screened if s["E_ads_sp_eV"] is not None), key=lambda s: s["E_ads_sp_eV"])
        best: dict[str, Any] | None = None
        base_fixed = slab.constraints[0].index.tolist() if slab.constraints else []
        for rank, s in enumerate(ranked):
            c = next(q for q in ok if q.rotation_deg == s["rotation_deg"])
            if rank >= cfg["placement"]["relax_top"]:
                record["orientations"].append({**s, "status": "screened"})
                continue
            atoms = c.atoms.copy()
            free = sorted(
                {i for a in c.anchors for i in _free_indices(atoms, n_slab, a, hold["free_radius"], base_fixed)}
            )
            atoms.set_constraint(FixAtoms(indices=[i for i in range(n_slab) if i not in free]))
            _electronic_state(atoms, charge, int(slab_rec.get("multiplicity", 1)))
            tier_rows: list[dict[str, Any]] = []
            for k, tier in enumerate(chain):
                tcfg = _tier_cfg(cfg, tier)
                _calc(tcfg, atoms)
                e_ref_t = None
                if e_slab_t.get(tier["name"]) is not None and e_lig_t.get(tier["name"]) is not None:
                    e_ref_t = e_slab_t[tier["name"]] + n_lig * e_lig_t[tier["name"]]
                guards = Guards(
                    max_force=hold["max_force"],
                    watch=free,
                    reference_positions=slab.positions,
                    max_displacement=hold["max_displacement"],
                    energy_floor=None if e_ref_t is None else e_ref_t + n_lig * hold["min_eads"],
                )
                name = f"rot{c.rotation_deg:06.2f}" + ("" if len(chain) == 1 else f"_{k}_{tier['name']}")
                r = _relax_tier(atoms, tcfg, tier, tcfg["relax"]["steps"], workdir / f"{name}.traj", guards)
                tier_rows.append(
                    {
                        "name": tier["name"],
                        "backend": tier["backend"],
                        "task": tier["task"],
                        "status": "ok" if r.ok else r.status,
                        "reason": r.reason,
                        "E_complex_eV": r.energy,
                        "E_ads_eV": None if r.energy is None or e_ref_t is None else r.energy - e_ref_t,
                        "n_steps": r.n_steps,
                        "n_force_calls": r.n_force_calls,
                        "wall_s": r.wall_s,
                        "calc_s": r.calc_s,
                    }
                )
                if not r.ok:
                    break
                atoms = r.atoms
            e_ref = e_ref_t if e_ref_t is not None else e_ref
            row = {
                **s,
                "status": "ok" if r.ok else r.status,
                "reason": r.reason,
                "tier": tier["name"],
                "tiers": tier_rows,
                "n_steps": sum(x["n_steps"] for x in tier_rows),
                "n_force_calls": tier_rows[-1]["n_force_calls"],
                "wall_s": sum(x["wall_s"] for x in tier_rows),
                "calc_s": sum(x["calc_s"] for x in tier_rows),
                "scf_recoveries": r.scf_recoveries,
                "resumed_from_step": r.resumed_from_step,
                "free_slab_atoms": free,
            }
            if r.energy is not None:
                row.update(
                    _complex_properties(r.atoms, r.energy, c, lig, slab, slab_rec, e_ref, n_lig, cfg, tier["backend"])
                )
            record["orientations"].append(row)
            if (
                row.get("E_ads_eV") is not None
                and row["status"] == "ok"
                and (best is None or row["E_ads_eV"] < best["E_ads_eV"])
            ):
                best, best_atoms = row, r.atoms
        if best is None:
            failed = [o for o in record["orientations"] if o["status"] not in ("screened", "clash")]
            raise _Skip(
                failed[0]["status"] if failed else "failed",
                "; ".join(o.get("reason", "") for o in failed) or "no orientation converged",
            )
        last = chain[-1]["name"]
        record.update(
            status="ok", reason="", E_slab_eV=e_slab_t.get(last, e_slab), E_ligand_eV=e_lig_t.get(last, e_lig)
        )
        record.update({k: v for k, v in best.items() if k not in ("status", "reason", "sp_status")})
    except _Skip as skip:
        record.update(status=skip.status, reason=skip.reason, E_ads_eV=None)
    except Exception as err:  # noqa: BLE001
        record.update(
            status=_error_status(err),
            reason=f"{type(err).__name__}: {err}",
            E_ads_eV=None,
            traceback=traceback.format_exc(),
        )
    record["n_orientations"] = len(record["orientations"])
    record["traps_before"] = slab_rec.get("traps")
    write_structures(out_xyz, best_atoms if best_atoms is not None else Atoms())
    write_json(out_json, record)
    return record


def _complex_properties(
    fin: Atoms,
    e: float,
    c: Complex,
    lig,
    slab: Atoms,
    slab_rec: dict,
    e_ref: float,
    n_lig: int,
    cfg: dict[str, Any],
    backend: str,
) -> dict[str, Any]:
    """E_ads, bond orders, distances, charge transfer, integrity flags and trap states of a relaxed complex."""
    n_slab = c.n_slab
    row: dict[str, Any] = {"E_complex_eV": e, "E_ads_eV": e - e_ref, "E_ads_per_ligand_eV": (e - e_ref) / n_lig}
    per_anchor = []
    for a in c.anchors:
        pb, d = analysis.nearest_pb(fin, a, n_slab)
        per_anchor.append({"anchor": a, "pb": pb, "d_anchor_Pb_A": d})
    row["anchors"] = per_anchor
    row["d_anchor_Pb_A"] = float(np.mean([x["d_anchor_Pb_A"] for x in per_anchor]))
    row["max_slab_displacement_A"] = analysis.max_slab_displacement(fin, slab)
    groups = dict(slab_rec.get("groups", {}))
    groups["ligand"] = list(range(n_slab, len(fin)))
    t0 = time.perf_counter()
    elec = _electronic(_gfn2_view(fin, cfg), groups, [(x["anchor"], x["pb"]) for x in per_anchor])
    row["analysis_calc_s"] = time.perf_counter() - t0
    orbitals = elec.get("orbitals") or {}
    if "bond_orders" in orbitals:
        for x, bo in zip(per_anchor, orbitals["bond_orders"]):
            x["bond_order"] = bo
        row["bond_order"] = float(np.mean(orbitals["bond_orders"]))
        row["bond_order_source"] = "GFN2-xTB (tblite) Mayer/Wiberg anchor-Pb at the final geometry, mean over anchors"
    if "charges" in elec:
        row["charge_transfer_e"] = analysis.ligand_charge(elec["charges"], n_slab) / n_lig
    row.update({k: v for k, v in elec.items() if k != "charges"})
    ligs = [fin[n_slab + k * c.n_lig : n_slab + (k + 1) * c.n_lig] for k in range(n_lig)]
    row["bonds_changed"] = [x for frag in ligs for x in analysis.ligand_bonds_changed(lig.atoms, frag)]
    row["integrity"] = analysis.integrity_flags(
        fin,
        slab,
        n_slab,
        c.anchors,
        lig.atoms,
        c.n_lig,
        backend=backend,
        slab_free=bool(cfg["hold"]["free_radius"] > 0),
        cfg=cfg["integrity"],
        ligand_charge=row.get("charge_transfer_e"),
    )
    return row


def _error_status(err: Exception) -> str:
    """``backend_error`` for a backend that is missing or crashed, ``error`` otherwise."""
    from ase.calculators.calculator import CalculationFailed, InputError

    if isinstance(err, BackendError | CalculationFailed | InputError | ImportError):
        return "backend_error"
    # an exception raised inside the calculator's own package is a backend crash
    package = type(err).__module__.split(".")[0]
    return "backend_error" if package in {"tblite", "chgnet", "sevenn", "torch", "gpaw"} else "error"


class _Skip(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _screen(
    cfg: dict[str, Any], placements: list[Complex], e_ref: float, workdir: Path, charge: int, multiplicity: int
) -> list[dict]:
    """Single-point E_ads of each orientation (cached in ``workdir`` for resumption)."""
    cache = workdir / "screening.json"
    # a cache from another backend, parameter set or reference is never reused
    key = {
        "calculator": cfg["calculator"],
        "e_ref": round(e_ref, 6),
        "charge": charge,
        "multiplicity": multiplicity,
        "rotations": [p.rotation_deg for p in placements],
    }
    if cache.exists():
        try:
            cached = read_json(cache)
            if cached.get("key") == key:
                return cached["orientations"]
        except (KeyError, ValueError):
            pass
    out = []
    for p in placements:
        atoms = p.atoms.copy()
        atoms.set_constraint(FixAtoms(indices=range(p.n_slab)))
        _electronic_state(atoms, charge, multiplicity)
        _calc(cfg, atoms)
        t0 = time.perf_counter()
        sp = single_point(atoms, atoms.calc)
        e = sp["energy"]
        out.append(
            {
                "sp_calc_s": time.perf_counter() - t0,
                "rotation_deg": p.rotation_deg,
                "min_contact_ratio": p.min_contact_ratio,
                "E_sp_eV": e,
                "E_ads_sp_eV": None if e is None else e - e_ref,
                "sp_status": sp["status"],
            }
        )
    write_json(cache, {"key": key, "orientations": out})
    return out
