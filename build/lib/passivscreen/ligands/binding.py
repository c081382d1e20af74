"""Binding modes: what is placed on the surface and what E_ads is measured against.

* ``L`` (L-type donors: P=O, S=O, C=O, N=O, neutral COOH, amine, thiol): the molecule on a surface
  Pb; E_ads = E(complex) - E(slab) - E(L).
* ``X`` (X-type anions: carboxylate, thiolate, phosphonate, halide): the anion in the place of a surface
  Br-, the exchange HA + slab -> slab(A- for Br-) + HBr; E_ads = E(complex) - E(slab) - [E(HA) - E(HBr)],
  measured against the neutral acid HA.
* ``ion_pair`` (ammonium, primary to quaternary): R-NH3+ in the A-site pocket above the PbBr2 surface with
  its Br- on the apical site of the surface Pb, i.e. the start of the next CsBr layer; E_ads = E(complex) -
  E(slab) - E(R-NH3Br), measured against the neutral salt (an ion pair, or a zwitterion, as the gas-phase
  molecule relaxes). A cation given without a counter-ion gets Br-.

Every mode's reference is a neutral molecule, so that R-P=O, R-SH, R-COOH/R-COO- and R-NH3+ are ranked on
one scale: the energy of binding a neutral molecule from the gas phase to the neutral surface.
"""

from __future__ import annotations

from dataclasses import dataclass

from passivscreen.ligands.anchors import BINDING_MODES, choose_anchor, find_anchors
from passivscreen.ligands.errors import LigandError

#: Binding modes a config may ask for (``binding`` of a ligand entry).
MODES = ("L", "X", "ion_pair")


@dataclass(frozen=True)
class BindingPlan:
    """How one ligand binds.

    Attributes
    ----------
    mode
        ``L``, ``X`` or ``ion_pair``.
    placed
        SMILES of the species put on the surface (the anion for X; cation and Br- for an ion pair).
    references
        (SMILES, coefficient) of the neutral molecules whose energies, summed with these coefficients,
        are E(ligand) in E_ads = E(complex) - E(slab) - n E(ligand).
    """

    mode: str
    placed: str
    references: tuple[tuple[str, int], ...]


def _smiles(mol) -> str:
    from rdkit import Chem

    return Chem.MolToSmiles(mol)


def _neutral_acid(mol, name: str):
    """The acid of an anion: the anionic O/S/halide protonated (RDKit's uncharger)."""
    from rdkit.Chem.MolStandardize import rdMolStandardize

    acid = rdMolStandardize.Uncharger().uncharge(mol)
    if sum(a.GetFormalCharge() for a in acid.GetAtoms()) != 0:
        raise LigandError(f"ligand '{name}': cannot form the neutral acid of {_smiles(mol)}")
    return acid


def _deprotonate(mol, name: str):
    """The anion of a neutral acid (COOH, SH, P-OH): the acidic H of its first acid group removed."""
    from rdkit import Chem

    for smarts in ("[OX2H1][CX3]=[OX1]", "[OX2H1][PX4]=[OX1]", "[SX2H1]"):
        hits = mol.GetSubstructMatches(Chem.MolFromSmarts(smarts))
        if hits:
            rw = Chem.RWMol(mol)
            atom = rw.GetAtomWithIdx(hits[0][0])
            atom.SetFormalCharge(-1)
            atom.SetNumExplicitHs(0)
            atom.SetNoImplicit(True)
            Chem.SanitizeMol(rw)
            return rw.GetMol()
    raise LigandError(f"ligand '{name}': binding X needs an anion or an acid group (COOH, P-OH, SH)")


def binding_plan(mol, name: str, anchor: str | None = None, override: str | None = None) -> BindingPlan:
    """The binding mode of ``mol`` (an RDKit molecule; chosen by its anchor class unless ``override``).

    Raises
    ------
    LigandError
        A disconnected SMILES that is not an ammonium salt (e.g. a Na+ Cl- salt), an ion pair whose
        charges do not add up to zero, or a mode that the molecule cannot take.
    """
    from rdkit import Chem

    frags = Chem.GetMolFrags(mol)
    if len(frags) > 1 and "ammonium" not in find_anchors(mol) and override != "ion_pair":
        raise LigandError(
            f"ligand '{name}': {len(frags)} disconnected fragments in one SMILES ({_smiles(mol)}); only an "
            "ammonium salt (an ion pair with its counter-ion) may have several"
        )
    cls, _ = choose_anchor(mol, name, anchor)
    mode = override or BINDING_MODES[cls]
    if mode not in MODES:
        raise LigandError(f"ligand '{name}': unknown binding {mode!r}; choose one of {MODES}")
    charge = Chem.GetFormalCharge(mol)
    if mode == "ion_pair":
        if cls != "ammonium":
            raise LigandError(f"ligand '{name}': binding ion_pair needs an ammonium group (found {cls})")
        if charge == 1:
            mol = Chem.MolFromSmiles(_smiles(mol) + ".[Br-]")
        elif charge != 0:
            raise LigandError(f"ligand '{name}': an ion pair must be neutral with its counter-ion (charge {charge:+d})")
        return BindingPlan("ion_pair", _smiles(mol), ((_smiles(mol), 1),))
    if len(frags) > 1:
        raise LigandError(
            f"ligand '{name}': {len(frags)} disconnected fragments in one SMILES; only an ammonium salt "
            "(binding ion_pair) may have several"
        )
    if mode == "X":
        anion = mol if charge < 0 else _deprotonate(mol, name)
        if Chem.GetFormalCharge(anion) != -1:
            raise LigandError(f"ligand '{name}': binding X needs a singly charged anion (charge {charge:+d})")
        return BindingPlan("X", _smiles(anion), ((_smiles(_neutral_acid(anion, name)), 1), ("Br", -1)))
    if charge != 0:
        raise LigandError(f"ligand '{name}': binding L needs a neutral molecule (charge {charge:+d})")
    return BindingPlan("L", _smiles(mol), ((_smiles(mol), 1),))
