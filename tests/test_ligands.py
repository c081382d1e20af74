from __future__ import annotations

import numpy as np
import pytest
from rdkit.Chem.rdMolDescriptors import CalcMolFormula

from passivscreen.ligands import (
    ANCHOR_SMARTS,
    BINDING_MODES,
    LIGAND_LIBRARY,
    LigandError,
    anchor_axis,
    choose_anchor,
    find_anchors,
    ligand_from_smiles,
    parse_smiles,
)

CASES = [
    ("CP(C)(C)=O", "P=O", "O"),
    ("O=P(c1ccccc1)(c1ccccc1)c1ccccc1", "P=O", "O"),
    ("CS(C)=O", "S=O", "O"),
    ("CS(=O)(=O)C", "S=O", "O"),
    ("CC(C)=O", "C=O", "O"),
    ("O=C(c1ccccc1)c1ccccc1", "C=O", "O"),
    ("CN=O", "N=O", "O"),
    ("O=Nc1ccccc1", "N=O", "O"),
    ("CC(=O)O", "COOH", "O"),
    ("CN", "amine", "N"),
    ("Nc1ccccc1", "amine", "N"),  # an aryl amine is an amine (issue 23's calibration set: aniline)
    ("CNc1ccccc1", "amine", "N"),
    ("CC(=O)Nc1ccccc1", "C=O", "O"),  # an anilide's N is an amide N, not an amine
    ("CS", "thiol", "S"),
    # lone-pair donors through N, P or S that no oxygen carries
    ("c1ccncc1", "pyridine", "N"),
    ("Cc1ccc2ncccc2c1", "pyridine", "N"),  # a quinoline
    ("Cn1ccnc1", "pyridine", "N"),  # N-methylimidazole: its N3, not the methylated N1
    ("CC#N", "nitrile", "N"),
    ("CCCCCCCCP(CCCCCCCC)CCCCCCCC", "phosphine", "P"),  # trioctylphosphine, TOP
    ("c1ccc(P(c2ccccc2)c2ccccc2)cc1", "phosphine", "P"),
    ("CSC", "thioether", "S"),
    ("Cc1cccs1", "thioether", "S"),  # a thiophene
    # ions: an ammonium cation is not a Lewis base (no lone pair); anions bind as X-type
    ("CCCC[NH3+]", "ammonium", "N"),
    ("C[N+](C)(C)C", "ammonium", "N"),
    # the other organic N cations of perovskite additives: an ion pair with Br- in the A-site pocket too
    ("NC=[NH2+]", "ammonium", "N"),  # formamidinium
    ("NC(N)=[NH2+]", "ammonium", "N"),  # guanidinium
    ("c1cc[nH+]cc1", "ammonium", "N"),  # pyridinium
    ("CCCCn1cc[n+](C)c1", "ammonium", "N"),  # 1-butyl-3-methylimidazolium
    ("CC(=O)[O-]", "carboxylate", "O"),
    ("CC[S-]", "thiolate", "S"),
    ("CP(=O)([O-])O", "phosphonate", "O"),
    ("[I-]", "halide", "I"),
]


@pytest.mark.parametrize("smiles, cls, element", CASES)
def test_anchor_detection_every_class(smiles, cls, element):
    mol = parse_smiles(smiles)
    found = find_anchors(mol)
    assert list(found) == [cls], found
    got_cls, idx = choose_anchor(mol, "x")
    assert got_cls == cls
    assert mol.GetAtomWithIdx(idx).GetSymbol() == element


def test_every_class_has_a_case():
    assert {c for _, c, _ in CASES} == set(ANCHOR_SMARTS)


def test_carboxylic_acid_is_not_a_ketone():
    found = find_anchors(parse_smiles("CC(=O)O"))
    assert "C=O" not in found
    # the anchor is the carbonyl O, not the hydroxyl O
    mol = parse_smiles("CC(=O)O")
    _, idx = choose_anchor(mol, "acid")
    assert mol.GetAtomWithIdx(idx).GetTotalNumHs() == 0


def test_ambiguous_and_missing_anchor():
    mol = parse_smiles("O=P(C)(C)CCC(C)=O")  # P=O and C=O
    with pytest.raises(LigandError, match="ambiguous"):
        choose_anchor(mol, "two")
    assert choose_anchor(mol, "two", anchor="C=O")[0] == "C=O"
    with pytest.raises(LigandError, match="no anchor"):
        choose_anchor(parse_smiles("CCCC"), "butane")
    with pytest.raises(LigandError, match="not present"):
        choose_anchor(parse_smiles("CC(C)=O"), "acetone", anchor="P=O")
    with pytest.raises(LigandError, match="not an anchor atom"):
        choose_anchor(parse_smiles("CC(C)=O"), "acetone", anchor_index=0)


def test_bad_smiles():
    with pytest.raises(LigandError, match="cannot parse"):
        parse_smiles("C1CC(", "broken")


def test_library_formulas():
    expected = {
        "TPPO": "C18H15OP",
        "TSPO1": "C36H29OPSi",
        "DPEPO": "C36H28O3P2",
        "benzophenone": "C13H10O",
        "nitrosobenzene": "C6H5NO",
        "trimethylphosphine_oxide": "C3H9OP",
    }
    for name, formula in expected.items():
        assert CalcMolFormula(parse_smiles(LIGAND_LIBRARY[name])) == formula


def test_3d_ligand_and_anchor_axis():
    lig = ligand_from_smiles("tmpo", "CP(C)(C)=O", seed=7)
    assert lig.atoms.get_chemical_formula() == "C3H9OP"
    o = lig.anchor_index
    p = (
        next(j for i, j in lig.bonds if i == o)
        if any(i == o for i, _ in lig.bonds)
        else next(i for i, j in lig.bonds if j == o)
    )
    axis = anchor_axis(lig.atoms, o, lig.bonds)
    po = lig.atoms.positions[o] - lig.atoms.positions[p]
    assert np.dot(axis, po / np.linalg.norm(po)) == pytest.approx(1.0)
    assert 1.45 < np.linalg.norm(po) < 1.55  # P=O bond after MMFF
    # same seed, same geometry
    again = ligand_from_smiles("tmpo", "CP(C)(C)=O", seed=7)
    assert np.allclose(again.atoms.positions, lig.atoms.positions)


def test_seed_paper_smiles_match_known_formulas(root):
    import yaml

    known = {
        "TSPO1": "C36H29OPSi",
        "TPPO": "C18H15OP",
        "DPEPO": "C36H28O3P2",
        "DMAC-DPS": "C42H36N2O2S",
        "benzophenone": "C13H10O",
        "nitrosobenzene": "C6H5NO",
        "propanoic_acid": "C3H6O2",
        "propylamine": "C3H9N",
        "propanethiol": "C3H8S",
        "butylammonium_bromide": "C4H12BrN",
        "propanoate": "C3H5O2-",
    }
    expected_anchor = {
        "TSPO1": "P=O",
        "TPPO": "P=O",
        "DPEPO": "P=O",
        "DMAC-DPS": "S=O",
        "benzophenone": "C=O",
        "nitrosobenzene": "N=O",
        "propanoic_acid": "COOH",
        "propylamine": "amine",
        "propanethiol": "thiol",
        "butylammonium_bromide": "ammonium",
        "propanoate": "carboxylate",
    }
    cfg = yaml.safe_load((root / "configs" / "seed_paper.yaml").read_text())
    assert {lig["name"] for lig in cfg["ligands"]} == set(known)
    for lig in cfg["ligands"]:
        mol = parse_smiles(lig["smiles"], lig["name"])
        assert CalcMolFormula(mol) == known[lig["name"]], lig["name"]
        assert choose_anchor(mol, lig["name"])[0] == expected_anchor[lig["name"]]


@pytest.mark.parametrize(
    "smiles, absent",
    [
        ("c1cc[nH]c1", "pyridine"),  # pyrrole: its N's lone pair is in the ring
        ("c1cc[nH+]cc1", "pyridine"),  # pyridinium: no lone pair left
        ("[C-]#[N+]C", "nitrile"),  # an isonitrile
        ("CP(C)(C)=O", "phosphine"),  # a phosphine oxide is P=O
        ("COP(OC)OC", "phosphine"),  # a phosphite: P on O
        ("CS(C)=O", "thioether"),  # a sulfoxide is S=O
        ("CS", "thioether"),  # a thiol is its own class
        ("CSSC", "thioether"),  # a disulfide
        ("O=[N+]([O-])c1ccccc1", "ammonium"),  # a nitro group's N+ (an N=O donor) is no cation
        ("[O-][n+]1ccccc1", "ammonium"),  # nor is an N-oxide's
        ("C[N+]#N", "ammonium"),  # a diazonium
        ("CN=[N+]=[N-]", "ammonium"),  # an azide
    ],
)
def test_look_alikes_of_the_lone_pair_donors_are_not_them(smiles, absent):
    """Pyridines, nitriles, phosphines and thioethers are L-type classes; what looks like them but has no free
    lone pair on that atom (or is another class) is not."""
    assert all(BINDING_MODES[c] == "L" for c in ("pyridine", "nitrile", "phosphine", "thioether"))
    assert absent not in find_anchors(parse_smiles(smiles))
