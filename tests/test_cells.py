"""``slab.repeat: auto``: per ligand the smallest n x n cell that keeps it off its periodic images."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
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
        site_labels(default_cfg)  # auto without a cell: which labels?
    with pytest.raises(ValueError, match="auto"):
        slab_spec(default_cfg, "pristine-Pb10")


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


def test_the_workflow_builds_one_slab_per_cell(root, tmp_path, default_cfg):
    """A dry run with TPPO and DMSO: a 3x3 slab for TPPO, the 2x2 one for DMSO, each complex on its own."""
    cfg = yaml.safe_load((root / "configs" / "default.yaml").read_text())
    cfg["set"] = "cells"
    cfg["ligands"] = [{"name": "tppo", "smiles": TPPO}, {"name": "dmso", "smiles": "CS(C)=O"}]
    path = tmp_path / "cells.yaml"
    path.write_text(yaml.safe_dump(cfg))
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--forceall", "--configfile", str(path), "--directory", str(tmp_path),
         "--snakefile", str(root / "Snakefile")],
        capture_output=True, text=True, cwd=root, timeout=300,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr[-2000:]
    s = dry.stdout + dry.stderr
    slabs = {line.split("/slab/")[1].split("/")[0] for line in s.splitlines() if "/slab/" in line and "output" in line}
    assert any(x.endswith("-3x3") for x in slabs) and any(x.endswith("-2x2") for x in slabs), slabs
    assert "adsorption/tppo/pristine-Pb" in s and "-3x3/top.json" in s


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
