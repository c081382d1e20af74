from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml
from bad_configs import BAD_CONFIGS

from passivscreen.config import ConfigError, load_config, validate_config
from passivscreen.config.load import read_yaml

BASE = {"set": "t", "ligands": [{"name": "tmpo", "smiles": "CP(C)(C)=O"}]}


def _with(**changes):
    cfg = copy.deepcopy(BASE)
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            cfg.setdefault(section, {})[field] = value
        else:
            cfg[section] = value
    return cfg


def test_defaults_filled():
    cfg = validate_config(BASE)
    assert cfg["calculator"]["backend"] == "gfn2"
    assert cfg["slab"]["lattice_constant"] == 5.87 and cfg["slab"]["repeat"] == "auto"
    assert cfg["placement"]["orientations"] == 4 and cfg["hold"]["free_radius"] == 0.0


@pytest.mark.parametrize("case", sorted(n for n, b in BAD_CONFIGS.items() if b.change is not None))
def test_bad_configs_name_the_field(case):
    """Each config of the bad-config table: a ConfigError whose message matches and names its field."""
    bad = BAD_CONFIGS[case]
    with pytest.raises(ConfigError, match=bad.message) as err:
        validate_config(bad.config())
    assert str(err.value).startswith(f"config field {bad.field}"), (bad.field, str(err.value))


def test_ambiguous_resolved_by_config():
    cfg = validate_config(_with(ligands=[{"name": "x", "smiles": "O=P(C)(C)CCC(C)=O", "anchor": "P=O"}]))
    assert cfg["ligands"][0]["anchor"] == "P=O"


def test_shipped_configs_say_what_their_comments_promise(root):
    """Each shipped config validates, and holds what the README and docs say it holds."""
    complete = ("calibration", "calibration_each_tilt")
    cfgs = {p.stem: load_config(p) for p in (root / "configs").glob("*.yaml") if p.stem not in complete}
    # the calibration sets are complete (stops 41 and 55): every pair is in the shipped store, so the run has
    # nothing left to plan and says so; their contents are checked without skip_stored
    for name in complete:
        with pytest.raises(ConfigError, match="every ligand's pair is in .* already: nothing to run"):
            load_config(root / "configs" / f"{name}.yaml")
        raw = read_yaml(root / "configs" / f"{name}.yaml")
        cfgs[name] = validate_config(
            {**raw, "calibration": {**raw["calibration"], "skip_stored": False}}, base=root / "configs"
        )
    assert set(cfgs) >= {"default", "seed_paper", "test", "tiered", "validation", "validation_ion_pair"}
    default, validation = cfgs["default"], cfgs["validation"]
    # the default screen: one molecule of each of the seven L-type anchor classes, plus the ionic forms
    from passivscreen.ligands import choose_anchor, parse_smiles, resolve_smiles

    classes = {choose_anchor(parse_smiles(resolve_smiles(lig)), lig["name"])[0] for lig in default["ligands"]}
    assert {"P=O", "S=O", "C=O", "N=O", "COOH", "amine", "thiol"} <= classes
    # the converged protocol of docs/convergence.md: 40 A of vacuum, 3 layers, 2x2 (auto: the cell grows
    # from 2x2 for a ligand that does not fit it; every default ligand does)
    assert (default["slab"]["vacuum"], default["slab"]["n_pbbr2_layers"], default["slab"]["repeat"]) == (
        20.0,
        3,
        "auto",
    )
    assert cfgs["seed_paper"]["slab"]["vacuum"] == 20.0 and cfgs["seed_paper"]["slab"]["n_pbbr2_layers"] == 3
    # the default search on the reduced surface model (docs/benchmarks.md stops 30-31, default since stop 33), and
    # the whole-slab search it replaced: the default set and protocol but for these three search settings
    whole = cfgs["whole_slab_search"]
    assert {k: v for k, v in whole.items() if k not in ("set", "placement")} == {
        k: v for k, v in default.items() if k not in ("set", "placement")
    }
    assert {k: (v, whole["placement"][k]) for k, v in default["placement"].items() if whole["placement"][k] != v} == {
        "probe_layers": (3, 0),
        "probe_tie_eV": (0.02, 0.0),
        "relax_layers": (3, 0),
    }
    # every config that names itself the default protocol searches as the default does
    search = (
        "probe_steps",
        "relax_top",
        "probe_layers",
        "probe_tie_eV",
        "relax_layers",
        "tilts",
        "polar_h_roll",
        "probe_scf",
        "relax_each_tilt",
    )
    # (TSPO1's and the seed's state relax_each_tilt, stop 53, the default since stop 56: they keep their protocol)
    assert default["placement"]["relax_each_tilt"] is True
    for name in (
        "calibration_each_tilt",
        "validation",
        "validation_ion_pair",
        "tspo1",
        "tspo1_dft",
        "seed_molecules",
        "seed_molecules_dft",
        "seed_vacancy_dft",
    ):
        assert {k: cfgs[name]["placement"][k] for k in search} == {k: default["placement"][k] for k in search}, name
    # the data set of the search before stop 56 and its held-out test: the default search but for relax_each_tilt
    for name in ("calibration", "calibration_heldout"):
        have = {k: cfgs[name]["placement"][k] for k in search}
        assert have == {**{k: default["placement"][k] for k in search}, "relax_each_tilt": False}, name
    # the exhaustive reference of the real molecules: the seed run's protocol but for the search, which relaxes
    # every start (two heights), and seed molecules only
    ref, seed = cfgs["search_reference_seed"], cfgs["seed_molecules"]
    assert {k: v for k, v in ref.items() if k not in ("set", "placement", "ligands", "sites")} == {
        k: v for k, v in seed.items() if k not in ("set", "placement", "ligands", "sites")
    }
    assert ref["placement"]["probe_steps"] == 0 and ref["placement"]["relax_top"] >= 2 * 4 * 2 * 2 * 2
    assert ref["placement"]["heights"] == [-0.3, 0.0]
    every = ("probe_steps", "relax_top", "probe_tie_eV", "relax_each_tilt")  # what relaxing every start makes moot
    assert {k: ref["placement"][k] for k in search if k not in every} == {
        k: seed["placement"][k] for k in search if k not in every
    }
    assert {lig["smiles"] for lig in ref["ligands"]} < {lig["smiles"] for lig in seed["ligands"]}
    # the seed run with its DFT tier: the seed run itself (the same jobs, so its rows are reused), then CP2K
    from passivscreen.calibration import fingerprint, screen_protocol

    seed_dft = cfgs["seed_molecules_dft"]
    assert {k: v for k, v in seed_dft.items() if k not in ("tiers", "calculator")} == {
        k: v for k, v in seed.items() if k not in ("tiers", "calculator")
    }
    assert fingerprint(screen_protocol(seed_dft)) == fingerprint(screen_protocol(seed))
    assert [t["backend"] for t in seed_dft["tiers"]] == ["gfn2", "cp2k"]
    # the DFT check: the same seven ligands and protocol, then CP2K on every one of them
    seven = [lig for lig in default["ligands"] if lig["name"] in {v["name"] for v in validation["ligands"]}]
    assert len(validation["ligands"]) == 7 and len(seven) == 7
    assert validation["slab"] == default["slab"]
    assert [(t["backend"], t.get("top_k")) for t in validation["tiers"]] == [("gfn2", None), ("cp2k", 7)]
    # the ion pair's DFT check: the default's methylammonium bromide, the check's settings, one DFT job
    ion = cfgs["validation_ion_pair"]
    assert all(ion[k] == validation[k] for k in ("slab", "relax", "placement", "hold"))
    assert [{k: v for k, v in t.items() if k != "top_k"} for t in ion["tiers"]] == [
        {k: v for k, v in t.items() if k != "top_k"} for t in validation["tiers"]
    ]
    assert ion["tiers"][-1]["top_k"] == 1
    assert [lig["smiles"] for lig in ion["ligands"]] == [
        lig["smiles"] for lig in default["ligands"] if lig["name"] == "methylammonium_bromide"
    ]
    # the held-out test of the calibration: the calibration's protocol and DFT tier, molecules in no other config
    from passivscreen.ligands import canonical_smiles

    held, cal, each = cfgs["calibration_heldout"], cfgs["calibration"], cfgs["calibration_each_tilt"]
    assert fingerprint(screen_protocol(held)) == fingerprint(screen_protocol(cal))
    assert fingerprint(screen_protocol(each)) == fingerprint(screen_protocol(default))
    assert held["tiers"] == cal["tiers"] and not held["calibration"].get("store")
    elsewhere = {
        canonical_smiles(lig["smiles"])
        for n, c in cfgs.items()
        if n != "calibration_heldout"
        for lig in c["ligands"]
        if lig.get("smiles")
    }
    assert not {canonical_smiles(lig["smiles"]) for lig in held["ligands"]} & elsewhere


def test_cli_validate(tmp_path, root):
    good = root / "configs" / "test.yaml"
    out = subprocess.run(
        [sys.executable, "-m", "passivscreen.cli", "validate", str(good)], capture_output=True, text=True
    )
    assert out.returncode == 0 and "valid" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_with(ligands=[{"name": "broken", "smiles": "C1CC("}])))
    out = subprocess.run(
        [sys.executable, "-m", "passivscreen.cli", "validate", str(bad)], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "broken" in out.stderr and "cannot parse SMILES" in out.stderr
