"""``slab.repeat: auto``: per ligand the smallest n x n cell that keeps it off its periodic images."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from passivscreen.config import ConfigError, load_config, validate_config
from passivscreen.ligands import ligand_from_smiles
from passivscreen.placement.cells import AUTO_ROTATIONS, fits, image_distance, ligand_cells, smallest_cell
from passivscreen.placement.place import place_ligand
from passivscreen.structures import build_slab, distinct_surface_sites, parse_site, site_labels
from passivscreen.structures.cells import site_cell, slab_spec, strip_cell

TPPO = "O=P(c1ccccc1)(c1ccccc1)c1ccccc1"


@pytest.fixture(scope="module")
def default_cfg(root):
    return validate_config(load_config(root / "configs" / "default.yaml"))


def test_labels_name_their_cell_only_with_auto(default_cfg):
    labels = site_labels(default_cfg, (3, 3))
    assert labels and all(lab.endswith("-3x3") for lab in labels)
    assert site_cell(labels[0]) == (3, 3) and slab_spec(default_cfg, labels[0]).repeat == (3, 3)
    kind, pb = parse_site(labels[0])
    assert kind == "pristine" and f"-Pb{pb}-3x3" in labels[0] and strip_cell(labels[0]) == f"pristine-Pb{pb}"
    explicit = copy.deepcopy(default_cfg)
    explicit["slab"]["repeat"] = [2, 2]
    assert all(site_cell(lab) is None for lab in site_labels(explicit))
    with pytest.raises(ValueError, match="auto"):
        slab_spec(default_cfg, "pristine-Pb10")  # a plan's label: which cell?


@pytest.mark.parametrize("layers", [2, 3, 4])
def test_the_plans_labels_name_the_same_site_on_every_cell(default_cfg, layers):
    """With auto a plan does not know the cells: its labels name none (``pristine-Pb10``), and on every cell that
    auto may choose (each ligand job says which) the label names the same symmetry-distinct top-face Pb, so that
    ``on_cell`` (the slab reference of a complex) is a site of that cell."""
    from passivscreen.structures import surface_pb_indices
    from passivscreen.structures.cells import AUTO_MAX, AUTO_MIN, on_cell

    cfg = copy.deepcopy(default_cfg)
    cfg["slab"]["n_pbbr2_layers"] = layers
    cfg["sites"] = ["pristine", "vBr0", "vBr+"]
    plan = site_labels(cfg)
    assert plan and all(site_cell(lab) is None for lab in plan)
    for n in range(AUTO_MIN, AUTO_MAX + 1):
        on = site_labels(cfg, (n, n))
        assert on == [on_cell(lab, (n, n)) for lab in plan], (n, on, plan)
        top = surface_pb_indices(build_slab(slab_spec(cfg, repeat=(n, n))))
        assert all(parse_site(lab)[1] in top for lab in on)


def test_tppo_gets_the_smallest_cell_that_keeps_it_off_its_images(default_cfg):
    """TPPO (35 atoms, 11 A across) overlaps its images on 2x2 in some rotation, not on 3x3; methylamine fits 2x2."""
    lig = ligand_from_smiles("tppo", TPPO, None, None, 42, None, 2)
    n, shortest = smallest_cell(default_cfg, lig)
    assert n == 3 and shortest >= default_cfg["placement"]["min_image_distance"]
    d_min = default_cfg["placement"]["min_image_distance"]
    small = build_slab(slab_spec(default_cfg, repeat=(2, 2)))
    ok, too_close = fits(np.array(small.cell), lig, d_min)
    assert not ok and too_close < d_min
    # every conformer and rotation placed on the chosen cell's Pb, measured on the complex itself
    big = build_slab(slab_spec(default_cfg, repeat=(3, 3)))
    site = int(distinct_surface_sites(big)[0])
    members = np.arange(len(big), len(big) + len(lig.atoms))
    for positions in lig.conformers:
        lig.atoms.positions = positions
        for rot in AUTO_ROTATIONS:
            p = place_ligand(big, lig, site, float(rot))
            assert image_distance(p.atoms.positions[members], np.array(big.cell)) >= d_min
    methylamine = ligand_from_smiles("methylamine", "CN", None, None, 42, None, 1)
    assert smallest_cell(default_cfg, methylamine)[0] == 2


def test_the_ligand_job_sizes_the_cell_for_the_conformers_it_places(default_cfg, tmp_path):
    """Dipropyl sulfoxide embeds ten conformers; some of them overlap their images on 2x2, but the two the
    adsorption step places (the lowest at GFN2-xTB) fit it: the job's cell is 2x2, the preview's (every embedded
    conformer) 3x3, and with every conformer placed the job's is 3x3 too. Real GFN2-xTB relaxations (seconds)."""
    from passivscreen.ligands.molecules import entry_ligand
    from passivscreen.steps.ligand import run_ligand

    entry = {"name": "dipropyl_sulfoxide", "smiles": "CCCS(=O)CCC"}
    cfg = validate_config({**copy.deepcopy(default_cfg), "ligands": [entry]})
    assert smallest_cell(cfg, entry_ligand(cfg, cfg["ligands"][0]))[0] == 3
    rec = run_ligand(cfg, entry["name"], tmp_path / "l.json", tmp_path / "l.extxyz", tmp_path / "w")
    assert rec["status"] == "ok" and rec["n_conformers"] > 2
    assert rec["cell"] == [2, 2] and rec["image_distance_A"] >= cfg["placement"]["min_image_distance"]
    every = validate_config({**copy.deepcopy(cfg), "placement": {**cfg["placement"], "conformers": 50}})
    rec = run_ligand(every, entry["name"], tmp_path / "m.json", tmp_path / "m.extxyz", tmp_path / "w2")
    assert rec["cell"] == [3, 3]


def test_image_distance_is_the_distance_to_the_nearest_image():
    from ase import Atoms

    atoms = Atoms("H2", positions=[[0, 0, 5], [1.0, 0, 5]], cell=[6.0, 6.0, 20.0], pbc=True)
    # H at x=1 to the image of the H at x=0, at x=6
    assert image_distance(atoms.positions, np.array(atoms.cell)) == pytest.approx(5.0)


def test_every_ligand_of_a_set_gets_its_cell_and_an_explicit_repeat_wins(default_cfg, tmp_path):
    cfg = copy.deepcopy(default_cfg)
    cfg["ligands"] = [{"name": "tppo", "smiles": TPPO}, {"name": "dmso", "smiles": "CS(C)=O"}]
    cfg = validate_config(cfg)
    cache = tmp_path / "cells.json"
    assert ligand_cells(cfg, cache) == {"tppo": (3, 3), "dmso": (2, 2)}
    assert len(json.loads(cache.read_text())) == 2
    # a cached choice is not computed again (here: a cache that says otherwise is believed)
    doctored = {k: 5 for k in json.loads(cache.read_text())}
    cache.write_text(json.dumps(doctored))
    assert ligand_cells(cfg, cache) == {"tppo": (5, 5), "dmso": (5, 5)}
    cfg["slab"]["repeat"] = [2, 2]
    assert ligand_cells(cfg) == {"tppo": (2, 2), "dmso": (2, 2)}


def test_explicit_sites_need_an_explicit_cell(default_cfg):
    cfg = copy.deepcopy(default_cfg)
    cfg["placement"]["sites"] = [10]
    with pytest.raises(ConfigError, match="placement.sites"):
        validate_config(cfg)
    cfg["slab"]["repeat"] = [2, 2]
    validate_config(cfg)


@pytest.fixture(scope="module")
def cells_run(root, tmp_path_factory):
    """A screen with two 2x2 ligands and TPPO (3x3) last, a funnel tier on every row; its ligand jobs (the
    checkpoints that choose the cells) run for real with GFN2-xTB, then a dry run plans the rest."""
    work = tmp_path_factory.mktemp("cells_run")
    cfg = yaml.safe_load((root / "configs" / "default.yaml").read_text())
    cfg.update(set="cells", ligand_batch_size=1)
    cfg["slab"] = {**cfg["slab"], "n_pbbr2_layers": 2}
    cfg["tiers"] = [{"backend": "gfn2"}, {"name": "check", "backend": "gfn2", "task": "single_point", "top_k": "all"}]
    cfg["ligands"] = [
        {"name": "dmso", "smiles": "CS(C)=O"},
        {"name": "methylamine", "smiles": "CN"},
        {"name": "tppo", "smiles": TPPO},
    ]
    path = work / "cells.yaml"
    path.write_text(yaml.safe_dump(cfg))
    smk = [sys.executable, "-m", "snakemake", "--configfile", str(path), "--directory", str(work),
           "--snakefile", str(root / "Snakefile"), "--cores", "2"]  # fmt: skip
    before = subprocess.run([*smk, "-n"], capture_output=True, text=True, cwd=root, timeout=300)
    targets = [f"results/cells/ligands/{lig['name']}.json" for lig in cfg["ligands"]]  # relative to the directory
    ligands = subprocess.run([*smk, *targets], capture_output=True, text=True, cwd=root, timeout=900)
    after = subprocess.run([*smk, "-n"], capture_output=True, text=True, cwd=root, timeout=300)
    return work, before, ligands, after


def _jobs(out):
    """(rule, its text) of each job of a dry run's listing."""
    return re.findall(r"rule (\w+):\n(.*?)\n\n", out, re.S)


def test_the_plan_needs_no_cells_and_each_ligand_job_chooses_its_own(cells_run):
    """Before any job: the complexes are planned without a 3D structure (their paths name no cell, no slab yet);
    the ligand jobs record each ligand's cell (TPPO 3x3, the others 2x2); then each complex reads its slab
    references on its own cell: one slab per cell."""
    work, before, ligands, after = cells_run
    assert before.returncode == 0, before.stderr[-2000:]
    assert re.search(r"adsorption/tppo/pristine-Pb\d+/top\.json", before.stdout), before.stdout[-3000:]
    assert "/slab/" not in before.stdout and "checkpoint" in before.stdout
    assert ligands.returncode == 0, ligands.stderr[-3000:]
    recs = {n: json.loads((work / "results" / "cells" / "ligands" / f"{n}.json").read_text()) for n in ("tppo", "dmso")}
    assert recs["tppo"]["cell"] == [3, 3] and recs["dmso"]["cell"] == [2, 2], recs
    assert recs["tppo"]["image_distance_A"] >= 3.0
    assert after.returncode == 0, after.stderr[-2000:]
    slabs = {m.group(1) for m in re.finditer(r"/slab/([^/]+)/top\.json", after.stdout)}
    assert {re.sub(r"Pb\d+", "Pb", x) for x in slabs} == {"pristine-Pb-2x2", "pristine-Pb-3x3"}, slabs
    jobs = _jobs(after.stdout)
    tppo = next(body for name, body in jobs if name.startswith("adsorption") and "/tppo/" in body)
    assert re.search(r"slab/pristine-Pb\d+-3x3/top\.json", tppo) and "-2x2" not in tppo, tppo
    # the job's resources follow its cell: TPPO's batch gets the 3x3 runtime, a 2x2 batch the 2x2 one
    runtime = {name: int(re.search(r"runtime=(\d+)", body).group(1)) for name, body in jobs if "runtime=" in body}
    assert runtime["adsorption_0002"] > runtime["adsorption_0000"] == runtime["adsorption_0001"], runtime


def test_a_funnel_slab_runs_with_the_first_complexes_of_its_cell(cells_run):
    """With ``top_k: all`` a funnel tier's slab reference of a cell starts with the first complex batch on that
    cell, not before every screening job: the 2x2 one with DMSO's batch (0), TPPO's 3x3 one with TPPO's (the last), so
    that a cell whose complexes come late does not hold a core from the start of a run."""
    _, _, _, after = cells_run
    prio = {
        (name, re.search(r"site=([^,\s]+)", body).group(1) if "site=" in body else None): int(
            re.search(r"priority: (\d+)", body).group(1)
        )
        for name, body in _jobs(after.stdout)
        if name.startswith(("adsorption_", "funnel_slab"))
    }
    slab = {re.sub(r"Pb\d+", "Pb", k[1]): p for k, p in prio.items() if k[0] == "funnel_slab"}
    assert slab["pristine-Pb-2x2"] == prio[("adsorption_0000", None)] + 1, prio
    assert slab["pristine-Pb-3x3"] == prio[("adsorption_0002", None)] + 1, prio
    assert slab["pristine-Pb-3x3"] < prio[("adsorption_0000", None)]


def test_the_cells_command_prints_each_ligands_cell(root, tmp_path, capsys, monkeypatch):
    from passivscreen.cli import main

    cfg = yaml.safe_load((root / "configs" / "default.yaml").read_text())
    cfg["set"] = "cells_cli"
    cfg["ligands"] = [{"name": "tppo", "smiles": TPPO}, {"name": "dmso", "smiles": "CS(C)=O"}]
    path = tmp_path / "cells.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path)
    assert main(["cells", str(path)]) == 0
    lines = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines == {"tppo": ["3x3", "117"], "dmso": ["2x2", "52"]}
    assert (tmp_path / "results" / "cells_cli" / "work" / "cells.json").exists()


def test_a_planned_member_moves_onto_its_ligands_cell(default_cfg, tmp_path):
    """A complex planned with auto names no cell; the job reads the cell its ligand job chose and takes its slab
    references on that cell (the files the rule's input function names); the complex's own files stay the plan's.
    With an explicit repeat nothing moves."""
    from passivscreen.records.layout import Results
    from passivscreen.steps.batches import on_its_cell
    from passivscreen.steps.jobs import complex_member

    layout = Results(str(tmp_path / "results" / "cells"))
    planned = complex_member(layout, "tppo", "pristine-Pb10", "top")
    assert planned["slab_site"] == "pristine-Pb10"
    Path(planned["ligand_json"]).parent.mkdir(parents=True)
    Path(planned["ligand_json"]).write_text(json.dumps({"ligand": "tppo", "cell": [3, 3]}))
    cfg = {**default_cfg, "ligands": [{"name": "tppo", "smiles": TPPO}]}
    moved = on_its_cell(cfg, planned)
    assert moved["slab_site"] == "pristine-Pb10-3x3" and moved["site"] == "pristine-Pb10"
    assert moved["slab_json"] == layout.slab("pristine-Pb10-3x3", "top").json
    assert moved["clean_json"] == layout.slab("pristine-Pb10-3x3", "top").json
    assert moved["json"] == planned["json"] == layout.complex("tppo", "pristine-Pb10", "top").json
    explicit = copy.deepcopy(cfg)
    explicit["slab"]["repeat"] = [2, 2]
    assert on_its_cell(explicit, planned) == planned


def rec_site(res):
    """The plan's site label of the one complex of a results tree."""
    (path,) = (res / "adsorption" / "formaldehyde").glob("*/top.json")
    return json.loads(path.read_text())["site"]


@pytest.mark.slow
def test_a_screen_with_auto_cells_runs_end_to_end(root, tmp_path):
    """The whole workflow with auto (light search settings): the ligand job (a checkpoint) chooses the cell, the slab
    reference is built on it, the adsorption job moves its member there, the funnel row reads the tier's slab of the
    same cell, the ranking says which cell (formaldehyde: 2x2), and the convergence harness finds the complex's slab."""
    cfg = yaml.safe_load((root / "configs" / "default.yaml").read_text())
    cfg.update(set="auto_e2e", ligands=[{"name": "formaldehyde", "smiles": "C=O"}])
    cfg["slab"] = {**cfg["slab"], "n_pbbr2_layers": 2}
    cfg["relax"] = {"fmax": 0.1, "steps": 40}
    cfg["placement"] = {"orientations": 1, "heights": [0.0], "tilts": [0.0], "probe_steps": 0, "relax_top": 1}
    cfg["tiers"] = [{"backend": "gfn2"}, {"name": "check", "backend": "gfn2", "task": "single_point", "top_k": "all"}]
    path = tmp_path / "auto.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", str(path), "--directory", str(tmp_path),
         "--snakefile", str(root / "Snakefile"), "--cores", "2", "all", "converge"],
        capture_output=True, text=True, cwd=root, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    res = tmp_path / "results" / "auto_e2e"
    # the harness rebuilds the complex from its slab reference on its own cell, and checks the next cell (3x3)
    conv = pd.read_csv(res / "convergence.csv")
    assert set(conv["site"]) == {rec_site(res)} and "3x3" in set(conv[conv["axis"] == "repeat"]["value"]), conv
    assert conv[conv["check"]]["delta_eV"].notna().all()
    ranking = pd.read_csv(res / "ranking.csv")
    assert list(ranking["status"]) == ["ok"] and list(ranking["repeat"]) == ["2x2"], ranking
    (rec_path,) = (res / "adsorption" / "formaldehyde").glob("*/top.json")
    rec = json.loads(rec_path.read_text())
    assert site_cell(rec["site"]) is None and rec["slab_site"] == f"{rec['site']}-2x2", rec["site"]
    assert (res / "slab" / rec["slab_site"] / "top.json").exists()
    row = json.loads((res / "tiers" / "check" / "rows" / "formaldehyde" / rec["site"] / "top.json").read_text())
    assert row["status"] == "ok" and row["E_ads_eV"] == pytest.approx(rec["E_ads_eV"], abs=0.05)
