"""The domain of each backend's parameters (``presets/parameter_domains.yaml``) and the one check of them.

Every engine has a table: each parameter it takes from a config with the JSON schema of its value (its
documented meaning in ``description``), the keys pinned to the backend's preset (the method or model the
registry's verdicts were measured with), and the keys a config may not set. :func:`parameter_problem`
checks a backend's effective parameters (presets merged with a config's ``params``) against its table.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from passivscreen.calculators.common import BackendError
from passivscreen.calculators.registry import REGISTRY, presets

#: JSON schema of each list of typed keys an engine module documents (``typed_keys`` of a domain).
_TYPED_LISTS: dict[str, dict[str, Any]] = {
    "int_keys": {"type": "integer"},
    "float_keys": {"type": "number"},
    "exp_keys": {"type": "number"},
    "bool_keys": {"type": "boolean"},
    "string_keys": {"type": "string"},
    "list_int_keys": {"type": "array", "items": {"type": "integer"}},
    "list_float_keys": {"type": "array", "items": {"type": "number"}},
    "list_bool_keys": {"type": "array", "items": {"type": "boolean"}},
    "special_keys": {},
    "dict_keys": {"type": "object"},
}


@dataclass(frozen=True)
class Domain:
    """The parameter domain of one backend.

    Attributes
    ----------
    backend
        Registry name.
    engine
        The engine and the ASE calculator class (for messages).
    parameters
        Parameter name -> JSON schema of its value (pinned keys carry ``const``: the backend's preset).
    refused
        Parameter name -> why a config may not set it.
    """

    backend: str
    engine: str
    parameters: dict[str, dict[str, Any]]
    refused: dict[str, str]

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the backend's parameters (an object, unknown keys refused)."""
        return {"type": "object", "additionalProperties": False, "properties": self.parameters}


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files("passivscreen").joinpath("presets/parameter_domains.yaml").read_text()
    return yaml.safe_load(text)


def _typed_keys(module: str) -> dict[str, dict[str, Any]]:
    """Keys an engine's ASE module documents in typed lists (VASP's ``int_keys``...), with their schema."""
    mod = importlib.import_module(module)
    out: dict[str, dict[str, Any]] = {}
    for listname, sch in _TYPED_LISTS.items():
        for key in getattr(mod, listname, ()):
            out.setdefault(key, {**sch, "description": f"{listname[:-5].replace('_', ' ')} keyword of {module}"})
    return out


@functools.cache
def _domain(name: str) -> Domain:
    for entry in _table().values():
        if name not in entry["backends"]:
            continue
        params = {k: dict(v) for k, v in entry["parameters"].items()}
        if entry.get("typed_keys"):
            params = _typed_keys(entry["typed_keys"]) | params
        preset = presets(name)
        for key in entry.get("pinned") or []:
            params[key] = {**params[key], "const": preset[key], "pinned": True}
        return Domain(name, entry["engine"], params, dict(entry.get("refused") or {}))
    raise BackendError(f"backend {name!r} has no parameter domain in presets/parameter_domains.yaml")


def parameter_domain(name: str) -> Domain:
    """The parameter domain of backend ``name`` (:class:`BackendError` if it has none)."""
    if name not in REGISTRY:
        raise BackendError(f"unknown calculator backend {name!r}; known: {sorted(REGISTRY)}")
    return _domain(name)


def parameter_problem(name: str, params: dict[str, Any]) -> tuple[str, str] | None:
    """The first parameter of backend ``name`` outside its domain, or None.

    Parameters
    ----------
    name
        Registry name of the backend.
    params
        Its effective parameters (presets merged with a config's ``params``) or a config's ``params``.

    Returns
    -------
    tuple[str, str] | None
        The parameter's path (``accuracy``, ``input_data.ecutwfc``) and what is wrong with it.
    """
    import jsonschema

    dom = parameter_domain(name)
    for key in sorted(params):
        if key in dom.refused:
            return key, f"{dom.engine}: a config may not set {key!r}: {dom.refused[key]}"
    unknown = sorted(set(params) - set(dom.parameters))
    if unknown:
        return unknown[0], (f"unknown {dom.engine} parameter(s) {unknown}; known: {sorted(dom.parameters)}")
    validator = jsonschema.Draft7Validator(dom.schema())
    errors = sorted(validator.iter_errors(params), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return None
    err = errors[0]
    path = ".".join(str(p) for p in err.absolute_path)
    sch = err.schema if isinstance(err.schema, dict) else {}
    top = dom.parameters.get(str(err.absolute_path[0]), {}) if err.absolute_path else {}
    if top.get("pinned") and len(err.absolute_path) == 1:
        return path, (
            f"backend {name!r} runs {top['const']!r} ({dom.engine}): the registry's verdicts for it (elements, "
            f"periodic trust, holds_slab) were measured with that {path}; choose the backend of {err.instance!r}"
        )
    meaning = sch.get("description") or top.get("description") or ""
    return path, f"{err.instance!r} is outside the domain of {dom.engine}: {err.message}" + (
        f" ({path}: {meaning})" if meaning else ""
    )
