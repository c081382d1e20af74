"""Step: the free ligand, built from its SMILES and relaxed by every tier without the slab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ase import Atoms

from passivscreen.analysis.geometry import ligand_bonds_changed
from passivscreen.calculators import screen_tiers, set_threads, tiers_from_config
from passivscreen.calculators.systems import electronic_state, molecule_box
from passivscreen.ligands import ligand_from_smiles, resolve_smiles
from passivscreen.records.files import write_json, write_structures
from passivscreen.records.provenance import provenance
from passivscreen.relaxation.guards import Guards
from passivscreen.relaxation.tiers import run_chain, trajectory_names
from passivscreen.steps.common import failure, ligand_entry


def run_ligand(
    cfg: dict[str, Any], name: str, out_json: str | Path, out_xyz: str | Path, workdir: str | Path
) -> dict[str, Any]:
    """Free ligand: RDKit geometry relaxed by each tier in turn, no periodic boundaries for xTB."""
    set_threads(cfg["threads"])
    entry = ligand_entry(cfg, name)
    chain = screen_tiers(tiers_from_config(cfg))
    record: dict[str, Any] = {"kind": "ligand", "ligand": name, "provenance": provenance(cfg, chain[-1], chain)}
    try:
        smiles = resolve_smiles(entry)
        lig = ligand_from_smiles(name, smiles, entry.get("anchor"), entry.get("anchor_index"), cfg["seed"])
        atoms = lig.atoms.copy()
        atoms.pbc = False
        electronic_state(atoms, lig.charge, 1)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        guards = Guards(max_force=cfg["hold"]["max_force"])
        run = run_chain(
            atoms,
            chain,
            "ligand_steps",
            prepare=molecule_box,
            guards=lambda tier: guards,
            trajectory=trajectory_names(workdir, "ligand", chain),
        )
        r = run.result
        record["tiers"] = run.rows
        record["provenance"] = provenance(cfg, run.tier, chain)
        record.update(
            status="ok" if r.ok else r.status,
            reason=r.reason,
            backend=run.tier.backend,
            smiles=smiles,
            anchor=lig.anchor_class,
            anchor_index=lig.anchor_index,
            formula=r.atoms.get_chemical_formula(),
            charge=lig.charge,
            bonds=lig.bonds,
            energy_eV=r.energy,
            n_steps=r.n_steps,
            n_force_calls=r.n_force_calls,
            wall_s=r.wall_s,
            calc_s=r.calc_s,
            scf_recoveries=r.scf_recoveries,
            bonds_changed=ligand_bonds_changed(lig.atoms, r.atoms),
        )
        write_structures(out_xyz, r.atoms)
    except Exception as err:  # noqa: BLE001 - recorded, not raised
        record.update(failure(err, "energy_eV"), smiles=entry.get("smiles"), anchor=entry.get("anchor"))
        write_structures(out_xyz, Atoms())
    write_json(out_json, record)
    return record
