"""The shipped ligand library: names -> SMILES, and the SMILES of a config entry."""

from __future__ import annotations

from passivscreen.ligands.errors import LigandError

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


def resolve_smiles(entry: dict) -> str:
    """SMILES of a config ligand entry (``smiles`` or a ``library`` name)."""
    if entry.get("smiles"):
        return str(entry["smiles"])
    lib = entry.get("library", entry.get("name"))
    if lib not in LIGAND_LIBRARY:
        raise LigandError(f"ligand '{entry.get('name')}': no smiles and {lib!r} is not in the library")
    return LIGAND_LIBRARY[lib]
