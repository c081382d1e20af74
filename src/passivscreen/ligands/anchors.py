"""Anchor groups: SMARTS per anchor class (the first atom is the anchor), choice of the anchor atom,
and the direction of its free valence.

Anchor classes are SMARTS patterns whose first atom is the anchor atom, the
atom that is placed on top of an under-coordinated surface Pb.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from passivscreen.ligands.errors import LigandError

#: Anchor class -> SMARTS patterns; the first atom of each pattern is the anchor.
ANCHOR_SMARTS: dict[str, tuple[str, ...]] = {
    "P=O": ("[OX1]=[PX4;!$(P[OX1-])]", "[OX1-]-[PX4+]"),
    "S=O": ("[OX1]=[SX3,SX4;!$(S[OX1-])]", "[OX1-]-[SX3+,SX4+]"),
    "C=O": ("[OX1]=[CX3;!$(C[OX2H1]);!$(C[OX1-])]",),
    "N=O": ("[OX1]=[NX2]", "[OX1]=[NX3+]-[OX1-]"),
    "COOH": ("[OX1]=[CX3][OX2H1]",),
    "amine": ("[NX3;H2,H1;!$(N[#6,#16,#15]=[O,S,N]);!$(N=*);!$(N#*)]",),
    "thiol": ("[SX2H1]",),
    # neutral donors through a lone pair that no oxygen carries: what catalogues hold besides the above
    "pyridine": ("[nX2;H0;+0]",),  # aromatic N with a free lone pair: pyridines, quinolines, azoles' N3
    "nitrile": ("[NX1;+0]#[CX2]",),
    "phosphine": ("[PX3;+0;!$(P=*);!$(P~[!#6;!#1])]",),  # P(III) on carbon and H only: TOP, PPh3
    "thioether": ("[#16X2;H0;+0;!$([#16]~[!#6])]",),  # sulfides and thiophenes: S between two carbons
    # anions: X-type ligands, bound in the place of a surface Br-
    "carboxylate": ("[OX1-][CX3]=[OX1]",),
    "thiolate": ("[SX1-]",),
    "phosphonate": ("[OX1-][PX4]=[OX1]",),
    "halide": ("[F-,Cl-,Br-,I-]",),
    # cations: an ion pair with Br- in the A-site pocket above the PbBr2 surface; alkylammonium (R-NH3+ to
    # R4N+) and the other organic N cations of perovskite additives: formamidinium, guanidinium, pyridinium,
    # imidazolium (not a nitro group, an N-oxide, a diazonium, an isonitrile or an azide)
    "ammonium": ("[#7+;!$([#7]~[OX1-]);!$([#7]#*);!$([#7]=[#7-])]",),
}

#: How each anchor class binds (overridable per ligand with ``binding``): L-type donors on a surface Pb,
#: X-type anions in the place of a surface Br-, ammonium cations as an ion pair with Br-.
BINDING_MODES: dict[str, str] = {
    "P=O": "L", "S=O": "L", "C=O": "L", "N=O": "L", "COOH": "L", "amine": "L", "thiol": "L",
    "pyridine": "L", "nitrile": "L", "phosphine": "L", "thioether": "L",
    "carboxylate": "X", "thiolate": "X", "phosphonate": "X", "halide": "X",
    "ammonium": "ion_pair",
}  # fmt: skip


def find_anchors(mol) -> dict[str, list[int]]:
    """Anchor atoms found in an RDKit molecule, per anchor class."""
    from rdkit import Chem

    found: dict[str, list[int]] = {}
    for cls, patterns in ANCHOR_SMARTS.items():
        hits: list[int] = []
        for pat in patterns:
            for match in mol.GetSubstructMatches(Chem.MolFromSmarts(pat)):
                if match[0] not in hits:
                    hits.append(match[0])
        if hits:
            found[cls] = sorted(hits)
    return found


def choose_anchor(mol, name: str, anchor: str | None = None, anchor_index: int | None = None) -> tuple[str, int]:
    """Pick the anchor class and atom of ``mol`` (heavy-atom indexing of the SMILES).

    Raises
    ------
    LigandError
        If there is no anchor, several classes match and none was chosen, the
        chosen class is absent, or ``anchor_index`` is not an anchor atom.
    """
    found = find_anchors(mol)
    if "ammonium" in found and anchor is None and anchor_index is None:
        # the anion of an ammonium salt or zwitterion is its counter-ion: the ion pair binds as one
        found = {c: i for c, i in found.items() if BINDING_MODES[c] != "X"}
    if anchor is not None and anchor not in ANCHOR_SMARTS:
        raise LigandError(f"ligand '{name}': unknown anchor class {anchor!r}; choose one of {sorted(ANCHOR_SMARTS)}")
    if not found:
        raise LigandError(f"ligand '{name}': no anchor group ({', '.join(ANCHOR_SMARTS)}) found")
    if anchor_index is not None:
        classes = [c for c, idx in found.items() if anchor_index in idx and (anchor is None or c == anchor)]
        if not classes:
            raise LigandError(f"ligand '{name}': atom {anchor_index} is not an anchor atom")
        return classes[0], int(anchor_index)
    if anchor is None:
        if len(found) > 1:
            raise LigandError(
                f"ligand '{name}': ambiguous anchor, groups {sorted(found)} found; set 'anchor' in the config"
            )
        anchor = next(iter(found))
    if anchor not in found:
        raise LigandError(f"ligand '{name}': anchor {anchor!r} not present (found {sorted(found)})")
    return anchor, found[anchor][0]


def anchor_axis(atoms: Atoms, anchor: int, bonds: list[tuple[int, int]]) -> np.ndarray:
    """Unit vector of the anchor's free valence (lone pair) direction.

    Minus the sum of the unit vectors from the anchor to its bonded neighbours:
    for O=P it points from P through O, for an amine N along its lone pair.
    """
    nbrs = [j for i, j in bonds if i == anchor] + [i for i, j in bonds if j == anchor]
    if not nbrs:
        return np.array([0.0, 0.0, 1.0])
    vec = np.zeros(3)
    for j in nbrs:
        d = atoms.positions[anchor] - atoms.positions[j]
        vec += d / np.linalg.norm(d)
    norm = np.linalg.norm(vec)
    if norm < 1e-6:  # planar symmetric neighbours: use the normal of their plane
        p = atoms.positions[nbrs] - atoms.positions[anchor]
        vec = np.cross(p[0], p[1])
        norm = np.linalg.norm(vec)
    return vec / norm
