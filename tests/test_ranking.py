from __future__ import annotations

import pandas as pd
import pytest

from passivscreen.ranking import ranking_table, write_ranking
from passivscreen.records.files import write_json
from passivscreen.records.layout import Results


def _rec(name, e, status="ok", flags=None, anchor="P=O", face="top", bo=0.2, before=None, after=None):
    rec = {
        "ligand": name,
        "smiles": "C",
        "anchor": anchor,
        "site": "vBr0-Pb10",
        "face": face,
        "E_ads_eV": e,
        "E_ads_per_ligand_eV": None if e is None else e / (2 if face == "both" else 1),
        "bond_order": bo,
        "status": status,
        "integrity": {"flags": flags or []},
        "n_orientations": 4,
        "provenance": {"backend": "gfn2"},
    }
    if before is not None:
        rec["traps_before"] = {"trap_depth_eV": before, "gap_eV": 2.8}
    if after is not None:
        rec["traps"] = {"trap_depth_eV": after, "gap_eV": 2.9}
    return rec


def test_ranking_order_failed_and_flagged_last():
    recs = [
        _rec("weak", -0.3),
        _rec("strong", -1.2),
        _rec("failed", None, status="scf_failed"),
        _rec("reacted", -2.5, flags=["ligand_reacted[gfn2]"], anchor="N=O"),
        _rec("mid", -0.7),
    ]
    df = ranking_table(recs)
    assert list(df["ligand"]) == ["strong", "mid", "weak", "reacted", "failed"]
    assert list(df["rank"]) == [1, 2, 3, 4, 5]
    assert df.loc[df.ligand == "reacted", "flags"].item() == "ligand_reacted[gfn2]"
    assert df.loc[df.ligand == "strong", "flags"].item() == ""
    # per-criterion ranks: E_ads alone puts the flagged (most negative) row first
    assert df.loc[df.ligand == "reacted", "rank_E_ads_eV"].item() == 1


def test_configurable_order_and_trap_criterion():
    recs = [
        _rec("a", -1.0, bo=0.20, before=0.3, after=0.25),
        _rec("b", -0.8, bo=0.35, before=0.3, after=0.0),
        _rec("c", -0.5, bo=0.10, before=0.3, after=0.3),
    ]
    assert list(ranking_table(recs)["ligand"]) == ["a", "b", "c"]
    assert list(ranking_table(recs, ["bond_order"])["ligand"]) == ["b", "a", "c"]
    by_trap = ranking_table(recs, ["trap_removed_eV", "E_ads_eV"])
    assert list(by_trap["ligand"]) == ["b", "a", "c"]
    assert by_trap.set_index("ligand").loc["b", "trap_removed_eV"] == pytest.approx(0.3)


def test_cooperativity_and_faces():
    recs = [
        _rec("p", -1.0, face="top"),
        _rec("p", -1.0, face="bottom"),
        _rec("p", -2.3, face="both"),
        _rec("q", -0.5, face="top"),
    ]
    df = ranking_table(recs).set_index(["ligand", "faces"])
    assert df.loc[("p", "both"), "cooperativity_eV"] == pytest.approx(-0.3)
    assert df.loc[("p", "top"), "cooperativity_eV"] == pytest.approx(-0.3)
    assert pd.isna(df.loc[("q", "top"), "cooperativity_eV"])
    # ranked by E_ads per ligand: both faces at -1.15 per ligand beats one face at -1.0
    assert ranking_table(recs).iloc[0]["faces"] == "both"


def test_write_ranking_files(tmp_path):
    paths = []
    for i, r in enumerate([_rec("a", -1.0), _rec("b", -0.5, anchor="C=O")]):
        r["orientations"] = [{"rotation_deg": 0.0, "status": "ok", "E_ads_eV": r["E_ads_eV"]}]
        paths.append(tmp_path / f"{i}.json")
        write_json(paths[-1], r)
    files = Results(str(tmp_path)).ranking
    df = write_ranking(paths, files)
    back = pd.read_csv(files.csv)
    for col in [
        "ligand",
        "smiles",
        "anchor",
        "site",
        "E_ads_eV",
        "bond_order",
        "d_anchor_Pb_A",
        "charge_transfer_e",
        "n_orientations",
        "status",
    ]:
        assert col in back.columns
    assert list(back["ligand"]) == list(df["ligand"]) == ["a", "b"]
    png = open(files.png, "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert len(pd.read_csv(files.orientations)) == 2
    assert open(files.failures).read().strip() == "2 rows, none failed"
