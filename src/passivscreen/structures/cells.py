"""The lateral cell of a screen: ``slab.repeat`` as given, or (``auto``) per ligand the smallest n x n cell
that keeps the placed ligand ``placement.min_image_distance`` from its periodic images in every screened
orientation (the choice: :mod:`passivscreen.placement.cells`).

With ``repeat: auto`` a site label carries its cell (``pristine-Pb10-3x3``), so that every step that reads a
label (slab, complex, funnel, harness) builds the same slab; with an explicit repeat the labels are unchanged
(``pristine-Pb10``).
"""

from __future__ import annotations

import re
from typing import Any

from passivscreen.schema import section_defaults
from passivscreen.structures.slab import SlabSpec

#: The smallest cell ``auto`` chooses: the converged protocol's 2x2 (E_ads within 0.031 eV of 3x3,
#: docs/convergence.md); a smaller cell is never chosen even for a ligand that would fit.
AUTO_MIN = 2
#: The largest cell ``auto`` tries (the schema's bound on an explicit repeat).
AUTO_MAX = 6

_SUFFIX = re.compile(r"-(\d+)x(\d+)$")


def is_auto(cfg: dict[str, Any]) -> bool:
    """Whether a config's ``slab.repeat`` is ``auto``."""
    return ({**section_defaults("slab"), **cfg.get("slab", {})})["repeat"] == "auto"


def cell_suffix(n: int) -> str:
    """The suffix a site label carries for an ``n`` x ``n`` cell."""
    return f"-{n}x{n}"


def site_cell(label: str) -> tuple[int, int] | None:
    """The cell a site label names (``"vBr0-Pb22-3x3"`` -> ``(3, 3)``), or None for a label without one."""
    m = _SUFFIX.search(label)
    return None if m is None else (int(m.group(1)), int(m.group(2)))


def strip_cell(label: str) -> str:
    """A site label without its cell suffix."""
    return _SUFFIX.sub("", label)


def slab_spec(cfg: dict[str, Any], site: str | None = None, repeat: tuple[int, int] | None = None) -> SlabSpec:
    """The slab of a config's ``slab`` section on the cell of ``site`` (or ``repeat``).

    Raises
    ------
    ValueError
        ``repeat: auto`` and neither a site label with a cell nor ``repeat`` says which cell.
    """
    slab_cfg = {**section_defaults("slab"), **cfg["slab"]}
    cell = repeat or (site_cell(site) if site else None)
    if cell is None and slab_cfg["repeat"] == "auto":
        raise ValueError(f"slab.repeat is auto: the site label {site!r} does not name its cell")
    if cell is not None:
        slab_cfg["repeat"] = list(cell)
    return SlabSpec.from_config(slab_cfg)
