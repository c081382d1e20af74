"""Errors of the ligand builders."""

from __future__ import annotations


class LigandError(ValueError):
    """A ligand that cannot be used: bad SMILES, no or ambiguous anchor."""
