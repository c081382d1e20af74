"""Variants of a finished complex: the same ligand geometry on a slab with another vacuum, thickness or cell.

The ligand atoms keep their positions relative to the Pb they bind to; the slab is rebuilt
from its spec (held at the ideal geometry, as in the screen) with one setting changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from passivscreen.structures import SlabSpec, build_slab, face_tuple, surface_pb_indices


@dataclass(frozen=True)
class Variant:
    """One point of a convergence axis: the axis, its value, and the slab spec it gives."""

    axis: str
    value: Any
    spec: SlabSpec
    params: dict[str, Any]

    @property
    def label(self) -> str:
        v = "x".join(str(x) for x in self.value) if isinstance(self.value, tuple | list) else f"{self.value:g}"
        return f"{self.axis}={v}"


def spec_with(spec: SlabSpec, axis: str, value: Any) -> SlabSpec:
    """``spec`` with one setting changed: ``vacuum`` (total, A), ``layers`` (PbBr2) or ``repeat`` (a, b)."""
    if axis == "vacuum":
        return replace(spec, vacuum=float(value) / 2.0)
    if axis == "layers":
        return replace(spec, n_pbbr2=int(value))
    if axis == "repeat":
        return replace(spec, repeat=(int(value[0]), int(value[1])))
    if axis == "accuracy":
        return spec
    raise ValueError(f"unknown convergence axis {axis!r}")


def _matching_pb(slab: Atoms, face: str, xy: np.ndarray) -> int:
    """The Pb of ``face`` of ``slab`` at in-plane position ``xy`` (minimum image)."""
    pbs = surface_pb_indices(slab, face)
    d = slab.positions[pbs].copy()
    d[:, 2] = 0.0
    delta = d - np.array([xy[0], xy[1], 0.0])
    _, dist = find_mic(delta, slab.cell, [True, True, False])
    return pbs[int(np.argmin(dist))]


def rebuild(
    slab_rec: dict[str, Any], reference: Atoms, complex_atoms: Atoms, spec: SlabSpec
) -> tuple[Atoms, Atoms, dict[str, int]]:
    """The slab of ``spec`` with the reference's sites and vacancies, and the complex on it.

    ``reference`` is the held slab of the screen (``slab/<site>/<face>.extxyz``), ``complex_atoms``
    the relaxed complex (slab atoms first, then one ligand per face in face order); ``slab_rec``
    its slab record (``binding_pb``, ``vacancies``). Returns (slab, complex, face -> site Pb).
    """
    faces = face_tuple(slab_rec["face"])
    pristine = build_slab(spec)
    shift: dict[str, np.ndarray] = {}
    sites: dict[str, int] = {}
    for f in faces:
        old = reference.positions[int(slab_rec["binding_pb"][f])]
        new = _matching_pb(pristine, f, old)
        shift[f] = pristine.positions[new] - old
        sites[f] = new
    remove = []
    for f, pos in (slab_rec.get("vacancies") or {}).items():
        target = np.asarray(pos) + shift[f]
        brs = [i for i, s in enumerate(pristine.get_chemical_symbols()) if s == "Br"]
        _, dist = find_mic(pristine.positions[brs] - target, pristine.cell, pristine.pbc)
        remove.append(brs[int(np.argmin(dist))])
    keep = [i for i in range(len(pristine)) if i not in set(remove)]
    new_index = {old: k for k, old in enumerate(keep)}
    slab = pristine[keep]
    slab.set_constraint()
    sites = {f: new_index[i] for f, i in sites.items()}
    n_slab = len(reference)
    n_lig = (len(complex_atoms) - n_slab) // len(faces)
    cx = slab.copy()
    for k, f in enumerate(faces):
        lig = complex_atoms[n_slab + k * n_lig : n_slab + (k + 1) * n_lig].copy()
        lig.positions += shift[f]
        lig.set_constraint()
        cx += lig
    cx.cell, cx.pbc = slab.cell, slab.pbc
    return slab, cx, sites
