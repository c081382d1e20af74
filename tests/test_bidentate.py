"""Bidentate binding (issue 22, DPEPO's two P=O): a ligand with two anchors of its class is also placed on two
neighbouring Pb, that start is relaxed beside the monodentate ones, the lower minimum is kept, and the record
says how many anchors are bound (``denticity``)."""

from __future__ import annotations

import copy

import pytest

BIS_PO = "CP(C)(=O)CCCP(C)(C)=O"  # propane-1,3-diylbis(dimethylphosphine oxide): O...O 5.6-7.2 A, Pb-Pb 5.87 A


@pytest.mark.slow
def test_bidentate_start_is_relaxed_and_the_lower_minimum_kept(tiny_screen, tmp_path):
    """Real GFN2-xTB on the tiny slab (shared with the other step tests): the bis-phosphine oxide's bidentate
    start ends with both O on a Pb; the record keeps the lower of the relaxed minima."""
    from passivscreen.config import validate_config
    from passivscreen.steps.adsorption import run_adsorption
    from passivscreen.steps.ligand import run_ligand

    raw = copy.deepcopy(tiny_screen.cfg)
    # eight conformers embedded; the lowest placed flat, the lowest that fits two Pb without dipping into the
    # surface placed bidentate (placement/starts.py: its two lowest do not)
    raw["ligands"] = [{"name": "bis", "smiles": BIS_PO, "conformers": 8}]
    raw["placement"] = {**raw["placement"], "probe_steps": 2, "min_contact_ratio": 0.6, "conformers": 1}
    raw["relax"] = {**raw["relax"], "steps": 12}
    for key in ("ligands_file_report",):
        raw.pop(key, None)
    cfg = validate_config(raw)
    paths = tiny_screen.paths["formaldehyde"]  # the tiny slab's reference, the same protocol
    lig_json, lig_xyz = tmp_path / "bis.json", tmp_path / "bis.extxyz"
    lrec = run_ligand(cfg, "bis", lig_json, lig_xyz, tmp_path / "work" / "bis")
    assert lrec["status"] == "ok", lrec.get("reason")
    out = tmp_path / "complex.json"
    rec = run_adsorption(
        cfg,
        "bis",
        tiny_screen.site,
        "top",
        paths["slab_record"],
        paths["slab"],
        lig_json,
        lig_xyz,
        out,
        out.with_suffix(".extxyz"),
        tmp_path / "work" / "complex",
    )
    assert rec["status"] == "ok", rec.get("reason")
    rows = rec["orientations"]
    bi = [r for r in rows if r.get("denticity_start") == 2 and r["status"] != "clash"]
    assert bi, "no bidentate start was placed"
    assert all(r["clearance_A"] >= 0.0 for r in bi)
    assert len(rec["placed_conformers"]) == 2 and rec["placed_conformers"][0] == 0
    relaxed = [r for r in rows if r["status"] not in ("screened", "clash", "dropped")]
    relaxed_bi = [r for r in relaxed if r.get("denticity_start") == 2]
    assert relaxed_bi, [(r.get("denticity_start"), r["status"]) for r in rows]
    assert any(r.get("denticity_start") is None for r in relaxed)  # and the monodentate start
    ok = [r for r in relaxed if r["status"] == "ok" and r.get("E_ads_eV") is not None]
    assert rec["E_ads_eV"] == pytest.approx(min(r["E_ads_eV"] for r in ok))
    # the bidentate start ends with both O on a Pb, each with a bond order
    end = relaxed_bi[0]
    assert end["denticity"] == 2, end.get("anchors")
    assert len(end["anchors"]) == 2 and all(a["d_anchor_Pb_A"] < 3.2 for a in end["anchors"])
    assert all(a.get("bond_order", 0) > 0.05 for a in end["anchors"]), end["anchors"]
    assert rec["denticity"] in (1, 2)
    print(
        "bidentate test:",
        [(r.get("denticity_start", 1), r["status"], r.get("E_ads_eV"), r.get("denticity")) for r in relaxed],
    )
