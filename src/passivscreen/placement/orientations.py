"""Orientations: one ligand per face at the same rotation about the surface normal, placed by binding mode
(:mod:`.modes`), with the placements that clash set apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from passivscreen.ligands.molecules import Ligand
from passivscreen.placement.bidentate import (
    BIDENTATE_CLEARANCE,
    clearance,
    neighbour_vectors,
    partner_anchors,
    place_bidentate,
)
from passivscreen.placement.modes import place
from passivscreen.placement.place import polar_roll


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
    denticity, extra_anchors
        A bidentate start (2): the index of each ligand's second anchor, placed on a neighbouring Pb.
    faces
        The faces, in ligand order.
    min_contact_ratio
        Smallest contact ratio over the ligands (see :class:`Placement`).
    conformer, height_offset, tilt_deg
        The start's conformer, starting height (A beyond the mode's) and tilt from the normal.
    roll_deg
        0: the ligand turned about its anchor axis as embedded; else the polar-H roll of the first face
        (:func:`~passivscreen.placement.place.polar_roll`; each face gets its own).
    clearance_A
        A bidentate start: the lowest height of a ligand's atoms other than its anchors above the plane of its
        Pb, over the faces (:func:`~passivscreen.placement.bidentate.clearance`); None for other starts.
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
    height_offset: float = 0.0
    tilt_deg: float = 0.0
    denticity: int = 1
    extra_anchors: list[int] = field(default_factory=list)
    roll_deg: float = 0.0
    clearance_A: float | None = None

    @property
    def clear(self) -> bool:
        """Whether a bidentate start's molecule clears the surface (:data:`BIDENTATE_CLEARANCE`); True for
        other starts, whose clashes the contact ratio alone decides."""
        return self.clearance_A is None or self.clearance_A >= BIDENTATE_CLEARANCE


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
    height_offsets: Sequence[float] = (0.0,),
    tilts: Sequence[float] = (0.0,),
    polar_h: bool = False,
) -> tuple[list[Complex], list[Complex]]:
    """``n_rotations`` rotations about the normal spread over ``span_deg``.

    ``sites`` is the surface Pb on ``face``, or a mapping face -> surface Pb for one ligand
    on each face (bilateral: ``{"top": i, "bottom": j}``), every face at the same rotation.
    ``span_deg`` is 360 divided by the order of the site's rotation axis (see
    :func:`passivscreen.structures.site_rotation_order`): rotations beyond it
    repeat symmetry-equivalent configurations. The ligand's binding mode picks the placer: ``L`` on
    the Pb, ``X`` at ``targets[face]`` (the removed Br's position), ``ion_pair`` in the A-site pocket
    (:func:`passivscreen.placement.modes.place_ion_pair`). Each rotation is placed at every starting height
    of ``height_offsets`` (A added to the binding mode's initial height: a start too far out can stop in a
    shallow minimum), and tilted by each of ``tilts`` (degrees from the normal; an ion pair only upright).
    ``polar_h``: each tilted start is placed a second time rolled about its anchor axis so that its O-H, N-H or
    S-H points at the surface (:func:`~passivscreen.placement.place.polar_roll`), where that roll differs from
    the embedded one. A bidentate start is accepted only when its molecule also clears the surface
    (:attr:`Complex.clear`). Returns (accepted, rejected for clashes).
    """
    on = dict(sites) if isinstance(sites, Mapping) else {face: int(sites)}
    ok: list[Complex] = []
    clash: list[Complex] = []
    tilted = tilts if ligand.binding != "ion_pair" else (0.0,)
    # per tilt, the rolls placed: the embedded one, and the polar-H roll of each face where there is one
    rolls: dict[float, list[dict[str, float]]] = {}
    for tilt in tilted:
        rolls[float(tilt)] = [{f: 0.0 for f in on}]
        polar = {f: polar_roll(ligand, float(tilt), f) for f in on} if polar_h else {}
        if polar and all(r is not None for r in polar.values()):
            rolls[float(tilt)].append({f: float(r) for f, r in polar.items()})
    for k in range(n_rotations):
        rot = span_deg * k / n_rotations
        for dh in height_offsets:
            for tilt in tilted:
                for roll in rolls[float(tilt)]:
                    atoms, anchors, ratio = slab, [], np.inf
                    for f, site in on.items():
                        target = None if targets is None else targets.get(f)
                        p = place(atoms, ligand, site, rot, f, target, float(dh), float(tilt), roll[f])
                        anchors.append(p.anchor)
                        ratio = min(ratio, p.min_contact_ratio)
                        atoms = p.atoms
                    c = Complex(
                        atoms,
                        rot,
                        len(slab),
                        len(ligand.atoms),
                        anchors,
                        list(on.values()),
                        tuple(on),
                        ratio,
                        conformer,
                        dh,
                        float(tilt),
                        roll_deg=roll[next(iter(on))],
                    )
                    (ok if ratio >= min_contact_ratio else clash).append(c)
    for c in bidentate_starts(slab, ligand, on, span_deg, conformer, height_offsets):
        (ok if c.min_contact_ratio >= min_contact_ratio and c.clear else clash).append(c)
    return ok, clash


def bidentate_starts(
    slab: Atoms,
    ligand: Ligand,
    on: Mapping[str, int],
    span_deg: float,
    conformer: int = 0,
    height_offsets: Sequence[float] = (0.0,),
) -> list[Complex]:
    """The bidentate starts of a ligand with a second anchor of its class (:mod:`.bidentate`): on every face of
    ``on``, the anchor on the face's Pb and the second anchor on a neighbouring Pb (edge or diagonal), for each
    neighbour direction within the site's symmetry-distinct span (measured on the first face), each second anchor
    whose distance from the anchor fits that Pb's, each starting height. None for a ligand without one, or whose
    conformer does not fit."""
    faces = list(on)
    first = neighbour_vectors(slab, on[faces[0]]) if ligand.other_anchors else []
    out = []
    for _partner, vec in first:
        angle = float(np.degrees(np.arctan2(vec[1], vec[0])) % 360.0)
        if angle >= span_deg - 1e-6:
            continue
        for second in partner_anchors(ligand, ligand.atoms.positions, float(np.linalg.norm(vec))):
            for dh in height_offsets:
                atoms, anchors, extra, sites, ratio, low = slab, [], [], [], np.inf, np.inf
                for f in faces:
                    nbrs = neighbour_vectors(slab, on[f])
                    p_idx, v = min(nbrs, key=lambda nv: float(np.linalg.norm(nv[1][:2] - vec[:2])))
                    p = place_bidentate(atoms, ligand, on[f], v, p_idx, second, f, float(dh))
                    anchors.append(p.anchor)
                    extra.append(len(atoms) + second)
                    sites.append(on[f])
                    ratio = min(ratio, p.min_contact_ratio)
                    start = len(atoms)
                    body = [start + i for i in range(len(ligand.atoms)) if i not in (ligand.anchor_index, second)]
                    atoms = p.atoms
                    low = min(low, clearance(atoms, on[f], body, f))
                out.append(
                    Complex(
                        atoms, angle, len(slab), len(ligand.atoms), anchors, sites, tuple(faces), ratio,
                        conformer, float(dh), 0.0, 2, extra, clearance_A=low,
                    )
                )  # fmt: skip
    return out
