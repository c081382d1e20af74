"""The screening steps that the Snakemake rules call: slab, ligand, adsorption.

Each step writes a JSON record with its provenance and never raises for a
failed calculation: the record's ``status`` and ``reason`` say what happened.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms
from ase.io import read

from passivscreen import analysis
from passivscreen.calculators import attach, calculator_parameters, set_threads
from passivscreen.io import read_json, versions, write_json, write_structures
from passivscreen.ligands import ligand_from_smiles, resolve_smiles
from passivscreen.placement import orientations
from passivscreen.relax import Guards, relax, single_point
from passivscreen.structures import SlabSpec, build_slab, distinct_surface_sites, site_rotation_order

SCHEMA_VERSION = 1


def site_labels(cfg: dict[str, Any]) -> list[str]:
    """Labels (``Pb<index>``) of the adsorption sites chosen in the config."""
    sites = cfg["placement"]["sites"]
    if sites == "all":
        sites = distinct_surface_sites(build_slab(SlabSpec.from_config(cfg["slab"])))
    return [f"Pb{int(i)}" for i in sites]


def _provenance(cfg: dict[str, Any], **extra: Any) -> dict[str, Any]:
    backend = cfg["calculator"]["backend"]
    return {
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


def _gfn2_extras(atoms: Atoms) -> dict[str, Any]:
    """Charges and bond orders at the current geometry from the attached tblite calculator."""
    calc = atoms.calc
    out: dict[str, Any] = {}
    if calc is None:
        return out
    if "charges" in calc.results:
        out["charges"] = np.asarray(calc.results["charges"]).tolist()
    bo = analysis.bond_order_matrix(calc)
    if bo is not None:
        out["bond_orders"] = bo
    return out


def run_slab(cfg: dict[str, Any], out_json: str | Path, out_xyz: str | Path) -> dict[str, Any]:
    """Reference slab: built from config, held at its reference geometry, single point."""
    spec = SlabSpec.from_config(cfg["slab"])
    slab = build_slab(spec)
    fixed = slab.constraints[0].index.tolist() if slab.constraints else []
    record: dict[str, Any] = {
        "kind": "slab",
        "formula": slab.get_chemical_formula(),
        "n_atoms": len(slab),
        "reference": cfg["slab"]["reference"],
        "spec": cfg["slab"],
        "sites": site_labels(cfg),
        "provenance": _provenance(cfg, fixed_atoms=fixed, held="all slab atoms at the reference geometry"),
    }
    try:
        held = slab.copy()
        held.set_constraint(FixAtoms(indices=range(len(held))))
        _calc(cfg, held)
        sp = single_point(held, held.calc)
        record.update(
            status="ok" if sp["status"] == "ok" else sp["status"],
            energy_eV=sp["energy"],
            fmax_eV_A=sp["fmax"],
            reason=sp["reason"],
        )
        if sp["status"] == "ok" and held.calc is not None and "charges" in held.calc.results:
            record["charges"] = np.asarray(held.calc.results["charges"]).tolist()
    except Exception as err:  # noqa: BLE001 - recorded, not raised
        record.update(
            status="error", energy_eV=None, reason=f"{type(err).__name__}: {err}", traceback=traceback.format_exc()
        )
    write_structures(out_xyz, slab)
    write_json(out_json, record)
    return record


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
        charges = np.zeros(len(atoms))
        charges[lig.anchor_index] = lig.charge
        atoms.set_initial_charges(charges)
        _calc(cfg, atoms)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        r = relax(
            atoms,
            atoms.calc,
            fmax=cfg["relax"]["fmax"],
            steps=cfg["relax"]["ligand_steps"],
            optimizer=cfg["relax"]["optimizer"],
            trajectory=workdir / "ligand.traj",
            guards=Guards(max_force=cfg["hold"]["max_force"]),
        )
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
            scf_recoveries=r.scf_recoveries,
            bonds_changed=changed,
        )
        write_structures(out_xyz, r.atoms)
    except Exception as err:  # noqa: BLE001
        record.update(
            status="error",
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


def run_adsorption(
    cfg: dict[str, Any],
    name: str,
    site_label: str,
    slab_json: str | Path,
    slab_xyz: str | Path,
    ligand_json: str | Path,
    ligand_xyz: str | Path,
    out_json: str | Path,
    out_xyz: str | Path,
    workdir: str | Path,
) -> dict[str, Any]:
    """Ligand on one site: screen orientations by single point, relax the best on the held slab."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    slab_rec, lig_rec = read_json(slab_json), read_json(ligand_json)
    site = int(site_label.removeprefix("Pb"))
    hold = cfg["hold"]
    record: dict[str, Any] = {
        "kind": "adsorption",
        "ligand": name,
        "site": site_label,
        "face": "top",
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
        e_slab, e_lig = float(slab_rec["energy_eV"]), float(lig_rec["energy_eV"])
        entry = _ligand_entry(cfg, name)
        lig = ligand_from_smiles(name, lig_rec["smiles"], entry.get("anchor"), entry.get("anchor_index"), cfg["seed"])
        lig.atoms.positions = read(ligand_xyz).positions  # the relaxed free ligand
        span = 360.0 / site_rotation_order(slab, site)
        ok, clash = orientations(
            slab, lig, site, cfg["placement"]["orientations"], "top", cfg["placement"]["min_contact_ratio"], span
        )
        record["rotation_span_deg"] = span
        for p in clash:
            record["orientations"].append(
                {"rotation_deg": p.rotation_deg, "status": "clash", "min_contact_ratio": p.min_contact_ratio}
            )
        if not ok:
            raise _Skip("no_placement", f"all {len(clash)} orientations clash with the slab or images")
        n_slab = ok[0].n_slab
        slab_fixed = list(range(n_slab))
        screened = _screen(cfg, ok, e_slab, e_lig, workdir)
        relax_n = cfg["placement"]["relax_top"]
        ranked = sorted((s for s in screened if s["E_ads_sp_eV"] is not None), key=lambda s: s["E_ads_sp_eV"])
        best: dict[str, Any] | None = None
        for rank, s in enumerate(ranked):
            p = next(q for q in ok if q.rotation_deg == s["rotation_deg"])
            if rank >= relax_n:
                record["orientations"].append({**s, "status": "screened"})
                continue
            atoms = p.atoms.copy()
            base_fixed = slab.constraints[0].index.tolist() if slab.constraints else []
            free = _free_indices(atoms, n_slab, p.anchor, hold["free_radius"], base_fixed)
            atoms.set_constraint(FixAtoms(indices=[i for i in slab_fixed if i not in free]))
            charges = np.zeros(len(atoms))
            charges[p.anchor] = lig_rec.get("charge", 0)
            atoms.set_initial_charges(charges)
            _calc(cfg, atoms)
            guards = Guards(
                max_force=hold["max_force"],
                watch=free,
                reference_positions=slab.positions,
                max_displacement=hold["max_displacement"],
                energy_floor=e_slab + e_lig + hold["min_eads"],
            )
            r = relax(
                atoms,
                atoms.calc,
                fmax=cfg["relax"]["fmax"],
                steps=cfg["relax"]["steps"],
                optimizer=cfg["relax"]["optimizer"],
                maxstep=cfg["relax"]["maxstep"],
                trajectory=workdir / f"rot{int(p.rotation_deg):03d}.traj",
                guards=guards,
            )
            fin = r.atoms
            row = {
                **s,
                "status": "ok" if r.ok else r.status,
                "reason": r.reason,
                "n_steps": r.n_steps,
                "n_force_calls": r.n_force_calls,
                "wall_s": r.wall_s,
                "scf_recoveries": r.scf_recoveries,
                "resumed_from_step": r.resumed_from_step,
                "free_slab_atoms": free,
            }
            if r.energy is not None:
                row["E_complex_eV"] = r.energy
                row["E_ads_eV"] = analysis.adsorption_energy(r.energy, e_slab, e_lig)
                pb, d = analysis.nearest_pb(fin, p.anchor, n_slab)
                row.update(
                    anchor_pb=pb, d_anchor_Pb_A=d, max_slab_displacement_A=analysis.max_slab_displacement(fin, slab)
                )
                extras = _gfn2_extras(fin)
                if "bond_orders" in extras:
                    row["bond_order"] = float(extras["bond_orders"][p.anchor, pb])
                    row["bond_order_source"] = "tblite GFN2-xTB Wiberg at the final geometry"
                if "charges" in extras:
                    row["charge_transfer_e"] = analysis.ligand_charge(extras["charges"], n_slab)
                lig_final = fin[n_slab:]
                row["bonds_changed"] = analysis.ligand_bonds_changed(lig.atoms, lig_final)
            record["orientations"].append(row)
            if (
                row.get("E_ads_eV") is not None
                and row["status"] == "ok"
                and (best is None or row["E_ads_eV"] < best["E_ads_eV"])
            ):
                best, best_atoms = row, fin
        record["n_orientations"] = len(record["orientations"])
        if best is None:
            failed = [o for o in record["orientations"] if o["status"] not in ("screened", "clash")]
            raise _Skip(
                failed[0]["status"] if failed else "failed",
                "; ".join(o.get("reason", "") for o in failed) or "no orientation converged",
            )
        record.update(
            status="ok",
            reason="",
            **{
                k: best.get(k)
                for k in (
                    "E_ads_eV",
                    "E_complex_eV",
                    "bond_order",
                    "bond_order_source",
                    "d_anchor_Pb_A",
                    "charge_transfer_e",
                    "rotation_deg",
                    "max_slab_displacement_A",
                    "bonds_changed",
                    "anchor_pb",
                )
            },
        )
        record["E_slab_eV"], record["E_ligand_eV"] = e_slab, e_lig
    except _Skip as skip:
        record.update(status=skip.status, reason=skip.reason, E_ads_eV=None)
    except Exception as err:  # noqa: BLE001
        record.update(
            status="error", reason=f"{type(err).__name__}: {err}", E_ads_eV=None, traceback=traceback.format_exc()
        )
    record["n_orientations"] = len(record["orientations"])
    write_structures(out_xyz, best_atoms if best_atoms is not None else Atoms())
    write_json(out_json, record)
    return record


class _Skip(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _screen(cfg: dict[str, Any], placements: list, e_slab: float, e_lig: float, workdir: Path) -> list[dict]:
    """Single-point E_ads of each orientation (cached in ``workdir`` for resumption)."""
    cache = workdir / "screening.json"
    if cache.exists():
        try:
            data = read_json(cache)["orientations"]
            if [d["rotation_deg"] for d in data] == [p.rotation_deg for p in placements]:
                return data
        except (KeyError, ValueError):
            pass
    out = []
    for p in placements:
        atoms = p.atoms.copy()
        atoms.set_constraint(FixAtoms(indices=range(p.n_slab)))
        _calc(cfg, atoms)
        sp = single_point(atoms, atoms.calc)
        e = sp["energy"]
        out.append(
            {
                "rotation_deg": p.rotation_deg,
                "min_contact_ratio": p.min_contact_ratio,
                "E_sp_eV": e,
                "E_ads_sp_eV": None if e is None else e - e_slab - e_lig,
                "sp_status": sp["status"],
            }
        )
    write_json(cache, {"orientations": out})
    return out
