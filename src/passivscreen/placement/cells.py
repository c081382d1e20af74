"""``slab.repeat: auto``: per ligand, the smallest n x n cell that keeps the placed ligand
``placement.min_image_distance`` (A) from its own periodic images, in every conformer and orientation that
is screened (the ligand job: the ``placement.conformers`` it places, :func:`passivscreen.steps.ligand.placed_cell`;
the preview ``passivscreen cells``: every conformer it embeds, an upper bound). Labels and slab specs of a cell:
:mod:`passivscreen.structures.cells`.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from passivscreen.ligands.errors import LigandError
from passivscreen.ligands.molecules import Ligand, entry_ligand
from passivscreen.placement.place import oriented, polar_roll
from passivscreen.schema import section_defaults
from passivscreen.structures.cells import AUTO_MAX, AUTO_MIN, is_auto, slab_spec
from passivscreen.structures.slab import SlabSpec, build_slab

#: Rotations about the normal checked when choosing the cell: every 15 deg over a full turn, a superset of what
#: any site screens (the site's symmetry reduces the span, never widens it).
AUTO_ROTATIONS = tuple(range(0, 360, 15))


def image_distance(positions: np.ndarray, cell: np.ndarray) -> float:
    """Shortest distance (A) between atoms at ``positions`` and their own lateral periodic images (``cell``'s
    first two vectors)."""
    best = np.inf
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            if (i, j) <= (0, 0):  # each image pair once; (0, 0) is the ligand itself
                continue
            shift = i * cell[0] + j * cell[1]
            d = np.linalg.norm(positions[:, None, :] - (positions + shift)[None, :, :], axis=2)
            best = min(best, float(d.min()))
    return best


def fits(
    cell: np.ndarray,
    ligand: Ligand,
    min_distance: float,
    tilts: tuple[float, ...] = (0.0,),
    polar_h: bool = False,
) -> tuple[bool, float]:
    """Whether every conformer of ``ligand``, oriented as placed (:func:`~passivscreen.placement.place.oriented`)
    at every rotation of :data:`AUTO_ROTATIONS` and every starting tilt of ``tilts``, keeps ``min_distance`` from
    its images in ``cell`` (with ``polar_h`` also at each tilt's polar-H roll,
    :func:`~passivscreen.placement.place.polar_roll`); and the shortest image distance seen."""
    shortest = np.inf
    for positions in ligand.conformers or [ligand.atoms.positions]:
        lig = copy.copy(ligand)
        lig.atoms = ligand.atoms.copy()
        lig.atoms.positions = positions
        for tilt in tilts:
            roll = polar_roll(lig, float(tilt)) if polar_h else None
            for r in (0.0,) if roll is None else (0.0, roll):
                for rot in AUTO_ROTATIONS:
                    shortest = min(shortest, image_distance(oriented(lig, float(rot), "top", float(tilt), r), cell))
    return shortest >= min_distance, shortest


@functools.cache
def _cell(spec: SlabSpec) -> np.ndarray:
    return np.array(build_slab(spec).cell)


def smallest_cell(
    cfg: dict[str, Any], ligand: Any, conformers_on: Callable[[int], list[np.ndarray]] | None = None
) -> tuple[int, float]:
    """The smallest n (``AUTO_MIN`` .. ``AUTO_MAX``) whose n x n slab holds ``ligand`` (see :func:`fits`),
    and the shortest image distance on it; ``AUTO_MAX`` if none does (the crowded flag then says so).
    ``conformers_on``: the conformers (positions) placed on the n x n cell, when they depend on it (the ligand
    job's, :func:`passivscreen.steps.ligand.placed_cell`); else ``ligand.conformers``. ``ligand`` is not changed."""
    placement = {**section_defaults("placement"), **cfg["placement"]}
    tilts = tuple(placement["tilts"]) if ligand.binding != "ion_pair" else (0.0,)
    shortest = 0.0
    for n in range(AUTO_MIN, AUTO_MAX + 1):
        if conformers_on is not None:
            ligand = copy.copy(ligand)
            ligand.conformers = conformers_on(n)
        ok, shortest = fits(
            _cell(slab_spec(cfg, repeat=(n, n))),
            ligand,
            placement["min_image_distance"],
            tilts,
            placement["polar_h_roll"],
        )
        if ok:
            return n, shortest
    return AUTO_MAX, shortest


def _entry_cell(cfg: dict[str, Any], entry: dict[str, Any]) -> int:
    """:func:`smallest_cell` of one ``ligands`` entry (its conformers as the ligand step embeds them); ``AUTO_MIN``
    for one that cannot be embedded (a ``ligands_file`` row: validation does not embed them): its ligand job fails
    the same way and records why, so its complexes never run."""
    try:
        lig = entry_ligand(cfg, entry)
    except LigandError:
        return AUTO_MIN
    return smallest_cell(cfg, lig)[0]


def ligand_cells(
    cfg: dict[str, Any], cache: str | Path | None = None, processes: int = 1
) -> dict[str, tuple[int, int]]:
    """Per ligand of a config, its cell: ``slab.repeat`` (explicit: the same for every ligand)
    or, with ``auto``, :func:`smallest_cell` of the species the ligand step places, over every conformer the
    ligand step embeds (the same seed and count).

    The workflow does not call it: each ligand job chooses its own cell (record field ``cell``,
    :func:`recorded_cell`) from the conformers it places, the lowest ``placement.conformers`` after their
    GFN2-xTB relaxation, and the plan names no cell. It is ``passivscreen cells CONFIG``: before anything is
    computed, the largest cell a job can choose (TSPO1: 4x4 here, 3x3 in its job, where four of its seven
    conformers, the ones that would touch their images on 3x3, are not placed).

    ``cache``: a JSON file of earlier choices, keyed by everything a choice depends on (the entry, the seed, the
    lattice constant, the distance, the rotations). ``processes``: the ligands not in the cache are embedded by
    this many processes (about 1 s of CPU a ligand of 10-60 atoms).
    """
    if not is_auto(cfg):
        cell = (int(cfg["slab"]["repeat"][0]), int(cfg["slab"]["repeat"][1]))
        return {lig["name"]: cell for lig in cfg["ligands"]}
    path = None if cache is None else Path(cache)
    known: dict[str, int] = {}
    if path is not None and path.exists():
        with contextlib.suppress(ValueError, OSError):
            known = json.loads(path.read_text())
    placement = {**section_defaults("placement"), **cfg["placement"]}
    common = {
        "seed": cfg["seed"],
        "conformers": cfg["conformers"],
        "a": slab_spec(cfg, repeat=(AUTO_MIN, AUTO_MIN)).a,
        "min_image_distance": placement["min_image_distance"],
        "tilts": placement["tilts"],
        "polar_h_roll": placement["polar_h_roll"],
        "rotations": list(AUTO_ROTATIONS),
        "range": [AUTO_MIN, AUTO_MAX],
    }
    keys = {
        entry["name"]: json.dumps({**common, "entry": {k: v for k, v in entry.items() if k != "label"}}, sort_keys=True)
        for entry in cfg["ligands"]
    }
    todo = [entry for entry in cfg["ligands"] if keys[entry["name"]] not in known]
    if processes > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(processes, len(todo))) as pool:
            found = list(pool.map(functools.partial(_entry_cell, cfg), todo, chunksize=max(1, len(todo) // 64)))
    else:
        found = [_entry_cell(cfg, entry) for entry in todo]
    known.update({keys[entry["name"]]: n for entry, n in zip(todo, found, strict=True)})
    if path is not None and todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=0, sort_keys=True))
        os.replace(tmp, path)
    return {entry["name"]: (known[keys[entry["name"]]], known[keys[entry["name"]]]) for entry in cfg["ligands"]}


def recorded_cell(cfg: dict[str, Any], name: str, ligand_json: str | Path) -> tuple[int, int] | None:
    """The cell of ligand ``name`` that its ligand job chose (``slab.repeat: auto``: its record's ``cell``), or None
    with an explicit repeat (every label and path is the config's cell's).

    A record written before the ligand job chose cells has none: the choice is made again here, over every embedded
    conformer (:func:`_entry_cell`, seconds for a flexible molecule; the cell the old plan chose).
    """
    if not is_auto(cfg):
        return None
    with contextlib.suppress(OSError, ValueError):
        cell = json.loads(Path(ligand_json).read_text()).get("cell")
        if cell:
            return int(cell[0]), int(cell[1])
    entry = next(e for e in cfg["ligands"] if e["name"] == name)
    n = _entry_cell(cfg, entry)
    return n, n
