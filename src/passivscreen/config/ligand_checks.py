"""Checks of a config's ligand entries before any compute: the keys of one entry agree with each other, and
every molecule the run will compute (the placed species and its references) is one every configured engine
can compute.

The run decides what a ligand entry puts on the surface in one function,
:func:`passivscreen.ligands.placed_species`; these checks call that same function, so an anchor, anchor atom
or binding mode the run would refuse is refused here. "RDKit parses it" is not the test: each atom must be a
real element every backend treats, with no query or R-group label (a radical is computed at its RDKit
multiplicity, and the complex adds its unpaired electrons to the slab's), and the molecule must
have the charge its binding mode needs (the plan) and embed in 3D (:func:`~.checks.check_embedding`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from passivscreen.calculators import BackendError, check_elements
from passivscreen.config.errors import ConfigError
from passivscreen.ligands import (
    LIGAND_LIBRARY,
    LigandError,
    canonical_smiles,
    parse_smiles,
    placed_species,
    resolve_smiles,
)

#: RDKit atom properties that mark an atom as a placeholder (CXSMILES ``$R1$`` labels, molfile R-groups).
PLACEHOLDER_PROPS = ("atomLabel", "dummyLabel", "_MolFileRLabel")


class EntryProblem(ValueError):
    """A problem of one key of a ligand entry (``key`` is the field under ``ligands[i]``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def uncomputable(mol: Any, backends: list[str]) -> str | None:
    """Why no configured engine can compute ``mol`` (an RDKit molecule), or None.

    Parameters
    ----------
    mol
        A parsed molecule (its hydrogens implicit or explicit).
    backends
        Registry names of every backend of the protocol.
    """
    from rdkit import Chem

    for atom in mol.GetAtoms():
        where = f"atom {atom.GetIdx()} ({atom.GetSymbol()})"
        if atom.GetAtomicNum() == 0:
            return f"{where} is a dummy atom, attachment point or R-group, not an element: no engine computes it"
        if atom.HasQuery():
            return f"{where} is a query (a list or pattern of atoms), not one element"
        labels = [p for p in PLACEHOLDER_PROPS if atom.HasProp(p)]
        if labels:
            return f"{where} carries the placeholder label {atom.GetProp(labels[0])!r} (an R-group), not an atom"
    if Chem.GetMolSubstanceGroups(mol):
        return "it has substance groups (a CXSMILES polymer or repeat unit), not one molecule"
    symbols = {a.GetSymbol() for a in Chem.AddHs(mol).GetAtoms()}
    try:
        for name in backends:
            check_elements(name, symbols)
    except BackendError as err:
        return str(err)
    return None


def _library_agrees(lig: dict[str, Any]) -> None:
    """``library`` names a shipped molecule, and the same one as ``smiles`` when both are given."""

    lib = lig.get("library")
    if lib is None:
        return
    if lib not in LIGAND_LIBRARY:
        raise EntryProblem("library", f"{lib!r} is not in the library (known: {sorted(LIGAND_LIBRARY)})")
    if lig.get("smiles"):
        given = canonical_smiles(lig["smiles"], lig["name"])
        shipped = canonical_smiles(LIGAND_LIBRARY[lib], lig["name"])
        if given != shipped:
            raise EntryProblem(
                "smiles",
                f"{lig['smiles']!r} is not the library's {lib!r} ({LIGAND_LIBRARY[lib]!r}): the entry names two "
                "molecules (the smiles would be used, the library name ignored); give one of them",
            )


def resolve_structures(cfg: dict[str, Any], base: str | Path | None) -> dict[str, Any]:
    """``cfg`` with each ``ligands`` entry's own ``structure`` checked and fingerprinted (a new dict).

    A structure without ``sha256`` was named by hand: its file is made absolute (a relative one is read from
    ``base``, the config file's folder, as ``ligands_file`` is), its record read once, checked to hold the
    entry's molecule (:func:`_structure_agrees`) and its SHA-256 added, so that the ligand job reads the record
    that was validated. One with ``sha256`` has been through this (a validated config validated again) or
    comes from a ``ligands_file`` SDF row, whose SMILES was written from that record: it is not read again.
    """
    from passivscreen.ligands.files import LigandFileError, read_sdf_record, record_sha256

    if not any(lig.get("structure") and "sha256" not in lig["structure"] for lig in cfg["ligands"]):
        return cfg
    ligands = []
    for i, lig in enumerate(cfg["ligands"]):
        st = lig.get("structure")
        if st and "sha256" not in st:
            path = Path(st["file"])
            st = {**st, "file": str(path if path.is_absolute() else (Path(base or ".") / path).resolve())}
            try:
                body = read_sdf_record(st)
                _structure_agrees(body, f"{st['file']}:{st['line']}", resolve_smiles(lig), lig["name"])
            except (LigandFileError, LigandError) as err:
                raise ConfigError(f"config field ligands[{i}].structure (ligand '{lig['name']}'): {err}") from err
            lig = {**lig, "structure": {**st, "sha256": record_sha256(body)}}
        ligands.append(lig)
    return {**cfg, "ligands": ligands}


def _structure_agrees(body: str, where: str, smiles: str, name: str) -> None:
    """An SDF record (``body``, at ``where``) is a 3D structure of ``smiles``'s molecule: one of the record's
    fragments is that molecule, stereochemistry aside. Raises :class:`LigandError` saying why not."""
    from rdkit import Chem

    from passivscreen.ligands.files import read_molblock

    mol = read_molblock(body)
    if mol is None:
        raise LigandError(f"{where}: RDKit cannot read the record's molblock")

    def flat(m: Any) -> str:
        return Chem.MolToSmiles(Chem.RemoveHs(m), isomericSmiles=False)

    want = flat(parse_smiles(smiles, name))
    frags = {flat(f) for f in Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)} | {flat(mol)}
    if want not in frags:
        raise LigandError(f"{where} holds {flat(mol)}, not the entry's molecule {want}")


def placed_smiles(lig: dict[str, Any], backends: list[str]) -> list[str]:
    """Check one ligand entry; the SMILES of every molecule its run computes (placed species, references).

    Raises
    ------
    EntryProblem
        A key of the entry is wrong, or a molecule is not computable.
    LigandError, BackendError
        The run's own refusal of the entry (SMILES, anchor, binding mode, elements).
    """
    _library_agrees(lig)
    smiles = resolve_smiles(lig)
    problem = uncomputable(parse_smiles(smiles, lig["name"]), backends)
    if problem:
        raise EntryProblem("smiles", f"{smiles!r}: {problem}")
    anchor_index = lig.get("anchor_index")
    try:
        plan, _, _, _ = placed_species(smiles, lig["name"], lig.get("anchor"), anchor_index, lig.get("binding"))
    except LigandError as err:
        if anchor_index is not None and ("anchor_index" in str(err) or f"atom {anchor_index} " in str(err)):
            raise EntryProblem("anchor_index", str(err)) from err
        raise
    out = [plan.placed] + [s for s, _ in plan.references if s != plan.placed]
    for other in out:
        problem = uncomputable(parse_smiles(other, lig["name"]), backends)
        if problem:
            raise EntryProblem("smiles", f"{smiles!r} (binding {plan.mode}) needs {other!r}: {problem}")
    return out


def check_ligands(cfg: dict[str, Any], backends: list[str]) -> dict[str, list[str]]:
    """Every ligand entry's keys and molecules (see :func:`placed_smiles`); name -> SMILES to embed.

    Raises
    ------
    ConfigError
        Naming ``ligands[i]`` (or its key) and the ligand.
    """
    out: dict[str, list[str]] = {}
    for i, lig in enumerate(cfg["ligands"]):
        try:
            out[lig["name"]] = placed_smiles(lig, backends)
        except EntryProblem as err:
            raise ConfigError(f"config field ligands[{i}].{err.key} (ligand '{lig['name']}'): {err}") from err
        except (LigandError, BackendError) as err:
            raise ConfigError(f"config field ligands[{i}] (ligand '{lig['name']}'): {err}") from err
    return out
