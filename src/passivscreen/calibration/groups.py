"""The functional group of a molecule's anchor inside its anchor class: what the anchor's central atom carries.

One anchor class holds chemically different donors: the P=O of a phosphine oxide (P bonded to carbon), of a
phosphate ester (to oxygen) and of a phosphoramide (to nitrogen); the C=O of a ketone and of an ester; the N=O
of a C-nitroso compound and of a nitrosamine; the S=O of a sulfoxide and of a sulfone. The substituents change
the donor's basicity, and a semi-empirical method's error with it: in the calibration set GFN2-xTB binds the
two phosphine oxides 0.15-0.16 eV too weakly and trimethyl phosphate 0.21 eV too strongly (docs/validation.md),
so one shift for the whole class corrects neither. The group names the class and the elements bonded to the
anchor's central atom (the anchor's neighbour for a terminal O, else the anchor itself), the anchor left out:
``P=O(C)``, ``P=O(O)``, ``P=O(N)``, ``C=O(C)``, ``C=O(C,O)``, ``amine(C)``. Hydrogen and aromaticity are not
part of it (methyl, aryl and H substituents are one group), so that a group collects molecules, not cases.
The calibration's ``group`` model (:mod:`passivscreen.calibration.fit`) uses it only where cross-validation
says that a shift per group predicts unseen molecules of the class better than one shift.
"""

from __future__ import annotations

from functools import lru_cache

from passivscreen.ligands.anchors import choose_anchor
from passivscreen.ligands.errors import LigandError


@lru_cache(maxsize=65536)
def functional_group(smiles: str | None, anchor: str | None) -> str | None:
    """The functional group of the molecule ``smiles`` bound through ``anchor`` (module docstring), or None
    when the SMILES does not parse or has no anchor of that class."""
    if not smiles or not anchor:
        return None
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    try:
        _, idx = choose_anchor(mol, "group", anchor)
    except LigandError:
        return None
    atom = mol.GetAtomWithIdx(idx)
    heavy = [n for n in atom.GetNeighbors() if n.GetAtomicNum() > 1]
    central = heavy[0] if atom.GetSymbol() == "O" and len(heavy) == 1 else atom
    elements = sorted({n.GetSymbol() for n in central.GetNeighbors() if n.GetAtomicNum() > 1 and n.GetIdx() != idx})
    return f"{anchor}({','.join(elements)})"
