"""The placement search: a few relaxation steps of every start (rotation x height x tilt: the probes), or with
``probe_top`` of the lowest distinct starts by single point, then the lowest probes relaxed.

Real GFN2-xTB on the tiny screen's slab and formaldehyde (the session fixture ``tiny_screen``), so that the
probe's bookkeeping is checked on real energies: which pose is relaxed, from where, and that a resumed job
repeats no probe.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from ase.io import read

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def probed(tiny_screen, tmp_path_factory):
    """Formaldehyde on the tiny slab: 1 rotation x 2 starting heights x 2 tilts, every start probed 3 steps,
    the best 1 of the converged probes and of the descending ones relaxed (not the lowest of each tilt: the
    search before stop 56, whose rule the tests below check; relax_each_tilt is tested on its own)."""
    from passivscreen.config import validate_config
    from passivscreen.records.layout import Results
    from passivscreen.steps.adsorption import run_adsorption_member
    from passivscreen.steps.jobs import complex_member

    cfg = copy.deepcopy(tiny_screen.cfg)
    cfg["placement"].update(
        orientations=1,
        heights=[-0.3, 0.0],
        tilts=[0.0, 45.0],
        probe_steps=3,
        relax_top=1,
        conformers=1,
        relax_each_tilt=False,
    )
    cfg = validate_config(cfg)
    res = tmp_path_factory.mktemp("probe") / "results" / "tiny"
    src = tiny_screen.paths["formaldehyde"]
    for key in ("slab_record", "slab", "ligand_record", "ligand"):
        dest = res / src[key].relative_to(tiny_screen.results)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src[key], dest)
    member = complex_member(Results(str(res)), "formaldehyde", tiny_screen.site, "top")
    record = run_adsorption_member(cfg, member)
    assert record["status"] == "ok", record.get("reason")
    # the probes as this search ran them: later tests run other searches in the same work directory
    shutil.copy(Path(member["workdir"]) / "probes.json", Path(member["workdir"]).parent / "fixture_probes.json")
    return cfg, member, record


def test_every_start_is_probed_and_the_lowest_is_relaxed_from_where_its_probe_stopped(probed):
    cfg, member, record = probed
    rows = record["orientations"]
    assert len(rows) == 4  # 2 heights x 2 tilts
    assert {(r["height_offset_A"], r["tilt_deg"]) for r in rows} == {(-0.3, 0.0), (-0.3, 45.0), (0.0, 0.0), (0.0, 45.0)}
    probed_rows = [r for r in rows if "probe_force_calls" in r]
    assert len(probed_rows) == 4  # probe_top 0: every start, no single point before
    assert not (Path(member["workdir"]) / "screening.json").exists()
    for r in probed_rows:
        assert 1 <= r["probe_force_calls"] <= 3 + 2, r  # 3 steps (+ the first call and the final energy)
        assert r["E_ads_sp_eV"] <= r["E_ads_start_eV"] + 1e-6  # the probe went down from its start
    rows = probed_rows  # only probed starts compete for the relaxation
    relaxed = [r for r in rows if r["status"] != "screened"]
    # the lowest probe that converged and the lowest still descending (relax_top 1 each), no other
    groups = {done: [r for r in rows if (r["sp_status"] == "converged") == done] for done in (True, False)}
    expected = [min(g, key=lambda r: r["E_ads_sp_eV"]) for g in groups.values() if g]
    assert sorted(map(row_key, relaxed)) == sorted(map(row_key, expected))
    # the relaxation starts where the probe stopped, not at the placement
    work = Path(member["workdir"])
    lowest = min(relaxed, key=lambda r: r["E_ads_sp_eV"])
    stem = row_stem(lowest)
    probe = read(work / f"probe_{stem}.traj", index=":")
    relax = read(work / f"{stem}.traj", index=":")
    assert len(probe) >= 2
    assert np.allclose(relax[0].positions, probe[-1].positions, atol=1e-6)
    assert not np.allclose(probe[0].positions, probe[-1].positions, atol=1e-3)  # the probe moved the ligand
    # the probe's energy is the energy where it stopped: below the start's
    e_start = probe[0].get_potential_energy()
    assert lowest["E_sp_eV"] <= e_start + 1e-6
    assert record["E_ads_eV"] <= min(r["E_ads_sp_eV"] for r in relaxed) + 1e-6
    assert record["repeat"] == "2x2"


def row_key(r):
    return r["rotation_deg"], r["height_offset_A"], r["tilt_deg"]


def row_stem(r):
    """The work directory's name of a row's placement, written out here (not the code's placement_stem)."""
    rot, dh, tilt = row_key(r)
    return f"rot{rot:06.2f}" + (f"_h{dh:+.2f}" if dh else "") + (f"_t{tilt:02.0f}" if tilt else "")


def test_a_resumed_job_repeats_no_probe(probed, monkeypatch):
    """A job run again reads every probe back from probes.json and every relaxed start from ``starts/``: no
    probe and no relaxation runs, and the record is the same."""
    import passivscreen.steps.adsorption as adsorption
    import passivscreen.steps.probes as probes

    cfg, member, record = probed

    def no_probe(*args, **kwargs):
        raise AssertionError("a probe ran again although probes.json holds every probe")

    calls = []
    real = adsorption.run_chain

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(probes, "run_tier", no_probe)
    monkeypatch.setattr(adsorption, "run_chain", counted)
    again = adsorption.run_adsorption_member(cfg, member)
    assert again["status"] == "ok", again.get("reason")
    assert again["E_ads_eV"] == record["E_ads_eV"]
    assert [r.get("E_ads_eV") for r in again["orientations"]] == [r.get("E_ads_eV") for r in record["orientations"]]
    assert calls == []  # the relaxed starts are read back (starts/), not resumed from their trajectories


def test_a_start_whose_probe_failed_is_kept_as_a_dropped_row(probed):
    """A probe whose SCF failed (here: read back from probes.json, as a resumed job reads it) is not ranked and
    not relaxed, but its start stays in the record and in orientations.csv with status ``dropped``, why, and
    what it cost: the record says all 4 starts were tried, and the result is that of the other three."""
    import json

    from passivscreen.steps.adsorption import run_adsorption_member

    cfg, member, record = probed
    cache = Path(member["workdir"]) / "probes.json"
    saved = cache.read_text()
    data = json.loads(saved)
    screened = {row_key(r) for r in record["orientations"] if r["status"] == "screened"}
    lost = next(p for p in data["probes"] if (p["pose"][1], p["pose"][2], p["pose"][3]) in screened)
    lost.update(E_sp_eV=None, E_ads_sp_eV=None, sp_status="scf_failed", probe_calc_s=1182.0)
    cache.write_text(json.dumps(data))
    try:
        again = run_adsorption_member(cfg, member)
    finally:
        cache.write_text(saved)
    assert again["status"] == "ok", again.get("reason")
    assert again["n_orientations"] == len(record["orientations"]) == 4
    rows = {row_key(r): r for r in again["orientations"]}
    dropped = rows[(lost["pose"][1], lost["pose"][2], lost["pose"][3])]
    assert dropped["status"] == "dropped"
    assert "scf_failed" in dropped["reason"] and "1182 s" in dropped["reason"]
    assert [r for r in again["orientations"] if r["status"] == "dropped"] == [dropped]
    assert again["E_ads_eV"] == pytest.approx(record["E_ads_eV"], abs=2e-3)


def test_probe_steps_zero_ranks_by_single_point(tiny_screen):
    """Without probes the rows are the starts' single points (no probe columns)."""
    rows = tiny_screen.records["formaldehyde"]["orientations"]
    assert rows and all("probe_force_calls" not in r for r in rows)


def test_a_job_killed_during_the_probes_repeats_only_the_cut_probe(probed, monkeypatch):
    """probes.json is written after each probe: a job killed during its second probe keeps the first, and the
    re-run probes the three others once each and ends at the same E_ads."""
    import passivscreen.steps.adsorption as adsorption
    import passivscreen.steps.probes as probe_step

    cfg, member, record = probed
    cache = Path(member["workdir"]) / "probes.json"
    saved = cache.read_text()
    cache.unlink()
    real = probe_step.run_tier
    probes = []

    def killed_at_the_second(*args, **kwargs):
        probes.append(Path(args[3]).name)
        if len(probes) == 2:
            raise KeyboardInterrupt  # what a kill looks like to the step: not an Exception, nothing caught
        return real(*args, **kwargs)

    try:
        monkeypatch.setattr(probe_step, "run_tier", killed_at_the_second)
        with pytest.raises(KeyboardInterrupt):
            adsorption.run_adsorption_member(cfg, member)
        first, cut = probes
        probes.clear()
        monkeypatch.setattr(probe_step, "run_tier", lambda *a, **k: probes.append(Path(a[3]).name) or real(*a, **k))
        again = adsorption.run_adsorption_member(cfg, member)
    finally:
        cache.write_text(saved)
    assert again["status"] == "ok", again.get("reason")
    assert first not in probes and cut in probes and len(probes) == 3
    assert again["E_ads_eV"] == pytest.approx(record["E_ads_eV"], abs=2e-3)


def test_probe_top_probes_only_the_lowest_single_points(probed):
    """probe_top 2: every start gets a single point (screening.json), only the 2 lowest are probed, and only
    probed starts compete for the relaxation."""
    from passivscreen.config import validate_config
    from passivscreen.steps.adsorption import run_adsorption_member

    cfg, member, _ = probed
    cfg = copy.deepcopy(cfg)
    cfg["placement"]["probe_top"] = 2
    record = run_adsorption_member(validate_config(cfg), member)
    assert record["status"] == "ok", record.get("reason")
    rows = record["orientations"]
    start = {row_key(r): r.get("E_ads_start_eV", r["E_ads_sp_eV"]) for r in rows}
    assert len(start) == 4 and all(e is not None for e in start.values())
    probed_rows = [r for r in rows if "probe_force_calls" in r]
    assert sorted(map(row_key, probed_rows)) == sorted(sorted(start, key=start.get)[:2])
    assert {row_key(r) for r in rows if r["status"] != "screened"} <= {row_key(r) for r in probed_rows}


def test_relax_each_tilt_relaxes_the_lowest_probe_of_the_tilt_the_search_left_out(probed):
    """placement.relax_each_tilt through the adsorption step: the fixture's probes (read back, not repeated) with
    the setting on; the tilt the fixture's search left out gets its lowest probe relaxed, the chosen starts stay,
    and the result is the lowest of them."""
    from passivscreen.config import validate_config
    from passivscreen.steps.adsorption import run_adsorption_member

    cfg, member, before = probed
    rows = [r for r in before["orientations"] if "probe_force_calls" in r]
    relaxed_before = {row_key(r) for r in rows if r["status"] != "screened"}
    assert len({k[2] for k in relaxed_before}) == 1, f"the fixture relaxed both tilts already: {relaxed_before}"
    cfg = copy.deepcopy(cfg)
    cfg["placement"]["relax_each_tilt"] = True
    record = run_adsorption_member(validate_config(cfg), member)
    assert record["status"] == "ok", record.get("reason")
    after = [r for r in record["orientations"] if "probe_force_calls" in r]
    relaxed = {row_key(r) for r in after if r["status"] != "screened"}
    other = [r for r in rows if r["tilt_deg"] not in {k[2] for k in relaxed_before}]
    assert relaxed == relaxed_before | {row_key(min(other, key=lambda r: r["E_ads_sp_eV"]))}
    assert record["E_ads_eV"] == pytest.approx(min(r["E_ads_eV"] for r in after if r["status"] == "ok"))
    assert record["E_ads_eV"] <= before["E_ads_eV"] + 1e-6


def test_probe_clash_stops_a_start_far_above_the_lowest_after_its_first_call(probed, tmp_path):
    """``placement.probe_clash_eV``: a probe whose first energy lies more than that above the lowest first energy
    of the probes before it stops after that call and is dropped (status ``probe_clash``, the reason in its row);
    the first probe and every start within the window take their steps as before, and the result stands."""
    import json

    from passivscreen.config import validate_config
    from passivscreen.steps.adsorption import run_adsorption_member

    cfg, member, record = probed
    probes = json.loads((Path(member["workdir"]).parent / "fixture_probes.json").read_text())["probes"]
    starts = [p["E_ads_start_eV"] for p in probes]
    above = [starts[i] - min(starts[:i]) for i in range(1, len(starts))]
    assert max(above) > 0.02, f"the fixture's probes begin within 20 meV of the lowest before them: {starts}"
    window = max(above) / 2
    cut = {row_key_of_pose(probes[i + 1]["pose"]) for i, a in enumerate(above) if a > window}
    cfg = copy.deepcopy(cfg)
    cfg["placement"]["probe_clash_eV"] = window
    again = run_adsorption_member(validate_config(cfg), own_outputs(member, tmp_path))
    assert again["status"] == "ok", again.get("reason")
    rows = {row_key(r): r for r in again["orientations"]}
    assert len(rows) == 4
    for p, e0 in zip(probes, starts, strict=True):
        row = rows[row_key_of_pose(p["pose"])]
        assert row["E_ads_start_eV"] == pytest.approx(e0, abs=2e-3)
        if row_key_of_pose(p["pose"]) in cut:
            assert row["status"] == "dropped" and "probe_clash" in row["reason"], row
            assert row["probe_force_calls"] == 1 and row["probe_steps"] == 0
        else:
            assert row["status"] != "dropped" and row["probe_force_calls"] == p["probe_force_calls"]
            assert row["E_ads_sp_eV"] == pytest.approx(p["E_ads_sp_eV"], abs=2e-3)
    key = json.loads((tmp_path / "work" / "probes.json").read_text())["key"]
    assert key["probe_clash_eV"] == window
    if not cut & relaxed_keys(record):  # the starts it cut were not the ones relaxed: the same result
        assert again["E_ads_eV"] == pytest.approx(record["E_ads_eV"], abs=2e-3)


def relaxed_keys(record):
    return {row_key(r) for r in record["orientations"] if r["status"] not in ("screened", "dropped")}


def row_key_of_pose(pose):
    """(rotation, height, tilt) of a probes.json pose [conformer, rotation, height, tilt, ...]."""
    return pose[1], pose[2], pose[3]


@pytest.fixture(scope="module")
def reduced_probed(probed, tmp_path_factory):
    """The fixture's formaldehyde at height 0 (two tilts), probed on the tiny slab's top two atomic layers
    (probe_layers 2): config, member (its own outputs) and record."""
    from passivscreen.config import validate_config
    from passivscreen.steps.adsorption import run_adsorption_member

    cfg, member, _ = probed
    cfg = copy.deepcopy(cfg)
    cfg["placement"].update(probe_layers=2, heights=[0.0])
    tmp = tmp_path_factory.mktemp("reduced")
    member = own_outputs(member, tmp)
    record = run_adsorption_member(validate_config(cfg), member)
    assert record["status"] == "ok", record.get("reason")
    return cfg, member, record


def own_outputs(member, tmp):
    """A complex member with the fixture's references and its own outputs under ``tmp``."""
    own = {"json": "c.json", "xyz": "c.extxyz", "pdos": "pdos.png", "picture": "c.png"}
    return {**member, "workdir": str(tmp / "work"), **{k: str(tmp / v) for k, v in own.items()}}


def test_probes_on_the_reduced_model_pick_and_hand_over_on_the_whole_slab(probed, reduced_probed):
    """probe_layers 2 on the tiny slab (PbBr2 / CsBr / PbBr2): each probe moves formaldehyde on the top two
    atomic layers only (24 atoms, not 36), its energies are shifted onto the whole slab's scale, the relaxation
    goes on from where the probe stopped with the whole slab under it, and the shift holds there to within
    0.05 eV (``probe_model_error_eV``: the reduced model's error away from the start it was made at)."""
    _, _, whole = probed
    _, member, record = reduced_probed
    work = Path(member["workdir"])
    rows = [r for r in record["orientations"] if "probe_force_calls" in r]
    assert len(rows) == 2 and all(r["probe_layers"] == 2 and r["probe_atoms"] == 24 for r in rows), rows
    n_slab = 32
    slab = read(member["slab_xyz"])
    for r in [r for r in rows if r["status"] != "screened"]:
        stem = row_stem(r)
        probe = read(work / f"probe_{stem}.traj", index=":")
        relax = read(work / f"{stem}.traj", index=":")
        assert len(probe[0]) == 24 and len(relax[0]) == 36
        assert np.allclose(relax[0].positions[n_slab:], probe[-1].positions[20:], atol=1e-6)  # the ligand
        assert np.allclose(relax[0].positions[:n_slab], slab.positions, atol=1e-6)  # the whole slab, as held
        assert abs(r["probe_model_error_eV"]) < 0.05, r["probe_model_error_eV"]
    # the same starts' whole-slab probes (the fixture's height 0) agree with the shifted reduced ones
    same = {row_key(r): r["E_ads_sp_eV"] for r in whole["orientations"] if "probe_force_calls" in r}
    for r in rows:
        assert r["E_ads_sp_eV"] == pytest.approx(same[row_key(r)], abs=0.05)
    assert record["E_ads_eV"] == pytest.approx(whole["E_ads_eV"], abs=0.02)
    assert read_json_key(work / "probes.json", "key")["probe_layers"] == 2


def test_probe_clash_on_the_reduced_model_cuts_on_the_whole_slabs_scale(reduced_probed, tmp_path):
    """``probe_clash_eV`` with ``probe_layers``: the ceiling is set in E_ads and shifted onto the reduced model's
    energies by the same offset as its floor. With a window of half the gap between the two starts the higher one
    (run second) is cut (its row dropped as ``probe_clash``); with twice the gap nothing is cut. Either way the
    start kept is probed as before. (A ceiling left on the whole slab's scale lies thousands of eV from the reduced
    energies: it cuts every probe after the first or none, and one of the two runs fails.)"""
    import json

    from passivscreen.config import validate_config
    from passivscreen.steps.adsorption import run_adsorption_member

    base, member, _ = reduced_probed
    probes = json.loads((Path(member["workdir"]) / "probes.json").read_text())["probes"]
    assert len(probes) == 2 and all(p["probe_layers"] == 2 for p in probes), probes
    first, second = (p["E_ads_start_eV"] for p in probes)
    gap = abs(second - first)
    assert gap > 0.02, f"the reduced probes begin within 20 meV of each other: {first}, {second}"
    low, high = (0, 1) if first < second else (1, 0)
    rows = {row_key_of_pose(p["pose"]): p for p in probes}
    higher = row_key_of_pose(probes[high]["pose"])
    # the offset is made at the first start probed: run in the other order, every energy moves by the same few meV
    # (the reduced model's error between the two starts), the difference between the starts does not
    tol = 2e-3 if low == 0 else 0.02
    for window, cut in ((gap / 2, {higher}), (2 * gap, set())):
        cfg = copy.deepcopy(base)
        cfg["placement"]["probe_clash_eV"] = window
        if low == 1:  # the higher start ran first: the other way round, so that the higher one comes second
            cfg["placement"]["tilts"] = list(reversed(base["placement"]["tilts"]))
        again = run_adsorption_member(validate_config(cfg), own_outputs(member, tmp_path / f"w{window:.4f}"))
        assert again["status"] == "ok", again.get("reason")
        for r in (r for r in again["orientations"] if "probe_force_calls" in r):
            before = rows[row_key(r)]
            assert r["E_ads_start_eV"] == pytest.approx(before["E_ads_start_eV"], abs=tol)
            if row_key(r) in cut:
                assert r["status"] == "dropped" and "probe_clash" in r["reason"], (window, r)
                assert r["probe_force_calls"] == 1
            else:
                assert r["status"] != "dropped", (window, r)
                assert r["probe_force_calls"] == before["probe_force_calls"], (window, r)
                assert r["E_ads_sp_eV"] == pytest.approx(before["E_ads_sp_eV"], abs=tol)


def read_json_key(path, key):
    import json

    return json.loads(Path(path).read_text())[key]


def test_relax_layers_prerelaxes_on_the_reduced_model_and_finishes_on_the_whole_slab(
    reduced_probed, tmp_path, monkeypatch
):
    """relax_layers 2 after the same reduced probes (their cache reused): each chosen start is relaxed to fmax
    on the top two atomic layers from where its probe stopped, then on the whole slab from there (its first
    frame: the pre-relaxation's ligand over the held slab), ending at the E_ads of the relaxation on the whole
    slab alone, in fewer whole-slab force calls; a resumed job does not pre-relax again and keeps the columns."""
    import passivscreen.steps.probes as probe_step
    from passivscreen.config import validate_config
    from passivscreen.steps.adsorption import run_adsorption_member

    cfg, done, plain = reduced_probed
    cfg = copy.deepcopy(cfg)
    cfg["placement"]["relax_layers"] = 2
    cfg = validate_config(cfg)
    member = own_outputs(done, tmp_path)
    work = Path(member["workdir"])
    work.mkdir(parents=True)
    for f in [Path(done["workdir"]) / "probes.json", *Path(done["workdir"]).glob("probe_*.traj")]:
        shutil.copy(f, work)  # the same probes, not run again
    record = run_adsorption_member(cfg, member)
    assert record["status"] == "ok", record.get("reason")
    relaxed = [r for r in record["orientations"] if r["status"] != "screened"]
    before = {row_key(r): r for r in plain["orientations"] if r["status"] != "screened"}
    assert {row_key(r) for r in relaxed} == set(before)
    for r in relaxed:
        assert r["prerelax_layers"] == 2 and r["prerelax_status"] == "converged", r
        stem = row_stem(r)
        probe = read(work / f"probe_{stem}.traj", index=-1)
        pre = read(work / f"reduced_{stem}.traj", index=":")
        relax = read(work / f"{stem}.traj", index=":")
        assert len(pre[0]) == 24 and len(relax[0]) == 36
        assert np.allclose(pre[0].positions, probe.positions, atol=1e-6)  # from where the probe stopped
        assert np.allclose(relax[0].positions[32:], pre[-1].positions[20:], atol=1e-6)
        assert np.allclose(relax[0].positions[:32], read(member["slab_xyz"]).positions, atol=1e-6)
        assert abs(r["probe_model_error_eV"]) < 0.1, r["probe_model_error_eV"]
        assert r["n_force_calls"] < before[row_key(r)]["n_force_calls"], (r, before[row_key(r)])
    assert record["E_ads_eV"] == pytest.approx(plain["E_ads_eV"], abs=0.02)

    def no_prerelax(*args, **kwargs):
        raise AssertionError("pre-relaxed again although the whole slab's relaxation had begun")

    monkeypatch.setattr(probe_step, "run_tier", no_prerelax)
    again = run_adsorption_member(cfg, member)
    assert again["prerelax_force_calls"] == record["prerelax_force_calls"]
    assert again["E_ads_eV"] == pytest.approx(record["E_ads_eV"], abs=2e-3)


def test_probe_scf_quick_gives_the_probes_the_short_ladder(probed, monkeypatch):
    """placement.probe_scf quick reaches every probe's relaxation as the quick rungs (full: the tier's own
    ladder, None) and is part of the probes' cache key, so probes made with the whole ladder run again."""
    import passivscreen.steps.adsorption as adsorption
    import passivscreen.steps.probes as probe_step
    from passivscreen.config import validate_config
    from passivscreen.relaxation.scf import quick_ladder

    cfg, member, record = probed
    assert cfg["placement"]["probe_scf"] == "full"
    quick = validate_config({**copy.deepcopy(cfg), "placement": {**cfg["placement"], "probe_scf": "quick"}})
    cache = Path(member["workdir"]) / "probes.json"
    saved = cache.read_text()
    ladders = []

    class Stop(BaseException):
        pass

    def first_probe(*args, **kwargs):
        ladders.append(args[5] if len(args) > 5 else kwargs.get("scf_ladder"))
        raise Stop

    monkeypatch.setattr(probe_step, "run_tier", first_probe)
    try:
        with pytest.raises(Stop):
            adsorption.run_adsorption_member(quick, member)
    finally:
        cache.write_text(saved)
    assert ladders == [quick_ladder(None)]
    full = SimpleNamespace(cfg=cfg)
    assert probe_step.probe_ladder(full, SimpleNamespace(scf_ladder=None)) is None  # the tier's own ladder


def test_the_offset_comes_from_the_first_start_whose_scf_converges(reduced_probed, tmp_path, monkeypatch):
    """The reduced model's offset is taken from the first start whose two single points converge without
    recovery: with the first start's whole-slab SCF failing, the second start gives it (the probes stay on the
    reduced model, not the whole-slab fallback); with every start's plain SCF failing, the first start's whole
    ladder does, as before. Real GFN2-xTB single points; the probes themselves are not run."""
    import passivscreen.steps.adsorption as adsorption
    import passivscreen.steps.probes as probe_step
    from passivscreen.config import validate_config

    cfg, done, record = reduced_probed
    cfg = validate_config(copy.deepcopy(cfg))
    real = probe_step.single_point
    calls, failing = [], {}

    class Stop(BaseException):
        pass

    def no_probe(*args, **kwargs):
        raise Stop

    def offsets(fail):
        calls.clear()
        failing["when"] = fail
        member = own_outputs(done, tmp_path / str(len(list(tmp_path.iterdir()))))
        Path(member["workdir"]).mkdir(parents=True)
        with pytest.raises(Stop):
            adsorption.run_adsorption_member(cfg, member)
        return read_json_key(Path(member["workdir"]) / "probes.json", "offset_eV"), list(calls)

    def single_point(atoms, calc, scf_ladder=None):
        whole = len(atoms) == 36
        calls.append((whole, scf_ladder == []))
        if whole and scf_ladder == [] and failing["when"](sum(w for w, _ in calls)):
            return {"status": "scf_failed", "energy": None, "fmax": None, "reason": "test", "recoveries": []}
        return real(atoms, calc, scf_ladder)

    monkeypatch.setattr(probe_step, "single_point", single_point)
    monkeypatch.setattr(probe_step, "run_tier", no_probe)
    reference = read_json_key(Path(done["workdir"]) / "probes.json", "offset_eV")
    # the first start's whole slab fails: the second start's pair gives the offset
    offset, seen = offsets(lambda n_whole: n_whole == 1)
    assert seen == [(False, True), (True, True), (False, True), (True, True)], seen
    assert offset is not None and offset == pytest.approx(reference, abs=0.05)
    # every plain whole-slab SCF fails: the first start with the ladder, the offset of the fixture's probes
    offset, seen = offsets(lambda n_whole: True)
    assert seen[-2:] == [(False, False), (True, False)] and len(seen) == 2 * 2 + 2, seen
    assert offset == pytest.approx(reference, abs=1e-4)
