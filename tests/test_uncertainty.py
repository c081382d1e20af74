"""Which harness summary gives a ranked E_ads its uncertainty (convergence/uncertainty.py::uncertainty_for).

The set's own ``convergence.json`` when its protocol is the config's, else the shipped table for the default
protocol when that is the config's, else nothing.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from passivscreen.config import validate_config
from passivscreen.config.load import read_yaml
from passivscreen.convergence.uncertainty import protocol_of, shipped_summary, uncertainty_for

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "presets/convergence.json"


def _default(**changes: dict[str, Any]) -> dict[str, Any]:
    """configs/default.yaml, validated, with ``changes`` merged into its sections.

    Parameters
    ----------
    **changes
        Section name -> keys replaced in that section (a non-dict value replaces the section).

    Returns
    -------
    dict
        The validated config.
    """
    raw = read_yaml(ROOT / "configs" / "default.yaml")
    for section, value in changes.items():
        raw[section] = {**raw[section], **value} if isinstance(value, dict) else value
    return validate_config(raw)


def _summary(cfg: dict[str, Any], uncertainty: dict[str, float], **protocol: Any) -> dict[str, Any]:
    """A harness summary as run_convergence writes it, for the protocol of ``cfg`` with ``protocol`` replaced."""
    prot = {**json.loads(json.dumps(protocol_of(cfg))), "tolerance": 0.05, **protocol}
    return {"protocol": prot, "tolerance_eV": 0.05, "uncertainty_eV": uncertainty, "converged": {}}


def test_default_config_is_the_shipped_protocol(tmp_path):
    shipped = shipped_summary()
    assert shipped is not None
    u = uncertainty_for(_default())
    assert u == {"tier": "gfn2", "anchors": shipped["uncertainty_eV"], "source": SHIPPED}
    # a set without its own summary (the file not written yet) gets the same
    assert uncertainty_for(_default(), tmp_path / "convergence.json") == u


@pytest.mark.parametrize(
    "changes",
    [
        {"slab": {"vacuum": 15.0}},
        {"slab": {"repeat": [3, 3]}},
        {"slab": {"n_pbbr2_layers": 4}},
        {"slab": {"lattice_constant": 5.9}},
        {"calculator": {"backend": "gfn2", "params": {"accuracy": 1.0}}},
        {"calculator": {"backend": "gfn2", "params": {"electronic_temperature": 1000.0}}},
        {"calculator": {"backend": "sevenn", "params": {}}},
        {"tiers": [{"name": "xtb", "backend": "gfn2"}]},
    ],
    ids=["vacuum", "repeat", "layers", "lattice_constant", "accuracy", "temperature", "backend", "tier_name"],
)
def test_another_protocol_gets_no_shipped_uncertainty(changes):
    assert uncertainty_for(_default(**changes)) == {}


@pytest.mark.parametrize("params", [{"max_iterations": 1000}, {"verbosity": 1}, {"max_iterations": 40, "verbosity": 2}])
def test_cycle_cap_and_log_level_do_not_change_the_protocol(params):
    u = uncertainty_for(_default(calculator={"backend": "gfn2", "params": params}))
    assert u["source"] == SHIPPED and u["anchors"] == shipped_summary()["uncertainty_eV"]


def test_the_sets_own_summary_wins_when_its_protocol_matches(tmp_path):
    cfg = _default()
    own = tmp_path / "convergence.json"
    # its own run at another cycle cap: the same protocol
    prot = protocol_of(cfg)
    own.write_text(
        json.dumps(_summary(cfg, {"P=O": 0.2, "C=O": 0.1}, parameters={**prot["parameters"], "max_iterations": 500}))
    )
    assert uncertainty_for(cfg, own) == {"tier": "gfn2", "anchors": {"P=O": 0.2, "C=O": 0.1}, "source": str(own)}
    # a set at another vacuum with its own summary: its own, where the shipped table cannot serve
    other = _default(slab={"vacuum": 15.0})
    own.write_text(json.dumps(_summary(other, {"amine": 0.3})))
    assert uncertainty_for(other, own) == {"tier": "gfn2", "anchors": {"amine": 0.3}, "source": str(own)}


@pytest.mark.parametrize(
    "protocol",
    [{"total_vacuum_A": 50.0}, {"repeat": [3, 3]}, {"layers": 4}, {"backend": "sevenn"}, {"tier": "xtb"}],
    ids=["vacuum", "repeat", "layers", "backend", "tier"],
)
def test_a_mismatching_set_summary_falls_back_to_the_shipped_one(tmp_path, protocol):
    cfg = _default()
    own = tmp_path / "convergence.json"
    own.write_text(json.dumps(_summary(cfg, {"P=O": 9.9}, **protocol)))
    u = uncertainty_for(cfg, own)
    assert u["source"] == SHIPPED and u["anchors"] == shipped_summary()["uncertainty_eV"]
    # ... and to nothing when the shipped one does not match either
    other = _default(slab={"vacuum": 15.0})
    own.write_text(json.dumps(_summary(copy.deepcopy(other), {"P=O": 9.9}, **protocol)))
    assert uncertainty_for(other, own) == {}
