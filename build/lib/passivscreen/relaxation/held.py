"""The held slab: slab atoms fixed at the reference geometry, optionally a few freed near the anchor."""

from __future__ import annotations

from collections.abc import Iterable

from ase import Atoms
from ase.constraints import FixAtoms


def fixed_indices(atoms: Atoms) -> list[int]:
    """Indices fixed by the first :class:`~ase.constraints.FixAtoms` of ``atoms`` (empty if none)."""
    return atoms.constraints[0].index.tolist() if atoms.constraints else []


def held_copy(atoms: Atoms) -> Atoms:
    """A copy of ``atoms`` with every atom fixed (a slab evaluated at its reference geometry)."""
    held = atoms.copy()
    held.set_constraint(FixAtoms(indices=range(len(held))))
    return held


def free_slab_atoms(
    atoms: Atoms, n_slab: int, anchors: Iterable[int], radius: float, always_fixed: Iterable[int] = ()
) -> list[int]:
    """Slab atoms within ``radius`` (A, minimum image) of any anchor, except ``always_fixed``; none for radius 0."""
    if radius <= 0:
        return []
    fixed = set(always_fixed)
    free: set[int] = set()
    for a in anchors:
        d = atoms.get_distances(a, list(range(n_slab)), mic=True)
        free |= {i for i in range(n_slab) if d[i] <= radius and i not in fixed}
    return sorted(free)


def hold_slab(atoms: Atoms, n_slab: int, free: Iterable[int] = ()) -> Atoms:
    """Fix the first ``n_slab`` atoms of ``atoms`` except ``free`` (in place); the ligands stay free."""
    free = set(free)
    atoms.set_constraint(FixAtoms(indices=[i for i in range(n_slab) if i not in free]))
    return atoms
