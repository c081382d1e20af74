"""``ligands_file``: a library of candidates from a CSV, SMILES or SDF file, every row checked like a config's
ligand entry, every bad row reported with its file and line, repeats of a molecule run once."""

from __future__ import annotations

import copy
import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from passivscreen.config import ConfigError, load_config, validate_config
from passivscreen.ligands.files import LigandFileError, read_rows

ROOT = Path(__file__).resolve().parents[1]

# line 1 is the header; the bad rows' lines are what the messages must name
CSV = """name,smiles,anchor,vendor_id
acetone,CC(C)=O,,V1
acetone_again,O=C(C)C,,V2
broken,C1CC(,,V3
dmso,CS(C)=O,,V4
???,CN,,V5

methylamine,CN,,V6
short_row,CN
silane,[SiH4],,V7
wrong_anchor,CP(C)(C)=O,C=O,V9
"""
BAD_LINES = {4: "broken", 6: "???", 9: "short_row", 10: "silane", 11: "wrong_anchor"}


def _config(tmp_path: Path, text: str = CSV, suffix: str = ".csv", **extra) -> Path:
    """A copy of configs/test.yaml whose ligands come from a file next to it (a relative path)."""
    cfg = yaml.safe_load((ROOT / "configs" / "test.yaml").read_text())
    cfg.pop("ligands")
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    (folder / f"library{suffix}").write_text(text)
    cfg.update(ligands_file=f"library{suffix}", **extra)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_refuse_lists_every_bad_row_with_its_file_and_line(tmp_path):
    path = _config(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "5 of 9 rows" in text and "on_bad_ligand" in text
    listed = [line for line in text.splitlines() if "library.csv:" in line]
    assert len(listed) == 5
    for line, name in BAD_LINES.items():
        assert any(f"library.csv:{line} " in x and name in x for x in listed), (line, listed)
    assert "RDKit cannot parse" in text and "2 fields, the header has 4" in text and "anchor 'C=O' not present" in text
    # the repeat of acetone is not an error
    assert "acetone_again" not in text


def test_skip_runs_the_others_once_and_keeps_the_skipped_rows(tmp_path):
    from passivscreen.config.ligand_file import write_skipped

    cfg = load_config(_config(tmp_path, on_bad_ligand="skip"))
    assert [lig["name"] for lig in cfg["ligands"]] == ["acetone", "dmso", "methylamine"]
    assert cfg["ligands"][0] == {"name": "acetone", "smiles": "CC(C)=O"}  # vendor_id and empty anchor dropped
    report = cfg["ligands_file_report"]
    assert (report["rows"], report["used"]) == (9, 3)
    out = tmp_path / "skipped.csv"
    assert write_skipped(cfg, out) == 6
    rows = list(csv.DictReader(out.open()))
    assert {int(r["line"]) for r in rows} == set(BAD_LINES) | {3}
    dup = next(r for r in rows if r["line"] == "3")
    assert dup["name"] == "acetone_again" and "duplicate of line 2 ('acetone')" in dup["reason"]
    # validating the expanded config again reads nothing twice
    again = validate_config(copy.deepcopy(cfg))
    assert [lig["name"] for lig in again["ligands"]] == ["acetone", "dmso", "methylamine"]


def test_a_name_may_not_repeat_a_config_entry_nor_differ_from_one_only_in_case(tmp_path):
    path = _config(tmp_path, "name,smiles\nAcetone,CCC(C)=O\nbutanone,CCC(C)=O\n", on_bad_ligand="skip")
    cfg = yaml.safe_load(path.read_text())
    cfg["ligands"] = [{"name": "acetone", "smiles": "CC(C)=O"}]
    path.write_text(yaml.safe_dump(cfg))
    out = load_config(path)
    assert [lig["name"] for lig in out["ligands"]] == ["acetone", "butanone"]
    (skipped,) = out["ligands_file_report"]["skipped"]
    assert skipped["line"] == 2 and "already used by ligands entry 'acetone'" in skipped["reason"]


def test_a_catalogue_s_names_and_salt_forms_are_made_usable_and_said(tmp_path):
    """Names with spaces, commas, slashes or accents become file-safe (the original kept as label); a salt
    form loses its counter-ions (an ammonium salt, an ion pair, is placed as written); each change is
    reported, and two rows that become the same name or molecule are a collision and a repeat."""
    text = (
        "name,smiles,label\n"
        "oleic acid,CCCCCCCC/C=C\\CCCCCCCC(=O)O,\n"  # line 2
        "octylamine HCl,CCCCCCCCN.Cl,\n"
        "sodium octanoate,CCCCCCCC(=O)[O-].[Na+],\n"
        "butylammonium bromide,CCCC[NH3+].[Br-],\n"  # line 5
        "TOPO / tri-n-octyl,CCCCCCCCP(=O)(CCCCCCCC)CCCCCCCC,the classic\n"
        "Émile's thiol,CCCCS,\n"
        "octylamine,CCCCCCCCN,\n"  # line 8: octylamine HCl's molecule again
        "oleic_acid,CCCC(=O)O,\n"  # line 9: the name line 2 was given
        "glycine,NCC(=O)O,\n"  # line 10: two anchor classes, no anchor column: one ligand per class
    )
    cfg = load_config(_config(tmp_path, text, on_bad_ligand="skip"))
    got = {lig["name"]: lig for lig in cfg["ligands"]}
    assert list(got) == [
        "oleic_acid", "octylamine_HCl", "sodium_octanoate", "butylammonium_bromide", "TOPO_tri-n-octyl",
        "Emile_s_thiol", "glycine_COOH", "glycine_amine",
    ]  # fmt: skip
    assert (got["glycine_COOH"]["anchor"], got["glycine_amine"]["anchor"]) == ("COOH", "amine")
    assert got["glycine_amine"]["label"] == "glycine"
    assert got["oleic_acid"]["label"] == "oleic acid" and got["TOPO_tri-n-octyl"]["label"] == "the classic"
    assert got["octylamine_HCl"]["smiles"] == "CCCCCCCCN"
    assert got["sodium_octanoate"]["smiles"] == "CCCCCCCC(=O)[O-]"
    assert got["butylammonium_bromide"]["smiles"] == "CCCC[NH3+].[Br-]"
    report = cfg["ligands_file_report"]
    changed = {row["line"]: row["change"] for row in report["changed"]}
    assert set(changed) == {2, 3, 4, 5, 6, 7, 10} and (report["used"], report["entries"]) == (7, 8)
    assert sum("screened at" in row["change"] for row in report["changed"]) == 2
    assert "counter-ion(s) Cl removed" in changed[3] and "[Na+] removed" in changed[4]
    assert "removed" not in changed[5] and "kept as its label" not in changed[6]
    skipped = {row["line"]: row["reason"] for row in report["skipped"]}
    assert "duplicate of line 3" in skipped[8] and "already used by line 2" in skipped[9]
    # names that leave nothing file-safe are still refused
    with pytest.raises(ConfigError, match=r"library.csv:2 .*does not match"):
        load_config(_config(tmp_path, "name,smiles\n???,CN\n"))


def test_spreadsheet_and_database_exports(tmp_path):
    """A semicolon or tab between fields, a .tsv, PubChem's headers (cmpdname, IsomericSMILES), a CXSMILES
    extension in a SMILES file: read as the rows they are; a header with neither a name nor an alias is refused."""
    want = [
        {"name": "oleic acid", "smiles": "CCCCCCCC/C=C\\CCCCCCCC(=O)O"},
        {"name": "TOPO", "smiles": "CCCP(=O)(CCC)CCC"},
    ]
    body = [(w["name"], w["smiles"]) for w in want]
    for fname, text in (
        ("semi.csv", "Name;SMILES;MW\n" + "".join(f"{n};{s};1,5\n" for n, s in body)),
        ("tabs.csv", "name\tsmiles\n" + "".join(f"{n}\t{s}\n" for n, s in body)),
        ("lib.tsv", "smiles\tname\n" + "".join(f"{s}\t{n}\n" for n, s in body)),
        ("pubchem.csv", "cid,cmpdname,IsomericSMILES\n" + "".join(f"{k},{n},{s}\n" for k, (n, s) in enumerate(body))),
    ):
        path = tmp_path / fname
        path.write_text(text)
        assert [r.entry for r in read_rows(path)] == want, fname
    cx = tmp_path / "cx.smi"
    cx.write_text("C[C@H](N)CC |&1:1| racemic amine\nCCCS\tpropanethiol\n")
    assert [r.entry for r in read_rows(cx)] == [
        {"name": "racemic amine", "smiles": "C[C@H](N)CC |&1:1|"},
        {"name": "propanethiol", "smiles": "CCCS"},
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("CompoundID,IsomericSMILES\n1,CCN\n")
    with pytest.raises(LigandFileError, match="no name column"):
        read_rows(bad)


def test_smiles_file_names_header_and_comments(tmp_path):
    path = tmp_path / "lib.smi"
    path.write_text("SMILES Name\n# a comment\nCC(C)=O acetone\n\nCS(C)=O  dimethyl sulfoxide\nCN\n")
    rows = read_rows(path)
    assert [(r.line, r.entry) for r in rows] == [
        (3, {"name": "acetone", "smiles": "CC(C)=O"}),
        (5, {"name": "dimethyl sulfoxide", "smiles": "CS(C)=O"}),
        (6, {"name": "lib_6", "smiles": "CN"}),
    ]


def test_sdf_records_their_names_properties_and_3d_stereo(tmp_path):
    from rdkit import Chem
    from rdkit.Chem import AllChem

    blocks = []
    for name, smiles, anchor in (("S_sulfoxide", "C[S@](=O)c1ccccc1", None), ("acetone", "CC(C)=O", "C=O")):
        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        AllChem.EmbedMolecule(mol, randomSeed=1)
        mol.SetProp("_Name", name)
        if anchor:
            mol.SetProp("anchor", anchor)
        blocks.append(mol)
    path = tmp_path / "lib.sdf"
    with Chem.SDWriter(str(path)) as writer:
        for mol in blocks:
            writer.write(mol)
    with path.open("a") as fh:
        fh.write("garbage\n  not a molblock\n$$$$\n")
    rows = read_rows(path)
    assert [r.entry.get("name") for r in rows] == ["S_sulfoxide", "acetone", "garbage"]
    chiral = Chem.MolFromSmiles(rows[0].entry["smiles"])
    assert Chem.FindMolChiralCenters(chiral) == Chem.FindMolChiralCenters(Chem.MolFromSmiles("C[S@](=O)c1ccccc1"))
    structure = rows[1].entry.pop("structure")
    assert rows[1].entry == {"name": "acetone", "smiles": "CC(C)=O", "anchor": "C=O"}
    assert structure["file"] == str(path.resolve()) and structure["line"] == rows[1].line
    assert "structure" not in rows[2].entry
    assert rows[0].line == 1 and rows[1].line > rows[0].line and rows[2].problem
    assert rows[2].line == path.read_text().splitlines().index("garbage") + 1


def _distances(positions) -> np.ndarray:
    """Every interatomic distance, sorted: the same for one geometry whatever the atoms' order."""
    from scipy.spatial.distance import pdist

    return np.sort(pdist(np.asarray(positions)))


def test_an_sdf_row_s_3d_coordinates_are_its_first_conformer(tmp_path):
    """An SDF record's coordinates (a twisted conformer RDKit would not make first; hydrogens missing in one
    record) are the ligand's first conformer in every step that builds it, and its ligand job says so; a record
    whose molecule is not the placed species (an acid, placed as its anion) is not used and the job says why;
    a record edited after validation stops its ligand job with a clear error."""
    from rdkit import Chem
    from rdkit.Chem import AllChem, rdMolTransforms

    from passivscreen.ligands import LigandError
    from passivscreen.ligands.molecules import entry_ligand
    from passivscreen.steps.ligand import run_ligand

    mols = {}
    for name, smiles in (("propylamine", "CCCN"), ("butanone", "CCC(C)=O"), ("acid", "CCC(=O)O")):
        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        AllChem.EmbedMolecule(mol, randomSeed=7)
        mol.SetProp("_Name", name)
        mols[name] = mol
    # propylamine with its C-C-C-N torsion at 70 deg (a gauche conformer, placed as given)
    rdMolTransforms.SetDihedralDeg(mols["propylamine"].GetConformer(), 0, 1, 2, 3, 70.0)
    mols["butanone"] = Chem.RemoveHs(mols["butanone"])  # heavy atoms only: RDKit adds the hydrogens
    path = tmp_path / "project" / "library.sdf"
    path.parent.mkdir()
    with Chem.SDWriter(str(path)) as writer:
        for mol in mols.values():
            writer.write(mol)
    cfg = load_config(_config(tmp_path, path.read_text(), ".sdf"))
    entries = {e["name"]: e for e in cfg["ligands"]}
    amine = entry_ligand(cfg, entries["propylamine"])
    heavy = [i for i, sym in enumerate(amine.atoms.get_chemical_symbols()) if sym != "H"]
    given = mols["propylamine"].GetConformer().GetPositions()
    assert np.allclose(_distances(amine.conformers[0]), _distances(given), atol=1e-4)
    assert np.allclose(amine.atoms.positions, amine.conformers[0])
    assert "library.sdf:1: the first conformer" in amine.input_structure
    assert len(heavy) == 4
    ketone = entry_ligand(cfg, entries["butanone"])
    assert ketone.input_structure.endswith("the first conformer") and len(ketone.conformers[0]) == 13
    kheavy = [i for i, sym in enumerate(ketone.atoms.get_chemical_symbols()) if sym != "H"]
    assert np.allclose(
        _distances(np.asarray(ketone.conformers[0])[kheavy]),
        _distances(mols["butanone"].GetConformer().GetPositions()),
        atol=1e-4,
    )
    acid = entry_ligand(cfg, entries["acid"])  # COOH binds L as the acid: placed as given
    assert acid.input_structure.endswith("the first conformer")
    anion = entry_ligand(cfg, {**entries["acid"], "binding": "X"})
    assert "not used" in anion.input_structure and anion.conformers
    rec = run_ligand(cfg, "propylamine", tmp_path / "p.json", tmp_path / "p.extxyz", tmp_path / "work")
    assert rec["status"] == "ok" and "the first conformer" in rec["input_structure"], rec
    path.write_text(path.read_text().replace("propylamine", "propylamin", 1))
    with pytest.raises(LigandError, match="changed since"):
        entry_ligand(cfg, entries["propylamine"])


def test_a_config_entry_names_its_own_sdf_structure(tmp_path):
    """``structure`` in a ``ligands`` entry: a relative file is read from the config's folder and its record's
    SHA-256 recorded; a record of another molecule, a missing file or a line that starts no record is refused
    naming the entry's field."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles("CCCN"))
    AllChem.EmbedMolecule(mol, randomSeed=3)
    folder = tmp_path / "project"
    (folder / "structures").mkdir(parents=True)
    with Chem.SDWriter(str(folder / "structures" / "pa.sdf")) as writer:
        writer.write(mol)
    cfg = yaml.safe_load((ROOT / "configs" / "test.yaml").read_text())

    def with_entry(entry):
        cfg["ligands"] = [entry]
        path = folder / "config.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    out = load_config(
        with_entry({"name": "pa", "smiles": "CCCN", "structure": {"file": "structures/pa.sdf", "line": 1}})
    )
    st = out["ligands"][0]["structure"]
    assert st["file"] == str((folder / "structures" / "pa.sdf").resolve()) and len(st["sha256"]) == 64
    for entry, match in (
        ({"name": "ea", "smiles": "CCN", "structure": {"file": "structures/pa.sdf", "line": 1}}, "not the entry's"),
        ({"name": "pa", "smiles": "CCCN", "structure": {"file": "gone.sdf", "line": 1}}, "cannot be read"),
        ({"name": "pa", "smiles": "CCCN", "structure": {"file": "structures/pa.sdf", "line": 4}}, "cannot read"),
    ):
        with pytest.raises(ConfigError, match=rf"ligands\[0\]\.structure .*{match}"):
            load_config(with_entry(entry))


def test_files_that_cannot_be_read(tmp_path):
    for text, suffix, match in (
        ("smiles,label\nCC,x\n", ".csv", "no name column"),
        ("name,smiles\n", ".xlsx", "unknown format"),
    ):
        with pytest.raises(ConfigError, match=match):
            load_config(_config(tmp_path, text, suffix))
    with pytest.raises(LigandFileError, match="not found"):
        read_rows(tmp_path / "missing.csv")
    cfg = yaml.safe_load((ROOT / "configs" / "test.yaml").read_text())
    cfg.pop("ligands")
    with pytest.raises(ConfigError, match="no ligand"):
        validate_config(cfg)


def test_cli_refuses_with_exit_2_from_another_folder_and_writes_nothing(tmp_path):
    path = _config(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "passivscreen.cli", "validate", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "library.csv:11 (wrong_anchor)" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_snakemake_dry_run_writes_skipped_csv(tmp_path):
    path = _config(tmp_path, on_bad_ligand="skip")
    proc = subprocess.run(
        ["snakemake", "-n", "-s", str(ROOT / "Snakefile"), "--configfile", str(path), "--cores", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader((tmp_path / "results" / "test" / "skipped.csv").open()))
    assert len(rows) == 6
    assert "adsorption" in proc.stdout + proc.stderr


def test_a_row_that_cannot_be_embedded_is_a_failed_row_of_its_ligand_job(tmp_path, monkeypatch):
    """Validation does not embed a file's rows in 3D (two thirds of a library's validation time): a row that
    ETKDG cannot embed passes it, is planned on the smallest auto cell, and its ligand job records why it failed,
    within the embedding's time limit (1 s here, 30 s shipped; without one it takes minutes)."""
    from bad_configs import UNEMBEDDABLE

    from passivscreen.placement.cells import ligand_cells
    from passivscreen.steps.ligand import run_ligand
    from passivscreen.structures.cells import AUTO_MIN

    monkeypatch.setattr("passivscreen.ligands.molecules.EMBED_TIMEOUT_S", 1)
    cfg = load_config(_config(tmp_path, f"name,smiles\ncage,{UNEMBEDDABLE}\nacetone,CC(C)=O\n"))
    assert [lig["name"] for lig in cfg["ligands"]] == ["cage", "acetone"]
    auto = {**cfg, "slab": {**cfg["slab"], "repeat": "auto"}}
    t0 = time.perf_counter()
    assert ligand_cells(auto, cache=tmp_path / "cells.json")["cage"] == (AUTO_MIN, AUTO_MIN)
    # ETKDG's timeout (1 s here): without it this molecule takes 190-200 s to fail; a bound 3x above the
    # loaded machine's figure (~15 s), a tenth of the failure
    assert time.perf_counter() - t0 < 60
    rec = run_ligand(auto, "cage", tmp_path / "cage.json", tmp_path / "cage.extxyz", tmp_path / "work")
    assert rec["status"] == "invalid_structure" and "could not embed" in rec["reason"], rec
    # with auto the ligand job chooses the cell: a row that failed gets the smallest (its complexes fail with it)
    assert rec["cell"] == [AUTO_MIN, AUTO_MIN]
