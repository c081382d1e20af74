"""Jobs: how a screen is cut into batches, how big each job is, and what identifies a result."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any, TypeVar

from passivscreen.records.layout import Results
from passivscreen.structures.cells import AUTO_MIN, is_auto, on_cell, slab_spec
from passivscreen.structures.sites import parse_site

T = TypeVar("T")

#: config keys that do not change any result (how the work is split and threaded)
EXECUTION_KEYS = (
    "batch_size",
    "ligand_batch_size",
    "threads",
    "ligands",
    "on_bad_ligand",
    "ligands_file_report",
    "stored_report",
)


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """``items`` in consecutive batches of at most ``size`` (config order: append new ligands at the end)."""
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


#: minutes of one core for the slowest single complex on the 2x2 slab, with room for a slower node
WORST_COMPLEX_MIN = 60


def job_resources(
    kind: str, n_members: int, cfg: dict[str, Any], attempt: int = 1, cell: tuple[int, int] | None = None
) -> dict[str, int]:
    """Memory (MB) and wall-time limit (min) of one job, growing with the retry ``attempt``.

    Sized from measurements on the 2x2 slab (docs/slurm.md): a complex takes 1-10 min as a rule,
    40 min at worst (a relaxation whose SCF fails on the whole slab), and < 300 MB at GFN2-xTB on one
    core; a job's limit allows one worst case and the rule for the others. A free ligand takes
    seconds. The cost of a force call grows about as the square of the slab's area, so runtimes scale with
    ``(a b / 4)^2`` for an a x b slab and linearly with the number of PbBr2 layers. ``cell``: the job's
    lateral cell (default ``slab.repeat``; with ``auto``, its smallest cell).
    """
    a, b = cell or slab_spec(cfg, repeat=(AUTO_MIN, AUTO_MIN) if is_auto(cfg) else None).repeat
    area = a * b / 4.0
    depth = cfg["slab"]["n_pbbr2_layers"] / 3.0
    n = max(1, n_members)
    if kind == "slab":
        mem, runtime = 2000 * area, 10 + 10 * area**2 * depth
    elif kind == "ligands":
        mem, runtime = 2000, 10 + 5 * n
    elif kind == "adsorption":
        # one complex's worst case (a whole-slab relaxation whose SCF climbs every rung: 40 min of one core
        # on the 2x2 slab, butylammonium bromide, stop 37) with room for a 1.5x slower node, then the
        # typical complex for each further member
        mem, runtime = 4000 * area, 10 + (WORST_COMPLEX_MIN + 30 * (n - 1)) * area**2 * depth
    elif kind == "funnel":  # DFT single points: CP2K on the 2x2 slab, 3-4 min a complex on 2 cores
        mem, runtime = 8000 * area, 60 + 60 * n * area**2 * depth
    elif kind in ("ranking", "database"):
        mem, runtime = 1000, 10
    else:
        raise ValueError(f"unknown job kind {kind!r}")
    return {"mem_mb": int(math.ceil(mem * attempt)), "runtime": int(math.ceil(runtime * attempt))}


def fingerprint(*parts: Any) -> str:
    """SHA-256 of the JSON of ``parts`` (keys sorted)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def result_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    """The settings that determine a result: the config without the execution keys."""
    return {k: v for k, v in cfg.items() if k not in EXECUTION_KEYS}


def screen_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    """The settings of the screen's jobs: without the funnel tiers (``top_k``), the harness's and the
    calibration's settings, so that adding a DFT check, changing the harness or the calibration does not
    re-run a finished screen."""
    out = {k: v for k, v in result_settings(cfg).items() if k not in ("convergence", "calibration")}
    if out.get("tiers"):
        screen = []
        for tier in out["tiers"]:
            if tier.get("top_k") is not None:
                break
            screen.append(tier)
        out["tiers"] = screen
    return out


def ligand_member(layout: Results, ligand: str) -> dict[str, str]:
    """A free ligand as a member of a ligand batch: its name, record, structure and work directory."""
    f = layout.ligand(ligand)
    return {"ligand": ligand, "json": f.json, "xyz": f.xyz, "workdir": str(f.workdir)}


def clean_site(site: str) -> str:
    """The label of the clean (pristine) slab of a site's Pb and cell: ``vBr0-Pb22-3x3`` -> ``pristine-Pb22-3x3``."""
    kind, _ = parse_site(site)
    return "pristine" + site[len(kind) :]


def complex_member(
    layout: Results, ligand: str, site: str, face: str, cell: tuple[int, int] | None = None
) -> dict[str, str]:
    """A complex as a member of an adsorption batch: its names, its references' files (with the clean slab of
    its cell, :func:`clean_site`, that its projected DOS is drawn against) and its own files.

    ``site``: the plan's label (it names the complex's files); ``cell``: the ligand's cell with ``slab.repeat:
    auto`` (its ligand record's ``cell``), on which the slab references are (``slab_site``: ``pristine-Pb10-3x3``).
    """
    slab_site = on_cell(site, cell)
    c, slab, lig = layout.complex(ligand, site, face), layout.slab(slab_site, face), layout.ligand(ligand)
    return {
        "ligand": ligand,
        "site": site,
        "slab_site": slab_site,
        "face": face,
        "clean_json": layout.slab(clean_site(slab_site), "top").json,
        "slab_json": slab.json,
        "slab_xyz": slab.xyz,
        "ligand_json": lig.json,
        "ligand_xyz": lig.xyz,
        "json": c.json,
        "xyz": c.xyz,
        "pdos": c.pdos,
        "picture": c.picture,
        "workdir": str(c.workdir),
    }
