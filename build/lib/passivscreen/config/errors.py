"""The error of an invalid configuration."""

from __future__ import annotations


class ConfigError(ValueError):
    """An invalid configuration; the message names the field and the ligand."""
