"""Ligands: SMILES to 3D structures and anchor-group detection.

Anchor classes are SMARTS patterns whose first atom is the anchor atom, the
atom that is placed on top of an under-coordinated surface Pb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

#: Anchor class -> SMARTS patterns; the first atom of each pattern is the anchor.
ANCHOR_SMARTS: dict[str, tuple[str, ...]] = {
    "P=O": ("[OX1]=[PX4]", "[OX1-]-[PX4+]"),
    "S=O": ("[OX1]=[SX3,SX4]", "[OX1-]-[SX3+,SX4+]"),
    "C=O": ("[OX1]=[CX3;!$(C[OX2H1]);!$(C[OX1-])]",),
    "N=O": ("[OX1]=[NX2]", "[OX1]=[NX3+]-[OX1-]"),
    "COOH": ("[OX1]=[CX3][OX2H1]", "[OX1-][CX3]=[OX1]"),
    "amine": ("[NX3;H2,H1;!$(N[#6,#16,#15]=[O,S,N]);!$(N=*);!$(N#*);!$(Na)]", "[NX4+;H3,H2]"),
    "thiol": ("[SX2H1]", "[SX1-]"),
}

#: Names of the shipped ligand library -> SMILES.
LIGAND_LIBRARY: dict[str, str] = {
    "trimethylphosphine_oxide": "CP(C)(C)=O",
    "dimethyl_sulfoxide": "CS(C)=O",
    "acetone": "CC(C)=O",
    "nitrosomethane": "CN=O",
    "acetic_acid": "CC(=O)O",
    "methylamine": "CN",
    "methanethiol": "CS",
    "TPPO": "O=P(c1ccccc1)(c1ccccc1)c1ccccc1",
    "TSPO1": "O=P(c1ccccc1)(c1ccccc1)c1ccc(cc1)[Si](c1ccccc1)(c1ccccc1)c1ccccc1",
    "DPEPO": "O=P(c1ccccc1)(c1ccccc1)c1ccccc1Oc1ccccc1P(=O)(c1ccccc1)c1ccccc1",
    "benzophenone": "O=C(c1ccccc1)c1ccccc1",
    "nitrosobenzene": "O=Nc1ccccc1",
}


class LigandError(ValueError):
    """A ligand that cannot be used: bad SMILES, no or ambiguous anchor."""


@dataclass
class Ligand:
    """A ligand in 3D with its anchor.

    Attributes
    ----------
    name, smiles
        Identity of the ligand.
    anchor_class
        Key of :data:`ANCHOR_SMARTS`.
    anchor_index
        Index of the anchor atom in ``atoms``.
    atoms
        3D structure (RDKit ETKDG + MMFF), hydrogens included.
    charge
        Net formal charge of the molecule.
    """

    name: str
    smiles: str
    anchor_class: str
    anchor_index: int
    atoms: Atoms
    charge: int = 0
    bonds: list[tuple[int, int]] = field(default_factory=list)


def parse_smiles(smiles: str, name: str = "ligand"):
    """Parse a SMILES string with RDKit or raise :class:`LigandError`."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles.strip() else None
    if mol is None:
        raise LigandError(f"ligand '{name}': RDKit cannot parse SMILES {smiles!r}")
    return mol


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


def ligand_from_smiles(
    name: str,
    smiles: str,
    anchor: str | None = None,
    anchor_index: int | None = None,
    seed: int = 42,
) -> Ligand:
    """Build a 3D ligand from SMILES: RDKit ETKDG embedding and MMFF94 cleanup."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = parse_smiles(smiles, name)
    cls, idx = choose_anchor(mol, name, anchor, anchor_index)
    molh = Chem.AddHs(mol)  # heavy atoms keep their indices
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    if AllChem.EmbedMolecule(molh, params) != 0:
        raise LigandError(f"ligand '{name}': RDKit could not embed {smiles!r} in 3D")
    if AllChem.MMFFHasAllMoleculeParams(molh):
        AllChem.MMFFOptimizeMolecule(molh, maxIters=2000)
    else:
        AllChem.UFFOptimizeMolecule(molh, maxIters=2000)
    pos = molh.GetConformer().GetPositions()
    atoms = Atoms([a.GetSymbol() for a in molh.GetAtoms()], positions=pos)
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in molh.GetBonds()]
    return Ligand(name, smiles, cls, idx, atoms, Chem.GetFormalCharge(molh), bonds)


def resolve_smiles(entry: dict) -> str:
    """SMILES of a config ligand entry (``smiles`` or a ``library`` name)."""
    if entry.get("smiles"):
        return str(entry["smiles"])
    lib = entry.get("library", entry.get("name"))
    if lib not in LIGAND_LIBRARY:
        raise LigandError(f"ligand '{entry.get('name')}': no smiles and {lib!r} is not in the library")
    return LIGAND_LIBRARY[lib]


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
