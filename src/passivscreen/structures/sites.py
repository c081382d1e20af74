"""Binding sites and faces: surface Pb, Br vacancies, site labels, symmetry of a site."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms

from passivscreen.structures.cells import AUTO_MIN, cell_suffix, is_auto, slab_spec, strip_cell
from passivscreen.structures.errors import SlabError
from passivscreen.structures.slab import build_slab


def surface_pb_indices(slab: Atoms, face: str = "top") -> list[int]:
    """Indices of the Pb atoms of the outer PbBr2 layer of ``face``."""
    tag = 1 if face == "top" else -1
    return [i for i, (s, t) in enumerate(zip(slab.get_chemical_symbols(), slab.get_tags())) if s == "Pb" and t == tag]


def distinct_surface_sites(slab: Atoms, face: str = "top", symprec: float = 0.01) -> list[int]:
    """One representative surface Pb per symmetry-equivalence class.

    Equivalence comes from spglib (through pymatgen) applied to the slab.
    """
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    struct = AseAtomsAdaptor.get_structure(slab.copy())
    data = SpacegroupAnalyzer(struct, symprec=symprec).get_symmetry_dataset()
    equiv = np.asarray(data.equivalent_atoms)
    seen: dict[int, int] = {}
    for i in surface_pb_indices(slab, face):
        seen.setdefault(int(equiv[i]), i)
    return sorted(seen.values())


#: Site types: a pristine surface Pb, or the Pb exposed by a Br vacancy in the
#: outer PbBr2 layer, neutral (Br atom removed: one extra electron) or +1
#: (Br- removed).
SITE_TYPES = ("pristine", "vBr0", "vBr+")


@dataclass
class SiteSlab:
    """A reference slab for one site type and set of faces.

    Attributes
    ----------
    atoms
        The slab (tags and constraints as in :func:`build_slab`).
    charge
        Total charge for the calculator (e).
    multiplicity
        Spin multiplicity (2S + 1).
    sites
        Face -> index of the Pb the ligand binds to.
    vacancies
        Face -> position of the removed Br (A).
    """

    atoms: Atoms
    charge: int
    multiplicity: int
    sites: dict[str, int]
    vacancies: dict[str, list[float]]


def _inplane_br(slab: Atoms, pb: int, face: str) -> int:
    """The in-plane Br of the outer layer nearest to Pb ``pb`` (lowest index on ties)."""
    tag = 1 if face == "top" else -1
    brs = [i for i, (s, t) in enumerate(zip(slab.get_chemical_symbols(), slab.get_tags())) if s == "Br" and t == tag]
    d = slab.get_distances(pb, brs, mic=True)
    return brs[int(np.argmin(np.round(d, 6)))]


def site_slab(slab: Atoms, site_type: str, faces: tuple[str, ...], pb_index: int | None = None) -> SiteSlab:
    """The reference slab for ``site_type`` with a binding site on each of ``faces``.

    For a vacancy, one in-plane Br next to the chosen Pb is removed from the outer
    PbBr2 layer of each face in ``faces``; the bottom-face site is the mirror image
    (through the slab's central plane) of the top-face one, so top, bottom and both
    are symmetric. Neutral vacancies (``vBr0``) leave one unpaired electron each
    (multiplicity ``n + 1``); charged ones (``vBr+``) add +1 each.
    """
    if site_type not in SITE_TYPES:
        raise SlabError(f"unknown site type {site_type!r}; choose from {SITE_TYPES}")
    top = surface_pb_indices(slab, "top")
    pb_top = top[0] if pb_index is None else pb_index
    if pb_top not in top:
        raise SlabError(f"Pb {pb_top} is not a top-face Pb")
    zc = 0.5 * (slab.positions[:, 2].max() + slab.positions[:, 2].min())
    mirror = slab.positions[pb_top] * [1, 1, -1] + [0, 0, 2 * zc]
    bottom = surface_pb_indices(slab, "bottom")
    dist = np.linalg.norm(slab.positions[bottom] - mirror, axis=1)
    pb_bottom = bottom[int(np.argmin(dist))]
    pb_of = {"top": pb_top, "bottom": pb_bottom}
    remove: list[int] = []
    vac: dict[str, list[float]] = {}
    if site_type != "pristine":
        for face in faces:
            br = _inplane_br(slab, pb_of[face], face)
            remove.append(br)
            vac[face] = slab.positions[br].tolist()
    keep = [i for i in range(len(slab)) if i not in set(remove)]
    new_index = {old: new for new, old in enumerate(keep)}
    atoms = slab[keep]
    fixed = [new_index[i] for i in (slab.constraints[0].index if slab.constraints else []) if i in new_index]
    atoms.set_constraint(FixAtoms(indices=fixed))
    n = len(remove)
    charge = n if site_type == "vBr+" else 0
    mult = n + 1 if site_type == "vBr0" else 1
    return SiteSlab(atoms, charge, mult, {f: new_index[pb_of[f]] for f in faces}, vac)


def site_rotation_order(slab: Atoms, index: int, symprec: float = 0.01) -> int:
    """Order of the highest rotation about the surface normal through atom ``index``.

    Rotating a ligand by ``360 / order`` degrees about the normal through this
    site gives a symmetry-equivalent configuration (4 on the ideal slab's Pb).
    """
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    struct = AseAtomsAdaptor.get_structure(slab.copy())
    ops = SpacegroupAnalyzer(struct, symprec=symprec).get_symmetry_operations(cartesian=False)
    frac = struct[index].frac_coords
    best = 1
    for op in ops:
        rot = np.asarray(op.rotation_matrix)
        if round(np.linalg.det(rot)) != 1 or not np.allclose(rot[2], [0, 0, 1]):
            continue
        image = op.operate(frac)
        delta = image - frac
        if np.allclose(delta - np.round(delta), 0, atol=1e-3):
            angle = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))  # fractional in-plane rotation of a square cell
            order = int(round(360.0 / abs(angle))) if abs(angle) > 1e-3 else 1
            best = max(best, order)
    return best


#: Face sets: one ligand on the top face, on the bottom face, or one on each (bilateral).
FACES = ("top", "bottom", "both")


def face_tuple(face: str) -> tuple[str, ...]:
    """``"both"`` -> ``("top", "bottom")``; ``"top"`` -> ``("top",)``."""
    if face not in FACES:
        raise ValueError(f"unknown face {face!r}; choose from {FACES}")
    return ("top", "bottom") if face == "both" else (face,)


def site_labels(cfg: dict[str, Any], cell: tuple[int, int] | None = None) -> list[str]:
    """Site labels ``<type>-Pb<index>``: each site type on each chosen top-face Pb.

    ``Pb<index>`` numbers the Pb in the pristine slab; for a vacancy it is the Pb
    next to the removed Br, i.e. the one the ligand binds to. With ``slab.repeat: auto`` and no ``cell``: the
    plan's labels, which name no cell (those of the smallest cell; ``placement.sites`` is ``all`` there, and the
    symmetry-distinct top-face Pb of every n x n cell is the same atom); with a ``cell``: that cell's labels, which
    carry it (``pristine-Pb10-3x3``, see :mod:`passivscreen.structures.cells`).
    """
    auto = is_auto(cfg)
    on = (cell or (AUTO_MIN, AUTO_MIN)) if auto else None
    pbs = cfg["placement"]["sites"]
    if pbs == "all":
        pbs = distinct_surface_sites(build_slab(slab_spec(cfg, repeat=on)))
    suffix = cell_suffix(cell[0]) if auto and cell is not None else ""
    return [f"{kind}-Pb{int(i)}{suffix}" for kind in cfg["sites"] for i in pbs]


def parse_site(label: str) -> tuple[str, int]:
    """``"vBr0-Pb10"`` -> ``("vBr0", 10)`` (a cell suffix, ``-3x3``, is not part of it)."""
    kind, _, pb = strip_cell(label).rpartition("-Pb")
    return kind, int(pb)


def pdos_groups(
    slab: Atoms, faces: tuple[str, ...], sites: dict[str, int], vacancies: dict[str, list[float]]
) -> dict[str, list[int]]:
    """Atom groups for projected DOS: outer-layer Pb of the faces, and the defect Pb.

    The defect Pb are the Pb within 3.6 A of a removed Br, or the site Pb itself on
    a pristine surface.
    """
    from ase.geometry import find_mic

    tags = slab.get_tags()
    sym = slab.get_chemical_symbols()
    want = {1 if f == "top" else -1 for f in faces}
    surface = [i for i in range(len(slab)) if sym[i] == "Pb" and tags[i] in want]
    if not vacancies:
        return {"surface_Pb": surface, "defect": sorted(sites.values())}
    pb = [i for i in range(len(slab)) if sym[i] == "Pb"]
    defect = set()
    for pos in vacancies.values():
        d = find_mic(slab.positions[pb] - np.asarray(pos), slab.cell, slab.pbc)[1]
        defect |= {i for i, di in zip(pb, d) if di < 3.6}
    return {"surface_Pb": surface, "defect": sorted(defect)}
