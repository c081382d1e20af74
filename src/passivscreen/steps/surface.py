"""The surface a complex is built on, by binding mode: the held slab (L, ion pair) or the slab with the
surface Br that an X-type anion replaces removed; its sites, charge, spin and the ligand's conformers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.io import read

from passivscreen.analysis.energies import adsorption_energy
from passivscreen.calculators import Tier
from passivscreen.calculators.systems import complex_state, state_of
from passivscreen.ligands import Ligand
from passivscreen.ligands.molecules import entry_ligand
from passivscreen.steps.common import Skip, ligand_entry
from passivscreen.structures import build_slab, parse_site, pdos_groups, site_slab
from passivscreen.structures.cells import slab_spec


def tier_energies(rec: dict[str, Any]) -> dict[str, float | None]:
    """Energy of each tier of a slab or ligand record (older records: one tier)."""
    if rec.get("tiers"):
        return {t["name"]: t.get("energy_eV") for t in rec["tiers"]}
    return {rec.get("provenance", {}).get("backend", "final"): rec.get("energy_eV")}


@dataclass
class References:
    """The slab and ligand energies of every tier, for ``n_lig`` ligands."""

    n_lig: int
    slab: dict[str, float | None]
    ligand: dict[str, float | None]

    def total(self, tier: str) -> float | None:
        """E(slab) + n E(ligand) at ``tier`` (None if a reference lacks it)."""
        s, g = self.slab.get(tier), self.ligand.get(tier)
        return None if s is None or g is None else s + self.n_lig * g

    def e_ads(self, e_complex: float | None, tier: str) -> float | None:
        """E_ads of a complex energy at ``tier`` (None if it or a reference is missing)."""
        s, g = self.slab.get(tier), self.ligand.get(tier)
        if e_complex is None or s is None or g is None:
            return None
        return adsorption_energy(e_complex, s, g, self.n_lig)


@dataclass
class Job:
    """What every orientation of one complex shares."""

    cfg: dict[str, Any]
    chain: list[Tier]
    slab: Atoms
    lig: Ligand
    refs: References
    groups: dict[str, list[int]]
    charge: int
    multiplicity: int
    workdir: Path
    sites: dict[str, int]
    targets: dict[str, Any] | None
    frames: list[Any]
    traps_before: dict[str, Any] | None


def read_frames(path: str | Path) -> list[Atoms]:
    """The conformers of a ligand's structure file, lowest first (the adsorption step places the lowest
    ``placement.conformers`` of them that have a start that does not clash,
    :func:`~passivscreen.placement.starts.placed_conformers`)."""
    frames = read(str(path), index=":")
    return list(frames if isinstance(frames, list) else [frames])


def make_job(
    cfg: dict[str, Any],
    chain: list[Tier],
    name: str,
    faces: tuple[str, ...],
    slab_rec: dict[str, Any],
    slab_xyz: str | Path,
    lig_rec: dict[str, Any],
    ligand_xyz: str | Path,
    refs: References,
    workdir: Path,
) -> Job:
    """Everything the orientations of one complex share, for the ligand's binding mode.

    An X-type anion replaces a surface Br- (one per face) of a pristine site: the complex is built on that
    slab (charge +1 per face, made neutral by the anion), while E(slab) stays the pristine slab's (the
    exchange reaction HA + slab -> slab(A) + HBr; :mod:`passivscreen.ligands.binding`).
    """
    entry = ligand_entry(cfg, name)
    smiles = lig_rec.get("input_smiles") or lig_rec["smiles"]
    lig = entry_ligand(cfg, entry, smiles, conformers=1)
    frames = read_frames(ligand_xyz)
    slab = read(slab_xyz)
    slab.pbc = True
    sites = {f: int(i) for f, i in slab_rec["binding_pb"].items()}
    n = len(faces)
    charge, multiplicity = complex_state(state_of(slab_rec), state_of(lig_rec), n)
    groups, targets = dict(slab_rec.get("groups", {})), None
    if lig.binding == "X":
        kind, pb = parse_site(slab_rec["site"])
        if kind != "pristine":
            raise Skip("not_applicable", f"an X-type anion replaces a surface Br: pristine sites only, not {kind}")
        ss = site_slab(build_slab(slab_spec(cfg, slab_rec["site"])), "vBr+", faces, pb)
        kept = [
            i for i in range(len(slab)) if not any(np.allclose(slab.positions[i], v) for v in ss.vacancies.values())
        ]
        if not np.allclose(slab.positions[kept], ss.atoms.positions, atol=1e-6):
            raise Skip("reference_failed", "the rebuilt slab is not the reference slab without its Br")
        slab, sites, targets = ss.atoms, ss.sites, {f: np.asarray(p) for f, p in ss.vacancies.items()}
        charge += ss.charge
        groups = pdos_groups(ss.atoms, faces, ss.sites, ss.vacancies)
    return Job(
        cfg, chain, slab, lig, refs, groups, charge, multiplicity, workdir, sites, targets,
        frames, slab_rec.get("traps"),
    )  # fmt: skip
