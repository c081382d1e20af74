"""Placement: a ligand's anchor on a surface Pb, rotations about the normal, clash checks."""

from passivscreen.placement.place import (
    INITIAL_DISTANCE,
    Complex,
    Placement,
    contact_ratio,
    orientations,
    place_ligand,
)

__all__ = ["INITIAL_DISTANCE", "Complex", "Placement", "contact_ratio", "orientations", "place_ligand"]
