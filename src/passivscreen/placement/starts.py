"""The starts of one complex: every screened placement of a conformer (:func:`place_all`), and which of a
ligand's conformers are placed (:func:`placed_conformers`).

A conformer is placed when at least one of its starts clears the slab: the lowest ``placement.conformers`` of
those, lowest energy first, not simply the lowest ``placement.conformers``; for a ligand with two anchors of its
class, also the lowest ``placement.conformers`` with a clean bidentate start. A folded conformer of a large
flexible molecule can have no start at all that does not reach into the surface: DPEPO's two lowest (within
2.5 meV of each other) put a phenyl ring 2.7 A below the Pb in every monodentate start, and a bidentate fit of
either buries one 0.7 A below the Pb's plane; its third, 28 meV higher, has eight clean monodentate starts, its
fourth and fifth (66 meV) a clean bidentate one. Passing such a conformer over costs the search nothing it could
have found (its starts are never relaxed), and the complex's E_ads stays referred to the lowest free conformer,
so a higher conformer's strain is counted.
"""

from __future__ import annotations

from typing import Any

from ase import Atoms

from passivscreen.ligands.molecules import Ligand
from passivscreen.placement.orientations import Complex, orientations
from passivscreen.schema import section_defaults
from passivscreen.structures import site_rotation_order


def place_all(
    slab: Atoms,
    lig: Ligand,
    sites: dict[str, int],
    faces: tuple[str, ...],
    cfg: dict[str, Any],
    n: int | None = None,
    targets: dict[str, Any] | None = None,
    conformer: int = 0,
) -> tuple[list[Complex], list[Complex], float]:
    """``n`` placements (default ``placement.orientations``) of one ligand on each face, the same rotation on
    every face, over the symmetry-distinct span of the first face's site: (accepted, clashing, span).
    ``targets``: the removed Br's position per face, for an X-type anion. Settings missing from
    ``cfg["placement"]`` take the schema's defaults."""
    settings = {**section_defaults("placement"), **cfg["placement"]}
    n = n or settings["orientations"]
    span = 360.0 / site_rotation_order(slab, sites[faces[0]])
    on = {f: sites[f] for f in faces}
    ok, clash = orientations(
        slab,
        lig,
        on,
        n,
        min_contact_ratio=settings["min_contact_ratio"],
        span_deg=span,
        targets=targets,
        conformer=conformer,
        height_offsets=settings["heights"],
        tilts=settings["tilts"],
        polar_h=settings["polar_h_roll"],
    )
    return ok, clash, span


def placed_conformers(
    slab: Atoms,
    lig: Ligand,
    sites: dict[str, int],
    faces: tuple[str, ...],
    cfg: dict[str, Any],
    frames: list[Atoms],
    n: int | None = None,
    targets: dict[str, Any] | None = None,
) -> dict[int, tuple[list[Complex], list[Complex], float]]:
    """The conformers placed, each with its :func:`place_all` (``n`` rotations): keyed by index into ``frames``
    (a ligand's conformers, lowest energy first), ascending. They are the lowest ``placement.conformers`` that
    have a monodentate start that does not clash and, for a ligand with a second anchor, the lowest
    ``placement.conformers`` that have such a bidentate start (the conformer a molecule binds two Pb with is
    seldom its lowest free one); the lowest conformer alone when none has (its clashing starts are then what the
    record reports). ``lig``'s positions are left as they were."""
    wanted = max(1, int({**section_defaults("placement"), **cfg["placement"]}["conformers"]))
    keep = lig.atoms.positions.copy()
    found: dict[int, list[int]] = {1: [], 2: []}
    kinds = (1, 2) if lig.other_anchors else (1,)
    placed: dict[int, tuple[list[Complex], list[Complex], float]] = {}
    try:
        for k, frame in enumerate(frames):
            if all(len(found[d]) >= wanted for d in kinds):
                break
            lig.atoms.positions = frame.positions
            placed[k] = place_all(slab, lig, sites, faces, cfg, n, targets, k)
            for d in kinds:
                if len(found[d]) < wanted and any(c.denticity == d for c in placed[k][0]):
                    found[d].append(k)
    finally:
        lig.atoms.positions = keep
    chosen = sorted(set(found[1]) | set(found[2])) or [0]
    return {k: placed[k] for k in chosen}
