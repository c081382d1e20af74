"""Provenance of every record: the tier that computed it, its parameters, settings and package versions."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from passivscreen.calculators.tier import Tier

#: Version of the JSON record layout (in every record's provenance).
SCHEMA_VERSION = 1

_PACKAGES = ("passivscreen", "ase", "tblite", "rdkit", "pymatgen", "numpy", "snakemake")


def versions() -> dict[str, str]:
    """Versions of the packages that shape the numbers."""
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "absent"
    from passivscreen.calculators.lapack import use_fast_lapack

    out["lapack"] = str(use_fast_lapack()["name"])  # what tblite computes with in this process
    return out


def provenance(cfg: dict[str, Any], tier: Tier, chain: list[Tier], **extra: Any) -> dict[str, Any]:
    """Provenance of a value computed by ``tier`` (the last tier of ``chain`` that ran).

    ``backend`` and ``parameters`` are those of ``tier``, not of the config's
    ``calculator`` section: a chain may end on another backend.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "backend": tier.backend,
        "tier": tier.name,
        "parameters": dict(tier.parameters),
        "tiers": [t.name for t in chain],
        "relax": cfg["relax"],
        "seed": cfg["seed"],
        "versions": versions(),
        **extra,
    }
