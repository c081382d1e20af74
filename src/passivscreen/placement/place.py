"""Placement of a ligand's anchor on top of a surface Pb."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from ase.geometry import get_distances

from passivscreen.ligands.anchors import anchor_axis
from passivscreen.ligands.molecules import Ligand

#: Initial anchor-Pb distance (A) by anchor element.
INITIAL_DISTANCE: dict[str, float] = {"O": 2.5, "N": 2.65, "S": 3.0, "P": 3.0}


def initial_distance(element: str) -> float:
    """The initial anchor-Pb distance (A) of an anchor ``element`` (2.6 A for an element not listed)."""
    return INITIAL_DISTANCE.get(element, 2.6)


@dataclass
class Placement:
    """A ligand placed on the slab.

    Attributes
    ----------
    atoms
        The complex (slab atoms first, then the ligand).
    rotation_deg
        Rotation about the surface normal.
    n_slab
        Number of slab atoms (ligand atoms follow).
    anchor
        Index of the anchor atom in ``atoms``.
    site
        Index of the surface Pb in ``atoms``.
    min_contact_ratio
        Smallest distance / (sum of covalent radii) between ligand and slab
        (or the ligand's periodic images), the anchor-Pb pair excluded.
    """

    atoms: Atoms
    rotation_deg: float
    n_slab: int
    anchor: int
    site: int
    face: str
    min_contact_ratio: float


def rotation_to(v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation matrix that turns unit vector ``v`` onto unit vector ``target``."""
    v = v / np.linalg.norm(v)
    target = target / np.linalg.norm(target)
    c = float(np.dot(v, target))
    if c > 1 - 1e-10:
        return np.eye(3)
    if c < -1 + 1e-10:
        perp = np.cross(v, [1.0, 0, 0])
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(v, [0, 1.0, 0])
        perp /= np.linalg.norm(perp)
        return 2 * np.outer(perp, perp) - np.eye(3)
    k = np.cross(v, target)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + kx + kx @ kx / (1 + c)


def rot_z(deg: float) -> np.ndarray:
    """Rotation matrix about z by ``deg`` degrees."""
    t = np.radians(deg)
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])


def contact_ratio(
    complex_atoms: Atoms, n_slab: int, exclude: tuple[int, int] | list[tuple[int, int]] | None = None
) -> float:
    """Smallest distance / covalent-radius sum between the ligand and the slab or ligand images.

    Minimum-image distances, so the ligand's own periodic images count as
    contacts too (pairs within one image of the ligand do not). ``exclude``: the (ligand atom, slab atom)
    pair(s) that bind (an anchor and its Pb; two for a bidentate ligand).
    """
    lig = np.arange(n_slab, len(complex_atoms))
    pos = complex_atoms.positions
    num = complex_atoms.numbers
    r = covalent_radii
    _, d = get_distances(pos[lig], pos[:n_slab], cell=complex_atoms.cell, pbc=complex_atoms.pbc)
    ratio = d / (r[num[lig]][:, None] + r[num[:n_slab]][None, :])
    for a, b in [exclude] if isinstance(exclude, tuple) else exclude or []:
        ratio[a - n_slab, b] = np.inf
    best = float(ratio.min()) if ratio.size else np.inf
    # ligand vs its periodic images
    cell = complex_atoms.cell
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            if i == j == 0 or not complex_atoms.pbc[:2].all():
                continue
            shift = i * cell[0] + j * cell[1]
            dd = np.linalg.norm(pos[lig][:, None, :] - (pos[lig] + shift)[None, :, :], axis=2)
            rr = dd / (r[num[lig]][:, None] + r[num[lig]][None, :])
            best = min(best, float(rr.min()))
    return best


def rot_x(deg: float) -> np.ndarray:
    """Rotation matrix about x by ``deg`` degrees."""
    t = np.radians(deg)
    return np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])


def oriented(
    ligand: Ligand, rotation_deg: float = 0.0, face: str = "top", tilt_deg: float = 0.0, roll_deg: float = 0.0
) -> np.ndarray:
    """The ligand's positions relative to its anchor, free-valence axis pointing at ``face``'s surface, turned by
    ``roll_deg`` about that axis, tilted by ``tilt_deg`` away from the normal (about the anchor), turned by
    ``rotation_deg`` about the normal (what :func:`place_ligand` puts on the Pb). The roll is the molecule's own
    turn about its anchor axis: upright, a rotation about the normal does the same; tilted, it decides which
    side of the molecule faces the surface (:func:`polar_roll`)."""
    normal = np.array([0.0, 0.0, 1.0 if face == "top" else -1.0])
    axis = anchor_axis(ligand.atoms, ligand.anchor_index, ligand.bonds)
    rot = rot_z(rotation_deg) @ rot_x(tilt_deg) @ rot_z(roll_deg) @ rotation_to(axis, -normal)
    return (ligand.atoms.positions - ligand.atoms.positions[ligand.anchor_index]) @ rot.T


#: Rolls tried by :func:`polar_roll` (degrees about the anchor axis).
ROLL_STEP_DEG = 15.0
#: A polar-H roll is a start of its own only when it brings that H this much (A) closer to the surface than the
#: embedded roll does; closer than that, the embedded roll already points it at the surface.
POLAR_ROLL_GAIN_A = 0.5


def polar_hydrogens(ligand: Ligand) -> list[int]:
    """The ligand's hydrogens bonded to N, O or S other than its anchor (O-H, N-H, S-H: the donors of a hydrogen
    bond to a surface Br). An H on the anchor itself (a thiol's S-H, an amine's N-H) is left out: turned to the
    surface it sits between the anchor and its Pb (methanethiol's rolled starts probed to -0.16 eV against
    -0.53 eV at the embedded roll, stop 32)."""
    sym = ligand.atoms.get_chemical_symbols()
    out = []
    for a, b in ligand.bonds:
        for h, x in ((a, b), (b, a)):
            if sym[h] == "H" and sym[x] in ("N", "O", "S") and x != ligand.anchor_index:
                out.append(h)
    return sorted(set(out))


def polar_roll(ligand: Ligand, tilt_deg: float, face: str = "top") -> float | None:
    """The roll (:func:`oriented`) that brings the ligand's polar hydrogens (:func:`polar_hydrogens`) nearest the
    surface when it leans ``tilt_deg`` from the normal, or None: upright (the rotations about the normal cover
    the roll), no polar H, or the embedded roll within :data:`POLAR_ROLL_GAIN_A` of it.

    Acetic acid on the 2x2 slab (stop 32): its tilted starts at the embedded roll, which points its O-H away
    from the surface, relax to -0.57 eV at best (16 starts: 4 rotations, 2 heights, 2 tilts, each relaxed to
    convergence, give -0.73 eV from one of them only, after 68 steps); the start rolled so that the O-H points
    at the surface relaxes to -0.72 eV, C=O on the Pb and H ... Br 2.4 A (the reference minimum: 2.6 A).
    """
    polar = polar_hydrogens(ligand)
    if not polar or abs(tilt_deg) < 1e-9:
        return None
    normal = np.array([0.0, 0.0, 1.0 if face == "top" else -1.0])

    def height(roll: float) -> float:  # of the lowest polar H above the anchor, along the outward normal
        return float((oriented(ligand, 0.0, face, tilt_deg, roll)[polar] @ normal).min())

    rolls = np.arange(0.0, 360.0, ROLL_STEP_DEG)
    heights = [height(float(r)) for r in rolls]
    best = int(np.argmin(heights))
    if heights[0] - heights[best] < POLAR_ROLL_GAIN_A:
        return None
    return float(rolls[best])


def place_ligand(
    slab: Atoms,
    ligand: Ligand,
    site: int,
    rotation_deg: float = 0.0,
    face: str = "top",
    distance: float | None = None,
    target: np.ndarray | None = None,
    tilt_deg: float = 0.0,
    roll_deg: float = 0.0,
) -> Placement:
    """Put ``ligand``'s anchor on top of Pb ``site``, free valence along the normal.

    The anchor sits at ``distance`` (A) from the Pb (or from ``target``, e.g. a removed Br's
    position for an X-type anion) along the outward surface normal (+z on the top face, -z on the
    bottom face), the anchor's free-valence axis points at the surface, and the molecule is turned
    by ``rotation_deg`` about the normal; ``tilt_deg`` leans the molecule that far from the normal about its
    anchor (a ligand that binds lying down: methanethiol's deepest minimum has its C-S bond 69 deg from it),
    ``roll_deg`` turns it about its own anchor axis first (:func:`oriented`).
    """
    lig = ligand.atoms.copy()
    anchor = ligand.anchor_index
    normal = np.array([0.0, 0.0, 1.0 if face == "top" else -1.0])
    if distance is None:
        distance = initial_distance(lig[anchor].symbol)
    pos = oriented(ligand, rotation_deg, face, tilt_deg, roll_deg)
    origin = slab.positions[site] if target is None else np.asarray(target, dtype=float)
    pos += origin + distance * normal
    lig.positions = pos
    complex_atoms = slab.copy()
    complex_atoms += lig
    n_slab = len(slab)
    ratio = contact_ratio(complex_atoms, n_slab, exclude=(n_slab + anchor, site))
    return Placement(complex_atoms, rotation_deg, n_slab, n_slab + anchor, site, face, ratio)
