from __future__ import annotations

import pandas as pd

from passivscreen.io import write_json
from passivscreen.ranking import ranking_table, write_ranking


def _rec(name, e, status="ok", bonds_changed=None, anchor="P=O"):
    return {
        "ligand": name,
        "smiles": "C",
        "anchor": anchor,
        "site": "Pb10",
        "E_ads_eV": e,
        "bond_order": 0.2,
        "status": status,
        "bonds_changed": bonds_changed or [],
        "n_orientations": 4,
        "provenance": {"backend": "gfn2"},
    }


def test_ranking_order_failed_and_flagged_last():
    recs = [
        _rec("weak", -0.3),
        _rec("strong", -1.2),
        _rec("failed", None, status="scf_failed"),
        _rec("reacted", -2.5, bonds_changed=["broken N1-O2"], anchor="N=O"),
        _rec("mid", -0.7),
    ]
    df = ranking_table(recs)
    assert list(df["ligand"]) == ["strong", "mid", "weak", "reacted", "failed"]
    assert list(df["rank"]) == [1, 2, 3, 4, 5]
    assert df.loc[df.ligand == "reacted", "flags"].item() == "ligand_bonds_changed"
    assert df.loc[df.ligand == "strong", "flags"].item() == ""


def test_write_ranking_files(tmp_path):
    paths = []
    for i, r in enumerate([_rec("a", -1.0), _rec("b", -0.5, anchor="C=O")]):
        r["orientations"] = [{"rotation_deg": 0.0, "status": "ok", "E_ads_eV": r["E_ads_eV"]}]
        paths.append(tmp_path / f"{i}.json")
        write_json(paths[-1], r)
    df = write_ranking(paths, tmp_path / "r.csv", tmp_path / "r.png", tmp_path / "o.csv")
    back = pd.read_csv(tmp_path / "r.csv")
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
    png = (tmp_path / "r.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert len(pd.read_csv(tmp_path / "o.csv")) == 2
