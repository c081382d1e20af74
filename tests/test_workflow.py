"""The Snakemake workflow on configs/test.yaml, run for real with GFN2-xTB."""

from __future__ import annotations

import json
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
    lint = subprocess.run(
        [*SNAKEMAKE, "--lint", "--configfile", "configs/test.yaml"], cwd=root, capture_output=True, text=True
    )
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr


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
def test_test_config_end_to_end(root, tmp_path):
    run = _smk(root, tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    res = tmp_path / "results" / "test"
    df = pd.read_csv(res / "ranking.csv")
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
        assert col in df.columns
    by = df.set_index("ligand")
    # the P=O model binds more strongly than the C=O model
    assert by.loc["trimethylphosphine_oxide", "E_ads_eV"] < by.loc["formaldehyde", "E_ads_eV"] < 0
    ok = df[df.status == "ok"]
    assert len(ok) == 2 and ok["bond_order"].between(0.01, 1.0).all()
    assert ok["d_anchor_Pb_A"].between(2.2, 3.2).all()
    # the failed placement is recorded and ranked last, not raised
    assert by.loc["pentadecanone", "status"] == "no_placement"
    assert df.iloc[-1]["ligand"] == "pentadecanone"
    # held slab: slab atoms identical in the complex and the slab term
    slab = read(res / "slab" / "slab.extxyz")
    for name in ok["ligand"]:
        rec = json.loads((res / "adsorption" / name / f"{ok.iloc[0]['site']}.json").read_text())
        assert rec["max_slab_displacement_A"] == 0.0
        assert rec["provenance"]["backend"] == "gfn2" and "tblite" in rec["provenance"]["versions"]
        cpx = read(res / "adsorption" / name / f"{rec['site']}.extxyz")
        assert np.array_equal(cpx.positions[: len(slab)], slab.positions)
        assert rec["E_ads_eV"] == pytest.approx(rec["E_complex_eV"] - rec["E_slab_eV"] - rec["E_ligand_eV"])
    assert (res / "ranking.png").read_bytes()[:4] == b"\x89PNG"
    # a second run has nothing to do
    again = _smk(root, tmp_path)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
