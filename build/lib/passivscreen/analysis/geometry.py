"""Geometry of a complex: nearest Pb, slab displacement, covalent bonds, ligand charge."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.neighborlist import natural_cutoffs, neighbor_list


def max_slab_displacement(complex_atoms: Atoms, slab_reference: Atoms) -> float:
    """Largest displacement (A) of a slab atom between the complex and the slab reference.

    Slab atoms are the first ``len(slab_reference)`` atoms of the complex and
    must carry the same elements; 0.0 means the slab term is the same geometry
    in both terms of E_ads.
    """
    n = len(slab_reference)
    if complex_atoms.get_chemical_symbols()[:n] != slab_reference.get_chemical_symbols():
        raise ValueError("the complex's first atoms are not the slab reference's")
    d = complex_atoms.positions[:n] - slab_reference.positions
    return float(np.linalg.norm(d, axis=1).max())


def nearest_pb(atoms: Atoms, index: int, n_slab: int) -> tuple[int, float]:
    """The slab Pb closest to atom ``index`` (minimum image) and its distance."""
    pb = [i for i in range(n_slab) if atoms[i].symbol == "Pb"]
    d = atoms.get_distances(index, pb, mic=True)
    k = int(np.argmin(d))
    return pb[k], float(d[k])


def ligand_charge(charges: np.ndarray, n_slab: int) -> float:
    """Net Mulliken charge on the ligand atoms: electrons it gave to the slab (e)."""
    return float(np.sum(np.asarray(charges)[n_slab:]))


def bond_graph(atoms: Atoms, scale: float = 1.2) -> set[tuple[int, int]]:
    """Covalent bonds (i < j) from scaled covalent radii."""
    i, j = neighbor_list("ij", atoms, natural_cutoffs(atoms, mult=scale))
    return {(int(a), int(b)) for a, b in zip(i, j) if a < b}


def ligand_bonds_changed(initial: Atoms, final: Atoms, scale: float = 1.2) -> list[str]:
    """Bonds formed or broken inside a molecule between two geometries."""
    a, b = initial.copy(), final.copy()
    a.pbc = b.pbc = False
    before, after = bond_graph(a, scale), bond_graph(b, scale)
    sym = a.get_chemical_symbols()
    out = [f"broken {sym[i]}{i}-{sym[j]}{j}" for i, j in sorted(before - after)]
    out += [f"formed {sym[i]}{i}-{sym[j]}{j}" for i, j in sorted(after - before)]
    return out


def min_image_distance(atoms: Atoms, n_slab: int) -> float:
    """Smallest distance (A) between an adsorbate atom and a periodic image of an adsorbate atom in the
    plane of the slab (all adsorbates after the first ``n_slab`` atoms; inf without in-plane periodicity)."""
    if not atoms.pbc[:2].all() or len(atoms) <= n_slab:
        return float("inf")
    pos = atoms.positions[n_slab:]
    best = float("inf")
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            if i == j == 0:
                continue
            shift = i * atoms.cell[0] + j * atoms.cell[1]
            d = np.linalg.norm(pos[:, None, :] - (pos + shift)[None, :, :], axis=2)
            best = min(best, float(d.min()))
    return best
