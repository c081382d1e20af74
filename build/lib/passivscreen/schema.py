"""The config schema: every setting's type, bounds and default (one source for every default)."""

from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any

import yaml


@functools.cache
def _schema_text() -> str:
    return resources.files("passivscreen").joinpath("presets/config.schema.yaml").read_text()


def schema() -> dict[str, Any]:
    """The JSON schema of a config (a fresh copy: callers may change it)."""
    return yaml.safe_load(_schema_text())


@functools.cache
def _defaults(section: str) -> dict[str, Any]:
    props = schema()["properties"][section]["properties"]
    return {k: v["default"] for k, v in props.items() if "default" in v}


def section_defaults(section: str) -> dict[str, Any]:
    """Defaults of one section of the config (``relax``, ``slab``, ``integrity``, ...)."""
    return copy.deepcopy(_defaults(section))


def top_level_default(key: str) -> Any:
    """Default of a top-level config key (``seed``, ``threads``, ...)."""
    return copy.deepcopy(schema()["properties"][key]["default"])
