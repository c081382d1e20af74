"""Placers by binding mode: an L-type donor on a surface Pb, an X-type anion in a Br site, an ammonium ion
pair in the A-site pocket above the PbBr2 surface."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from passivscreen.ligands.molecules import Ligand
from passivscreen.placement.place import Placement, contact_ratio, initial_distance, place_ligand, rot_z, rotation_to

#: X-type anions: the anchor starts this far (A) outside the plane of the removed surface Br.
X_HEIGHT = 0.8
#: Ion pairs: the counter-anion starts on the apical site of the Pb, the ammonium N above the centre of
#: the A-site pocket. Heights from the GFN2-xTB relaxed methylammonium bromide on the 2x2 slab (Pb-Br
#: 2.65-2.67 A, N 2.24 A above the Pb plane; from the CsBr-layer heights, 2.95 and 2.9 A, the
#: relaxation took 60 force calls, most of them sliding the pair down into its H-bond).
APICAL_DISTANCE = 2.70
POCKET_HEIGHT = 2.3


def place(
    slab: Atoms,
    ligand: Ligand,
    site: int,
    rotation: float,
    face: str,
    target: np.ndarray | None = None,
    height_offset: float = 0.0,
    tilt: float = 0.0,
    roll: float = 0.0,
) -> Placement:
    """Place ``ligand`` by its binding mode (see the module docstring), ``height_offset`` A further out (or in,
    when negative) than the mode's initial height, tilted ``tilt`` degrees from the normal (L and X; an ion
    pair is placed upright), turned ``roll`` degrees about its anchor axis (L and X)."""
    if ligand.binding == "X":
        if target is None:
            raise ValueError(f"ligand '{ligand.name}': an X-type anion needs the removed Br's position")
        return place_ligand(
            slab, ligand, site, rotation, face, X_HEIGHT + height_offset, target, tilt_deg=tilt, roll_deg=roll
        )
    if ligand.binding == "ion_pair":
        return place_ion_pair(slab, ligand, site, rotation, face, height_offset)
    anchor = ligand.atoms[ligand.anchor_index].symbol
    return place_ligand(
        slab, ligand, site, rotation, face, initial_distance(anchor) + height_offset, tilt_deg=tilt, roll_deg=roll
    )


def pocket_offset(slab: Atoms, site: int) -> np.ndarray:
    """In-plane vector from Pb ``site`` to the centre of an A-site pocket: half the sum of the vectors to
    its nearest Pb neighbours along x and along y in the same layer (minimum image)."""
    pb = [i for i, s in enumerate(slab.get_chemical_symbols()) if s == "Pb" and i != site]
    same = [i for i in pb if abs(slab.positions[i, 2] - slab.positions[site, 2]) < 0.5]
    d, dist = find_mic(slab.positions[same] - slab.positions[site], slab.cell, slab.pbc)
    near = d[dist < dist.min() + 0.3]
    ex = near[np.argmax(near[:, 0])]
    ey = near[np.argmax(near[:, 1])]
    return 0.5 * (ex + ey) * np.array([1.0, 1.0, 0.0])


def place_ion_pair(
    slab: Atoms, ligand: Ligand, site: int, rotation_deg: float = 0.0, face: str = "top", height_offset: float = 0.0
) -> Placement:
    """An ammonium salt as an ion pair: its counter-anion on the apical site of Pb ``site``, the ammonium N
    in the A-site pocket next to it, the cation's heavy atoms pointing away from the surface, turned by
    ``rotation_deg`` about the normal through N, the pair ``height_offset`` A further out. A zwitterion (no
    separate anion) goes into the pocket alone."""
    from rdkit import Chem

    lig = ligand.atoms.copy()
    normal = np.array([0.0, 0.0, 1.0 if face == "top" else -1.0])
    n = ligand.cation_index if ligand.cation_index is not None else ligand.anchor_index
    mol = Chem.MolFromSmiles(ligand.smiles)
    frags = Chem.GetMolFrags(Chem.AddHs(mol))
    cation = list(next(f for f in frags if n in f))
    heavy = [i for i in cation if lig[i].symbol != "H" and i != n]
    up = (lig.positions[heavy].mean(axis=0) if heavy else lig.positions[cation].mean(axis=0)) - lig.positions[n]
    rot = rot_z(rotation_deg) @ rotation_to(up if np.linalg.norm(up) > 1e-6 else normal, normal)
    pocket = slab.positions[site] + pocket_offset(slab, site) + (POCKET_HEIGHT + height_offset) * normal
    pos = lig.positions.copy()
    pos[cation] = (lig.positions[cation] - lig.positions[n]) @ rot.T + pocket
    anion = [i for i in range(len(lig)) if i not in set(cation)]
    if anion:
        centre = lig.positions[anion].mean(axis=0)
        pos[anion] = lig.positions[anion] - centre + slab.positions[site] + (APICAL_DISTANCE + height_offset) * normal
    lig.positions = pos
    complex_atoms = slab.copy()
    complex_atoms += lig
    n_slab = len(slab)
    anchor = ligand.anchor_index
    ratio = contact_ratio(complex_atoms, n_slab, exclude=(n_slab + anchor, site))
    return Placement(complex_atoms, rotation_deg, n_slab, n_slab + anchor, site, face, ratio)
