"""Errors of the structure builders."""

from __future__ import annotations


class SlabError(ValueError):
    """Raised for a slab that cannot be built (charge, sizes)."""
