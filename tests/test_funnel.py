"""The funnel: a tier with top_k evaluates only the best k rows of the tier before it."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from ase.build import molecule

from passivscreen.calculators import tiers_from_config
from passivscreen.calculators.systems import SLAB_CELL_MOLECULE_VACUUM, molecule_box
from passivscreen.config import ConfigError, validate_config
from passivscreen.ranking import ranking_table, tier_table, write_ranking
from passivscreen.records.files import read_json
from passivscreen.records.layout import Results
from passivscreen.steps.funnel import run_funnel_member, run_funnel_slab, select


def _rec(name, e, status="ok", flags=(), tier="gfn2", level=0, **kw):
    return {
        "ligand": name,
        "anchor": "C=O",
        "site": "pristine-Pb10",
        "face": "top",
        "E_ads_eV": e,
        "E_ads_per_ligand_eV": e,
        "status": status,
        "integrity": {"flags": list(flags)},
        "tier": tier,
        "level": level,
        "backend": "gfn2",
        **kw,
    }


def test_select_takes_the_kth_best_ok_row():
    recs = [
        _rec("weak", -0.2),
        _rec("best", -1.0),
        _rec("failed", None, status="scf_failed"),
        _rec("flagged", -2.0, flags=["ligand_reacted[gfn2]"]),
        _rec("middle", -0.5),
    ]
    order = ["flags", "E_ads_eV"]
    assert [select(recs, k, order)[0]["ligand"] for k in range(4)] == ["best", "middle", "weak", "flagged"]
    assert select(recs, 4, order)[0] is None  # only four rows finished
    assert select(recs, 0, ["E_ads_eV"])[0]["ligand"] == "flagged"  # the config's order decides


def test_higher_tier_ranks_first_and_tiers_csv_says_who_saw_it():
    screen = [
        _rec("a", -1.0, tiers=[{"name": "gfn2", "E_ads_eV": -1.0}]),
        _rec("b", -0.8, tiers=[{"name": "gfn2", "E_ads_eV": -0.8}]),
        _rec("c", -0.6, tiers=[{"name": "gfn2", "E_ads_eV": -0.6}]),
    ]
    funnel = [
        _rec(
            "b",
            -0.3,
            tier="dft",
            level=1,
            kind="funnel",
            backend="cp2k",
            tiers=[
                {"name": "gfn2", "E_ads_eV": -0.8},
                {
                    "name": "dft",
                    "E_ads_eV": -0.3,
                    "E_ads_dispersion_eV": -0.2,
                    "ligand_charge_e": -0.6,
                    "ligand_spin": 0.9,
                },
            ],
        ),
        _rec(
            "a",
            None,
            status="scf_failed",
            tier="dft",
            level=1,
            kind="funnel",
            tiers=[{"name": "gfn2", "E_ads_eV": -1.0}],
        ),
        {"kind": "funnel", "tier": "dft", "status": "not_selected", "level": 1},
    ]
    df = ranking_table(screen + funnel)
    # b reached the DFT tier (and is ranked by it, although weaker there); a's DFT failed: it stays at gfn2
    assert list(df["ligand"]) == ["b", "a", "c"]
    assert list(df["tier"]) == ["dft", "gfn2", "gfn2"] and df.loc[0, "E_ads_eV"] == -0.3
    assert list(df["backend"]) == ["cp2k", "gfn2", "gfn2"]
    t = tier_table(screen + funnel, ["gfn2", "dft"]).set_index("ligand")
    assert t["seen_dft"].to_dict() == {"a": True, "b": True, "c": False}
    assert t.loc["a", "status_dft"] == "scf_failed" and t.loc["b", "E_ads_per_ligand_eV_dft"] == -0.3
    # the D3 part of b's DFT E_ads (the funnel row's complex - slab - ligand D3 terms), a column beside it
    assert t.loc["b", "E_ads_dispersion_per_ligand_eV_dft"] == -0.2 and pd.isna(
        t.loc["a", "E_ads_dispersion_per_ligand_eV_dft"]
    )
    # and the ligand's charge and spin at the tier that computed them
    assert (t.loc["b", "ligand_charge_e_dft"], t.loc["b", "ligand_spin_dft"]) == (-0.6, 0.9)
    assert pd.isna(t.loc["a", "ligand_spin_dft"])


def test_free_ligand_of_a_dft_tier_in_the_slab_lateral_cell():
    """A DFT funnel tier's free ligand: the slab's a and b, a short c (6 A above and below it), one SCF."""
    cfg = validate_config(
        {
            "set": "molecule",
            "tiers": [{"backend": "gfn2"}, {"name": "dft", "backend": "cp2k", "task": "single_point", "top_k": 1}],
            "ligands": [{"name": "acetone", "smiles": "CC(C)=O"}],
        }
    )
    screen, dft = tiers_from_config(cfg)
    assert screen.for_molecule() is screen  # nothing to change for tblite
    mol = dft.for_molecule()
    assert mol.parameters["dipole_restart"] is False and dft.parameters["dipole_restart"] is True
    assert {k: v for k, v in mol.parameters.items() if k != "dipole_restart"} == {
        k: v for k, v in dft.parameters.items() if k != "dipole_restart"
    }
    slab_cell = np.diag([11.74, 11.74, 31.74])
    lig = molecule("CH3COCH3")
    extent = np.ptp(lig.positions[:, 2])
    molecule_box(lig, mol, cell=slab_cell)
    assert lig.pbc.all() and np.allclose(lig.cell[:2], slab_cell[:2])
    assert lig.cell[2, 2] == pytest.approx(extent + 2 * SLAB_CELL_MOLECULE_VACUUM)
    z = lig.positions[:, 2]
    assert z.min() == pytest.approx(SLAB_CELL_MOLECULE_VACUUM) and z.max() == pytest.approx(lig.cell[2, 2] - 6.0)
    # never longer than the slab's own cell
    small = molecule("CH3COCH3")
    molecule_box(small, mol, cell=np.diag([11.74, 11.74, 9.0]))
    assert small.cell[2, 2] == pytest.approx(9.0)
    # xTB: no periodic boundaries at all
    free = molecule("CH3COCH3")
    molecule_box(free, screen, cell=slab_cell)
    assert not free.pbc.any()


def test_funnel_tiers_are_validated():
    base = {"set": "f", "ligands": [{"name": "x", "smiles": "C=O"}]}
    bad = [
        ([{"backend": "gfn2", "top_k": 2}], "first tier"),
        (
            [
                {"backend": "gfn2"},
                {"name": "a", "backend": "gfn2", "top_k": 2, "task": "single_point"},
                {"name": "b", "backend": "gfn2", "task": "single_point"},
            ],
            "needs top_k",
        ),
        ([{"backend": "gfn2"}, {"name": "a", "backend": "gfn2", "top_k": 2}], "single_point"),
        (
            [
                {"backend": "gfn2"},
                {"name": "a", "backend": "gfn2", "top_k": 2, "task": "single_point"},
                {"name": "b", "backend": "gfn2", "top_k": 3, "task": "single_point"},
            ],
            "more than",
        ),
        ([{"backend": "gfn2", "vacuum": 5.0}], "only funnel tiers"),
    ]
    for tiers, msg in bad:
        with pytest.raises(ConfigError, match=msg):
            validate_config({**base, "tiers": tiers})


@pytest.mark.slow
def test_funnel_evaluates_the_best_rows_in_its_own_cell(tiny_screen, tmp_path):
    """Two ligands screened at GFN2-xTB; a funnel tier (GFN2-xTB, tighter SCF, less vacuum) with top_k 2: rank 0
    the best row, rank 1 the other, rank 2 (beyond the rows) not selected; with top_k 1 rank 1 is not selected.

    The screen is the shared tiny screen (tests/conftest.py::tiny_screen: screen tier ``gfn2``, funnel tier
    ``check``); the funnel's own files go to this test's directory.
    """
    site, res = tiny_screen.site, tmp_path / "results" / "tiny"
    cfg = copy.deepcopy(tiny_screen.cfg)
    cfg["tiers"][1]["top_k"] = 2
    records = []
    for lig in ("formaldehyde", "methylamine"):
        rec = tiny_screen.records[lig]
        assert rec["status"] == "ok" and [t["name"] for t in rec["tiers"]] == ["gfn2"]
        records.append(tiny_screen.paths[lig]["record"])
    slab_ref = res / "tiers" / "check" / "slab" / site / "top.json"
    sref = run_funnel_slab(cfg, "check", site, "top", slab_ref, slab_ref.with_suffix(".extxyz"))
    assert sref["status"] == "ok" and sref["spec"]["vacuum"] == 6.0
    out = [res / "tiers" / "check" / f"rank_{i:04d}.json" for i in range(3)]
    recs = [
        run_funnel_member(cfg, "check", i, records, [slab_ref], o, o.with_suffix(".extxyz")) for i, o in enumerate(out)
    ]
    screen = [read_json(p) for p in records]
    best = min(screen, key=lambda r: r["E_ads_per_ligand_eV"])
    assert recs[0]["ligand"] == best["ligand"] and recs[0]["status"] == "ok" and recs[0]["tier"] == "check"
    assert recs[1]["status"] == "ok" and recs[1]["ligand"] != best["ligand"]
    assert recs[2]["status"] == "not_selected" and recs[0]["funnel_k"] == 2
    one = run_funnel_member(tiny_screen.cfg, "check", 1, records, [slab_ref], out[1], out[1].with_suffix(".extxyz"))
    assert one["status"] == "not_selected" and one["funnel_k"] == 1  # top_k 1: the second row is not sent
    # the check's E_ads: same geometry, tighter SCF, 12 A instead of 16 A of vacuum: close to the screen's
    assert recs[0]["E_ads_eV"] == pytest.approx(best["E_ads_eV"], abs=0.1) and recs[0]["E_ads_eV"] != best["E_ads_eV"]
    files = Results(str(tmp_path)).ranking
    write_ranking(records + out[:1], files, tier_names=["gfn2", "check"])
    df, t = pd.read_csv(files.csv), pd.read_csv(files.tiers)
    assert list(df["tier"]) == ["check", "gfn2"] and df.loc[0, "ligand"] == best["ligand"]
    assert t.set_index("ligand")["seen_check"].to_dict() == {best["ligand"]: True, recs[1]["ligand"]: False}


def test_agreement_statistics_and_parity(tmp_path):
    from passivscreen.analysis.validation import agreement, plot_parity

    t = pd.DataFrame(
        {
            "ligand": list("abcd"),
            "anchor": ["P=O", "S=O", "C=O", "amine"],
            "site": ["s"] * 4,
            "faces": ["top"] * 4,
            "E_ads_per_ligand_eV_gfn2": [-1.0, -0.8, -0.5, -0.9],
            "E_ads_per_ligand_eV_dft": [-1.2, -0.7, -0.6, None],  # d: not evaluated by the check
        }
    )
    both, stats = agreement(t, "gfn2", "dft")
    assert list(both["ligand"]) == ["a", "b", "c"]
    assert stats["n"] == 3 and stats["mae_eV"] == pytest.approx((0.2 + 0.1 + 0.1) / 3)
    assert stats["mse_eV"] == pytest.approx((0.2 - 0.1 + 0.1) / 3)
    assert stats["kendall_tau"] == pytest.approx(1.0) and stats["same_first"]
    t.loc[1, "E_ads_per_ligand_eV_dft"] = -1.5  # b first at DFT: one discordant pair of three
    _, stats = agreement(t, "gfn2", "dft")
    assert stats["kendall_tau"] == pytest.approx(1 / 3) and not stats["same_first"]
    plot_parity(both, stats, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_a_tier_that_finds_the_ligand_reduced_adds_its_own_flag_and_keeps_the_screens():
    """The ligand's charge and spin at a tier are the sums over the atoms after the slab, per ligand; a charge
    below -reduction flags ``ligand_reduced[<tier backend>]`` beside the screen's flags, a donor is only noted."""
    from passivscreen.analysis.integrity import tier_reduction
    from passivscreen.steps.funnel import ligand_populations

    pops = {
        "charges": np.array([0.5, -0.5, -0.2, -0.1, -0.3, -0.2]),
        "magmoms": np.array([0.0, 0.1, 0.3, 0.2, 0.4, 0.1]),
    }
    row = ligand_populations(pops, n_slab=2, n_ligands=2)  # two ligands of two atoms each
    assert row == {"ligand_charge_e": -0.4, "ligand_spin": 0.5}
    assert ligand_populations({"charges": pops["charges"]}, 2, 1) == {"ligand_charge_e": -0.8}
    assert ligand_populations({}, 2, 1) == {}
    screen = {"flags": ["ligand_reduced[gfn2]"], "details": {"ligand_reduced": ["ligand charge -0.55 e"]}}
    out = tier_reduction(screen, row, "cp2k")
    assert out["flags"] == ["ligand_reduced[gfn2]", "ligand_reduced[cp2k]"]
    assert out["details"]["ligand_reduced"][-1] == "ligand charge -0.40 e, spin +0.50 [cp2k]"
    assert screen["flags"] == ["ligand_reduced[gfn2]"]  # the screen's record is not changed in place
    donor = tier_reduction(screen, {"ligand_charge_e": 0.05, "ligand_spin": 0.01}, "cp2k")
    assert donor["flags"] == ["ligand_reduced[gfn2]"] and donor["details"]["ligand_charge"]
    assert tier_reduction(None, {"ligand_charge_e": -0.09}, "cp2k")["flags"] == []  # within the 0.1 e default
    assert tier_reduction(None, {"ligand_charge_e": -0.09}, "cp2k", {"reduction": 0.05})["flags"] == [
        "ligand_reduced[cp2k]"
    ]
    assert tier_reduction(screen, {}, "cp2k")["flags"] == screen["flags"]
