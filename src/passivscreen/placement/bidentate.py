"""Bidentate placement: a ligand with two anchors of its class (DPEPO's two P=O) on two neighbouring surface Pb.

Where one molecule's two anchor atoms are about as far apart as two neighbouring surface Pb (the lattice
constant, 5.87 A on CsPbBr3 (001)), it can bind to both. The placement lays the anchor-anchor vector along the
Pb-Pb vector, both anchors at the binding mode's initial height above the Pb plane (centred over the pair:
an anchor pair shorter or longer than the Pb pair starts slightly inside or outside its Pb), and turns the
molecule about that vector to the roll with the fewest close contacts with the slab and the ligand's images (the
largest contact ratio; ties: the highest lowest atom).
The search relaxes these starts beside the monodentate ones and keeps the lower minimum; the record's
``denticity`` counts the anchors bound at the end (:mod:`passivscreen.steps.properties`).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from passivscreen.ligands.molecules import Ligand
from passivscreen.placement.place import Placement, contact_ratio, initial_distance, rotation_to

#: Largest difference (A) between the anchor-anchor and the Pb-Pb distance for a bidentate start.
BIDENTATE_TOLERANCE = 1.5

#: Rotations (degrees) about the anchor-anchor axis tried to point the molecule away from the surface.
ROLL_STEP = 10.0


def neighbour_vectors(slab: Atoms, site: int) -> list[tuple[int, np.ndarray]]:
    """The nearest surface Pb of ``site``'s face (same tag) and the minimum-image vector to each, both senses
    (on a 2x2 cell the Pb at +a and at -a is one atom)."""
    tags = slab.get_tags()
    sym = slab.get_chemical_symbols()
    pb = [i for i in range(len(slab)) if sym[i] == "Pb" and i != site and tags[i] == tags[site]]
    if not pb:
        return []
    d, dist = find_mic(slab.positions[pb] - slab.positions[site], slab.cell, slab.pbc)
    out: list[tuple[int, np.ndarray]] = []
    for k in np.flatnonzero(dist < dist.min() + 0.3):
        for v in (d[k], -d[k]):
            if not any(np.allclose(v, w, atol=1e-3) for _, w in out):
                out.append((pb[k], v))
    return out


def partner_anchors(ligand: Ligand, positions: np.ndarray, pb_distance: float) -> list[int]:
    """The ligand's other anchors of its class whose distance from the anchor is within
    :data:`BIDENTATE_TOLERANCE` of ``pb_distance`` in this conformer (L-type ligands only)."""
    if ligand.binding != "L":
        return []
    a = positions[ligand.anchor_index]
    return [
        b
        for b in ligand.other_anchors
        if abs(float(np.linalg.norm(positions[b] - a)) - pb_distance) <= BIDENTATE_TOLERANCE
    ]


def place_bidentate(
    slab: Atoms,
    ligand: Ligand,
    site: int,
    vector: np.ndarray,
    partner: int,
    second: int,
    face: str = "top",
    height_offset: float = 0.0,
) -> Placement:
    """Put the ligand's anchor over Pb ``site`` and its anchor ``second`` over the Pb at ``site + vector``
    (index ``partner``), the rest of the molecule turned away from the surface (see the module docstring)."""
    normal = np.array([0.0, 0.0, 1.0 if face == "top" else -1.0])
    a = ligand.anchor_index
    pos = ligand.atoms.positions - ligand.atoms.positions[a]
    u = vector / np.linalg.norm(vector)
    pos = pos @ rotation_to(pos[second], u).T
    height = initial_distance(ligand.atoms[a].symbol) + height_offset
    mid = slab.positions[site] + 0.5 * vector + height * normal
    body = [i for i in range(len(pos)) if i not in (a, second)]
    n = len(slab)
    k = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    best: tuple[float, float, Atoms] | None = None
    for roll in np.radians(np.arange(0.0, 360.0, ROLL_STEP)):
        turned = pos @ (np.eye(3) + np.sin(roll) * k + (1 - np.cos(roll)) * k @ k).T
        lig = ligand.atoms.copy()
        lig.positions = turned - 0.5 * (turned[a] + turned[second]) + mid
        atoms = slab.copy()
        atoms += lig
        ratio = contact_ratio(atoms, n, exclude=[(n + a, site), (n + second, partner)])
        low = float(np.min(lig.positions[body] @ normal)) if body else 0.0
        if best is None or (round(ratio, 3), low) > (round(best[0], 3), best[1]):
            best = (ratio, low, atoms)
    ratio, _, atoms = best
    rotation = float(np.degrees(np.arctan2(vector[1], vector[0])) % 360.0)
    return Placement(atoms, rotation, n, n + a, site, face, ratio)
