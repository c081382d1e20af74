"""Orientation screening: a single point of every placement with the first tier, cached for resumption."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from passivscreen.calculators import Tier
from passivscreen.calculators.systems import electronic_state
from passivscreen.placement import Complex
from passivscreen.records.files import read_json, write_json
from passivscreen.relaxation.held import hold_slab
from passivscreen.relaxation.scf import single_point


def pose(c: Complex) -> tuple[int, float, float, float]:
    """What identifies a placement among a complex's: conformer, rotation about the normal, starting height, tilt."""
    return c.conformer, c.rotation_deg, c.height_offset, c.tilt_deg


def row_pose(row: dict[str, Any]) -> tuple[int, float, float, float]:
    """:func:`pose` of the placement a screening row describes (rows written before heights: offset 0)."""
    return row.get("conformer", 0), row["rotation_deg"], row.get("height_offset_A", 0.0), row.get("tilt_deg", 0.0)


def screen_orientations(
    tier: Tier, placements: list[Complex], e_ref: float, workdir: Path, charge: int, multiplicity: int
) -> list[dict[str, Any]]:
    """Single-point E_ads of each placement with ``tier``, slab held (cached in ``workdir/screening.json``).

    A cache from another backend, parameter set, reference or set of rotations is never reused.
    """
    cache = workdir / "screening.json"
    key = {
        "calculator": {"backend": tier.backend, "parameters": tier.parameters},
        "e_ref": round(e_ref, 6),
        "charge": charge,
        "multiplicity": multiplicity,
        "rotations": [list(pose(p)) for p in placements],
    }
    if cache.exists():
        try:
            cached = read_json(cache)
            if cached.get("key") == key:
                return cached["orientations"]
        except (KeyError, ValueError):
            pass
    out = []
    for p in placements:
        atoms = hold_slab(p.atoms.copy(), p.n_slab)
        electronic_state(atoms, charge, multiplicity)
        tier.attach(atoms)
        t0 = time.perf_counter()
        sp = single_point(atoms, atoms.calc)
        e = sp["energy"]
        out.append(
            {
                "sp_calc_s": time.perf_counter() - t0,
                "conformer": p.conformer,
                "rotation_deg": p.rotation_deg,
                "height_offset_A": p.height_offset,
                "tilt_deg": p.tilt_deg,
                "min_contact_ratio": p.min_contact_ratio,
                "E_sp_eV": e,
                "E_ads_sp_eV": None if e is None else e - e_ref,
                "sp_status": sp["status"],
            }
        )
    write_json(cache, {"key": key, "orientations": out})
    return out
