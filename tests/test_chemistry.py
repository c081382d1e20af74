"""The seed's chemistry: binding modes (L, X, ion pair), traps, conformers, coverage, spin and fragments."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from passivscreen.analysis.geometry import min_image_distance
from passivscreen.analysis.integrity import trap_flags
from passivscreen.config import ConfigError, validate_config
from passivscreen.ligands.molecules import ligand_from_smiles
from passivscreen.placement import orientations
from passivscreen.placement.modes import APICAL_DISTANCE, POCKET_HEIGHT
from passivscreen.ranking import ranking_table
from passivscreen.records.layout import Results
from passivscreen.steps.adsorption import run_adsorption_member
from passivscreen.steps.convergence import complex_paths
from passivscreen.steps.jobs import complex_member
from passivscreen.steps.ligand import run_ligand
from passivscreen.steps.slab import run_slab
from passivscreen.structures import SlabSpec, build_slab, site_labels, site_slab, surface_pb_indices


def _pb(atoms, n_slab):
    return [i for i in range(n_slab) if atoms[i].symbol == "Pb"]


def test_ammonium_ion_pair_sits_in_the_a_site_pocket():
    slab = build_slab(SlabSpec())
    top, bottom = surface_pb_indices(slab)[0], surface_pb_indices(slab, "bottom")[0]
    ma = ligand_from_smiles("ma", "C[NH3+]")  # a cation without counter-ion gets Br-
    assert ma.binding == "ion_pair" and ma.smiles == "C[NH3+].[Br-]" and ma.atoms[ma.anchor_index].symbol == "Br"
    ok, _ = orientations(slab, ma, {"top": top, "bottom": bottom}, 4)
    assert len(ok) == 4
    n = len(slab)
    for c in ok:
        for k, (face, site) in enumerate((("top", top), ("bottom", bottom))):
            start = n + k * c.n_lig
            nitrogen, br = start + ma.cation_index, start + ma.anchor_index
            # Br- on the apical site of the Pb, outside the surface
            d = c.atoms.positions[br] - c.atoms.positions[site]
            assert np.linalg.norm(d) == pytest.approx(APICAL_DISTANCE) and np.sign(d[2]) == (1 if face == "top" else -1)
            # the N over the pocket's centre (a/sqrt(2) from the site Pb in the plane), no Pb within 3.0 A
            assert c.atoms.get_distances(nitrogen, _pb(c.atoms, n), mic=True).min() > 3.0
            lateral = 5.87 / 2**0.5
            expected = (lateral**2 + POCKET_HEIGHT**2) ** 0.5
            assert c.atoms.get_distance(nitrogen, site, mic=True) == pytest.approx(expected, abs=0.1)
            # the methyl points away from the surface
            carbon = start + 0
            assert (c.atoms.positions[carbon, 2] - c.atoms.positions[nitrogen, 2]) * (1 if face == "top" else -1) > 1.0


def test_carboxylate_takes_the_place_of_a_surface_br():
    slab = build_slab(SlabSpec())
    pb = surface_pb_indices(slab)[0]
    ss = site_slab(slab, "vBr+", ("top",), pb)
    acetate = ligand_from_smiles("ac", "CC(=O)[O-]")
    assert acetate.binding == "X" and acetate.charge == -1
    ok, _ = orientations(ss.atoms, acetate, ss.sites, 2, targets={"top": np.array(ss.vacancies["top"])})
    c = ok[0]
    o = c.atoms.positions[c.anchors[0]]
    assert np.linalg.norm(o - ss.vacancies["top"]) == pytest.approx(0.8)  # over the removed Br
    assert len(ss.atoms) == len(slab) - 1 and ss.charge + acetate.charge == 0  # Br- out, acetate in: neutral
    # the acid given with binding X is deprotonated to the same anion
    assert ligand_from_smiles("aa", "CC(=O)O", binding="X").smiles == "CC(=O)[O-]"


def test_adds_trap_flag_and_ranking_order():
    assert trap_flags({"trap_depth_eV": 0.0}, {"trap_depth_eV": 2.87}, 1.3, "gfn2") == ["adds_trap[gfn2]"]
    assert trap_flags({"trap_depth_eV": 0.0}, {"trap_depth_eV": 1.0}, 1.3, "gfn2") == []
    assert trap_flags({"trap_depth_eV": 2.0}, {"trap_depth_eV": 2.5}, 1.3, "gfn2") == []  # the slab had it
    recs = [
        {"ligand": "nitroso", "E_ads_eV": -1.5, "status": "ok", "integrity": {"flags": ["adds_trap[gfn2]"]}},
        {"ligand": "weak", "E_ads_eV": -0.2, "status": "ok", "integrity": {"flags": []}},
        {"ligand": "strong", "E_ads_eV": -0.9, "status": "ok", "integrity": {"flags": []}},
    ]
    assert list(ranking_table(recs)["ligand"]) == ["strong", "weak", "nitroso"]


def test_conformers_count_and_determinism():
    rigid = ligand_from_smiles("tmpo", "CP(C)(C)=O", conformers=None)
    assert len(rigid.conformers) == 1  # no rotatable bond
    a = ligand_from_smiles("hex", "CCCCCC(=O)O", seed=7, conformers=None)
    b = ligand_from_smiles("hex", "CCCCCC(=O)O", seed=7, conformers=None)
    c = ligand_from_smiles("hex", "CCCCCC(=O)O", seed=8, conformers=None)
    assert 2 <= len(a.conformers) <= 10
    assert len(a.conformers) == len(b.conformers)
    assert all(np.allclose(x, y) for x, y in zip(a.conformers, b.conformers))
    assert not np.allclose(a.conformers[0], c.conformers[0])
    # pruned: no two kept conformers closer than 0.5 A RMSD (after alignment)
    from rdkit import Chem
    from rdkit.Chem import rdMolAlign
    from rdkit.Geometry import Point3D

    mol = Chem.AddHs(Chem.MolFromSmiles("CCCCCC(=O)O"))
    confs = []
    for pos in a.conformers:
        conf = Chem.Conformer(mol.GetNumAtoms())
        for i, p in enumerate(pos):
            conf.SetAtomPosition(i, Point3D(*p))
        confs.append(mol.AddConformer(conf, assignId=True))
    assert min(rdMolAlign.GetBestRMS(mol, mol, i, j) for i in confs for j in confs if i < j) > 0.5


def test_conformer_pruning_of_a_molecule_with_many_symmetric_hydrogens(monkeypatch):
    """A heptyl chain and a tert-butyl group: over a million numberings of the atoms with hydrogens, which RDKit's
    GetBestRMS tries one by one (150 s for ten conformers). Such molecules are pruned by the heavy atoms' RMS; the
    kept conformers are still 0.5 A apart there; TMPO (1,296 numberings) keeps the all-atom RMS."""
    from rdkit import Chem
    from rdkit.Chem import rdMolAlign
    from rdkit.Geometry import Point3D

    from passivscreen.ligands import molecules

    smiles = "CCCCCCCP(=O)(c1cccc(Cl)c1)C(C)(C)C"
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    assert molecules.symmetry_matches(mol) > molecules.MAX_RMS_MATCHES
    assert molecules.symmetry_matches(Chem.AddHs(Chem.MolFromSmiles("CP(C)(C)=O"))) == 1296
    seen = []
    best_rms = rdMolAlign.GetBestRMS

    def counted(prb, ref, *args, **kw):
        seen.append(prb.GetNumAtoms())
        return best_rms(prb, ref, *args, **kw)

    monkeypatch.setattr(rdMolAlign, "GetBestRMS", counted)
    lig = ligand_from_smiles("tbu", smiles, seed=42, conformers=None)
    heavy = Chem.MolFromSmiles(smiles)
    assert seen and set(seen) == {heavy.GetNumAtoms()}  # every comparison on the heavy atoms
    assert len(lig.conformers) == 10
    confs = []
    for pos in lig.conformers:
        conf = Chem.Conformer(heavy.GetNumAtoms())
        for i in range(heavy.GetNumAtoms()):  # RDKit puts the added hydrogens after the heavy atoms
            conf.SetAtomPosition(i, Point3D(*pos[i]))
        confs.append(heavy.AddConformer(conf, assignId=True))
    assert min(best_rms(heavy, heavy, i, j) for i in confs for j in confs if i < j) > 0.5
    seen.clear()
    ligand_from_smiles("dps", "CCCS(=O)CCC", seed=42, conformers=None)  # 1,152 numberings: all atoms
    assert seen and set(seen) == {Chem.AddHs(Chem.MolFromSmiles("CCCS(=O)CCC")).GetNumAtoms()}


def test_radical_multiplicity_and_salt_rejection():
    assert ligand_from_smiles("r", "[CH2]C(C)=O").multiplicity == 2
    assert ligand_from_smiles("k", "CC(C)=O").multiplicity == 1
    with pytest.raises(ConfigError, match="disconnected fragments"):
        validate_config({"set": "s", "ligands": [{"name": "salt", "smiles": "CC(C)=O.[Na+].[Cl-]"}]})
    validate_config({"set": "s", "ligands": [{"name": "mabr", "smiles": "C[NH3+].[Br-]"}]})  # an ion pair is fine


def test_min_image_distance():
    slab = build_slab(SlabSpec(n_pbbr2=2, repeat=(2, 2), vacuum=8.0))
    from ase import Atoms

    long = slab + Atoms("CC", positions=[[0.0, 0.0, 20.0], [10.5, 0.0, 20.0]])  # cell 11.74 A: 1.24 A apart
    assert min_image_distance(long, len(slab)) == pytest.approx(11.74 - 10.5, abs=0.01)


@pytest.mark.slow
def test_radical_and_ions_through_the_steps(tiny_screen, tmp_path):
    """A doublet ligand runs as a doublet; methylammonium bromide and acetate bind as ion pair and X.

    The reference slab is the shared tiny screen's (tests/conftest.py::tiny_screen: the same slab, site,
    relax settings and GFN2-xTB tier named ``gfn2``), copied into this test's results.
    """
    cfg = validate_config(
        {
            "set": "ions",
            "slab": {"n_pbbr2_layers": 2, "repeat": [2, 2], "vacuum": 8.0},
            "relax": {"fmax": 0.1, "steps": 40},
            # one start ranked by single point (the binding modes are tested here; the search in test_search.py)
            "placement": {"orientations": 1, "tilts": [0.0], "probe_steps": 0, "relax_top": 1},
            "ligands": [
                {"name": "acetonyl", "smiles": "[CH2]C(C)=O"},
                {"name": "mabr", "smiles": "C[NH3+].[Br-]"},
                {"name": "acetate", "smiles": "CC(=O)[O-]"},
            ],
        }
    )
    res = tmp_path / "results"
    site = site_labels(cfg)[0]
    assert site == tiny_screen.site and cfg["slab"] == tiny_screen.cfg["slab"]
    shared = tiny_screen.paths["formaldehyde"]
    for key in ("slab_record", "slab"):
        target = complex_paths(res, "acetonyl", site, "top")[key]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared[key], target)
    out = {}
    for lig in ("acetonyl", "mabr", "acetate"):
        p = complex_paths(res, lig, site, "top")
        if not p["slab_record"].exists():
            run_slab(cfg, site, "top", p["slab_record"], p["slab"])
        lrec = run_ligand(cfg, lig, p["ligand_record"], p["ligand"], res / "w" / lig)
        assert lrec["status"] == "ok", lrec.get("reason")
        out[lig] = (
            lrec,
            run_adsorption_member(cfg, complex_member(Results(str(res)), lig, site, "top")),
        )
    lrec, rec = out["acetonyl"]
    # a doublet radical on the closed-shell slab: the complex is a doublet too (unpaired electrons add)
    assert lrec["multiplicity"] == 2 and rec["multiplicity"] == 2 and rec["charge"] == 0
    assert rec["status"] == "ok", rec.get("reason")
    lrec, rec = out["mabr"]
    assert rec["status"] == "ok" and rec["binding"] == "ion_pair", rec.get("reason")
    assert rec["d_cation_Pb_A"] > 3.0
    assert [r["smiles"] for r in lrec["references"]] == ["C[NH3+].[Br-]"]
    lrec, rec = out["acetate"]
    assert rec["status"] == "ok" and rec["binding"] == "X", rec.get("reason")
    # E(ligand) of an X-type anion is E(acid) - E(HBr): the exchange HA + slab -> slab(A) + HBr
    refs = {r["smiles"]: r for r in lrec["references"]}
    assert set(refs) == {"CC(=O)O", "Br"} and refs["Br"]["coefficient"] == -1
    assert lrec["energy_eV"] == pytest.approx(refs["CC(=O)O"]["energy_eV"] - refs["Br"]["energy_eV"])
    assert -3.0 < rec["E_ads_eV"] < 1.0
    # the anion's Mulliken charge is measured from its formal -1: it gave electrons, it was not reduced
    assert rec["charge_transfer_e"] > 0 and not [f for f in rec["integrity"]["flags"] if "reduced" in f]


def test_unpaired_electrons_of_slab_and_ligands_add():
    from passivscreen.calculators.systems import complex_state

    assert complex_state((0, 1), (0, 2), 1) == (0, 2)  # a doublet radical on the pristine slab
    assert complex_state((0, 1), (0, 2), 2) == (0, 3)  # one on each face: a triplet
    assert complex_state((0, 2), (0, 2), 1) == (0, 3)  # on a neutral vacancy (doublet): high spin
    assert complex_state((1, 1), (-1, 1), 1) == (0, 1)  # an anion on a charged slab
