"""Step: the free ligand. Its conformers (RDKit) are relaxed by every tier without the slab; the lowest is
the reference energy, and the lowest few are handed to the adsorption step. For X-type and ion-pair
binding the reference is a neutral molecule (the acid and HBr, or the salt: see
:mod:`passivscreen.ligands.binding`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from passivscreen.analysis.geometry import ligand_bonds_changed
from passivscreen.calculators import Tier, screen_tiers, set_threads, tiers_from_config
from passivscreen.calculators.systems import electronic_state, molecule_box
from passivscreen.ligands import Ligand, resolve_smiles
from passivscreen.ligands.molecules import entry_ligand, molecule_conformers, parse_smiles
from passivscreen.placement.cells import smallest_cell
from passivscreen.placement.starts import placed_conformers
from passivscreen.records.files import write_record, write_structures
from passivscreen.records.provenance import provenance
from passivscreen.relaxation.guards import Guards
from passivscreen.relaxation.tiers import ChainResult, run_chain, trajectory_names
from passivscreen.steps.common import Skip, failure, ligand_entry
from passivscreen.structures import parse_site, site_labels, site_slab
from passivscreen.structures.cells import AUTO_MIN, is_auto, slab_spec
from passivscreen.structures.slab import build_slab


def placed_cell(cfg: dict[str, Any], lig: Ligand, frames: list[Atoms]) -> dict[str, Any]:
    """``slab.repeat: auto``: the smallest cell that holds the conformers the adsorption step places in every
    start it screens (:func:`~passivscreen.placement.cells.smallest_cell`), and their shortest image distance on it.

    The conformers placed on an n x n cell are the lowest ``placement.conformers`` of ``frames`` (lowest first,
    as relaxed) with a start that does not clash on its ideal slab, at the config's first site Pb, top face
    (:func:`~passivscreen.placement.starts.placed_conformers`, which the adsorption step calls on its own slab);
    an X-type anion's, whose starts need the vacancy, are its lowest ones. The conformers that are not placed do
    not count: TSPO1's seven embedded conformers need 4x4 (four of them come within 2.8-2.95 A of their images on
    3x3), while the cell is what the placed ones need."""
    wanted = max(1, int(cfg["placement"]["conformers"]))
    placed: dict[int, list[int]] = {}

    def conformers_on(n: int) -> list[np.ndarray]:
        if lig.binding == "X":
            ids = list(range(min(wanted, len(frames))))
        else:
            _, pb = parse_site(site_labels(cfg, (n, n))[0])
            ss = site_slab(build_slab(slab_spec(cfg, repeat=(n, n))), "pristine", ("top",), pb)
            ids = list(placed_conformers(ss.atoms, lig, ss.sites, ("top",), cfg, frames))
        placed[n] = ids
        return [frames[k].positions.copy() for k in ids]

    n, shortest = smallest_cell(cfg, lig, conformers_on)
    return {"cell": [n, n], "image_distance_A": round(float(shortest), 3), "placed_conformers": placed[n]}


def _relax(
    cfg: dict[str, Any], chain: list[Tier], geometries: list[Atoms], charge: int, mult: int, workdir: Path, stem: str
) -> list[ChainResult]:
    """Relax each geometry (the conformers of one species) through the chain, non-periodic for xTB."""
    guards = Guards(max_force=cfg["hold"]["max_force"])
    out = []
    for k, atoms in enumerate(geometries):
        atoms = atoms.copy()
        atoms.pbc = False
        electronic_state(atoms, charge, mult)
        names = trajectory_names(workdir, stem if k == 0 else f"{stem}_c{k}", chain)
        out.append(
            run_chain(atoms, chain, "ligand_steps", prepare=molecule_box, guards=lambda t: guards, trajectory=names)
        )
    return out


def _lowest(runs: list[ChainResult]) -> int:
    """Index of the lowest-energy converged run (raises :class:`Skip` when none converged)."""
    ok = [k for k, r in enumerate(runs) if r.ok and r.result.energy is not None]
    if not ok:
        r = runs[0].result
        raise Skip(r.status, r.reason)
    return min(ok, key=lambda k: runs[k].result.energy)


def _tier_energies(runs: list[ChainResult], coefficient: int, into: dict[str, float]) -> None:
    """Add ``coefficient`` x the lowest energy at each tier over the conformers of one species."""
    for t in runs[0].rows:
        es = [
            row["energy_eV"]
            for r in runs
            for row in r.rows
            if row["name"] == t["name"] and row["energy_eV"] is not None
        ]
        into[t["name"]] = into.get(t["name"], 0.0) + coefficient * min(es)


def _references(cfg, chain, lig: Ligand, placed: list[ChainResult], workdir: Path) -> tuple[list[dict], dict]:
    """Every reference species of the binding plan, relaxed; their rows and the reference energy per tier."""
    from passivscreen.ligands.binding import binding_plan

    plan = binding_plan(parse_smiles(lig.smiles, lig.name), lig.name, lig.anchor_class, lig.binding)
    per_tier: dict[str, float] = {}
    rows = []
    for k, (smiles, coef) in enumerate(plan.references):
        if smiles == plan.placed:
            runs = placed
        else:
            geoms, q, mult = molecule_conformers(smiles, lig.name, cfg["seed"], cfg["conformers"])
            runs = _relax(cfg, chain, geoms, q, mult, workdir, f"ref{k}")
        best = _lowest(runs)
        _tier_energies(runs, coef, per_tier)
        rows.append(
            {"smiles": smiles, "coefficient": coef, "energy_eV": runs[best].result.energy, "n_conformers": len(runs)}
        )
    return rows, per_tier


def run_ligand(
    cfg: dict[str, Any], name: str, out_json: str | Path, out_xyz: str | Path, workdir: str | Path
) -> dict[str, Any]:
    """Free ligand: every conformer relaxed by each tier in turn, no periodic boundaries for xTB.

    ``energy_eV`` is E(ligand) of E_ads = E(complex) - E(slab) - n E(ligand): the lowest conformer's energy
    (L), E(acid) - E(HBr) (X) or the salt's (ion pair). The structure file holds the placed species'
    conformers, lowest first (an ion pair's as embedded: relaxed alone, its proton may move to Br-).
    """
    set_threads(cfg["threads"])
    entry = ligand_entry(cfg, name)
    chain = screen_tiers(tiers_from_config(cfg))
    record: dict[str, Any] = {"kind": "ligand", "ligand": name, "provenance": provenance(cfg, chain[-1], chain)}
    auto = is_auto(cfg)
    chosen: dict[str, Any] = {}
    try:
        smiles = resolve_smiles(entry)
        lig = entry_ligand(cfg, entry, smiles)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        geoms = [Atoms(lig.atoms.get_chemical_symbols(), positions=p) for p in lig.conformers]
        placed = _relax(cfg, chain, geoms, lig.charge, lig.multiplicity, workdir, "ligand")
        refs, per_tier = _references(cfg, chain, lig, placed, workdir)
        order = sorted(
            range(len(placed)), key=lambda k: (placed[k].result.energy is None, placed[k].result.energy or 0)
        )
        best = placed[order[0]]
        r = best.result
        frames = [geoms[k] if lig.binding == "ion_pair" else placed[k].result.atoms for k in order]
        if auto:
            chosen = placed_cell(cfg, lig, frames)
        rows = [{**row, "energy_eV": per_tier.get(row["name"])} for row in best.rows]
        record["provenance"] = provenance(cfg, best.tier, chain)
        record.update(
            status="ok", reason="", backend=best.tier.backend, tiers=rows, smiles=lig.smiles, input_smiles=smiles,
            anchor=lig.anchor_class, anchor_index=lig.anchor_index, binding=lig.binding,
            cation_index=lig.cation_index, formula=r.atoms.get_chemical_formula(), charge=lig.charge,
            multiplicity=lig.multiplicity, bonds=lig.bonds, energy_eV=per_tier[best.tier.name], references=refs,
            n_conformers=len(placed), conformer_energies_eV=[placed[k].result.energy for k in order],
            **({"input_structure": lig.input_structure} if lig.input_structure else {}),
            n_steps=r.n_steps, n_force_calls=sum(p.result.n_force_calls for p in placed),
            wall_s=sum(p.result.wall_s for p in placed), calc_s=sum(p.result.calc_s for p in placed),
            scf_recoveries=r.scf_recoveries, bonds_changed=ligand_bonds_changed(lig.atoms, r.atoms),
            **chosen,
        )  # fmt: skip
        write_structures(out_xyz, frames)
    except Exception as err:  # noqa: BLE001 - a failure of the science becomes a row; failure() re-raises a bug
        record.update(failure(err, "energy_eV"), smiles=entry.get("smiles"), anchor=entry.get("anchor"))
        if auto:
            record["cell"] = [AUTO_MIN, AUTO_MIN]
        write_structures(out_xyz, Atoms())
    write_record(out_json, record)
    return record
