"""Ligands: SMILES to 3D molecules, anchor groups, the shipped library."""

from passivscreen.ligands.anchors import ANCHOR_SMARTS, BINDING_MODES, anchor_axis, choose_anchor, find_anchors
from passivscreen.ligands.binding import BindingPlan, binding_plan
from passivscreen.ligands.errors import LigandError
from passivscreen.ligands.library import LIGAND_LIBRARY, resolve_smiles
from passivscreen.ligands.molecules import Ligand, canonical_smiles, ligand_from_smiles, parse_smiles, placed_species

__all__ = [
    "ANCHOR_SMARTS",
    "BINDING_MODES",
    "BindingPlan",
    "binding_plan",
    "canonical_smiles",
    "LIGAND_LIBRARY",
    "Ligand",
    "LigandError",
    "anchor_axis",
    "choose_anchor",
    "find_anchors",
    "ligand_from_smiles",
    "parse_smiles",
    "placed_species",
    "resolve_smiles",
]
