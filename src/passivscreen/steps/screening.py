"""Orientation screening: a single point of every placement with the first tier, cached for resumption, and
which screened starts are probed (:func:`to_probe`) and relaxed (:func:`to_relax`)."""

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


def pose(c: Complex) -> tuple[Any, ...]:
    """What identifies a placement among a complex's: conformer, rotation about the normal, starting height, tilt,
    for a polar-H roll the two elements ``"roll", deg``, and for a bidentate start a last element, 2 (a start
    without either keeps the four of the caches written before). Flat, so that it reads back the same from the
    JSON of a cache (probes.json, screening.json): a nested tuple would come back a list."""
    return row_pose(start_row(c))


def row_pose(row: dict[str, Any]) -> tuple[Any, ...]:
    """:func:`pose` of the placement a screening row describes (rows written before heights: offset 0)."""
    base = row.get("conformer", 0), row["rotation_deg"], row.get("height_offset_A", 0.0), row.get("tilt_deg", 0.0)
    roll = row.get("roll_deg", 0.0)
    return base + (("roll", roll) if roll else ()) + ((2,) if row.get("denticity_start", 1) == 2 else ())


def start_row(c: Complex) -> dict[str, Any]:
    """The pose columns of a start's row (``denticity_start`` only for a bidentate start)."""
    row = {
        "conformer": c.conformer,
        "rotation_deg": c.rotation_deg,
        "height_offset_A": c.height_offset,
        "tilt_deg": c.tilt_deg,
        "roll_deg": c.roll_deg,
    }
    return {**row, "denticity_start": 2, "clearance_A": c.clearance_A} if c.denticity == 2 else row


def screen_orientations(
    tier: Tier, placements: list[Complex], e_ref: float, workdir: Path, charge: int, multiplicity: int
) -> list[dict[str, Any]]:
    """Single-point E_ads of each placement with ``tier``, slab held (cached in ``workdir/screening.json`` after
    each one, so that a job stopped in this pass resumes it: the exhaustive reference's 32 single points of TPPO
    on 3x3 take 20 min of one core).

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
    done: dict[tuple[Any, ...], dict[str, Any]] = {}
    if cache.exists():
        try:
            cached = read_json(cache)
            if cached.get("key") == key:
                done = {row_pose(r): r for r in cached["orientations"]}
        except (KeyError, ValueError):
            pass
    out = []
    for p in placements:
        if pose(p) in done:  # computed before the job was stopped
            out.append(done[pose(p)])
            continue
        atoms = hold_slab(p.atoms.copy(), p.n_slab)
        electronic_state(atoms, charge, multiplicity)
        tier.attach(atoms)
        t0 = time.perf_counter()
        sp = single_point(atoms, atoms.calc)
        e = sp["energy"]
        out.append(
            {
                "sp_calc_s": time.perf_counter() - t0,
                **start_row(p),
                "min_contact_ratio": p.min_contact_ratio,
                "E_sp_eV": e,
                "E_ads_sp_eV": None if e is None else e - e_ref,
                "sp_status": sp["status"],
            }
        )
        write_json(cache, {"key": key, "orientations": out})  # after each: a stopped job repeats at most one
    return out


def distinct_starts(rows: list[dict[str, Any]], same_eV: float) -> list[dict[str, Any]]:
    """The single-point rows of the starts, lowest first, without the rotations that repeat a kept start.

    Two starts of one conformer, height and tilt whose single points agree within ``same_eV`` count once: a
    small ligand upright on the Pb turns about its own axis (methanethiol's four rotations: within 1 meV; so
    are their probes and minima), and rotations a site symmetry maps onto each other are the same pose
    (acetate: 0 and 180 deg identical to the meV). Starts of another tilt, height or conformer are never merged.
    """
    kept: list[dict[str, Any]] = []
    for r in sorted((r for r in rows if r["E_ads_sp_eV"] is not None), key=lambda r: r["E_ads_sp_eV"]):
        if not any(_shape(k) == _shape(r) and abs(k["E_ads_sp_eV"] - r["E_ads_sp_eV"]) <= same_eV for k in kept):
            kept.append(r)
    return kept


def to_probe(rows: list[dict[str, Any]], top: int, same_eV: float) -> list[dict[str, Any]]:
    """The starts that are probed: the ``top`` lowest distinct ones (:func:`distinct_starts`; 0: every start)."""
    if not top:
        return sorted((r for r in rows if r["E_ads_sp_eV"] is not None), key=lambda r: r["E_ads_sp_eV"])
    return distinct_starts(rows, same_eV)[:top]


#: ``sp_status`` of a start that got no single point because every start is relaxed (``relax_top`` at least the
#: number of starts, no probes): :func:`to_relax` relaxes it
NOT_SCREENED = "not_screened"


def to_relax(
    screened: list[dict[str, Any]], relax_top: int, tie_eV: float = 0.0, each_tilt: bool = False
) -> list[dict[str, Any]]:
    """The screened rows that are relaxed to convergence, lowest first.

    Without probes, the ``relax_top`` lowest single points. With probes (only probed starts compete), the
    ``relax_top`` lowest of the probes that converged (minima already: one more call each) and the ``relax_top``
    lowest of those still descending: a probe still on its way down can end far below one that stopped early
    (methanethiol: upright starts stop at -0.17 eV within 8 steps, tilted ones are at -0.53 eV after 8 steps
    and end at -0.63 eV). ``tie_eV`` > 0: a probe of another shape (conformer, height, tilt or denticity) within
    ``tie_eV`` of the lowest one chosen in its group is relaxed as well, once per shape and group: probes that close
    cannot tell their minima apart (nitrosomethane: all 8 probes within 1.1 meV, the upright start ends at
    -0.55 eV, the tilted one at -0.37 eV). ``each_tilt``: the lowest probe of every tilt that none of those
    chosen has is relaxed as well (:func:`lowest_of_each_tilt`). A ligand with bidentate starts has the lowest of
    them relaxed as well, if none of the others is one. Starts that got no single point (:data:`NOT_SCREENED`)
    are all relaxed.
    """
    unranked = [s for s in screened if s.get("sp_status") == NOT_SCREENED]
    probed = [s for s in screened if "probe_force_calls" in s]
    ranked = sorted((s for s in probed or screened if s["E_ads_sp_eV"] is not None), key=lambda s: s["E_ads_sp_eV"])
    budget = {True: relax_top, False: relax_top}
    out = []

    def done(s: dict[str, Any]) -> bool:
        return "probe_force_calls" in s and s.get("sp_status") == "converged"

    for s in ranked:
        if budget[done(s)]:
            budget[done(s)] -= 1
            out.append(s)
    if tie_eV > 0:
        shapes = {d: {_shape(o) for o in out if done(o) == d} for d in (True, False)}
        lowest = {d: min((o["E_ads_sp_eV"] for o in out if done(o) == d), default=None) for d in (True, False)}
        for s in ranked:
            e0, kind = lowest[done(s)], shapes[done(s)]
            if _shape(s) not in kind and e0 is not None and s["E_ads_sp_eV"] - e0 <= tie_eV:
                out.append(s)
                kind.add(_shape(s))
    if each_tilt:
        out += lowest_of_each_tilt(ranked, out)
    bidentate = [s for s in ranked if s.get("denticity_start") == 2]
    if bidentate and not any(s.get("denticity_start") == 2 for s in out):
        out.append(bidentate[0])  # the bidentate mode is relaxed too: the lower of the two is kept
    return out + unranked


def lowest_of_each_tilt(ranked: list[dict[str, Any]], chosen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lowest of ``ranked`` (lowest first) of each tilt that no row of ``chosen`` has (bidentate starts aside).

    A probe cannot rank a tilted start that begins pressed into the surface against an upright one: TPPO on the
    3x3 cell (stop 53), whose tilted starts begin 6-29 eV above their minimum, was still 1.6-6.8 eV above the
    upright probes after 8 steps and 0.2-0.6 eV above after 32, yet every tilted start ends 0.12-0.20 eV below
    every upright one (-1.18 eV against -1.00 eV, the exhaustive reference of 32 starts).
    """
    have = {s.get("tilt_deg", 0.0) for s in chosen if s.get("denticity_start") != 2}
    out = []
    for s in ranked:
        tilt = s.get("tilt_deg", 0.0)
        if s.get("denticity_start") != 2 and tilt not in have:
            have.add(tilt)
            out.append(s)
    return out


def _shape(row: dict[str, Any]) -> tuple[Any, ...]:
    """A start's pose without its rotation about the normal: conformer, height, tilt (and the roll, 2 if
    bidentate)."""
    p = row_pose(row)
    return (p[0],) + p[2:]
