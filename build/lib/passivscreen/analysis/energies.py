"""Adsorption energies from the energies of the complex and its references."""

from __future__ import annotations


def adsorption_energy(e_complex: float, e_slab: float, e_ligand: float, n_ligands: int = 1) -> float:
    """E_ads = E(complex) - E(slab) - n E(ligand), eV (negative: binding).

    ``n_ligands`` is the number of ligands in the complex (2 for a ligand on each face).
    """
    return float(e_complex - (e_slab + n_ligands * e_ligand))


def per_ligand(e_ads: float | None, n_ligands: int) -> float | None:
    """E_ads per ligand (None stays None)."""
    return None if e_ads is None else float(e_ads) / n_ligands
