"""Bad configs rejected before any compute: exit code 2, a message naming the field, no traceback, fast."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

GOOD = "set: bad\nligands:\n  - {name: tmpo, smiles: 'CP(C)(C)=O'}\n"
UNEMBEDDABLE = "CP(C)(=O)CCCCCCCCCC[C@]12[C@@]3([C@]4([C@@]1([C@]5([C@@]2([C@]3([C@@]45F)F)F)F)F)F)F"


def _yaml(**over):
    cfg = yaml.safe_load(GOOD)
    for key, value in over.items():
        section, _, field = key.partition("__")
        if field:
            cfg.setdefault(section, {})[field] = value
        else:
            cfg[section] = value
    return yaml.safe_dump(cfg)


CASES = {
    "set_of_dots": (_yaml(set=".."), "set"),
    "ligand_of_dots": (GOOD.replace("name: tmpo", "name: '..'"), "ligands[0].name"),
    "names_differ_only_in_case": (
        GOOD + "  - {name: TMPO, smiles: 'CP(C)(C)=O'}\n",
        "differ only in case",
    ),
    "not_utf8": (GOOD.replace("tmpo", "tmp\xe9").encode("latin-1"), "not UTF-8"),
    "folder": (None, "is a folder"),
    "lattice_constant_inf": (GOOD + "slab: {lattice_constant: .inf}\n", "slab.lattice_constant"),
    "vacuum_nan": (GOOD + "slab: {vacuum: .nan}\n", "slab.vacuum"),
    "vacuum_too_small": (_yaml(slab__vacuum=0.1), "slab.vacuum"),
    "seed_negative": (_yaml(seed=-1), "seed"),
    "seed_too_large": (_yaml(seed=2**40), "seed"),
    "backend_not_installed": (_yaml(calculator={"backend": "vasp"}), "cannot run here"),
    "unembeddable_ligand": (GOOD.replace("CP(C)(C)=O", UNEMBEDDABLE), "cannot embed"),
    "unknown_tblite_method": (_yaml(calculator={"backend": "gfn2", "params": {"method": "GFN3-xTB"}}), "method"),
    "unknown_tblite_parameter": (_yaml(calculator={"backend": "gfn2", "params": {"acuracy": 1}}), "acuracy"),
    "contradictory_integrity": (
        _yaml(integrity={"pb_br_bond": 3.8, "pb_br_broken": 3.4}),
        "integrity.pb_br_broken",
    ),
    "min_contact_ratio_50": (_yaml(placement={"min_contact_ratio": 50}), "placement.min_contact_ratio"),
    "fmax_inf": (GOOD + "relax: {fmax: .inf}\n", "relax.fmax"),
    "duplicate_key": (GOOD + "seed: 1\nseed: 2\n", "duplicate key 'seed'"),
    "salt_of_two_molecules": (GOOD.replace("CP(C)(C)=O", "CC(C)=O.[Na+].[Cl-]"), "disconnected fragments"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_is_refused_clearly(case, tmp_path, faults):
    text, field = CASES[case]
    path = tmp_path / "bad.yaml"
    if text is None:
        path.mkdir()
    elif isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "passivscreen.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    elapsed = time.perf_counter() - t0
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and field in out.stderr, out.stderr
    assert elapsed < 5.0, elapsed
    assert not (tmp_path / "results").exists()
    faults.add(f"bad config: {case}", "rejected")


def test_output_paths_come_only_from_validated_names(root, tmp_path):
    """The workflow refuses a set name of dots before it builds a path (it would be results/../)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(_yaml(set=".."))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--snakefile",
            str(root / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(bad),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "set" in out.stdout + out.stderr
    assert not (tmp_path / "ranking.csv").exists() and not (tmp_path / "results").exists()


def test_validation_of_the_default_set_is_fast(root):
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "passivscreen.cli", "validate", str(root / "configs" / "default.yaml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert time.perf_counter() - t0 < 3.0


def test_read_yaml_units(tmp_path):
    from passivscreen.config import ConfigError, read_yaml

    p = tmp_path / "c.yaml"
    p.write_text("a: 1\nb: {c: 1, c: 2}\n")
    with pytest.raises(ConfigError, match="duplicate key 'c'"):
        read_yaml(p)
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        read_yaml(p)
    p.write_text("a: 1\nb: [1, 2]\n")
    assert read_yaml(p) == {"a": 1, "b": [1, 2]}
