"""Ligands in 3D: SMILES parsed and embedded with RDKit (ETKDG + MMFF94), with their anchor, charge, spin,
binding mode and conformers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from passivscreen.ligands.anchors import choose_anchor, find_anchors
from passivscreen.ligands.binding import BindingPlan, binding_plan
from passivscreen.ligands.errors import LigandError
from passivscreen.schema import top_level_default

#: RMSD (A, heavy atoms and H) below which two conformers are the same.
PRUNE_RMSD = 0.5


@dataclass
class Ligand:
    """A ligand in 3D with its anchor: the species placed on the surface (see :mod:`.binding`).

    Attributes
    ----------
    name, smiles
        Identity of the ligand (``smiles`` is the placed species).
    anchor_class
        Key of :data:`~passivscreen.ligands.anchors.ANCHOR_SMARTS`.
    anchor_index
        Index of the anchor atom in ``atoms``: the atom put on the surface Pb (L), in the Br site (X),
        or, for an ion pair, the counter-anion on the Pb (the ammonium N if there is none).
    atoms
        3D structure (RDKit ETKDG + MMFF), hydrogens included.
    charge, multiplicity
        Net formal charge, and spin multiplicity from RDKit's radical electrons (a doublet for one).
    binding
        ``L``, ``X`` or ``ion_pair``.
    cation_index
        Ion pairs: the ammonium N (it goes into the A-site pocket).
    conformers
        Positions of every conformer kept (lowest MMFF energy first); ``atoms`` holds the first.
    other_anchors
        The other atoms of the anchor class (DPEPO's second P=O oxygen): partners of a bidentate placement.
    input_structure
        Where the first conformer came from when the entry gave a 3D structure (``structure``: an SDF
        record), or why it was not used; "" without one.
    """

    name: str
    smiles: str
    anchor_class: str
    anchor_index: int
    atoms: Atoms
    charge: int = 0
    bonds: list[tuple[int, int]] = field(default_factory=list)
    multiplicity: int = 1
    binding: str = "L"
    cation_index: int | None = None
    conformers: list[np.ndarray] = field(default_factory=list)
    other_anchors: list[int] = field(default_factory=list)
    input_structure: str = ""


def parse_smiles(smiles: str, name: str = "ligand"):
    """Parse a SMILES string with RDKit or raise :class:`LigandError`."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles.strip() else None
    if mol is None:
        raise LigandError(f"ligand '{name}': RDKit cannot parse SMILES {smiles!r}")
    return mol


def canonical_smiles(smiles: str, name: str = "ligand") -> str:
    """RDKit's canonical SMILES of ``smiles`` (one molecule written two ways is one string), or
    :class:`LigandError` when it cannot be parsed."""
    from rdkit import Chem

    return Chem.MolToSmiles(parse_smiles(smiles, name))


def multiplicity(mol) -> int:
    """Spin multiplicity 2S + 1 from RDKit's radical electrons (high spin: a doublet for one)."""
    from rdkit.Chem import Descriptors

    return int(Descriptors.NumRadicalElectrons(mol)) + 1


def default_conformers(mol) -> int:
    """Conformers to generate: 1 for a rigid molecule, 3 per rotatable bond (RDKit's strict count), at most 10."""
    from rdkit.Chem import rdMolDescriptors

    return int(min(10, 1 + 3 * rdMolDescriptors.CalcNumRotatableBonds(mol)))


#: Seconds ETKDG may spend on one molecule's conformers (RDKit's ``timeout``; an 80-atom molecule embeds in about
#: 1 s; without it a molecule that cannot be embedded takes 3-4 minutes to fail, here and in ``slab.repeat: auto``).
EMBED_TIMEOUT_S = 30


#: Above this many symmetry-equivalent numberings of the atoms (hydrogens included) duplicate conformers are found
#: by the RMS of the heavy atoms: RDKit's ``GetBestRMS`` tries every numbering (about 0.2 ms each; 1,000,000 at
#: most), so a molecule with a heptyl chain and a tert-butyl group took 150 s to prune ten conformers, an oleyl
#: chain far longer. Below it (every molecule of the default and calibration sets but HMPA) the RMS of all atoms.
MAX_RMS_MATCHES = 10_000


def symmetry_matches(mol, cap: int = MAX_RMS_MATCHES + 1) -> int:
    """How many numberings of ``mol``'s atoms map it onto itself (counted up to ``cap``)."""
    return len(mol.GetSubstructMatches(mol, uniquify=False, useChirality=False, maxMatches=cap))


def embed(mol, name: str, seed: int, n: int) -> list[np.ndarray]:
    """Up to ``n`` conformers of ``mol`` (hydrogens added): ETKDG (seeded), MMFF94 (UFF where MMFF lacks
    parameters), duplicates within :data:`PRUNE_RMSD` removed (all atoms, or heavy atoms above
    :data:`MAX_RMS_MATCHES` symmetry-equivalent numberings), lowest force-field energy first."""
    from rdkit import Chem
    from rdkit.Chem import AllChem, rdMolAlign

    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    params.pruneRmsThresh = PRUNE_RMSD
    params.timeout = EMBED_TIMEOUT_S  # a molecule ETKDG cannot embed fails in this time, not in minutes
    ids = [i for i in AllChem.EmbedMultipleConfs(mol, numConfs=max(n, 1) * 3 if n > 1 else 1, params=params) if i >= 0]
    if not ids:
        raise LigandError(
            f"ligand '{name}': RDKit could not embed {AllChem.MolToSmiles(mol)!r} in 3D (seed {seed}, "
            f"{EMBED_TIMEOUT_S} s)"
        )
    if AllChem.MMFFHasAllMoleculeParams(mol):
        energies = [e for _, e in AllChem.MMFFOptimizeMoleculeConfs(mol, maxIters=2000)]
    else:
        energies = [e for _, e in AllChem.UFFOptimizeMoleculeConfs(mol, maxIters=2000)]
    # the RMS of two conformers over every symmetry-equivalent numbering of the atoms; with hydrogens a long
    # chain or a tert-butyl group has millions (2 per CH2, 6 per CH3), seconds per comparison: then heavy atoms
    ref = mol if n <= 1 or len(ids) <= 1 or symmetry_matches(mol) <= MAX_RMS_MATCHES else Chem.RemoveHs(mol)
    kept: list[int] = []
    for i in sorted(range(len(ids)), key=lambda k: energies[k]):
        if all(rdMolAlign.GetBestRMS(ref, ref, ids[j], ids[i]) > PRUNE_RMSD for j in kept):
            kept.append(i)
        if len(kept) == n:
            break
    return [_separate_fragments(mol, mol.GetConformer(ids[i]).GetPositions()) for i in kept]


#: An ion pair's counter-ion starts this far (A) from the cation's charged atom, along an N-H bond.
ION_PAIR_DISTANCE = 3.3


def _separate_fragments(mol, pos: np.ndarray) -> np.ndarray:
    """Fragments of a salt, which RDKit embeds on top of each other, put into contact: each other fragment's
    centre at :data:`ION_PAIR_DISTANCE` from the charged atom of the first cationic fragment, along one of
    its X-H bonds (a hydrogen bond), or away from its heavy neighbours (quaternary ammonium)."""
    from rdkit import Chem

    frags = Chem.GetMolFrags(mol)
    if len(frags) < 2:
        return pos
    pos = pos.copy()
    charged = [a.GetIdx() for a in mol.GetAtoms() if a.GetFormalCharge() > 0]
    centre = charged[0] if charged else frags[0][0]
    own = next(f for f in frags if centre in f)
    atom = mol.GetAtomWithIdx(centre)
    hs = [n.GetIdx() for n in atom.GetNeighbors() if n.GetSymbol() == "H"]
    heavy = [n.GetIdx() for n in atom.GetNeighbors() if n.GetSymbol() != "H"]
    others = [f for f in frags if f is not own]
    for k, frag in enumerate(others):
        if k < len(hs):
            d = pos[hs[k]] - pos[centre]
        elif heavy:
            d = pos[centre] - pos[heavy].mean(axis=0)
        else:
            d = np.array([0.0, 0.0, 1.0])
        target = pos[centre] + ION_PAIR_DISTANCE * d / np.linalg.norm(d)
        idx = list(frag)
        pos[idx] += target - pos[idx].mean(axis=0)
    return pos


def molecule_conformers(
    smiles: str, name: str, seed: int | None = None, n: int | None = None
) -> tuple[list[Atoms], int, int]:
    """A reference molecule (acid, HBr, salt) in 3D: its conformers (``n``, default
    :func:`default_conformers`), charge and multiplicity."""
    from rdkit import Chem

    mol = Chem.AddHs(parse_smiles(smiles, name))
    n = default_conformers(mol) if n is None else n
    confs = embed(mol, name, int(top_level_default("seed") if seed is None else seed), n)
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    return [Atoms(symbols, positions=p) for p in confs], Chem.GetFormalCharge(mol), multiplicity(mol)


def placed_species(
    smiles: str,
    name: str,
    anchor: str | None = None,
    anchor_index: int | None = None,
    binding: str | None = None,
) -> tuple[BindingPlan, Any, str, int]:
    """What a ligand entry puts on the surface, decided once (the run and the config's validation call this).

    Parameters
    ----------
    smiles, name
        The entry's SMILES and name.
    anchor, anchor_index, binding
        The entry's anchor class, anchor atom (heavy-atom index of ``smiles``) and binding mode; without
        ``anchor``, the class of ``anchor_index`` chooses the binding mode.

    Returns
    -------
    tuple
        The binding plan, the placed species (an RDKit molecule), its anchor class and anchor atom.

    Raises
    ------
    LigandError
        The SMILES, anchor, anchor atom or binding mode cannot be used, or contradict each other.
    """
    from rdkit import Chem

    mol = parse_smiles(smiles, name)
    if anchor_index is not None and anchor is None:
        anchor = choose_anchor(mol, name, None, anchor_index)[0]
    plan = binding_plan(mol, name, anchor, binding)
    placed = mol if plan.placed == Chem.MolToSmiles(mol) else parse_smiles(plan.placed, name)
    if anchor_index is not None and placed is not mol:
        raise LigandError(
            f"ligand '{name}': anchor_index {anchor_index} numbers the atoms of {smiles!r}, but binding "
            f"{plan.mode} places {plan.placed!r}, whose atoms are numbered differently: give that SMILES, "
            "or leave anchor_index out"
        )
    cls, idx = choose_anchor(placed, name, anchor, anchor_index)
    return plan, placed, cls, idx


def structure_positions(structure: dict[str, Any], molh, name: str) -> tuple[np.ndarray | None, str]:
    """The positions of ``molh``'s atoms (the placed species, hydrogens explicit) in the SDF record an entry's
    ``structure`` names, and a note: where they came from, or why there are none.

    The record's atoms are matched onto ``molh`` by substructure (its counter-ions, if any, left out);
    hydrogens the record lacks get coordinates from RDKit (``AddHs(addCoords=True)``). A record whose
    molecule is not the one placed (an acid placed as its anion, binding X) or has only 2D coordinates gives
    no positions: the embedded conformers alone are used, and the note says why.

    Raises
    ------
    LigandError
        The file cannot be read or its record changed since validation.
    """
    from rdkit import Chem

    from passivscreen.ligands.files import LigandFileError, read_molblock, read_sdf_record

    where = f"{Path(structure['file']).name}:{structure['line']}"
    try:
        mol = read_molblock(read_sdf_record(structure))
    except LigandFileError as err:
        raise LigandError(f"ligand '{name}': {err}") from err
    if mol is None or not mol.GetNumConformers() or not mol.GetConformer().Is3D():
        return None, f"{where} not used: no 3D coordinates"
    molh_file = Chem.AddHs(mol, addCoords=True)
    match = molh_file.GetSubstructMatch(molh)
    if not match:
        return None, f"{where} not used: its molecule is not the placed species {Chem.MolToSmiles(molh)}"
    return molh_file.GetConformer().GetPositions()[list(match)], f"{where}: the first conformer"


def ligand_from_smiles(
    name: str,
    smiles: str,
    anchor: str | None = None,
    anchor_index: int | None = None,
    seed: int | None = None,
    binding: str | None = None,
    conformers: int | None = 1,
    structure: dict[str, Any] | None = None,
) -> Ligand:
    """Build the placed species of a ligand from SMILES (see :func:`~.binding.binding_plan`), in 3D.

    ``seed`` seeds the embedding (default: the config schema's ``seed``); ``conformers`` is how many
    to keep (None: :func:`default_conformers`). ``structure`` (an entry's SDF record,
    :func:`structure_positions`): its coordinates are the first conformer, RDKit's fill the others.
    """
    from rdkit import Chem

    plan, placed, cls, idx = placed_species(smiles, name, anchor, anchor_index, binding)
    molh = Chem.AddHs(placed)  # heavy atoms keep their indices
    n = default_conformers(molh) if conformers is None else int(conformers)
    confs = embed(molh, name, int(top_level_default("seed") if seed is None else seed), n)
    given, note = structure_positions(structure, molh, name) if structure else (None, "")
    if given is not None:
        confs = [given, *confs[: max(n, 1) - 1]]
    atoms = Atoms([a.GetSymbol() for a in molh.GetAtoms()], positions=confs[0])
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in molh.GetBonds()]
    cation = None
    others: list[int] = []
    if plan.mode == "ion_pair":
        cation, idx = idx, _counter_anion(molh, idx)
    elif plan.mode == "L":
        others = [i for i in find_anchors(placed).get(cls, []) if i != idx]
    return Ligand(
        name,
        plan.placed,
        cls,
        idx,
        atoms,
        Chem.GetFormalCharge(molh),
        bonds,
        multiplicity(molh),
        plan.mode,
        cation,
        confs,
        others,
        note,
    )


def entry_ligand(
    cfg: dict[str, Any], entry: dict[str, Any], smiles: str | None = None, conformers: int | None = None
) -> Ligand:
    """The :class:`Ligand` of a config's ``ligands`` entry as every step builds it (the ligand job, the auto cell,
    the complex's placement), so that they embed the same conformers: the entry's SMILES (or ``smiles``), anchor,
    anchor index and binding, the run's seed, and the entry's conformer count or the config's (or ``conformers``).
    """
    from passivscreen.ligands.library import resolve_smiles

    n = entry.get("conformers", cfg["conformers"]) if conformers is None else conformers
    return ligand_from_smiles(
        entry["name"],
        smiles or resolve_smiles(entry),
        entry.get("anchor"),
        entry.get("anchor_index"),
        cfg["seed"],
        entry.get("binding"),
        n,
        entry.get("structure"),
    )


def _counter_anion(mol, cation: int) -> int:
    """The anionic atom of an ion pair that is not bonded to the cation's fragment (else the cation itself)."""
    from rdkit import Chem

    frags = Chem.GetMolFrags(mol)
    own = next(f for f in frags if cation in f)
    anions = [a.GetIdx() for a in mol.GetAtoms() if a.GetFormalCharge() < 0 and a.GetIdx() not in own]
    return anions[0] if anions else cation


def plan_of(entry_smiles: str, name: str, anchor: str | None = None, binding: str | None = None) -> BindingPlan:
    """The binding plan of a config entry's SMILES."""
    return binding_plan(parse_smiles(entry_smiles, name), name, anchor, binding)
