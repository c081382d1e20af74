"""The lateral cell of a screen: ``slab.repeat`` as given, or (``auto``) per ligand the smallest n x n cell
that keeps the placed ligand ``placement.min_image_distance`` from its periodic images in every screened
orientation (the choice: :mod:`passivscreen.placement.cells`).

With ``repeat: auto`` the plan does not know the cells: a ligand's cell is chosen in its ligand job, which has
its conformers (record field ``cell``). The plan's site labels name no cell (``pristine-Pb10``: the site as
labelled on the smallest cell, the same Pb on every cell), and so do the paths of its complexes; the label of a
slab reference carries its cell (``pristine-Pb10-3x3``, :func:`on_cell`), so that every step that builds a slab
(slab, complex, funnel, harness) builds the same one. A complex record keeps the plan's label in ``site`` and its
slab's in ``slab_site``. With an explicit repeat the labels are unchanged (``pristine-Pb10``) and the two agree.
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


def on_cell(label: str, cell: tuple[int, int] | list[int] | None) -> str:
    """The label of a planned site on a ligand's ``cell`` (``"pristine-Pb10", (3, 3)`` -> ``"pristine-Pb10-3x3"``);
    ``None`` (an explicit ``slab.repeat``, whose labels name no cell) leaves it unchanged."""
    return label if cell is None else strip_cell(label) + cell_suffix(int(cell[0]))


_PATH_CELL = re.compile(r"-Pb\d+-(\d+)x(\d+)(?:/|$)")


def paths_cell(paths: Any) -> tuple[int, int] | None:
    """The largest cell that the site labels in ``paths`` name (a job's input files: its slab references under
    ``slab/pristine-Pb10-3x3/``), or None when none names one."""
    found = [(int(m.group(1)), int(m.group(2))) for p in paths for m in _PATH_CELL.finditer(str(p))]
    return max(found) if found else None


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
