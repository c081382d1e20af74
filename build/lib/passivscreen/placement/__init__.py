"""Placement: a ligand's anchor on a surface Pb (:mod:`.place`), placers by binding mode (:mod:`.modes`),
rotations about the normal with clash checks (:mod:`.orientations`)."""

from passivscreen.placement.orientations import Complex, orientations
from passivscreen.placement.place import INITIAL_DISTANCE, Placement, contact_ratio, place_ligand

__all__ = ["INITIAL_DISTANCE", "Complex", "Placement", "contact_ratio", "orientations", "place_ligand"]
