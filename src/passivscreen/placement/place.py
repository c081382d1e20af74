"""Placement of a ligand's anchor on top of a surface Pb."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from ase.geometry import get_distances

from passivscreen.ligands.anchors import anchor_axis
from passivscreen.ligands.molecules import Ligand

#: Initial anchor-Pb distance (A) by anchor element.
INITIAL_DISTANCE: dict[str, float] = {"O": 2.5, "N": 2.65, "S": 3.0}


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


def _rotation_to(v: np.ndarray, target: np.ndarray) -> np.ndarray:
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


def _rot_z(deg: float) -> np.ndarray:
    t = np.radians(deg)
    return np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])


def contact_ratio(complex_atoms: Atoms, n_slab: int, exclude: tuple[int, int] | None = None) -> float:
    """Smallest distance / covalent-radius sum between the ligand and the slab or ligand images.

    Minimum-image distances, so the ligand's own periodic images count as
    contacts too (pairs within one image of the ligand do not).
    """
    lig = np.arange(n_slab, len(complex_atoms))
    pos = complex_atoms.positions
    num = complex_atoms.numbers
    r = covalent_radii
    _, d = get_distances(pos[lig], pos[:n_slab], cell=complex_atoms.cell, pbc=complex_atoms.pbc)
    ratio = d / (r[num[lig]][:, None] + r[num[:n_slab]][None, :])
    if exclude is not None:
        ratio[exclude[0] - n_slab, exclude[1]] = np.inf
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


def place_ligand(
    slab: Atoms,
    ligand: Ligand,
    site: int,
    rotation_deg: float = 0.0,
    face: str = "top",
    distance: float | None = None,
    target: np.ndarray | None = None,
) -> Placement:
    """Put ``ligand``'s anchor on top of Pb ``site``, free valence along the normal.

    The anchor sits at ``distance`` (A) from the Pb (or from ``target``, e.g. a removed Br's
    position for an X-type anion) along the outward surface normal (+z on the top face, -z on the
    bottom face), the anchor's free-valence axis points at the surface, and the molecule is turned
    by ``rotation_deg`` about the normal.
    """
    lig = ligand.atoms.copy()
    anchor = ligand.anchor_index
    normal = np.array([0.0, 0.0, 1.0 if face == "top" else -1.0])
    if distance is None:
        distance = INITIAL_DISTANCE.get(lig[anchor].symbol, 2.6)
    axis = anchor_axis(lig, anchor, ligand.bonds)
    rot = _rot_z(rotation_deg) @ _rotation_to(axis, -normal)
    pos = (lig.positions - lig.positions[anchor]) @ rot.T
    origin = slab.positions[site] if target is None else np.asarray(target, dtype=float)
    pos += origin + distance * normal
    lig.positions = pos
    complex_atoms = slab.copy()
    complex_atoms += lig
    n_slab = len(slab)
    ratio = contact_ratio(complex_atoms, n_slab, exclude=(n_slab + anchor, site))
    return Placement(complex_atoms, rotation_deg, n_slab, n_slab + anchor, site, face, ratio)


@dataclass
class Complex:
    """One copy of a ligand placed on each of ``faces``, all at the same rotation.

    Attributes
    ----------
    atoms
        The complex (slab atoms first, then one ligand per face, in ``faces`` order).
    rotation_deg
        Rotation about the surface normal.
    n_slab, n_lig
        Number of slab atoms and of atoms per ligand.
    anchors, sites
        Index of each ligand's anchor and of the surface Pb below it, in ``atoms``.
    faces
        The faces, in ligand order.
    min_contact_ratio
        Smallest contact ratio over the ligands (see :class:`Placement`).
    """

    atoms: Atoms
    rotation_deg: float
    n_slab: int
    n_lig: int
    anchors: list[int]
    sites: list[int]
    faces: tuple[str, ...]
    min_contact_ratio: float
    conformer: int = 0


def orientations(
    slab: Atoms,
    ligand: Ligand,
    sites: int | Mapping[str, int],
    n_rotations: int = 4,
    face: str = "top",
    min_contact_ratio: float = 0.75,
    span_deg: float = 360.0,
    targets: Mapping[str, np.ndarray] | None = None,
    conformer: int = 0,
) -> tuple[list[Complex], list[Complex]]:
    """``n_rotations`` rotations about the normal spread over ``span_deg``.

    ``sites`` is the surface Pb on ``face``, or a mapping face -> surface Pb for one ligand
    on each face (bilateral: ``{"top": i, "bottom": j}``), every face at the same rotation.
    ``span_deg`` is 360 divided by the order of the site's rotation axis (see
    :func:`passivscreen.structures.site_rotation_order`): rotations beyond it
    repeat symmetry-equivalent configurations. The ligand's binding mode picks the placer: ``L`` on
    the Pb, ``X`` at ``targets[face]`` (the removed Br's position), ``ion_pair`` in the A-site pocket
    (:func:`passivscreen.placement.modes.place_ion_pair`). Returns (accepted, rejected for clashes).
    """
    from passivscreen.placement.modes import place

    on = dict(sites) if isinstance(sites, Mapping) else {face: int(sites)}
    ok: list[Complex] = []
    clash: list[Complex] = []
    for k in range(n_rotations):
        rot = span_deg * k / n_rotations
        atoms, anchors, ratio = slab, [], np.inf
        for f, site in on.items():
            p = place(atoms, ligand, site, rot, f, None if targets is None else targets.get(f))
            anchors.append(p.anchor)
            ratio = min(ratio, p.min_contact_ratio)
            atoms = p.atoms
        c = Complex(atoms, rot, len(slab), len(ligand.atoms), anchors, list(on.values()), tuple(on), ratio, conformer)
        (ok if ratio >= min_contact_ratio else clash).append(c)
    return ok, clash
