"""The benchmarks' machine unit (benchmarks/machine_unit.py): measured, positive and finite, and formatted."""

from __future__ import annotations

import importlib
import json
import math
import os
import sys

import pytest

from passivscreen.records.layout import Results


def _benchmark(root, name):
    """benchmarks/<name>.py, imported as the benchmarks import each other (their folder on the path)."""
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(root / "benchmarks"))


@pytest.fixture(scope="module")
def mu(root):
    """benchmarks/machine_unit.py."""
    yield from _benchmark(root, "machine_unit")


def test_in_units_formats_seconds_as_machine_units(mu):
    assert mu.in_units(986.0, unit=7.95) == f"124 {mu.SYMBOL}"
    assert mu.in_units(30.0, unit=8.0) == f"3.8 {mu.SYMBOL}"
    assert mu.in_units(1.2, unit=8.0) == f"0.15 {mu.SYMBOL}"
    assert round(mu.goal_units(45 * 60)) == 340  # the DFT check's 45 minutes at the developers' unit


@pytest.mark.slow
def test_machine_unit_is_measured_positive_and_finite(mu, monkeypatch):
    """One real measurement (three GFN2-xTB calls of the 52-atom slab, 10-30 s): the unit, its description,
    and the hand-over to a child process."""
    monkeypatch.delenv(mu.ENV, raising=False)  # measured here, and not left to the tests after this one
    mu.measurement.cache_clear()
    m = mu.measurement()
    unit = mu.machine_unit()
    assert math.isfinite(unit) and unit > 0
    assert unit == min(m["times_s"]) and len(m["times_s"]) == mu.REPEATS
    assert m["n_atoms"] == 52 and m["formula"] == "Br32Cs8Pb12" and m["backend"] == "gfn2"
    assert m["vacuum_A"] == pytest.approx(40.0)
    assert mu.in_units(unit) == f"1.0 {mu.SYMBOL}"
    assert mu.with_units(2 * unit, ".1f") == f"{2 * unit:.1f} s (2.0 {mu.SYMBOL})"
    assert f"{unit:.2f} s" in mu.describe()
    assert mu._inherited()["unit_s"] == unit  # what the benchmark's worker processes read


def test_results_existing_globs_the_layout(tmp_path):
    """Results.existing finds the files a layout names, with * for names (the benchmarks' readers)."""
    res = Results(str(tmp_path))
    for ligand, site, face in (("acetone", "pristine-Pb12", "top"), ("dmso", "vBr0", "both")):
        path = tmp_path / "adsorption" / ligand / site / f"{face}.json"
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    (tmp_path / "ligands").mkdir()
    (tmp_path / "ligands" / "acetone.json").write_text("{}")
    assert [str(p) for p in res.existing(res.complex("*", "*", "*").json)] == [
        res.complex("acetone", "pristine-Pb12", "top").json,
        res.complex("dmso", "vBr0", "both").json,
    ]
    assert [str(p) for p in res.existing(res.ligand("*").json)] == [res.ligand("acetone").json]
    assert res.existing(res.slab("*", "*").json) == []
    assert res.benchmark("tiers", "pbe", "rank_0001").startswith(res.benchmark_folder("tiers") + "/")
    with pytest.raises(ValueError):
        res.existing("/elsewhere/*.json")


@pytest.fixture(scope="module")
def comparison(root):
    """benchmarks/search_comparison.py."""
    yield from _benchmark(root, "search_comparison")


def _tree(path, rows):
    """A results tree with one screening record per (ligand, site label, E_ads, status)."""
    res = Results(str(path))
    for ligand, site, e_ads, status in rows:
        f = res.complex(ligand, site, "top").json
        os.makedirs(os.path.dirname(f), exist_ok=True)
        rec = {"ligand": ligand, "site_type": site.split("-")[0], "face": "top", "status": status, "E_ads_eV": e_ads}
        with open(f, "w") as fh:
            json.dump(rec, fh)
    return path


def test_search_comparison_flags_a_search_above_the_exhaustive_minimum(comparison, tmp_path, capsys):
    """Issue 22 item 3's comparison: a complex matched across cells by ligand, site type and face; within the
    tolerance or lower passes, 0.06 eV above misses (exit 1); a failed search row is not compared; a tree
    with nothing in common exits 2."""
    s = "pristine-Pb10-2x2"
    ref = _tree(tmp_path / "ref", [("thiol", s, -0.644, "ok"), ("amine", s, -0.9, "ok")])
    good = _tree(tmp_path / "good", [("thiol", "pristine-Pb12-3x3", -0.60, "ok"), ("amine", s, -0.95, "ok")])
    bad = _tree(tmp_path / "bad", [("thiol", s, -0.584, "ok"), ("amine", s, 0.0, "error")])
    other = _tree(tmp_path / "other", [("acetone", s, -0.5, "ok")])
    assert comparison.main([str(ref), f"good={good}"]) == 0
    assert comparison.main([str(ref), f"good={good}", f"bad={bad}"]) == 1
    out = capsys.readouterr().out
    assert "bad: thiol/pristine/top +0.060 eV" in out and "amine/pristine/top" not in out.split("MISS")[1]
    assert comparison.main([str(ref), str(bad), "--tolerance", "0.07"]) == 0
    assert comparison.main([str(ref), str(other)]) == 2


@pytest.fixture(scope="module")
def sittings(root):
    """benchmarks/sittings.py."""
    yield from _benchmark(root, "sittings")


def test_a_carried_run_keeps_its_outputs_and_times_and_leaves_out_locks_and_trajectories(sittings, tmp_path):
    """A sitting's work restored on a fresh machine: the outputs with their file times (so Snakemake sees them
    up to date), the sittings' record and the jobs' seconds; no Snakemake state, no trajectories; a directory
    that holds a run is not overwritten."""
    work = tmp_path / "work"
    bench = work / "results" / "s" / "benchmarks" / "adsorption" / "batch_0000.tsv"
    record = work / "results" / "s" / "adsorption" / "L" / "pristine" / "top.json"
    for path, text in [(bench, "s\th:m:s\n812.5\t0:13:32\n"), (record, "{}"), (work / ".snakemake" / "lock", "x")]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (work / "results" / "s" / "work").mkdir()
    (work / "results" / "s" / "work" / "relax.traj").write_bytes(b"\0" * 100)
    (work / sittings.RECORD).write_text(json.dumps([{"wall_s": 900.0, "mu_s": 3.0, "stopped": True}]))
    os.utime(record, (1_000_000, 1_000_000))
    archive = tmp_path / "runs" / "s.tar.xz"
    assert sittings.save(work, archive) > 0
    fresh = tmp_path / "fresh"
    assert sittings.restore(archive, fresh)
    assert (fresh / record.relative_to(work)).stat().st_mtime == 1_000_000
    assert sittings.job_seconds(fresh) == {str(bench.relative_to(work)): 812.5}
    assert (
        sittings.sittings_of(archive)
        == sittings.sittings_of(fresh)
        == [{"wall_s": 900.0, "mu_s": 3.0, "stopped": True}]
    )
    assert not (fresh / ".snakemake").exists()
    assert not list(fresh.rglob("*.traj"))
    assert not sittings.restore(archive, work)  # a directory with a run of its own keeps it


def test_a_sitting_records_its_cores_and_the_core_time_counts_each_sittings_own(sittings, tmp_path):
    """A sitting on one core (the other running another benchmark) counts one core's time, not the next sitting's
    two; a record from before the cores were recorded counts two, as every such sitting ran."""
    cmd = sittings.snakemake_command(tmp_path, "c.yaml", "1")
    assert sittings.cores_of(cmd) == 1 and sittings.cores_of(sittings.snakemake_command(tmp_path, "c.yaml", "2")) == 2
    runs = [{"wall_s": 300.0, "mu_s": 3.0}, {"wall_s": 200.0, "mu_s": 2.0, "cores": 1}]
    # 100 MU on 2 cores and 100 MU on 1: 300 MU of core time, in seconds of a 1.5-s machine
    assert sittings.core_seconds(runs, 1.5) == pytest.approx(450.0)
    record, _ = sittings.sit(tmp_path, [sys.executable, "-c", "pass", "--cores", "1"], None, 2.0, {}, "fp")
    assert record["cores"] == 1 and json.loads((tmp_path / sittings.RECORD).read_text())[-1]["cores"] == 1


def test_a_carried_run_is_not_continued_with_another_protocol(sittings, root):
    """The carried jobs' protocol against the config's: the same goes on, another is refused with what differs."""
    protocol, fp = sittings.protocol_of(root / "configs" / "default.yaml")
    made = [{"protocol_fingerprint": fp, "protocol": protocol}]
    assert sittings.check_protocol([], protocol, fp) is None
    assert sittings.check_protocol(made, protocol, fp) is None
    other = json.loads(json.dumps(protocol))
    other["slab"]["vacuum"] += 5.0
    from passivscreen.calibration.protocol import fingerprint

    why = sittings.check_protocol(made, other, fingerprint(other))
    assert why is not None and "slab.vacuum" in why


def test_a_sitting_with_grace_lets_the_running_job_finish_and_starts_no_other(sittings, tmp_path):
    """``--grace``: at the sitting's deadline Snakemake gets SIGTERM alone (its graceful stop), so the job that is
    running ends with its output and the job after it never starts; without grace the running job is cut."""
    import sys

    (tmp_path / "Snakefile").write_text(
        "rule all:\n    input: 'b.txt'\n"
        "rule a:\n    output: 'a.txt'\n    shell: 'touch started; sleep 25; touch {output}'\n"
        "rule b:\n    input: 'a.txt'\n    output: 'b.txt'\n    shell: 'touch {output}'\n"
    )
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "--snakefile", "Snakefile"]
    code, _, stopped = sittings.run_for(cmd, tmp_path, hours=15 / 3600, grace=60 / 3600)
    assert (tmp_path / "started").exists(), "the job had not started at the deadline: Snakemake took over 15 s"
    assert stopped and code != 0
    assert (tmp_path / "a.txt").exists() and not (tmp_path / "b.txt").exists()


def test_a_sitting_started_with_sigint_ignored_still_stops_its_command_with_sigint(sittings, tmp_path, monkeypatch):
    """A sitting run in the background of a shell has SIGINT ignored (so does this test's process, for the test):
    the command it runs must still end on the deadline's SIGINT, not wait for the SIGKILL that follows."""
    import signal
    import sys

    monkeypatch.setattr(sittings, "KILL_AFTER_S", 20.0)
    cmd = [sys.executable, "-c", "import time; open('started', 'w').close(); time.sleep(120)"]
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code, err, stopped = sittings.run_for(cmd, tmp_path, hours=5 / 3600)
    finally:
        signal.signal(signal.SIGINT, before)
    assert (tmp_path / "started").exists() and stopped
    assert code != -signal.SIGKILL and "KeyboardInterrupt" in err, (code, err)


def test_a_sitting_starts_the_targets_named_first_before_the_others(sittings, tmp_path):
    """``--first``: the named target's job (Snakemake's ``--prioritize``) starts before the others that are ready,
    so a sitting's longest job can start at once and end within it."""
    (tmp_path / "Snakefile").write_text(
        "rule all:\n    input: expand('{x}.txt', x='abcd')\n"
        "rule one:\n    output: '{x}.txt'\n    shell: 'echo {wildcards.x} >> order; touch {output}'\n"
    )
    targets = ["a.txt", "b.txt", "c.txt", "d.txt"]

    def order(first: list[str]) -> list[str]:
        (tmp_path / "order").unlink(missing_ok=True)
        for t in targets:
            (tmp_path / t).unlink(missing_ok=True)
        cmd = sittings.snakemake_command(tmp_path, "none.yaml", "1", targets, first)
        cmd[cmd.index("--snakefile") + 1] = str(tmp_path / "Snakefile")
        cmd.remove("--configfile")
        cmd.remove("none.yaml")
        code, _, _ = sittings.run_for(cmd, tmp_path, hours=None, grace=None)
        assert code == 0
        return (tmp_path / "order").read_text().split()

    plain = order([])
    last = f"{plain[-1]}.txt"
    assert order([last])[0] == plain[-1] != plain[0]


def test_a_sitting_saves_its_work_while_it_runs_so_a_lost_machine_loses_little(sittings, tmp_path, capsys):
    """``--save-every``: while Snakemake runs, the archive is written with the jobs finished so far and the sitting
    recorded as provisional, so a machine that goes away mid-sitting does not take the sitting's work with it;
    the work directory ends with the final record. Without it nothing is written before the end."""
    import sys

    work = tmp_path / "work"
    work.mkdir()
    (work / "Snakefile").write_text(
        "rule all:\n    input: 'b.txt'\n"
        "rule a:\n    output: 'a.txt'\n    shell: 'touch {output}'\n"
        "rule b:\n    input: 'a.txt'\n    output: 'b.txt'\n    shell: 'sleep 20; touch {output}'\n"
    )
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "--snakefile", "Snakefile"]
    archive = tmp_path / "runs" / "s.tar.xz"
    record, _ = sittings.sit(work, cmd, None, 2.0, {}, "fp", archive=archive, save_every=3.0)
    assert record["exit"] == 0 and not record.get("provisional")
    assert sittings.sittings_of(work) == [record]
    saved = sittings.sittings_of(archive)
    assert len(saved) == 1 and saved[0]["provisional"] and saved[0]["exit"] is None and saved[0]["wall_s"] > 3
    fresh = tmp_path / "fresh"
    assert sittings.restore(archive, fresh) and (fresh / "a.txt").exists()
    sittings.show(saved)
    assert "cut: saved while running" in capsys.readouterr().out
    other = tmp_path / "other"
    other.mkdir()
    (other / "Snakefile").write_text((work / "Snakefile").read_text().replace("sleep 20", "sleep 5"))
    sittings.sit(other, cmd, None, 2.0, {}, "fp", archive=tmp_path / "none.tar.xz", save_every=None)
    assert not (tmp_path / "none.tar.xz").exists()


def test_a_sitting_counts_a_job_whose_benchmark_file_an_earlier_sitting_had(sittings, tmp_path):
    """A job that reruns, or a batch whose number an earlier sitting's job had, writes a benchmark file of a name that
    exists already: it is this sitting's job when its seconds differ, and an untouched file is not."""
    import sys

    work = tmp_path / "work"
    bench = work / "results" / "s" / "benchmarks" / "adsorption"
    bench.mkdir(parents=True)
    (bench / "batch_0000.tsv").write_text("s\th:m:s\n233.0\t0:03:53\n")
    (bench / "batch_0001.tsv").write_text("s\th:m:s\n50.0\t0:00:50\n")
    rerun = (
        "import sys, pathlib\n"
        "if sys.argv[1:] != ['--unlock']:\n"
        f"    pathlib.Path({str(bench / 'batch_0000.tsv')!r}).write_text('s\\th:m:s\\n2017.5\\t0:33:37\\n')\n"
    )
    record, _ = sittings.sit(work, [sys.executable, "-c", rerun], None, 2.0, {}, "fp")
    assert record["jobs"] == {"results/s/benchmarks/adsorption/batch_0000.tsv": 2017.5}


@pytest.fixture(scope="module")
def lapack_speed(root):
    """benchmarks/lapack_speed.py."""
    yield from _benchmark(root, "lapack_speed")


@pytest.mark.slow
def test_each_library_is_measured_in_its_own_process_and_a_loss_is_a_miss(lapack_speed):
    """Two real calls of the 52-atom slab (about 5 s): the wheel's reference library and an optimized one, each in
    a process of its own, give the same energy, and each process computed with the library it was given. The verdict
    flags an optimized library that gives another energy or is slower than the reference one."""
    libs = lapack_speed.libraries(["reference", "openblas", "mkl"])
    fast = next((name for name in libs if name != "reference"), None)
    if fast is None:
        pytest.skip("no optimized BLAS/LAPACK on this machine (Debian libopenblas0 or the mkl wheel)")
    ref = lapack_speed.measure(libs["reference"], 2, 1)
    opt = lapack_speed.measure(libs[fast], 2, 1)
    assert ref["n_atoms"] == opt["n_atoms"] == 52
    assert ref["lapack"] == "reference" and opt["lapack"] == libs[fast]
    assert abs(ref["energy"] - opt["energy"]) < lapack_speed.SAME_ENERGY_EV
    table = {"reference": {2: ref, 3: {**ref, "seconds": 17.0}}, fast: {2: opt, 3: {**ref, "seconds": 6.0}}}
    assert lapack_speed.verdict(table) == []
    slower = {**table, fast: {**table[fast], 3: {**ref, "seconds": 18.0}}}
    assert "not faster" in " ".join(lapack_speed.verdict(slower))
    other = {**table, fast: {**table[fast], 2: {**opt, "energy": opt["energy"] + 1e-3}}}
    assert "E = " in " ".join(lapack_speed.verdict(other))


@pytest.fixture(scope="module")
def probe_time(root):
    """benchmarks/probe_time.py."""
    yield from _benchmark(root, "probe_time")


def test_the_clash_replay_cuts_in_the_order_the_probes_ran_and_fails_on_a_relaxed_start(
    probe_time, tmp_path, capsys, monkeypatch
):
    """``probe_time.py --clash W`` replays ``placement.probe_clash_eV``: a probe is cut when its first energy lies
    more than W above the lowest first energy of the probes before it (not of all of them), and the replay exits 1
    when a start it would cut was one the search relaxed."""
    work = tmp_path / "results" / "s" / "work" / "adsorption" / "L" / "pristine-Pb1" / "top"
    work.mkdir(parents=True)
    rows = [  # (rotation, first energy, energy after the probe's steps, seconds)
        (0.0, 2.0, 1.5, 10.0),  # the first: never cut
        (22.5, 6.0, 0.9, 20.0),  # 4.0 above the lowest before it (7.0 above the lowest of all, which comes last)
        (45.0, 7.5, 0.4, 40.0),  # 5.5 above
        (67.5, -1.0, -1.2, 80.0),
    ]
    probes = [
        {"pose": [0, rot, 0.0, 45.0], "E_ads_start_eV": e0, "E_ads_sp_eV": e1, "probe_calc_s": t}
        for rot, e0, e1, t in rows
    ]
    (work / "probes.json").write_text(json.dumps({"probes": probes}))
    (work / "reduced_rot067.50_t45.json").write_text("{}")
    cut = probe_time.clash_cut(probes, 5.0, work / "probes.json")
    assert [c["stem"] for c in cut] == ["rot045.00_t45"]
    assert cut[0]["start_gap"] == pytest.approx(5.5) and cut[0]["end_gap"] == pytest.approx(1.6)
    wider = probe_time.clash_cut(probes, 3.0, work / "probes.json")
    assert [c["stem"] for c in wider] == ["rot022.50_t45", "rot045.00_t45"]
    monkeypatch.setattr(sys, "argv", ["probe_time.py", str(tmp_path / "results"), "--clash", "5", "3"])
    assert probe_time.main() == 0
    out = capsys.readouterr().out
    assert "probe_clash_eV 5: 1 of 4 probes cut" in out and "probe_clash_eV 3: 2 of 4 probes cut" in out
    (work / "reduced_rot022.50_t45.json").write_text("{}")
    assert probe_time.main() == 1
    assert "LOST: L/pristine-Pb1/top rot022.50_t45" in capsys.readouterr().out


@pytest.fixture(scope="module")
def probe_replay(root):
    """benchmarks/probe_replay.py."""
    yield from _benchmark(root, "probe_replay")


def _replay_tree(tmp_path):
    """A reference tree: four starts' relaxations on the reduced model (energies per frame, whether it
    converged) and their final E_ads on the whole slab. Only the three at height 0 are searched by default."""
    import numpy as np
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    tree = tmp_path / "results" / "ref"
    work = tree / "work" / "adsorption" / "L" / "pristine-Pb1" / "top"
    work.mkdir(parents=True)
    starts = [  # (rotation, height, tilt, stem, frames, converged, final E_ads)
        (0.0, 0.0, 0.0, "rot000.00", np.linspace(0.0, -0.3, 11), False, -0.50),
        (90.0, 0.0, 0.0, "rot090.00", [0.05, -0.30, -0.31], True, -0.31),
        (0.0, 0.0, 45.0, "rot000.00_t45", np.linspace(0.1, -0.5, 11), False, -0.90),  # slow, and the deepest
        (0.0, -0.3, 0.0, "rot000.00_h-0.30", [-0.2, -0.85], True, -0.85),  # a height the default does not place
    ]
    rows = []
    for rot, h, tilt, stem, frames, converged, final in starts:
        images = []
        for e in frames:
            a = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
            a.calc = SinglePointCalculator(a, energy=float(e), forces=np.zeros((2, 3)))
            images.append(a)
        write(str(work / f"reduced_{stem}.traj"), images)
        status = {"prerelax_status": "converged" if converged else "not_converged"}
        (work / f"reduced_{stem}.json").write_text(json.dumps(status))
        rows.append({"conformer": 0, "rotation_deg": rot, "height_offset_A": h, "tilt_deg": tilt, "E_ads_eV": final})
    rec = {"ligand": "L", "site": "pristine-Pb1", "face": "top", "orientations": rows}
    (tree / "adsorption" / "L" / "pristine-Pb1").mkdir(parents=True)
    (tree / "adsorption" / "L" / "pristine-Pb1" / "top.json").write_text(json.dumps(rec))
    return tree, rec, work


def test_the_probe_replay_chooses_as_the_search_would_after_k_steps(probe_replay, root, tmp_path, capsys):
    """``probe_replay.py`` ranks the searched starts by frame k of their reference relaxation with the search's
    own rule: after 2 steps it relaxes the converged rot 90 and the lowest descending rot 0 (best -0.50 eV, 0.40
    above the reference's -0.90: a miss); after 8 steps the tilted start has overtaken rot 0 (no miss). The start at
    -0.3 A is not placed by the default search. Exit 1 only when the config's own probe_steps misses."""
    tree, rec, work = _replay_tree(tmp_path)
    placement = {"heights": [0.0], "tilts": [0.0, 45.0], "polar_h_roll": True, "relax_top": 1, "probe_tie_eV": 0.0}
    placement["relax_each_tilt"] = False
    two = probe_replay.replay(rec, work, placement, 2, 2)
    assert sorted(two["chosen"]) == ["rot000.00", "rot090.00"] and two["best"] == pytest.approx(-0.50)
    assert two["n"] == 3 and two["probe_calls"] == 3 + 3 + 3
    # relax_each_tilt: the tilted start, still 0.2 eV above after 2 steps, is relaxed as well and finds -0.90
    each = probe_replay.replay(rec, work, {**placement, "relax_each_tilt": True}, 2, 2)
    assert sorted(each["chosen"]) == ["rot000.00", "rot000.00_t45", "rot090.00"] and each["best"] == pytest.approx(
        -0.90
    )
    eight = probe_replay.replay(rec, work, placement, 2, 8)
    assert sorted(eight["chosen"]) == ["rot000.00_t45", "rot090.00"] and eight["best"] == pytest.approx(-0.90)
    assert eight["probe_calls"] == 9 + 3 + 9 and eight["relax_calls"] == 2 + 0
    one_tilt = tmp_path / "one_tilt.yaml"  # the default search before stop 56
    one_tilt.write_text("set: s\nligands: [{name: a, smiles: CC=O}]\nplacement: {relax_each_tilt: false}\n")
    assert probe_replay.main([str(tree), "--config", str(one_tilt), "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "+0.400" in out and "MISS" in out and "probe_steps 8 (the config's): no miss" in out
    assert probe_replay.main([str(tree), "--config", str(root / "configs" / "default.yaml"), "--steps", "2"]) == 0
    assert "+0.400" not in capsys.readouterr().out  # the default relaxes the lowest probe of each tilt
    short = tmp_path / "short.yaml"
    short.write_text(
        "set: s\nligands: [{name: a, smiles: CC=O}]\nplacement: {probe_steps: 2, relax_each_tilt: false}\n"
    )
    assert probe_replay.main([str(tree), "--config", str(short)]) == 1
    assert probe_replay.main([str(tree), "--config", str(short), "--each-tilt"]) == 0
    assert probe_replay.main([str(tmp_path / "nothing"), "--config", str(short)]) == 2
