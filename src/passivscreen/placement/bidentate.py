"""Bidentate placement: a ligand with two anchors of its class (DPEPO's two P=O) on two neighbouring surface Pb.

Where one molecule's two anchor atoms are about as far apart as two neighbouring surface Pb (the lattice
constant, 5.87 A on CsPbBr3 (001), along an edge of the square lattice, over the bridging Br; 8.30 A along its
diagonal, over an A-site pocket), it can bind to both. Two kinds of placement are made and the one with the
fewest close contacts with the slab and the ligand's images (the largest contact ratio; ties: the highest lowest
atom) is kept: the rigid fit of both anchors onto their places (the binding mode's initial height above each
Pb) and of both anchors' free-valence axes onto the surface normal; and the anchor-anchor vector laid along the
Pb-Pb vector, centred over the pair, turned about it in 10-degree steps.
A bidentate start is kept only when the rest of the molecule clears the surface (:func:`clearance`, at least
:data:`BIDENTATE_CLEARANCE`): a rigid conformer whose two anchors do not point the same way is pressed into the
surface by the fit. The search relaxes these starts beside the monodentate ones and keeps the lower minimum; the
record's ``denticity`` counts the anchors bound at the end (:mod:`passivscreen.steps.properties`).
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from passivscreen.ligands.anchors import anchor_axis
from passivscreen.ligands.molecules import Ligand
from passivscreen.placement.place import Placement, contact_ratio, initial_distance, rotation_to

#: Largest difference (A) between the anchor-anchor and the Pb-Pb distance for a bidentate start.
BIDENTATE_TOLERANCE = 1.5

#: Smallest height (A) of a bidentate start's lowest atom other than its two anchors above the plane of the Pb it
#: binds: nothing of the molecule inside the surface layer. DPEPO's two lowest conformers (P=O axes 63 degrees
#: apart) fit onto two Pb only with a phenyl ring 0.7 A below that plane, among the surface Br (9 ligand-slab
#: pairs closer than 2.2 A, H-Br 1.49 A, Pb-H 1.79 A, while their contact ratio, 0.97, passes
#: ``placement.min_contact_ratio``); GFN2-xTB's SCF failed on both through every rung of the recovery ladder,
#: 1,800-2,400 s each. Its fourth conformer, axes nearer parallel, fits with the lowest atom 1.66 A above the
#: plane, no pair closer than 2.2 A, and its SCF converges (docs/benchmarks.md, stop 46).
BIDENTATE_CLEARANCE = 0.0

#: Rotations (degrees) about the anchor-anchor axis tried to point the molecule away from the surface.
ROLL_STEP = 10.0


#: Neighbouring Pb: up to this many times the nearest Pb-Pb distance (1.5: the edge, a, and the diagonal of the
#: square, a sqrt(2), over an A-site pocket instead of a bridging Br).
NEIGHBOUR_SHELL = 1.5


def neighbour_vectors(slab: Atoms, site: int) -> list[tuple[int, np.ndarray]]:
    """The neighbouring surface Pb of ``site``'s face (same tag; along the edge and the diagonal of the square
    lattice, :data:`NEIGHBOUR_SHELL`), each with the vector to it, one per periodic image (on a 2x2 cell the Pb
    at +a and at -a is one atom, the four diagonal ones too)."""
    tags = slab.get_tags()
    sym = slab.get_chemical_symbols()
    pb = [i for i in range(len(slab)) if sym[i] == "Pb" and i != site and tags[i] == tags[site]]
    cell = slab.cell.array
    found: list[tuple[int, np.ndarray]] = []
    for i in pb:
        for x in (-1, 0, 1):
            for y in (-1, 0, 1):
                found.append((i, slab.positions[i] + x * cell[0] + y * cell[1] - slab.positions[site]))
    if not found:
        return []
    nearest = min(float(np.linalg.norm(v)) for _, v in found)
    return [(i, v) for i, v in found if float(np.linalg.norm(v)) < nearest * NEIGHBOUR_SHELL]


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


def clearance(atoms: Atoms, site: int, body: list[int], face: str = "top") -> float:
    """Height (A) of the lowest of ``body`` (a placed ligand's atoms other than its anchors, indices in
    ``atoms``) above the Pb ``site``, along ``face``'s outward normal (negative: below the Pb's plane)."""
    sign = 1.0 if face == "top" else -1.0
    return float(np.min(sign * (atoms.positions[body, 2] - atoms.positions[site, 2])))


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
    height = initial_distance(ligand.atoms[a].symbol) + height_offset
    targets = slab.positions[site] + height * normal, slab.positions[site] + vector + height * normal
    n = len(slab)
    best: tuple[float, float, Atoms] | None = None
    for pos in _aligned(ligand, second, targets, normal):
        lig = ligand.atoms.copy()
        lig.positions = pos
        atoms = slab.copy()
        atoms += lig
        ratio = contact_ratio(atoms, n, exclude=[(n + a, site), (n + second, partner)])
        body = [i for i in range(len(pos)) if i not in (a, second)]
        low = float(np.min(pos[body] @ normal)) if body else 0.0
        if best is None or (round(ratio, 3), low) > (round(best[0], 3), best[1]):
            best = (ratio, low, atoms)
    ratio, _, atoms = best
    rotation = float(np.degrees(np.arctan2(vector[1], vector[0])) % 360.0)
    return Placement(atoms, rotation, n, n + a, site, face, ratio)


def _aligned(
    ligand: Ligand, second: int, targets: tuple[np.ndarray, np.ndarray], normal: np.ndarray
) -> list[np.ndarray]:
    """Candidate positions of the ligand with its two anchors over their Pb: (1) the rigid fit (scipy's
    ``Rotation.align_vectors``) of both anchors onto their targets and of both free-valence axes onto the
    surface normal (each anchor's lone pair towards its Pb); (2) the anchor-anchor vector along the Pb-Pb vector,
    turned about it in :data:`ROLL_STEP` steps. The caller keeps the one with the fewest contacts."""
    from scipy.spatial.transform import Rotation

    a = ligand.anchor_index
    pos = ligand.atoms.positions
    axes = [anchor_axis(ligand.atoms, i, ligand.bonds) for i in (a, second)]
    src = np.array([pos[a], pos[second], pos[a] - axes[0], pos[second] - axes[1]])
    dst = np.array([targets[0], targets[1], targets[0] + normal, targets[1] + normal])
    rot, _ = Rotation.align_vectors(dst - dst.mean(0), src - src.mean(0), weights=[2.0, 2.0, 1.0, 1.0])
    fitted = rot.apply(pos - src.mean(0)) + dst.mean(0)
    out = [fitted - 0.5 * (fitted[a] + fitted[second]) + 0.5 * (targets[0] + targets[1])]
    u = targets[1] - targets[0]
    u /= np.linalg.norm(u)
    along = (pos - pos[a]) @ rotation_to(pos[second] - pos[a], u).T
    k = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    for roll in np.radians(np.arange(0.0, 360.0, ROLL_STEP)):
        turned = along @ (np.eye(3) + np.sin(roll) * k + (1 - np.cos(roll)) * k @ k).T
        out.append(turned - 0.5 * (turned[a] + turned[second]) + 0.5 * (targets[0] + targets[1]))
    return out
