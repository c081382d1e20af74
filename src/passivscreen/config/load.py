"""Reading a config file: UTF-8 YAML, a mapping at the top, no key given twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from passivscreen.config.errors import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that gives a key twice (PyYAML keeps the last silently)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(
                f"duplicate key {key!r} (lines {seen[key] + 1} and {key_node.start_mark.line + 1}): "
                "YAML would keep only the last one"
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping in YAML file ``path``.

    Raises
    ------
    ConfigError
        The file is missing, a folder, not UTF-8, not YAML, has a duplicate key, or is not a mapping.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file {path} is a folder, not a file")
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} not found") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {err.start}): save it as UTF-8") from err
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read: {err.strerror}") from err
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except ConfigError as err:
        raise ConfigError(f"config file {path}: {err}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping at the top level")
    return data


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config and validate it (see :func:`passivscreen.config.validate_config`; a relative
    ``ligands_file`` is read from the config file's folder)."""
    from passivscreen.config.validate import validate_config

    return validate_config(read_yaml(path), base=Path(path).parent)
