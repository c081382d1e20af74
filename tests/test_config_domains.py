"""Property: every config outside a domain is refused by validation, naming the field, fast, writing nothing.

The out-of-domain configs are generated from the domains themselves, not listed by hand: the config schema
(``passivscreen.schema.schema()``: values beyond each minimum and maximum, non-members of each enum, wrong
types, non-finite numbers, unknown keys), each backend's parameter domain
(``presets/parameter_domains.yaml``: the same, plus pinned and refused keys) and the SMILES features no
engine computes (dummy atoms, R-group labels, elements beyond GFN2-xTB's).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from ase.data import chemical_symbols
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passivscreen.calculators import REGISTRY, parameter_domain
from passivscreen.config import ConfigError, validate_config
from passivscreen.schema import schema

BASE: dict[str, Any] = {"set": "prop", "ligands": [{"name": "tmpo", "smiles": "CP(C)(C)=O"}]}
#: how a generated config reaches the field under test: field path -> (config, path)
Case = tuple[dict[str, Any], str]


def _types(sch: dict[str, Any]) -> set[str]:
    t = sch.get("type", [])
    return set([t] if isinstance(t, str) else t)


def _bounds(sch: dict[str, Any]) -> list[st.SearchStrategy]:
    """Numbers just beyond each bound of ``sch`` (integers for an integer field)."""
    integer = "integer" in _types(sch) and "number" not in _types(sch)
    out = []
    for key, low in (("minimum", True), ("exclusiveMinimum", True), ("maximum", False), ("exclusiveMaximum", False)):
        if key not in sch:
            continue
        b = sch[key]
        strict = key.startswith("exclusive")
        if integer:
            edge = (
                (math.ceil(b) - 1 if not strict else math.floor(b))
                if low
                else (math.floor(b) + 1 if not strict else math.ceil(b))
            )
            out.append(
                st.integers(max_value=edge, min_value=edge - 10**6)
                if low
                else st.integers(min_value=edge, max_value=edge + 10**6)
            )
        elif low:
            out.append(st.floats(min_value=b - 1e6, max_value=b, exclude_max=not strict))
        else:
            out.append(st.floats(min_value=b, max_value=b + 1e6, exclude_min=not strict))
    return out


def _wrong_type(sch: dict[str, Any]) -> st.SearchStrategy:
    """A value of none of ``sch``'s types."""
    types = _types(sch)
    if not types or "oneOf" in sch:
        return st.just({"not": "this"})
    pool = []
    if not types & {"number", "integer"}:
        pool.append(st.integers(-5, 5))
    if "integer" in types and "number" not in types:
        pool.append(st.sampled_from([0.5, 2.5, -1.25]))
    if "string" not in types:
        pool.append(st.text(alphabet="abcxyz", min_size=1, max_size=6))
    if "array" not in types:
        pool.append(st.just([[1], "x"]))
    return st.one_of(pool)


def bad_values(sch: dict[str, Any]) -> st.SearchStrategy | None:
    """Values outside the domain ``sch`` (a JSON schema), or None if every value is inside."""
    pool = _bounds(sch)
    if "enum" in sch:
        members = set(map(str, sch["enum"]))
        pool.append(st.text(alphabet="ABCxyz-0", min_size=1, max_size=8).filter(lambda v: v not in members))
    if "const" in sch:
        pool.append(st.sampled_from(["other", 12345, False, None]).filter(lambda v: v != sch["const"]))
    if "number" in _types(sch):
        pool.append(st.sampled_from([math.nan, math.inf, -math.inf]))
    if _types(sch) or "oneOf" in sch:
        pool.append(_wrong_type(sch))
    return st.one_of(pool) if pool else None


def _set(cfg: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """``cfg`` with the field at ``path`` set to ``value`` (missing sections and lists from their defaults)."""
    node: Any = cfg
    sch = schema()
    for p in path[:-1]:
        sub = sch["properties"][p] if isinstance(p, str) else sch["items"]
        if isinstance(p, str) and p not in node:
            node[p] = copy.deepcopy(sub.get("default", [] if "array" in _types(sub) else {}))
        node, sch = node[p], sub
    node[path[-1]] = value
    return cfg


def _name(path: list[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _base_for(path: list[Any]) -> dict[str, Any]:
    cfg = yaml.safe_load(yaml.safe_dump(BASE))
    if path[0] == "tiers":
        cfg["tiers"] = [{"backend": "gfn2"}]
    if "structure" in path:  # an object with required keys: the others valid, the one under test set after
        cfg["ligands"][0]["structure"] = {"file": "ligand.sdf", "line": 1}
    return cfg


def _walk(sch: dict[str, Any], path: list[Any]) -> list[tuple[list[Any], dict[str, Any]]]:
    """Every field of the config schema with its path (arrays: their first item)."""
    out = [(path, sch)] if path else []
    for key, sub in (sch.get("properties") or {}).items():
        out += _walk(sub, path + [key])
    if isinstance(sch.get("items"), dict) and path:
        out += _walk(sch["items"], path + [0])
    return out


def _schema_cases() -> list[st.SearchStrategy]:
    cases = []
    for path, sch in _walk(schema(), []):
        if path[0] in ("ligands", "tiers") and len(path) == 1:
            continue  # the list itself: its items are walked
        values = bad_values(sch)
        if values is not None:
            cases.append(values.map(lambda v, p=path: (_set(_base_for(p), p, v), _name(p))))
        if sch.get("additionalProperties") is False:
            known = set(sch.get("properties") or {})
            keys = st.text(alphabet="qwz_", min_size=3, max_size=8).filter(lambda k, kn=known: k not in kn)
            node = path if path else []
            cases.append(keys.map(lambda k, p=node: (_unknown(p, k), _name(p) or "(top level)")))
    return cases


def _unknown(path: list[Any], key: str) -> dict[str, Any]:
    cfg = _base_for(path) if path else yaml.safe_load(yaml.safe_dump(BASE))
    node = cfg
    for p in path:
        node = node.setdefault(p, {}) if isinstance(p, str) else node[p]
    node[key] = 1
    return cfg


def _param_cases() -> list[st.SearchStrategy]:
    """Every backend's parameters outside its domain: bounds, enums, types, pinned, refused and unknown keys."""
    cases = []
    for name in sorted(REGISTRY):
        dom = parameter_domain(name)

        def cfg_with(params: dict[str, Any], backend: str = name) -> dict[str, Any]:
            return {**BASE, "calculator": {"backend": backend, "params": params}}

        for key, sch in dom.parameters.items():
            values = bad_values(sch)
            if values is not None:
                cases.append(values.map(lambda v, k=key, c=cfg_with: (c({k: v}), f"calculator.params.{k}")))
            for sub, subsch in (sch.get("properties") or {}).items():
                values = bad_values(subsch)
                if values is not None:
                    cases.append(
                        values.map(lambda v, k=key, s=sub, c=cfg_with: (c({k: {s: v}}), f"calculator.params.{k}.{s}"))
                    )
        for key in dom.refused:
            cases.append(st.just((cfg_with({key: 1}), f"calculator.params.{key}")))
        known = set(dom.parameters) | set(dom.refused)
        unknown = st.text(alphabet="qwz_", min_size=3, max_size=8).filter(lambda k, kn=known: k not in kn)
        cases.append(unknown.map(lambda k, c=cfg_with: (c({k: 1}), f"calculator.params.{k}")))
    return cases


#: SMILES features no engine computes, each put on a molecule that is fine without it
FEATURES = ["*", "[1*]", "[*:1]"] + [f"[{s}]" for s in chemical_symbols[87:]]


def _smiles_cases() -> list[st.SearchStrategy]:
    prefix = st.sampled_from(FEATURES).map(lambda f: f + "CP(C)(C)=O")
    label = st.sampled_from(["R", "R1", "R2", "X"]).map(lambda r: f"CCP(C)(C)=O |$;{r};;;;$|")
    return [
        st.one_of(prefix, label).map(lambda s: ({**BASE, "ligands": [{"name": "x", "smiles": s}]}, "ligands[0].smiles"))
    ]


#: the three families drawn equally often (a flat one_of would draw a SMILES once in ~150 examples)
FAMILIES = [st.one_of(_schema_cases()), st.one_of(_param_cases()), st.one_of(_smiles_cases())]
ALL_CASES = st.sampled_from(range(len(FAMILIES))).flatmap(FAMILIES.__getitem__)


@contextlib.contextmanager
def _empty_cwd():
    old = Path.cwd()
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)
        try:
            yield Path(d)
        finally:
            os.chdir(old)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ALL_CASES)
def test_out_of_domain_configs_are_refused(case: Case):
    """validate_config raises ConfigError naming the field and writes nothing."""
    cfg, field = case
    with _empty_cwd() as cwd:
        with pytest.raises(ConfigError) as err:
            validate_config(cfg)
        assert list(cwd.iterdir()) == []
    assert str(err.value).startswith(f"config field {field}"), (field, str(err.value))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ALL_CASES)
def test_out_of_domain_configs_exit_2_from_the_cli(case: Case):
    """A sample through ``passivscreen validate``: exit 2, the field named, no traceback, nothing written."""
    cfg, field = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.yaml"
        path.write_text(yaml.safe_dump(cfg))
        out = subprocess.run(
            [sys.executable, "-m", "passivscreen.cli", "validate", str(path)], capture_output=True, text=True, cwd=d
        )
        assert sorted(p.name for p in Path(d).iterdir()) == ["c.yaml"]
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and f"config field {field}" in out.stderr, (field, out.stderr)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_preset_lies_in_its_backends_domain(name):
    """The presets of backends.yaml are inside the domain table (else no config of that backend validates)."""
    from passivscreen.calculators import parameter_problem, presets

    assert parameter_problem(name, presets(name)) is None
