"""Ligands in 3D: SMILES parsed and embedded with RDKit (ETKDG + MMFF94), with their anchor."""

from __future__ import annotations

from dataclasses import dataclass, field

from ase import Atoms

from passivscreen.ligands.anchors import choose_anchor
from passivscreen.ligands.errors import LigandError
from passivscreen.schema import top_level_default


@dataclass
class Ligand:
    """A ligand in 3D with its anchor.

    Attributes
    ----------
    name, smiles
        Identity of the ligand.
    anchor_class
        Key of :data:`ANCHOR_SMARTS`.
    anchor_index
        Index of the anchor atom in ``atoms``.
    atoms
        3D structure (RDKit ETKDG + MMFF), hydrogens included.
    charge
        Net formal charge of the molecule.
    """

    name: str
    smiles: str
    anchor_class: str
    anchor_index: int
    atoms: Atoms
    charge: int = 0
    bonds: list[tuple[int, int]] = field(default_factory=list)


def parse_smiles(smiles: str, name: str = "ligand"):
    """Parse a SMILES string with RDKit or raise :class:`LigandError`."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles.strip() else None
    if mol is None:
        raise LigandError(f"ligand '{name}': RDKit cannot parse SMILES {smiles!r}")
    return mol


def ligand_from_smiles(
    name: str,
    smiles: str,
    anchor: str | None = None,
    anchor_index: int | None = None,
    seed: int | None = None,
) -> Ligand:
    """Build a 3D ligand from SMILES: RDKit ETKDG embedding and MMFF94 cleanup.

    ``seed`` seeds the embedding (default: the config schema's ``seed``).
    """
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = parse_smiles(smiles, name)
    cls, idx = choose_anchor(mol, name, anchor, anchor_index)
    molh = Chem.AddHs(mol)  # heavy atoms keep their indices
    params = AllChem.ETKDGv3()
    params.randomSeed = int(top_level_default("seed") if seed is None else seed)
    if AllChem.EmbedMolecule(molh, params) != 0:
        raise LigandError(f"ligand '{name}': RDKit could not embed {smiles!r} in 3D")
    if AllChem.MMFFHasAllMoleculeParams(molh):
        AllChem.MMFFOptimizeMolecule(molh, maxIters=2000)
    else:
        AllChem.UFFOptimizeMolecule(molh, maxIters=2000)
    pos = molh.GetConformer().GetPositions()
    atoms = Atoms([a.GetSymbol() for a in molh.GetAtoms()], positions=pos)
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in molh.GetBonds()]
    return Ligand(name, smiles, cls, idx, atoms, Chem.GetFormalCharge(molh), bonds)
