"""Ligands: SMILES to 3D molecules, anchor groups, the shipped library."""

from passivscreen.ligands.anchors import ANCHOR_SMARTS, anchor_axis, choose_anchor, find_anchors
from passivscreen.ligands.errors import LigandError
from passivscreen.ligands.library import LIGAND_LIBRARY, resolve_smiles
from passivscreen.ligands.molecules import Ligand, ligand_from_smiles, parse_smiles

__all__ = [
    "ANCHOR_SMARTS",
    "LIGAND_LIBRARY",
    "Ligand",
    "LigandError",
    "anchor_axis",
    "choose_anchor",
    "find_anchors",
    "ligand_from_smiles",
    "parse_smiles",
    "resolve_smiles",
]
