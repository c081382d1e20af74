"""Bad configs rejected before any compute: exit code 2, a message naming the field, no traceback (how fast:
benchmarks/validation.py, in machine units; a timed test would fail on a loaded machine, not on slow code)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from bad_configs import BAD_CONFIGS, BASE


def _yaml(**over):
    return yaml.safe_dump({**BASE, **over})


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_refused_clearly(case, tmp_path, faults):
    """Each row of the bad-config table through the CLI: exit 2, its message and field, no traceback, under
    nothing written in the working directory."""
    bad = BAD_CONFIGS[case]
    path = tmp_path / "bad.yaml"
    bad.write(path)
    out = subprocess.run(
        [sys.executable, "-m", "passivscreen.cli", "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and re.search(bad.message, out.stderr), out.stderr
    assert bad.field is None or f"config field {bad.field}" in out.stderr, out.stderr
    assert not (tmp_path / "results").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.yaml"]
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


def test_validation_of_the_default_set_passes(root):
    out = subprocess.run(
        [sys.executable, "-m", "passivscreen.cli", "validate", str(root / "configs" / "default.yaml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


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
