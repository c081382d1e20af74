"""Tiers: built once from the config, presets merged once, and every record names the tier that computed it."""

from __future__ import annotations

import pandas as pd
import pytest

from passivscreen.calculators import presets, tiers_from_config
from passivscreen.config import apply_schema, validate_config
from passivscreen.ranking import ranking_table, ranking_title, write_ranking
from passivscreen.records.database import update_database
from passivscreen.records.files import write_json
from passivscreen.records.layout import Results
from passivscreen.steps.ligand import run_ligand


def _cfg(validate=True, **extra):
    """A config with defaults; ``validate=False`` skips the slab checks (GFN1-xTB is refused for slabs)."""
    cfg = {"set": "t", "ligands": [{"name": "formaldehyde", "smiles": "C=O"}], **extra}
    return validate_config(cfg) if validate else apply_schema(cfg)


def test_one_tier_from_the_calculator_section():
    cfg = _cfg(calculator={"backend": "gfn2", "params": {"accuracy": 1.0}}, relax={"fmax": 0.02})
    (tier,) = tiers_from_config(cfg)
    assert (tier.name, tier.backend, tier.task) == ("gfn2", "gfn2", "relax")
    # presets merged once with the config's params: the override wins, the other presets stay
    assert tier.parameters == presets("gfn2") | {"accuracy": 1.0}
    assert tier.relax["fmax"] == 0.02 and tier.relax["steps"] == cfg["relax"]["steps"]


def test_tier_settings_override_relax_per_tier():
    cfg = _cfg(
        validate=False,
        tiers=[
            {"name": "pre", "backend": "gfn1", "fmax": 0.2, "steps": 7},
            {"backend": "gfn2", "task": "single_point", "params": {"max_iterations": 99}},
        ],
    )
    pre, sp = tiers_from_config(cfg)
    assert (pre.name, pre.relax["fmax"], pre.relax["steps"]) == ("pre", 0.2, 7)
    assert (sp.name, sp.task, sp.relax["fmax"]) == ("gfn2", "single_point", cfg["relax"]["fmax"])
    assert sp.parameters["max_iterations"] == 99 and sp.parameters["method"] == "GFN2-xTB"


@pytest.mark.slow
def test_record_names_the_tier_that_computed_it(tmp_path):
    """A chain that ends on another backend: the ligand's energy, backend and provenance are the last tier's."""
    chain = [{"name": "relax2", "backend": "gfn2"}, {"name": "sp1", "backend": "gfn1", "task": "single_point"}]
    cfg = _cfg(validate=False, tiers=chain)
    rec = run_ligand(cfg, "formaldehyde", tmp_path / "l.json", tmp_path / "l.extxyz", tmp_path / "work")
    assert rec["status"] == "ok", rec.get("reason")
    assert [t["name"] for t in rec["tiers"]] == ["relax2", "sp1"]
    assert rec["backend"] == "gfn1"
    assert rec["provenance"]["backend"] == "gfn1" and rec["provenance"]["tier"] == "sp1"
    assert rec["provenance"]["parameters"]["method"] == "GFN1-xTB"
    # the energy is the GFN1-xTB single point at the GFN2-xTB geometry, not the GFN2-xTB energy
    assert rec["energy_eV"] == rec["tiers"][1]["energy_eV"] != pytest.approx(rec["tiers"][0]["energy_eV"], abs=1.0)
    assert rec["tiers"][1]["n_force_calls"] == 1 and rec["tiers"][0]["task"] == "relax"


def _record(name, backend, e):
    return {
        "ligand": name,
        "anchor": "C=O",
        "site": "pristine-Pb10",
        "face": "top",
        "tier": "final",
        "E_ads_eV": e,
        "E_ads_per_ligand_eV": e,
        "status": "ok",
        "backend": backend,
        "provenance": {"backend": "gfn2"},  # the config's first backend: must not be what the columns say
    }


def test_ranking_and_database_backend_columns_name_the_final_tier(tmp_path):
    recs = [_record("a", "cp2k", -1.0), _record("b", "cp2k", -0.5)]
    df = ranking_table(recs)
    assert list(df["backend"]) == ["cp2k", "cp2k"]
    assert ranking_title(df, "myset") == "myset: E_ads at cp2k, held slab"
    paths = []
    for r in recs:
        p = tmp_path / f"{r['ligand']}.json"
        write_json(p, r)
        paths.append(p)
    update_database(paths, tmp_path / "r.db", "myset")
    from ase.db import connect

    assert {row.backend for row in connect(str(tmp_path / "r.db")).select()} == {"cp2k"}
    # the ranking the workflow writes, read from the record files: the final tier's backend, in the CSV and title
    files = Results(str(tmp_path)).ranking
    written = write_ranking(paths, files)
    assert list(pd.read_csv(files.csv)["backend"]) == ["cp2k", "cp2k"]
    assert ranking_title(written, "myset") == "myset: E_ads at cp2k, held slab"
