"""Calibration of the screening level against DFT (issue 23): the cross-validated fit per class, its interval,
the data set tied to its protocol, the calibrated ranking, ``top_k: auto`` and the store."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student

from passivscreen.calculators import tiers_from_config
from passivscreen.calibration import (
    build_dataset,
    calibrate,
    class_of,
    differences,
    fingerprint,
    fit_class,
    half_width,
    resolve,
    screen_protocol,
)
from passivscreen.calibration.store import read_pairs, store_pair
from passivscreen.cli import main
from passivscreen.config import ConfigError, load_config, validate_config
from passivscreen.ranking import ranking_table, tier_table
from passivscreen.steps.calibrate import calibrate_from
from passivscreen.steps.funnel import chosen_rows

BASE = {"set": "cal", "ligands": [{"name": "acetone", "smiles": "CC(C)=O"}]}
NOISE = np.array([0.02, -0.03, 0.01, -0.02, 0.03, -0.01])


def _pairs(cls, xs, ys, anchor=None, binding="L"):
    return [
        {
            "ligand": f"{cls}{i}",
            "smiles": f"{cls}{i}",
            "anchor": anchor or cls,
            "binding": binding,
            "class": None,
            "E_screen_eV": float(x),
            "E_dft_eV": float(y),
        }
        for i, (x, y) in enumerate(zip(xs, ys))
    ]


def test_the_cross_validated_model_wins_shift_line_or_nothing():
    x = np.array([-1.0, -0.8, -0.6, -0.5, -0.3, -0.2])
    shift = fit_class(list("abcdef"), x, x + 0.15 + NOISE)
    assert shift.model == "shift" and shift.b == pytest.approx(0.15, abs=0.01) and shift.a == 1.0
    assert shift.loo_mae_eV < 0.05 < shift.loo_mae_raw_eV
    line = fit_class(list("abcdef"), x, 0.5 * x - 0.2 + NOISE)
    assert line.model == "linear" and line.a == pytest.approx(0.5, abs=0.1)
    # no systematic error: neither correction beats the raw value out of sample
    none = fit_class(list("abcdef"), x, x + NOISE)
    assert none.model == "none" and (none.a, none.b) == (1.0, 0.0)
    # leave-one-out by hand for the shift: each molecule predicted from the others' mean error
    err = 0.15 + NOISE
    loo = [err[np.arange(6) != i].mean() - err[i] for i in range(6)]
    assert shift.loo_residuals_eV == pytest.approx(loo)
    # three molecules: a line cannot be cross-validated, a shift can
    assert fit_class(list("abc"), x[:3], 0.5 * x[:3]).model in ("none", "shift")


def test_a_line_that_turns_the_screens_order_round_is_not_a_calibration():
    """The four alkylammonium bromides (stop 40): screen -1.51 to -1.65 eV, DFT -1.81 to -1.91 eV, anti-correlated.
    A line through them (slope -0.39) predicts the left-out molecules better than a shift (LOO MAE 0.042 against
    0.085 eV), but a negative slope is no calibration: the class gets the shift."""
    names = ["methyl", "ethyl", "propyl", "butyl"]
    x = np.array([-1.512, -1.615, -1.646, -1.633])
    y = np.array([-1.912, -1.893, -1.890, -1.814])
    assert np.polyfit(x, y, 1)[0] < 0
    fit = fit_class(names, x, y)
    assert "linear" not in fit.cv_mae_eV and fit.model == "shift", fit
    assert fit.loo_mae_eV == pytest.approx(0.085, abs=0.002)
    # the same molecules with a positive slope keep the line as a candidate
    assert "linear" in fit_class(names, x, 0.5 * x - 1.1 + np.array([0.01, -0.01, 0.0, 0.005])).cv_mae_eV


def test_a_line_is_not_carried_beyond_the_screening_e_ads_its_molecules_span(tmp_path):
    """The four sulfoxides of relax_each_tilt's data set (stop 55), screen -1.01 to -1.17 eV: a line (slope 1.83)
    predicts them best, and at DMAC-DPS's -1.67 eV it would add -0.42 eV. Outside the range the row gets the
    class's shift and the larger interval of the two models (also at another level); inside, the line, and within
    2 meV of the range's ends too (a molecule of the set screened again)."""
    x = np.array([-1.010, -1.018, -1.093, -1.170])
    y = np.array([-0.907, -0.882, -1.034, -1.182])
    cfg = validate_config(copy.deepcopy(BASE))
    path = _dataset_file(tmp_path, cfg, _pairs("S=O", x, y))
    fit = json.loads(path.read_text())["classes"]["S=O"]
    assert fit["model"] == "linear" and fit["a"] > 1.5 and fit["range_eV"] == pytest.approx([-1.170, -1.010])
    assert fit["shift_b_eV"] == pytest.approx(np.mean(y - x))
    for level in (0.9, 0.68):
        cal = resolve(validate_config({**copy.deepcopy(BASE), "calibration": {"data": str(path), "level": level}}))
        row = {"anchor": "S=O", "binding": "L", "site": "pristine-Pb10-2x2", "tier": "gfn2"}
        e, h, how = calibrate(cal, **row, e_raw=-1.667)
        err = y - x  # the shift's leave-one-out residuals, by hand
        shift_hw = half_width([err[np.arange(4) != i].mean() - err[i] for i in range(4)], level)
        line_hw = half_width(fit_class(list("abcd"), x, y).loo_residuals_eV, level)
        assert e == pytest.approx(-1.667 + err.mean()) and "outside the line's range" in how
        assert h == pytest.approx(max(shift_hw, line_hw)) and shift_hw > line_hw
        inside, _, how_in = calibrate(cal, **row, e_raw=-1.05)
        assert inside == pytest.approx(fit["a"] * -1.05 + fit["b"]) and "outside" not in how_in
        # a molecule of the set screened again a meV off the range's end (another machine) keeps the line
        for end, off in ((-1.010, +0.001), (-1.170, -0.001)):
            e_end, _, how_end = calibrate(cal, **row, e_raw=end + off)
            assert e_end == pytest.approx(fit["a"] * (end + off) + fit["b"]) and "outside" not in how_end
        assert "outside" in calibrate(cal, **row, e_raw=-1.010 + 0.005)[2]


def test_interval_is_t_times_rms_of_cross_validated_residuals():
    r = [0.1, -0.1, 0.1, -0.1]
    assert half_width(r, 0.9) == pytest.approx(student.ppf(0.95, 3) * 0.1)
    assert half_width(r, 0.68) < half_width(r, 0.9) < half_width(r, 0.99)
    fit = fit_class(list("abcdef"), np.linspace(-1, -0.2, 6), np.linspace(-1, -0.2, 6) + 0.1 + NOISE, level=0.9)
    assert fit.half_width_eV == pytest.approx(student.ppf(0.95, 5) * fit.rms_loo_eV)


def test_dataset_statistics_and_uncalibrated_classes():
    x = np.linspace(-1.0, -0.4, 4)
    pairs = _pairs("P=O", x, x - 0.1 + NOISE[:4]) + _pairs("thiol", x, x + 0.2 + NOISE[:4])
    pairs += _pairs("ammonium", [-1.5], [-1.8], binding="ion_pair")
    cfg = validate_config(copy.deepcopy(BASE))
    data = build_dataset(pairs, screen_protocol(cfg), name="t")
    assert set(data["classes"]) == {"P=O", "thiol"} and "ammonium" in data["uncalibrated"]
    overall = data["statistics"]["overall"]
    raw = np.abs(np.r_[0.1 - NOISE[:4], -0.2 - NOISE[:4], 0.3])
    assert overall["n"] == 9 and overall["mae_raw_eV"] == pytest.approx(raw.mean())
    assert overall["mae_eV"] < overall["mae_raw_eV"] and overall["kendall_tau"] > overall["kendall_tau_raw"]
    assert data["statistics"]["classes"]["ammonium"]["mae_eV"] == pytest.approx(0.3)  # kept raw
    assert data["fingerprint"] == fingerprint(screen_protocol(cfg)) and data["created"]
    assert class_of("ammonium", "ion_pair") == "ammonium" and class_of("COOH", "X") == "COOH:X"


def _dataset_file(tmp_path, cfg, pairs, name="test-set"):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(build_dataset(pairs, screen_protocol(cfg), name=name)))
    return path


def test_a_dataset_is_used_only_by_its_protocol(tmp_path):
    cfg = validate_config(copy.deepcopy(BASE))
    x = np.linspace(-1.0, -0.4, 4)
    path = _dataset_file(tmp_path, cfg, _pairs("C=O", x, x + 0.1 + NOISE[:4]))
    same = validate_config({**copy.deepcopy(BASE), "calibration": {"data": str(path)}})
    cal = resolve(same)
    assert cal["active"] and cal["name"] == "test-set" and set(cal["classes"]) == {"C=O"}
    # a relative path is read from the config file's folder
    rel = validate_config({**copy.deepcopy(BASE), "calibration": {"data": path.name}}, base=tmp_path)
    assert rel["calibration"]["data"] == str(path.resolve())
    other = validate_config(
        {**copy.deepcopy(BASE), "slab": {"vacuum": 15.0}, "calibration": {"data": str(path)}}, base=tmp_path
    )
    got = resolve(other)
    assert not got["active"] and "slab.vacuum" in got["reason"]
    e, h, how = calibrate(got, anchor="C=O", binding="L", site="pristine-Pb10-2x2", tier="gfn2", e_raw=-0.5)
    assert e == -0.5 and h is None and how.startswith("none: protocol differs")
    assert not resolve(validate_config({**copy.deepcopy(BASE), "calibration": {"data": "none"}}))["active"]
    # another interval level is recomputed from the stored residuals
    wide = resolve(validate_config({**copy.deepcopy(BASE), "calibration": {"data": str(path), "level": 0.99}}))
    assert wide["classes"]["C=O"]["half_width_eV"] > cal["classes"]["C=O"]["half_width_eV"]


def test_bad_calibration_settings_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="calibration.data"):
        validate_config({**copy.deepcopy(BASE), "calibration": {"data": "missing.json"}}, base=tmp_path)
    (tmp_path / "x.json").write_text('{"name": "x"}')
    with pytest.raises(ConfigError, match="not a calibration data set"):
        validate_config({**copy.deepcopy(BASE), "calibration": {"data": "x.json"}}, base=tmp_path)
    with pytest.raises(ConfigError, match="calibration.level"):
        validate_config({**copy.deepcopy(BASE), "calibration": {"level": 1.5}})
    with pytest.raises(ConfigError, match="calibration.store"):
        validate_config({**copy.deepcopy(BASE), "calibration": {"store": "nowhere/s.db"}}, base=tmp_path)
    with pytest.raises(ConfigError, match="ASE database"):
        validate_config({**copy.deepcopy(BASE), "calibration": {"store": "s.csv"}}, base=tmp_path)
    tiers = [{"backend": "gfn2"}, {"name": "c", "backend": "gfn2", "task": "single_point", "top_k": 2, "top_n": 1}]
    with pytest.raises(ConfigError, match="only for top_k: auto"):
        validate_config({**copy.deepcopy(BASE), "tiers": tiers})
    tiers[1].update(top_k="auto", top_n=5, top_max=3)
    with pytest.raises(ConfigError, match="more than top_max"):
        validate_config({**copy.deepcopy(BASE), "tiers": tiers})
    with pytest.raises(ConfigError, match="top_k"):
        validate_config({**copy.deepcopy(BASE), "tiers": [tiers[0], {**tiers[1], "top_k": "all"}]})


def _rec(name, e, anchor="C=O", site="pristine-Pb10-2x2", tier="gfn2", **kw):
    return {
        "ligand": name,
        "anchor": anchor,
        "binding": "L",
        "site": site,
        "face": "top",
        "E_ads_eV": e,
        "E_ads_per_ligand_eV": e,
        "status": "ok",
        "tier": tier,
        "level": 0,
        "backend": "gfn2",
        "tiers": [{"name": "gfn2", "E_ads_eV": e}],
        **kw,
    }


def _cal(**classes):
    return {
        "name": "t",
        "active": True,
        "reason": "",
        "tier": "gfn2",
        "level": 0.9,
        "classes": {
            c: {"model": "linear", "a": a, "b": b, "half_width_eV": h, "n": 4} for c, (a, b, h) in classes.items()
        },
        "pooled_half_width_eV": 0.3,
    }


def test_the_ranking_orders_by_the_calibrated_value_and_says_how_each_row_was_treated():
    cal = _cal(**{"C=O": (1.0, 0.3, 0.05), "amine": (1.0, -0.2, 0.04)})
    recs = [
        _rec("ketone", -0.9),  # -> -0.6
        _rec("amine", -0.6, anchor="amine"),  # -> -0.8: first although weaker raw
        _rec("thiol", -0.7, anchor="thiol"),  # no fit: raw, the pooled interval
        _rec("vacancy", -1.5, site="vBr0-Pb10-2x2"),  # not a pristine site: raw
    ]
    unc = {"tier": "gfn2", "anchors": {"C=O": 0.03}}
    df = ranking_table(recs, ["flags", "E_ads_eV"], unc, cal).set_index("ligand")
    assert list(df.index) == ["vacancy", "amine", "thiol", "ketone"]
    assert df.loc["ketone", "E_ads_calibrated_eV"] == pytest.approx(-0.6)
    assert df.loc["ketone", "E_ads_interval_eV"] == pytest.approx(np.hypot(0.05, 0.03))
    assert df.loc["ketone", "calibration"] == "t" and df.loc["ketone", "E_ads_per_ligand_eV"] == -0.9
    assert df.loc["thiol", "calibration"] == "none: class thiol not in t"
    assert df.loc["thiol", "E_ads_interval_eV"] == pytest.approx(0.3)
    # a class the data set has too few molecules of: raw, the pooled interval, and why
    few = {**cal, "uncalibrated": {"thiol": "1 molecule(s): too few to cross-validate (>= 3)"}}
    df_few = ranking_table(recs, ["flags", "E_ads_eV"], unc, few).set_index("ligand")
    assert df_few.loc["thiol", "calibration"] == (
        "none: class thiol uncalibrated in t (1 molecule(s): too few to cross-validate (>= 3))"
    )
    assert df_few.loc["thiol", "E_ads_calibrated_eV"] == -0.7
    assert df.loc["vacancy", "calibration"].startswith("none: site vBr0")
    # without a calibration the ranking is the raw one
    raw = ranking_table(recs, ["flags", "E_ads_eV"], unc)
    assert list(raw["ligand"]) == ["vacancy", "ketone", "thiol", "amine"]
    # a row a DFT tier re-evaluated: ranked by its DFT value, tiers.csv keeps the calibrated screening value
    dft = _rec("ketone", -0.4, tier="dft", level=1, kind="funnel", tiers=[{"name": "gfn2", "E_ads_eV": -0.9}])
    df = ranking_table([*recs, dft], ["flags", "E_ads_eV"], unc, cal).set_index("ligand")
    assert df.loc["ketone", "E_ads_calibrated_eV"] == -0.4 and df.loc["ketone", "calibration"].startswith("none: dft")
    tiers = tier_table([*recs, dft], ["gfn2", "dft"], cal).set_index("ligand")
    assert tiers.loc["ketone", "E_ads_per_ligand_eV_gfn2_calibrated"] == pytest.approx(-0.6)


def test_top_k_auto_sends_the_rows_the_screen_cannot_order():
    cal = _cal(**{"C=O": (1.0, 0.0, 0.1)})
    recs = [_rec(n, e) for n, e in [("a", -1.0), ("b", -0.85), ("c", -0.75), ("d", -0.5), ("e", -0.2)]]
    table = ranking_table(recs, ["flags", "E_ads_eV"], None, cal)
    cfg = validate_config(
        {
            **copy.deepcopy(BASE),
            "tiers": [{"backend": "gfn2"}, {"name": "c", "backend": "gfn2", "task": "single_point", "top_k": "auto"}],
        }
    )
    tier = tiers_from_config(cfg)[-1]
    assert tier.auto and tier.planned_k == 20
    rows, why = chosen_rows(table, tier)
    # a: [-1.1, -0.9]; b reaches -0.95 <= -0.9: in; c reaches -0.85: out
    assert list(rows["ligand"]) == ["a", "b"] and "2 rows" in why
    tier = replace(tier, top_n=2)  # overlap with the 2nd best's interval [-0.95, -0.75]: c (-0.85) in, d (-0.6) out
    assert list(chosen_rows(table, tier)[0]["ligand"]) == ["a", "b", "c"]
    tier = replace(tier, top_max=2)
    rows, why = chosen_rows(table, tier)
    assert list(rows["ligand"]) == ["a", "b"] and "top_max" in why
    wide = ranking_table(recs, ["flags", "E_ads_eV"], None, _cal(**{"C=O": (1.0, 0.0, 0.5)}))
    tier = replace(tier, top_n=1, top_max=None)
    assert len(chosen_rows(wide, tier)[0]) == 5
    fixed = tiers_from_config(
        validate_config(
            copy.deepcopy(BASE)
            | {"tiers": [{"backend": "gfn2"}, {"name": "c", "backend": "gfn2", "task": "single_point", "top_k": 3}]}
        )
    )[-1]
    assert list(chosen_rows(wide, fixed)[0]["ligand"]) == ["a", "b", "c"]


def _store_of_ketones(tmp_path, n):
    """A config with a CP2K funnel tier and a store holding ``n`` ketones' pairs (screen x, DFT x + 0.12 + noise)."""
    from ase.build import molecule

    cfg = validate_config(
        {
            **copy.deepcopy(BASE),
            "tiers": [{"backend": "gfn2"}, {"name": "dft", "backend": "cp2k", "task": "single_point", "top_k": 2}],
        }
    )
    tier = tiers_from_config(cfg)[-1]
    store = tmp_path / "store.db"
    x = np.linspace(-1.0, -0.3, n)
    for i, (e_screen, e_dft) in enumerate(zip(x, x + 0.12 + NOISE[:n])):
        screen = {"name": "gfn2", "backend": "gfn2", "E_ads_eV": e_screen}
        rec = _rec(f"k{i}", e_dft, tier="dft", smiles=f"CC{'C' * i}=O", tiers=[screen])
        assert store_pair(store, cfg, tier, rec, molecule("H2O")).startswith("row ")
    return cfg, tier, store


def test_store_and_calibrate_refit(tmp_path):
    from ase.build import molecule

    cfg, tier, store = _store_of_ketones(tmp_path, 5)
    # the same molecule again: the latest counts; a vacancy row and another protocol are left out
    store_pair(
        store,
        cfg,
        tier,
        _rec("k0", -0.8, tier="dft", smiles="CC=O", tiers=[{"name": "gfn2", "E_ads_eV": -1.0}]),
        molecule("H2O"),
    )
    store_pair(
        store,
        cfg,
        tier,
        _rec("v", -2.0, site="vBr0-Pb10-2x2", tier="dft", smiles="CO", tiers=[{"name": "gfn2", "E_ads_eV": -1}]),
        molecule("H2O"),
    )
    other = validate_config({**copy.deepcopy(cfg), "slab": {**cfg["slab"], "vacuum": 12.0}})
    store_pair(
        store,
        other,
        tier,
        _rec("o", -3.0, tier="dft", smiles="CCO", tiers=[{"name": "gfn2", "E_ads_eV": -1}]),
        molecule("H2O"),
    )
    pairs = read_pairs(store, fingerprint(screen_protocol(cfg)))
    assert len(pairs) == 5 and {p["ligand"]: p["E_dft_eV"] for p in pairs}["k0"] == -0.8
    data = calibrate_from([], [store], name="mine", shipped=False)
    assert data["statistics"]["overall"]["n"] == 5 and data["classes"]["C=O"]["model"] == "shift"
    assert data["fingerprint"] == fingerprint(screen_protocol(cfg))
    out = tmp_path / "mine.json"
    assert main(["calibrate", str(store), "--no-shipped", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["name"] == "mine"
    # a config that names it uses it
    cal = resolve(validate_config({**copy.deepcopy(cfg), "calibration": {"data": str(out)}}))
    assert cal["active"] and cal["classes"]["C=O"]["model"] == "shift"
    assert main(["calibrate", str(tmp_path / "absent.db"), "--no-shipped", "--out", str(out)]) == 2


def test_skip_stored_runs_only_the_molecules_the_store_lacks(tmp_path, capsys):
    """``calibration.skip_stored``: a ligand whose pair (same molecule, protocol and DFT reference, pristine site,
    one face) is in the store is not planned again; a pair of another protocol, of a vacancy site or of another
    binding does not count; a run with every pair stored is refused before any compute."""
    from ase.build import molecule

    store = tmp_path / "store.db"
    raw = {
        "set": "cal",
        "tiers": [{"backend": "gfn2"}, {"name": "dft", "backend": "cp2k", "task": "single_point", "top_k": "all"}],
        "calibration": {"store": str(store), "skip_stored": True},
        "ligands": [
            {"name": "acetone", "smiles": "CC(C)=O"},
            {"name": "dmso", "smiles": "CS(C)=O"},
            {"name": "acid", "smiles": "CC(=O)O", "binding": "L"},
            {"name": "butanone", "smiles": "CCC(C)=O"},
        ],
    }
    cfg = validate_config(copy.deepcopy(raw))  # no store yet: every ligand runs
    assert [lig["name"] for lig in cfg["ligands"]] == ["acetone", "dmso", "acid", "butanone"]
    tier = tiers_from_config(cfg)[-1]
    other = validate_config({**copy.deepcopy(raw), "slab": {"vacuum": 12.0}})

    def put(c, name, smiles, **kw):
        store_pair(store, c, tier, _rec(name, -0.6, tier="dft", smiles=smiles, **kw), molecule("H2O"))

    put(cfg, "acetone_elsewhere", "O=C(C)C")  # the same molecule written otherwise
    put(other, "dmso", "CS(C)=O", anchor="S=O")  # another protocol
    put(cfg, "dmso", "CS(C)=O", anchor="S=O", site="vBr0-Pb10-2x2")  # a vacancy site
    put(cfg, "acid", "CC(=O)O", anchor="COOH", binding="X")  # the same molecule bound otherwise
    cfg = validate_config(copy.deepcopy(raw))
    assert [lig["name"] for lig in cfg["ligands"]] == ["dmso", "acid", "butanone"]
    assert cfg["stored_report"] == {"acetone": f"{store}#1"}
    assert main(["validate", _write_config(tmp_path, raw)]) == 0
    assert f"acetone: its pair is in the calibration store ({store}#1)" in capsys.readouterr().out
    for name, smiles, anchor in (("d", "CS(C)=O", "S=O"), ("a", "CC(=O)O", "COOH"), ("b", "CCC(C)=O", "C=O")):
        put(cfg, name, smiles, anchor=anchor)
    with pytest.raises(ConfigError, match="every ligand's pair is in .* already: nothing to run"):
        validate_config(copy.deepcopy(raw))
    with pytest.raises(ConfigError, match="skip_stored: needs calibration.store"):
        validate_config({**copy.deepcopy(raw), "calibration": {"skip_stored": True}})
    with pytest.raises(ConfigError, match="skip_stored: no funnel tier"):
        validate_config({**copy.deepcopy(raw), "tiers": [{"backend": "gfn2"}]})


def _write_config(folder, cfg):
    import yaml

    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


@pytest.mark.slow
def test_top_k_auto_with_real_calculations(tiny_screen, tmp_path):
    """The tiny GFN2-xTB screen (formaldehyde C=O, methylamine amine) and its GFN2-xTB funnel tier ``check`` with
    ``top_k: auto``: with a calibration whose intervals are narrow the screen orders the two rows and only the best
    goes on; with wide ones both go on. The calibration data sets are built for the screen's own protocol."""
    from passivscreen.steps.funnel import run_funnel_member, run_funnel_slab

    cfg0, site = tiny_screen.cfg, tiny_screen.site
    screen = {lig: tiny_screen.records[lig]["E_ads_per_ligand_eV"] for lig in ("formaldehyde", "methylamine")}
    gap = abs(screen["formaldehyde"] - screen["methylamine"])
    assert gap > 0.05, screen  # the two rows can be told apart with narrow intervals
    x = np.linspace(-1.0, -0.4, 4)
    records = [tiny_screen.paths[lig]["record"] for lig in screen]
    chosen = {}
    for label, noise in (("narrow", 0.001), ("wide", 4 * gap)):
        err = noise * np.array([1.0, -1.0, 1.0, -1.0])
        pairs = _pairs("C=O", x, x + err) + _pairs("amine", x, x + err)
        path = _dataset_file(tmp_path, cfg0, pairs, name=label)
        tiers = copy.deepcopy(cfg0["tiers"])
        tiers[1]["top_k"] = "auto"
        cfg = {**copy.deepcopy(cfg0), "tiers": tiers, "calibration": {"data": str(path), "level": 0.9, "store": None}}
        assert resolve(cfg)["active"]
        res = tmp_path / label
        slab_ref = res / "slab.json"
        run_funnel_slab(cfg, "check", site, "top", slab_ref, slab_ref.with_suffix(".extxyz"))
        out = [res / f"rank_{i:04d}.json" for i in range(3)]
        recs = [
            run_funnel_member(cfg, "check", i, records, [slab_ref], o, o.with_suffix(".extxyz"))
            for i, o in enumerate(out)
        ]
        chosen[label] = [r.get("ligand") for r in recs if r["status"] == "ok"]
        assert all(r["status"] in ("ok", "not_selected") for r in recs)
        assert recs[0]["funnel_k"] == len(chosen[label]) and "top_k auto" in recs[0]["funnel_choice"]
    best = min(screen, key=screen.get)
    assert chosen["narrow"] == [best]
    assert sorted(chosen["wide"]) == sorted(screen)


@pytest.mark.slow
def test_top_k_all_row_job_through_snakemake(tiny_screen, root, tmp_path):
    """``top_k: all`` run by Snakemake itself (its rule, its script, its input objects) on a copy of the tiny screen:
    the worse row's job evaluates that row only, whatever the ranking of the others. (A single input path reached
    the script as a str and was read one character at a time: the first DFT row of the calibration run.)"""
    import shutil
    import subprocess
    import sys

    import yaml
    from conftest import TINY_CONFIG

    from passivscreen.records.layout import Results

    cfg0 = tiny_screen.cfg
    screen = {lig: tiny_screen.records[lig]["E_ads_per_ligand_eV"] for lig in ("formaldehyde", "methylamine")}
    worst = max(screen, key=screen.get)
    results = tmp_path / "results" / "tiny"
    shutil.copytree(tiny_screen.results, results, ignore=shutil.ignore_patterns("work"))
    raw = copy.deepcopy(TINY_CONFIG)
    raw["tiers"][1]["top_k"] = "all"
    (tmp_path / "all.yaml").write_text(yaml.safe_dump(raw))
    target = Results("results/tiny").funnel_row("check", worst, tiny_screen.site, "top").json
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"), "--directory", str(tmp_path)]
    cmd += ["--configfile", str(tmp_path / "all.yaml"), "--cores", "1"]
    cmd += ["--allowed-rules", "funnel_slab", "funnel_check_row", "--", target]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    rec = json.loads((tmp_path / target).read_text())
    assert rec["status"] == "ok" and rec["ligand"] == worst and rec["funnel_choice"] == "top_k all", rec
    assert rec["E_ads_per_ligand_eV"] == pytest.approx(screen[worst], abs=0.5)  # same method, smaller vacuum
    assert cfg0["tiers"][1]["top_k"] == 1  # the shared screen's config untouched


def test_report_tables_and_parity(tmp_path):
    from passivscreen.calibration.report import loo_values, molecule_table, plot_calibration_parity, statistics_table

    cfg = validate_config(copy.deepcopy(BASE))
    x = np.linspace(-1.0, -0.4, 4)
    data = build_dataset(
        _pairs("C=O", x, x + 0.1 + NOISE[:4]) + _pairs("ammonium", [-1.5], [-1.8], binding="ion_pair"),
        screen_protocol(cfg),
        name="t",
    )
    loo = loo_values(data)
    assert loo["ammonium0"] == -1.5  # uncalibrated: raw
    fit = data["classes"]["C=O"]
    assert loo["C=O0"] == pytest.approx(data["pairs"][0]["E_dft_eV"] + fit["loo_residuals_eV"][0])
    table = statistics_table(data)
    assert "| ammonium | 1 | not calibrated |" in table and "| **all** | 5 |" in table
    assert molecule_table(data).count("\n") == 6
    plot_calibration_parity(data, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 10_000


def test_top_k_all_plans_one_funnel_job_per_complex(tmp_path):
    from passivscreen.records.layout import Results
    from passivscreen.steps.funnel import funnel_paths

    tiers = [{"backend": "gfn2"}, {"name": "dft", "backend": "cp2k", "task": "single_point", "top_k": "all"}]
    cfg = validate_config({**copy.deepcopy(BASE), "tiers": tiers})
    tier = tiers_from_config(cfg)[-1]
    assert tier.every and not tier.auto and tier.planned_k == 0
    layout = Results(str(tmp_path))
    complexes = [("acetone", "pristine-Pb10-2x2", "top"), ("acetone", "pristine-Pb10-2x2", "both")]
    paths = funnel_paths(layout, tier, complexes)
    assert paths == [layout.funnel_row("dft", *m).json for m in complexes] and len(set(paths)) == 2
    ranked = validate_config({**copy.deepcopy(BASE), "tiers": [tiers[0], {**tiers[1], "top_k": 3}]})
    assert funnel_paths(layout, tiers_from_config(ranked)[-1], complexes) == [
        layout.funnel("dft", i).json for i in range(3)
    ]
    # all after a ranked funnel tier: which row is whose is not known before the ranking
    three = [
        *tiers[:1],
        {**tiers[1], "top_k": 3},
        {"name": "d2", "backend": "cp2k", "task": "single_point", "top_k": "all"},
    ]
    with pytest.raises(ConfigError, match="only on the first funnel tier"):
        validate_config({**copy.deepcopy(BASE), "tiers": three})


def test_calibrate_from_a_run_with_every_row_at_dft(tmp_path, monkeypatch):
    """``passivscreen calibrate CONFIG``: the pairs are the DFT tier's rows of the config's run (top_k: all), the
    screening value from each row's tiers; a row not computed yet refuses the data set unless --partial."""
    from passivscreen.records.files import write_json
    from passivscreen.records.layout import Results
    from passivscreen.steps.calibrate import pairs_from_run
    from passivscreen.steps.funnel import funnel_paths
    from passivscreen.steps.rank import planned_complexes

    monkeypatch.chdir(tmp_path)
    names = ["acetone", "butanone", "pentanone", "hexanone"]
    smiles = ["CC(C)=O", "CCC(C)=O", "CCCC(C)=O", "CCCCC(C)=O"]
    tiers = [{"backend": "gfn2"}, {"name": "dft", "backend": "cp2k", "task": "single_point", "top_k": "all"}]
    cfg = validate_config(
        {"set": "cal", "tiers": tiers, "ligands": [{"name": n, "smiles": s} for n, s in zip(names, smiles)]}
    )
    layout = Results.for_set("cal")
    complexes = planned_complexes(cfg)
    paths = funnel_paths(layout, tiers_from_config(cfg)[-1], complexes)
    assert len(paths) == 4
    x = np.linspace(-0.9, -0.4, 4)
    for (lig, site, _face), path, s, e in zip(complexes, paths, smiles, x):
        rec = _rec(lig, e + 0.1 + NOISE[len(lig) % 4], site=site, tier="dft", smiles=s)
        rec["tiers"] = [{"name": "gfn2", "E_ads_eV": e}, {"name": "dft", "E_ads_eV": rec["E_ads_eV"]}]
        if lig != "hexanone":
            write_json(path, rec)
    with pytest.raises(Exception, match="1 of 4 dft rows not computed yet"):
        calibrate_from([cfg], [], name="run", shipped=False)
    pairs, reference = pairs_from_run(cfg, partial=True)
    assert sorted(p["ligand"] for p in pairs) == names[:3] and reference["backend"] == "cp2k"
    assert {p["ligand"]: p["E_screen_eV"] for p in pairs}["acetone"] == pytest.approx(x[0])
    data = calibrate_from([cfg], [], name="run", shipped=False, partial=True)
    assert data["statistics"]["overall"]["n"] == 3 and data["fingerprint"] == fingerprint(screen_protocol(cfg))


def test_a_setting_added_at_its_neutral_value_keeps_the_fingerprint():
    """placement.probe_layers 0 (the whole slab) and probe_tie_eV 0 (relax_top alone), as before the settings
    existed, leave the protocol of the data sets made before them; another value is another protocol."""
    cfg = validate_config(copy.deepcopy(BASE))
    assert cfg["placement"]["probe_layers"] == 0 and cfg["placement"]["probe_tie_eV"] == 0.0
    before = copy.deepcopy(cfg)
    del before["placement"]["probe_layers"], before["placement"]["probe_tie_eV"]
    assert fingerprint(screen_protocol(cfg)) == fingerprint(screen_protocol(before))
    reduced = validate_config({**copy.deepcopy(BASE), "placement": {"probe_layers": 3}})
    assert "placement.probe_layers" in differences(screen_protocol(reduced), screen_protocol(cfg))
    tie = validate_config({**copy.deepcopy(BASE), "placement": {"probe_tie_eV": 0.02}})
    assert differences(screen_protocol(tie), screen_protocol(cfg)) == ["placement.probe_tie_eV"]
    # placement.polar_h_roll (stop 32) is on by default: another protocol; off, that of the data sets before it
    assert cfg["placement"]["polar_h_roll"] is True
    off = validate_config({**copy.deepcopy(BASE), "placement": {"polar_h_roll": False}})
    older = copy.deepcopy(off)
    del older["placement"]["polar_h_roll"]
    assert fingerprint(screen_protocol(off)) == fingerprint(screen_protocol(older))
    assert differences(screen_protocol(cfg), screen_protocol(off)) == ["placement.polar_h_roll"]
    # placement.probe_scf (stop 38): full, the probes' ladder of the data sets before it, keeps their protocol
    assert cfg["placement"]["probe_scf"] == "full"
    unset = copy.deepcopy(cfg)
    del unset["placement"]["probe_scf"]
    assert fingerprint(screen_protocol(cfg)) == fingerprint(screen_protocol(unset))
    quick = validate_config({**copy.deepcopy(BASE), "placement": {"probe_scf": "quick"}})
    assert differences(screen_protocol(quick), screen_protocol(cfg)) == ["placement.probe_scf"]


def test_functional_groups_tell_apart_the_donors_of_one_anchor_class():
    from passivscreen.calibration.groups import functional_group as group

    assert group("CP(C)(C)=O", "P=O") == group("O=P(c1ccccc1)(c1ccccc1)c1ccccc1", "P=O") == "P=O(C)"
    assert group("COP(=O)(OC)OC", "P=O") == "P=O(O)" and group("CN(C)P(=O)(N(C)C)N(C)C", "P=O") == "P=O(N)"
    assert group("CC(C)=O", "C=O") == "C=O(C)" and group("CC(=O)OC", "C=O") == "C=O(C,O)"
    assert group("CS(C)=O", "S=O") == "S=O(C)" and group("CS(=O)(=O)C", "S=O") == "S=O(C,O)"
    assert group("Cc1ccc(N=O)cc1", "N=O") == "N=O(C)" and group("CN(C)N=O", "N=O") == "N=O(N)"
    # an anchor that is the central atom itself: primary, secondary and aryl amines are one group
    assert group("CN", "amine") == group("CNC", "amine") == group("Nc1ccccc1", "amine") == "amine(C)"
    assert group("C[NH3+].[Br-]", "ammonium") == "ammonium(C)" and group("CS", "thiol") == "thiol(C)"
    assert group("not a smiles", "P=O") is None and group("CCO", "P=O") is None and group(None, "P=O") is None


def _molecules(rows):
    return [
        {"ligand": s, "smiles": s, "anchor": a, "binding": "L", "class": None, "E_screen_eV": x, "E_dft_eV": y}
        for s, a, x, y in rows
    ]


def test_a_shift_per_functional_group_where_cross_validation_prefers_it():
    # GFN2-xTB-like: phosphine oxides bound too weakly, phosphate esters too strongly (docs/validation.md)
    oxides = ["CP(C)(C)=O", "CP(C)(=O)c1ccccc1", "CCP(CC)(CC)=O", "CCCP(CCC)(CCC)=O"]
    esters = ["COP(=O)(OC)OC", "CCOP(=O)(OCC)OCC"]
    x = [-0.85, -0.98, -0.90, -0.93, -1.14, -1.10]
    err = [0.15, 0.16, 0.14, 0.15, -0.21, -0.19]  # E_screen - E_dft
    rows = [(s, "P=O", xi, xi - e) for s, xi, e in zip(oxides + esters, x, err)]
    groups = ["P=O(C)"] * 4 + ["P=O(O)"] * 2
    fit = fit_class([r[0] for r in rows], x, [r[3] for r in rows], groups=groups)
    assert fit.model == "group" and fit.cv_mae_eV["group"] < min(fit.cv_mae_eV["shift"], fit.cv_mae_eV["none"])
    assert fit.group_shifts_eV == pytest.approx({"P=O(C)": -0.15, "P=O(O)": +0.20})
    # leave-one-out by hand: the left-out phosphate takes the other phosphate's shift
    assert fit.loo_residuals_eV[4] == pytest.approx(-0.21 + 0.19)
    assert fit.b == pytest.approx(-np.mean(err)) and fit.predict(-1.0, "P=O(C)") == pytest.approx(-1.15)
    # one group in the class: the group model is the shift, not tried
    same = fit_class(oxides, x[:4], [r[3] for r in rows[:4]], groups=["P=O(C)"] * 4)
    assert "group" not in same.cv_mae_eV and same.model == "shift"
    # a data set from these pairs (their groups from the SMILES) and a ranking of molecules it has not seen
    cfg = validate_config(copy.deepcopy(BASE))
    data = build_dataset(_molecules(rows), screen_protocol(cfg), name="t")
    assert data["classes"]["P=O"]["model"] == "group" and data["pairs"][4]["group"] == "P=O(O)"
    cal = {**_cal(), "classes": {"P=O": {**data["classes"]["P=O"], "half_width_eV": 0.1}}}
    tppo = calibrate(cal, anchor="P=O", binding="L", site="pristine-Pb10-3x3", tier="gfn2", e_raw=-0.9,
                     smiles="O=P(c1ccccc1)(c1ccccc1)c1ccccc1")  # fmt: skip
    assert tppo[0] == pytest.approx(-0.9 - 0.15) and tppo[2] == "t"
    hmpa = calibrate(cal, anchor="P=O", binding="L", site="pristine-Pb10-2x2", tier="gfn2", e_raw=-0.9,
                     smiles="CN(C)P(=O)(N(C)C)N(C)C")  # fmt: skip
    assert hmpa[0] == pytest.approx(-0.9 - np.mean(err)) and "group P=O(N) not in the data set" in hmpa[2]
    # its interval is the error of a group the fit did not see: each molecule predicted by the shift of the other
    # group's molecules (leave one group out), not the 0.1 eV the class's own molecules earned
    logo = [0.20 + e for e in err[:4]] + [-0.15 + e for e in err[4:]]
    assert fit.new_group_residuals_eV == pytest.approx(logo)
    assert hmpa[1] == pytest.approx(student.ppf(0.95, 5) * np.sqrt(np.mean(np.square(logo)))) and hmpa[1] > 0.5
    assert tppo[1] == pytest.approx(0.1)
    # a class of one group has no such measure: a new group gets the data set's pooled raw error
    one = {**_cal(), "classes": {"P=O": {**same.as_dict(), "half_width_eV": 0.1}}, "pooled_half_width_eV": 0.3}
    assert same.new_group_half_width_eV is None and same.groups == ["P=O(C)"]
    ester = calibrate(one, anchor="P=O", binding="L", site="pristine-Pb10-2x2", tier="gfn2", e_raw=-0.9,
                      smiles="COP(=O)(OC)OC")  # fmt: skip
    assert ester[1] == pytest.approx(0.3) and "group P=O(O) not in the data set" in ester[2]
    assert calibrate(one, anchor="P=O", binding="L", site="pristine-Pb10-2x2", tier="gfn2", e_raw=-0.9,
                     smiles="CCCP(CCC)(CCC)=O")[1] == pytest.approx(0.1)  # fmt: skip
    recs = [_rec("tppo", -0.9, anchor="P=O", smiles="O=P(c1ccccc1)(c1ccccc1)c1ccccc1"),
            _rec("ester", -1.0, anchor="P=O", smiles="CCCOP(=O)(OCCC)OCCC")]  # fmt: skip
    df = ranking_table(recs, ["flags", "E_ads_eV"], {}, cal).set_index("ligand")
    assert list(df.index) == ["tppo", "ester"]  # the ester, stronger raw, is weaker calibrated
    assert df.loc["ester", "E_ads_calibrated_eV"] == pytest.approx(-0.8)


def test_check_a_calibration_on_molecules_it_was_not_made_from(tmp_path, monkeypatch):
    """``passivscreen calibrate --check CONFIG``: the calibration the config resolves, applied to the config's own
    DFT rows as the ranking applies it; the summary over the molecules the data set lacks (held out) says the
    calibrated error and how many DFT values fall inside their interval."""
    import yaml

    from passivscreen.records.files import write_json
    from passivscreen.records.layout import Results
    from passivscreen.steps.calibrate import check_calibration
    from passivscreen.steps.funnel import funnel_paths
    from passivscreen.steps.rank import planned_complexes

    monkeypatch.chdir(tmp_path)
    tiers = [{"backend": "gfn2"}, {"name": "dft", "backend": "cp2k", "task": "single_point", "top_k": "all"}]
    mols = {  # name: (SMILES, screening E_ads, DFT E_ads)
        "tmpo": ("CP(C)(C)=O", -0.85, -1.00),  # in the data set
        "tbpo": ("CCCCP(CCCC)(CCCC)=O", -0.90, -1.06),  # phosphine oxide, held out: its group's shift
        "tpp": ("CCCOP(=O)(OCCC)OCCC", -1.10, -0.89),  # phosphate, held out
        "hmpa": ("CN(C)P(=O)(N(C)C)N(C)C", -1.00, -0.60),  # a group the data set lacks: its wide interval
    }
    ligands = [{"name": n, "smiles": s} for n, (s, _, _) in mols.items()]
    cfg = validate_config({"set": "chk", "tiers": tiers, "ligands": ligands})
    oxides = ["CP(C)(C)=O", "CP(C)(=O)c1ccccc1", "CCP(CC)(CC)=O", "CCCP(CCC)(CCC)=O"]
    esters = ["COP(=O)(OC)OC", "CCOP(=O)(OCC)OCC"]
    x = [-0.85, -0.98, -0.90, -0.93, -1.14, -1.10]
    err = [0.15, 0.16, 0.14, 0.15, -0.21, -0.19]
    data = build_dataset(
        _molecules([(s, "P=O", xi, xi - e) for s, xi, e in zip(oxides + esters, x, err)]),
        screen_protocol(cfg),
        name="po",
    )
    (tmp_path / "po.json").write_text(json.dumps(data))
    raw = {"set": "chk", "tiers": tiers, "ligands": ligands, "calibration": {"data": "po.json"}}
    (tmp_path / "chk.yaml").write_text(yaml.safe_dump(raw))
    cfg = load_config(tmp_path / "chk.yaml")
    complexes = planned_complexes(cfg)
    for (lig, site, _face), path in zip(
        complexes, funnel_paths(Results.for_set("chk"), tiers_from_config(cfg)[-1], complexes)
    ):
        s, e, d = mols[lig]
        rec = _rec(lig, d, anchor="P=O", site=site, tier="dft", smiles=s)
        rec["tiers"] = [{"name": "gfn2", "E_ads_eV": e}, {"name": "dft", "E_ads_eV": d}]
        write_json(path, rec)
    rows, summary = check_calibration(cfg)
    by = {r["ligand"]: r for r in rows}
    assert by["tmpo"]["in_data_set"] and not by["tbpo"]["in_data_set"]
    assert by["tbpo"]["E_calibrated_eV"] == pytest.approx(-0.90 - 0.15) and by["tbpo"]["inside"]
    assert by["tpp"]["E_calibrated_eV"] == pytest.approx(-1.10 + 0.20) and by["tpp"]["group"] == "P=O(O)"
    # 0.4 eV off, inside the interval of a group the data set lacks (leave one group out: +/-0.66 eV)
    assert by["hmpa"]["inside"] and "P=O(N) not in the data set" in by["hmpa"]["calibration"]
    assert by["hmpa"]["interval_eV"] > 0.5 > by["tbpo"]["interval_eV"]
    held = summary["held_out"]
    assert held["n"] == 3 and held["coverage"] == pytest.approx(1.0) and summary["all"]["n"] == 4
    assert held["mae_eV"] < held["mae_raw_eV"]
    assert main(["calibrate", "--check", str(tmp_path / "chk.yaml")]) == 0
    assert len(pd.read_csv(tmp_path / "results" / "chk" / "calibration_check.csv")) == 4
    # a calibration made for another protocol is not tested on it
    other = {**raw, "slab": {"vacuum": 12.0}}
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    assert main(["calibrate", "--check", str(tmp_path / "other.yaml")]) == 2


def test_a_row_the_screen_finds_reduced_gets_the_error_of_reduced_complexes(tmp_path):
    """A ligand the screen flags reduced (a radical anion, not a donor) is outside every class fit, at any site: the
    raw value with the interval of the data set's reduced complexes at DFT (Student's t x their RMS raw error), or
    no interval where the data set has fewer than two; the screen's own flag decides, not a later tier's."""
    cfg = validate_config(copy.deepcopy(BASE))
    x = np.linspace(-1.0, -0.4, 4)
    pairs = _pairs("C=O", x, x + 0.1 + NOISE[:4])
    red = [{**p, "site": "vBr0-Pb10"} for p in _pairs("N=O", [-2.3, -2.2, -1.3], [-0.5, -0.9, -1.25], anchor="N=O")]
    path = tmp_path / "set.json"
    path.write_text(json.dumps(build_dataset(pairs, screen_protocol(cfg), name="set", reduced=red)))
    cal = resolve(validate_config({**copy.deepcopy(BASE), "calibration": {"data": str(path)}}))
    want = half_width([1.8, 1.3, 0.05], 0.9)
    assert cal["reduced_n"] == 3 and cal["reduced_half_width_eV"] == pytest.approx(want) and want > 1.8
    flag = {"integrity": {"flags": ["ligand_reduced[gfn2]"]}}
    recs = [
        _rec("donor_v", -1.2, site="vBr0-Pb10-2x2"),  # not flagged: the pooled interval of a vacancy row
        _rec("reduced_v", -2.0, site="vBr0-Pb10-2x2", **flag),
        _rec("reduced_p", -0.9, **flag),  # pristine and of a fitted class, but reduced: no class fit
        _rec("ketone", -0.9),
        _rec("dft_says", -0.8, integrity={"flags": ["ligand_reduced[cp2k]"]}),  # another level's verdict
    ]
    unc = {"tier": "gfn2", "anchors": {"C=O": 0.03}}
    df = ranking_table(recs, ["flags", "E_ads_eV"], unc, cal).set_index("ligand")
    for name, e in (("reduced_v", -2.0), ("reduced_p", -0.9)):
        assert df.loc[name, "E_ads_calibrated_eV"] == e
        assert df.loc[name, "E_ads_interval_eV"] == pytest.approx(np.hypot(want, 0.03))
        assert (
            df.loc[name, "calibration"]
            == "none: ligand reduced in the screen (interval of 3 reduced complexes at DFT in set)"
        )
    assert df.loc["donor_v", "calibration"].startswith("none: site vBr0")
    assert df.loc["donor_v", "E_ads_interval_eV"] < 1.0
    for name in ("ketone", "dft_says"):
        assert df.loc[name, "calibration"] == "set" and df.loc[name, "E_ads_calibrated_eV"] != -0.9
    tiers = tier_table(recs, ["gfn2"], cal).set_index("ligand")
    assert tiers.loc["reduced_p", "E_ads_per_ligand_eV_gfn2_calibrated"] == -0.9
    # fewer than two reduced complexes: no interval at all, and the column says why
    path.write_text(json.dumps(build_dataset(pairs, screen_protocol(cfg), name="set", reduced=red[:1])))
    one = resolve(validate_config({**copy.deepcopy(BASE), "calibration": {"data": str(path)}}))
    df = ranking_table(recs, ["flags", "E_ads_eV"], unc, one).set_index("ligand")
    assert np.isnan(df.loc["reduced_v", "E_ads_interval_eV"]) and "no interval" in df.loc["reduced_v", "calibration"]


def test_the_store_keeps_reduced_rows_apart_and_the_refit_carries_them(tmp_path):
    from ase.build import molecule

    cfg, tier, store = _store_of_ketones(tmp_path, 4)
    screen = [{"name": "gfn2", "backend": "gfn2"}]
    flag = {"integrity": {"flags": ["ligand_reduced[gfn2]"]}}
    for site, e_screen, e_dft in (("vBr0-Pb10-2x2", -2.3, -0.5), ("pristine-Pb10-2x2", -1.5, -0.9)):
        rec = _rec("nitroso", e_dft, site=site, tier="dft", smiles="O=Nc1ccccc1", **flag)
        rec["tiers"] = [{**screen[0], "E_ads_eV": e_screen}]
        store_pair(store, cfg, tier, rec, molecule("H2O"))
    pairs = read_pairs(store)
    assert sorted(p["ligand"] for p in pairs) == ["k0", "k1", "k2", "k3"]  # the reduced pristine row is not a donor's
    red = read_pairs(store, reduced=True)
    assert sorted((p["site"], p["E_screen_eV"] - p["E_dft_eV"]) for p in red) == [
        ("pristine-Pb10-2x2", pytest.approx(-0.6)),
        ("vBr0-Pb10-2x2", pytest.approx(-1.8)),
    ]
    data = calibrate_from([], [store], name="mine", shipped=False)
    assert data["statistics"]["overall"]["n"] == 4 and data["reduced"]["n"] == 2
    assert sorted(data["reduced"]["raw_errors_eV"]) == [pytest.approx(-1.8), pytest.approx(-0.6)]


def test_the_shipped_calibration_sizes_the_error_of_a_reduced_row_from_dft(root):
    """The shipped data set holds the seed's vacancy complexes at PBE-D3 (stop 44): GFN2-xTB's error for a ligand
    it finds reduced is measured, and far beyond the donors' intervals."""
    cal = resolve(load_config(root / "configs" / "default.yaml"))
    assert cal["active"] and cal["reduced_n"] >= 3
    assert cal["reduced_half_width_eV"] > max(1.0, 4 * cal["pooled_half_width_eV"])


def test_carry_copies_the_pairs_a_new_search_reproduces_and_leaves_those_it_moved(
    tiny_screen, tmp_path, monkeypatch, capsys
):
    """``passivscreen calibrate --carry``: after a change of the search (``placement.relax_each_tilt``), a stored pair
    whose complex the new screen ends at again (real GFN2-xTB complexes of the tiny screen, moved into the funnel
    tier's cell) is written under the new protocol with its stored DFT value; one the new search moved (here: its
    stored complex 0.1 A off) is not, nor one of a protocol that differs in more than its search (the vacuum)."""
    import yaml
    from conftest import TINY_CONFIG

    from passivscreen.calibration.store import carry_pair
    from passivscreen.steps.calibrate import carry_pairs
    from passivscreen.steps.funnel import funnel_tier, tier_systems

    store = tmp_path / "store.db"
    old_raw = copy.deepcopy(TINY_CONFIG)
    old_raw["placement"]["relax_each_tilt"] = False  # the search before (the default until stop 55)
    old = validate_config({**old_raw, "calibration": {"store": str(store)}})
    new_raw = copy.deepcopy(TINY_CONFIG)
    new_raw["placement"]["relax_each_tilt"] = True
    new_raw["calibration"] = {"store": str(store)}
    new = validate_config(copy.deepcopy(new_raw))
    tier, _ = funnel_tier(old, "check")
    recs = {}
    for lig, rec in tiny_screen.records.items():
        recs[lig] = {**rec, "_path": str(tiny_screen.paths[lig]["record"])}
        _, cx, _, _, _ = tier_systems(old, tier, recs[lig])
        if lig == "methylamine":
            cx.positions[-1] += [0.1, 0.0, 0.0]  # the complex the old search ended at, not the new one's
        screen = {"name": "gfn2", "backend": "gfn2", "E_ads_eV": rec["E_ads_eV"]}
        stored = {**rec, "tiers": [screen], "E_ads_per_ligand_eV": -0.5 - len(lig) / 100}
        if lig == "formaldehyde":  # stored before the site labels left the cell out
            stored["site"] = f"{rec['site']}-2x2"
        store_pair(store, old, tier, stored, cx)
    monkeypatch.chdir(tiny_screen.results.parents[1])
    rows = {r["ligand"]: r for r in carry_pairs(new)}
    assert rows["formaldehyde"]["status"] == "carried" and rows["formaldehyde"]["max_shift_A"] < 1e-6
    assert rows["methylamine"]["status"] == "moved" and rows["methylamine"]["max_shift_A"] == pytest.approx(0.1)
    carried = read_pairs(store, fingerprint(screen_protocol(new)))
    assert [(p["ligand"], p["E_dft_eV"]) for p in carried] == [("formaldehyde", pytest.approx(-0.62))]
    assert carried[0]["E_screen_eV"] == pytest.approx(tiny_screen.records["formaldehyde"]["E_ads_per_ligand_eV"])
    # the old protocol's pairs stand; a second carry finds the pair there already
    assert len(read_pairs(store, fingerprint(screen_protocol(old)))) == 2
    assert {r["ligand"]: r["status"] for r in carry_pairs(new)}["formaldehyde"] == "already"
    # another vacuum is not a change of the search: nothing to carry
    wider = validate_config({**copy.deepcopy(new_raw), "slab": {**new_raw["slab"], "vacuum": 9.0}})
    _, cx, _, _, _ = tier_systems(old, tier, recs["formaldehyde"])
    assert (
        carry_pair(store, wider, tier, recs["formaldehyde"], cx, max_shift_A=0.02, max_screen_eV=0.002)["status"]
        == "none"
    )
    # the command: one config with a store
    cfg_file = tmp_path / "new.yaml"
    cfg_file.write_text(yaml.safe_dump(new_raw))
    assert main(["calibrate", "--carry", str(cfg_file)]) == 0
    # with skip_stored on, the carry still reads every complex of the screen, the one stored already too
    skipping = {**new_raw, "calibration": {"store": str(store), "skip_stored": True}}
    cfg_file.write_text(yaml.safe_dump(skipping))
    capsys.readouterr()
    assert main(["calibrate", "--carry", str(cfg_file)]) == 0
    assert "formaldehyde at" in capsys.readouterr().out
    no_store = {k: v for k, v in new_raw.items() if k != "calibration"}
    cfg_file.write_text(yaml.safe_dump(no_store))
    assert main(["calibrate", "--carry", str(cfg_file)]) == 2


def test_a_screen_gets_the_shipped_data_set_of_its_own_protocol(root):
    """``calibration.data: shipped`` with more than one shipped data set: the default config and the seed configs
    get the default protocol's (``presets/calibration_each_tilt.json``: ``relax_each_tilt``, the default since stop
    56), a config that sets ``relax_each_tilt: false`` the one made with that search (``presets/calibration.json``);
    a config of neither protocol gets none, and the reason names the setting that differs."""
    from passivscreen.calibration import dataset

    default = load_config(root / "configs" / "default.yaml")
    seed = load_config(root / "configs" / "seed_molecules.yaml")
    before = copy.deepcopy(default)
    before["placement"]["relax_each_tilt"] = False
    each, old = (json.loads((root / "src" / "passivscreen" / name).read_text()) for name in dataset.SHIPPED)
    assert each["fingerprint"] == fingerprint(screen_protocol(default)) == fingerprint(screen_protocol(seed))
    assert old["fingerprint"] == fingerprint(screen_protocol(before)) != each["fingerprint"]
    assert resolve(default)["active"] and resolve(default)["name"] == each["name"]
    assert resolve(seed)["active"] and resolve(seed)["name"] == each["name"]
    assert resolve(before)["active"] and resolve(before)["name"] == old["name"]
    assert dataset.shipped_dataset()["name"] == each["name"]
    other = copy.deepcopy(seed)
    other["placement"]["probe_steps"] += 1
    without = resolve(other)
    assert not without["active"] and "probe_steps" in without["reason"]


def test_a_store_of_two_protocols_gives_the_data_set_of_the_one_asked_for(tmp_path):
    """``passivscreen calibrate STORE --protocol-of CONFIG``: a store holding pairs of two protocols (the default
    search's and relax_each_tilt's, stop 54) gives each its own data set; a molecule whose latest pair is of the
    other protocol still counts, with its pair of this one."""
    import yaml
    from ase.build import molecule

    cfg, tier, store = _store_of_ketones(tmp_path, 5)
    raw = {**copy.deepcopy(BASE), "tiers": cfg["tiers"], "placement": {"relax_each_tilt": False}}  # the one before
    each = validate_config(copy.deepcopy(raw))
    for i, e in enumerate(np.linspace(-1.1, -0.2, 6)):  # more pairs than the first protocol, k0 among them
        rec = _rec(f"k{i}", e + 0.1, tier="dft", smiles=f"CC{'C' * i}=O", tiers=[{"name": "gfn2", "E_ads_eV": e}])
        store_pair(store, each, tier, rec, molecule("H2O"))
    first = calibrate_from([], [store], name="a", shipped=False, protocol_of=cfg)
    assert first["fingerprint"] == fingerprint(screen_protocol(cfg)) and first["statistics"]["overall"]["n"] == 5
    assert {p["ligand"]: p["E_dft_eV"] for p in first["pairs"]}["k0"] == pytest.approx(-1.0 + 0.12 + NOISE[0])
    second = calibrate_from([], [store], name="b", shipped=False, protocol_of=each)
    assert second["fingerprint"] == fingerprint(screen_protocol(each)) and second["statistics"]["overall"]["n"] == 6
    (tmp_path / "each.yaml").write_text(yaml.safe_dump(raw))
    out = tmp_path / "each.json"
    assert (
        main(["calibrate", str(store), "--no-shipped", "--protocol-of", str(tmp_path / "each.yaml"), "--out", str(out)])
        == 0
    )
    assert json.loads(out.read_text())["fingerprint"] == second["fingerprint"]


def _differences(a, b, where="", rel=1e-9, abs_=1e-12):
    """Where two JSON-like values differ: strings, keys, lengths and ``None`` exactly, numbers within ``rel`` /
    ``abs_`` (a least-squares fit's last bits follow the machine's BLAS, not the data)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{where}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{where}.{k}", rel, abs_)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{i}]", rel, abs_)]
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return [] if math.isclose(a, b, rel_tol=rel, abs_tol=abs_) else [f"{where}: {a!r} != {b!r}"]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def test_the_data_set_comparison_sees_a_change_beyond_the_machine_s_last_bits():
    have = {"classes": {"C=O": {"model": "shift", "b": 0.0651796615, "cv": [0.059156236053614336, None]}}}
    same = copy.deepcopy(have)
    same["classes"]["C=O"]["cv"][0] = 0.05915623605361442  # another BLAS's rounding
    assert _differences(have, same) == []
    for path, value in (("b", 0.0651806615), ("model", "linear")):
        moved = copy.deepcopy(have)
        moved["classes"]["C=O"][path] = value
        assert _differences(have, moved) == [f".classes.C=O.{path}: {have['classes']['C=O'][path]!r} != {value!r}"]
    assert _differences(have, {"classes": {}}) == [".classes: keys ['C=O']"]


@pytest.mark.parametrize(
    "config, shipped",
    [("calibration.yaml", "calibration.json"), ("calibration_each_tilt.yaml", "calibration_each_tilt.json")],
)
def test_each_shipped_data_set_is_the_committed_store_s_pairs_of_its_protocol(root, tmp_path, config, shipped):
    """Every shipped data set is made again from the committed store (``passivscreen calibrate STORE --no-shipped
    --protocol-of CONFIG``, the command in its ``command`` field): its pairs, class fits and
    reduced rows are the store's pairs of its own protocol, nothing added by hand and nothing of another protocol. The
    pairs are compared exactly; the fits to 1e-9 relative, as another machine's BLAS rounds a least-squares fit's
    last bits differently (stop 57: 1e-15 eV apart on a new machine)."""
    presets = root / "src" / "passivscreen" / "presets"
    have = json.loads((presets / shipped).read_text())
    out = tmp_path / shipped
    argv = ["calibrate", str(presets / "calibration_store.db"), "--no-shipped", "--protocol-of"]
    assert main([*argv, str(root / "configs" / config), "--name", have["name"], "--out", str(out)]) == 0
    again = json.loads(out.read_text())
    assert again["fingerprint"] == have["fingerprint"] == fingerprint(have["protocol"])
    assert again["pairs"] == have["pairs"]  # the store's numbers, not computed here: exactly
    for key in ("classes", "uncalibrated", "reduced", "statistics"):  # fits: to the BLAS's last bits
        assert _differences(again[key], have[key], key) == []
    assert "--protocol-of" in have["command"] or shipped == "calibration.json"
