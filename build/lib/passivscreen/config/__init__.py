"""Configuration: the YAML file read safely, the schema applied with its defaults, then every check a
config needs before any compute (names, numbers, chemistry, backends), each error naming its field."""

from passivscreen.config.errors import ConfigError
from passivscreen.config.load import load_config, read_yaml
from passivscreen.config.validate import apply_schema, validate_config

__all__ = ["ConfigError", "apply_schema", "load_config", "read_yaml", "validate_config"]
