"""The Snakemake workflow on configs/test.yaml, run for real with GFN2-xTB."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase.io import read

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _smk(root: Path, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [
        *SNAKEMAKE,
        "--snakefile",
        str(root / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(root / "configs" / "test.yaml"),
        "--cores",
        "2",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200)


def test_dry_run_and_lint(root, tmp_path):
    dry = _smk(root, tmp_path, "-n")
    assert dry.returncode == 0, dry.stderr
    assert "adsorption" in dry.stdout and "ranking" in dry.stdout
    # ready adsorption batches start in config order: batch k has the k-th highest priority
    prio = dict(re.findall(r"rule (adsorption_\d+):.*?priority: (\d+)", dry.stdout, re.S))
    batches = sorted(prio)
    assert len(batches) >= 2 and [int(prio[b]) for b in batches] == list(range(len(batches), 0, -1)), prio
    lint = subprocess.run(
        [*SNAKEMAKE, "--lint", "--configfile", "configs/test.yaml"], cwd=root, capture_output=True, text=True
    )
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr


def test_default_configfile_and_its_replacement(root):
    """`snakemake -n` needs no arguments (configs/default.yaml); a --configfile replaces it whole."""
    # --forceall: list every job whatever the repository's results/ already holds
    plain = subprocess.run([*SNAKEMAKE, "-n", "--forceall"], cwd=root, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "results/default/ranking.csv" in plain.stdout
    # default.yaml: ligand_batch_size 7; with slab.repeat: auto the ligand batches are checkpoints
    assert len(re.findall(r"(?:rule|checkpoint) ligands_\d+:", plain.stdout)) == 1
    other = subprocess.run(
        [*SNAKEMAKE, "-n", "--forceall", "--configfile", "configs/test.yaml"], cwd=root, capture_output=True, text=True
    )
    assert other.returncode == 0, other.stderr[-2000:]
    assert "results/default/" not in other.stdout and "results/test/ranking.csv" in other.stdout
    # test.yaml sets no ligand_batch_size: the schema's default (1), not default.yaml's 7
    assert len(re.findall(r"rule ligands_\d+:", other.stdout)) == 3


def test_invalid_config_stops_before_compute(root, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("set: bad\nligands:\n  - {name: broken, smiles: 'C1CC('}\n")
    out = subprocess.run(
        [
            *SNAKEMAKE,
            "--snakefile",
            str(root / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(bad),
            "--cores",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "broken" in out.stdout + out.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_test_config_end_to_end(root, test_config_run):
    run, tmp_path = test_config_run.run, test_config_run.workdir
    assert run.returncode == 0, run.stderr[-3000:]
    res = tmp_path / "results" / "test"
    df = pd.read_csv(res / "ranking.csv")
    for col in [
        "ligand",
        "smiles",
        "anchor",
        "site",
        "faces",
        "E_ads_eV",
        "bond_order",
        "d_anchor_Pb_A",
        "charge_transfer_e",
        "n_orientations",
        "status",
        "cooperativity_eV",
        "trap_depth_eV_before",
        "trap_depth_eV_after",
        "flags",
    ]:
        assert col in df.columns
    site = "vBr0-Pb5"
    by = df.set_index(["ligand", "faces"])
    tmpo = by.loc[("trimethylphosphine_oxide", "top")]
    assert tmpo["status"] == "ok" and pd.isna(tmpo["flags"])
    # P=O binds the vacancy-exposed Pb with a bond order near the seed's 0.2
    assert -1.5 < tmpo["E_ads_eV"] < -0.5 and 0.1 < tmpo["bond_order"] < 0.4
    assert 2.3 < tmpo["d_anchor_Pb_A"] < 2.8
    # top and bottom faces are mirror images: the same energy
    assert by.loc[("trimethylphosphine_oxide", "bottom"), "E_ads_eV"] == pytest.approx(tmpo["E_ads_eV"], abs=0.01)
    # both faces: two ligands, cooperativity = E_both - (E_top + E_bottom)
    both = by.loc[("trimethylphosphine_oxide", "both")]
    coop = both["E_ads_eV"] - tmpo["E_ads_eV"] - by.loc[("trimethylphosphine_oxide", "bottom"), "E_ads_eV"]
    assert both["cooperativity_eV"] == pytest.approx(coop, abs=2e-4)
    assert both["E_ads_per_ligand_eV"] == pytest.approx(both["E_ads_eV"] / 2, abs=1e-4)
    # the neutral vacancy has an in-gap state; P=O makes it shallower
    assert tmpo["trap_depth_eV_before"] > 0.05
    assert tmpo["trap_depth_eV_after"] < tmpo["trap_depth_eV_before"]
    # formaldehyde takes the vacancy's electron: flagged, so ranked after the clean rows
    form = by.loc[("formaldehyde", "top")]
    assert "ligand_reduced[gfn2]" in form["flags"]
    clean = df[(df["status"] == "ok") & df["flags"].isna()]
    assert df.index[df.ligand == "formaldehyde"].min() > clean.index.max()
    # the failed placement is recorded and ranked last, not raised
    assert (df[df.ligand == "pentadecanone"]["status"] == "no_placement").all()
    assert (df.tail(3)["ligand"] == "pentadecanone").all()
    # ... and summed up at the run's end, grouped by status and reason
    failures = (res / "failures.txt").read_text().splitlines()
    assert failures[0] == f"3 of {len(df)} rows failed:" and "no_placement" in failures[1], failures
    assert "pentadecanone" in failures[1] and "3 of 9 rows failed:" in run.stderr
    # held slab: slab atoms identical in the complex and the slab term
    for face in ("top", "both"):
        slab = read(res / "slab" / site / f"{face}.extxyz")
        rec = json.loads((res / "adsorption" / "trimethylphosphine_oxide" / site / f"{face}.json").read_text())
        assert rec["max_slab_displacement_A"] == 0.0
        assert rec["provenance"]["backend"] == "gfn2" and "tblite" in rec["provenance"]["versions"]
        cpx = read(res / "adsorption" / "trimethylphosphine_oxide" / site / f"{face}.extxyz")
        assert np.array_equal(cpx.positions[: len(slab)], slab.positions)
        n = rec["n_ligands"]
        assert rec["E_ads_eV"] == pytest.approx(rec["E_complex_eV"] - rec["E_slab_eV"] - n * rec["E_ligand_eV"])
    for png in [res / "ranking.png", res / "pdos" / "trimethylphosphine_oxide" / site / "top.png"]:
        assert png.read_bytes()[:4] == b"\x89PNG"
    # a second run has nothing to do
    again = _smk(root, tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    _check_database(root, tmp_path, res)
    _check_report(root, tmp_path)
    _check_changed_ligand_reruns_only_its_jobs(root, tmp_path)
    _check_batches_reuse_finished_members(root, tmp_path, res, df)


def _check_batches_reuse_finished_members(root, tmp_path, res, ranking):
    """batch_size 3: three complex jobs; a re-run batch copies its finished members back."""
    logs = sorted((res / "logs" / "adsorption").glob("batch_*.log"))
    assert [p.name for p in logs] == ["batch_0000.log", "batch_0001.log", "batch_0002.log"]
    # forcing trimethylphosphine oxide's ligand job re-runs it and its complex job: nothing is recomputed
    again = _smk(root, tmp_path, "--forcerun", "ligands_0000")
    assert again.returncode == 0, again.stderr[-2000:]
    text = again.stdout + again.stderr
    assert "rule adsorption_0000" in text and "rule adsorption_0001" not in text, text[-3000:]
    reused = "reused (finished earlier with the same inputs)"
    assert (res / "logs" / "ligands" / "batch_0000.log").read_text().count(reused) == 1
    assert logs[0].read_text().count(reused) == 3, logs[0].read_text()
    rerun = pd.read_csv(res / "ranking.csv")
    assert rerun["E_ads_eV"].fillna(0).tolist() == ranking["E_ads_eV"].fillna(0).tolist()


def _db_rows(db: Path, query: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "ase", "db", str(db), query, "-c", "ligand,site,face,E_ads_eV", "-L", "100"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if "|" in line and not line.startswith("ligand")]


def _check_database(root, tmp_path, res):
    db = res / "results.db"
    assert len(_db_rows(db, "anchor_group=PO")) == 3  # TMPO on top, bottom and both faces
    from ase.db import connect

    rows = list(connect(str(db)).select(anchor="P=O"))
    assert {r.face for r in rows} == {"top", "bottom", "both"} and all(r.bond_order > 0.1 for r in rows)
    n = connect(str(db)).count()
    assert n == 9
    # deleted: rebuilt from the JSON records, nothing else re-runs, no duplicate rows
    db.unlink()
    rebuilt = _smk(root, tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert "rule adsorption_" not in rebuilt.stdout + rebuilt.stderr
    assert connect(str(db)).count() == n
    forced = _smk(root, tmp_path, "--forcerun", "database")
    assert forced.returncode == 0 and connect(str(db)).count() == n


def _check_report(root, tmp_path):
    import base64

    report = tmp_path / "report.html"
    out = _smk(root, tmp_path, "--report", str(report))
    assert out.returncode == 0, out.stderr[-2000:]
    html = report.read_text()
    start = html.index("var results = {") + len("var results = ")
    results, _ = json.JSONDecoder().raw_decode(html[start:])
    entry = results["results/test/ranking.csv"]
    assert "Ranking table" in entry["caption"]
    csv = base64.b64decode(entry["data_uri"].split("base64,", 1)[1]).decode()
    assert csv.splitlines()[0].startswith("rank,ligand,smiles,anchor,binding,site,faces,repeat,E_ads_eV")
    assert "trimethylphosphine_oxide" in csv
    for name in (
        "ranking.png",
        "pdos/trimethylphosphine_oxide/vBr0-Pb5/top.png",
        "pictures/trimethylphosphine_oxide/vBr0-Pb5/top.png",
    ):
        assert f"results/test/{name}" in results and results[f"results/test/{name}"]["caption"]


def _check_changed_ligand_reruns_only_its_jobs(root, tmp_path):
    import yaml

    cfg = yaml.safe_load((root / "configs" / "test.yaml").read_text())
    cfg["ligands"][1]["smiles"] = "CC=O"  # formaldehyde -> acetaldehyde under the same name
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(cfg))
    cmd = [
        *SNAKEMAKE,
        "--snakefile",
        str(root / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--configfile",
        str(changed),
        "--cores",
        "1",
        "-n",
        "--quiet",
        "rules",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", text, re.M)}
    # formaldehyde's ligand job, and the complex job that holds its three faces (batch_size 3)
    assert counts.get("ligands_0001") == 1 and counts.get("adsorption_0001") == 1, text
    assert not {"slab", "ligands_0000", "ligands_0002", "adsorption_0000", "adsorption_0002"} & set(counts), text


def test_the_screen_target_runs_the_complexes_without_the_funnel_and_the_ranking(root, test_config_run, tmp_path):
    """``snakemake screen``: the complexes at the screening tier and nothing after them (a calibration's first step,
    before ``passivscreen calibrate --carry``); the default target plans the ranking as well. Dry runs on a copy of
    the finished test run with one complex's files gone."""
    import shutil

    work = tmp_path / "copy"
    shutil.copytree(test_config_run.workdir, work, symlinks=True)
    res = work / "results" / "test"
    for f in (res / "pictures" / "formaldehyde").rglob("top.png"):
        f.unlink()

    def planned(*target: str) -> set[str]:
        run = _smk(root, work, *target, "-n", "--rerun-triggers", "mtime")
        assert run.returncode == 0, run.stderr[-2000:]
        table = (run.stdout + run.stderr).split("Job stats:")[1].split("total")[0]
        return {line.split()[0] for line in table.splitlines()[3:] if line.strip()}

    screen = planned("screen")
    assert any(job.startswith("adsorption_") for job in screen) and "screen" in screen
    assert not screen & {"ranking", "database", "all"}, screen
    assert {"ranking", "all"} <= planned()
