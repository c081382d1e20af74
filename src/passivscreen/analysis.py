"""Adsorption energy, bond orders, charge transfer and integrity checks."""

from __future__ import annotations

import functools

import numpy as np
from ase import Atoms
from ase.neighborlist import natural_cutoffs, neighbor_list


def adsorption_energy(e_complex: float, e_slab: float, e_ligand: float) -> float:
    """E_ads = E(complex) - E(slab) - E(ligand), eV (negative: binding)."""
    return float(e_complex - e_slab - e_ligand)


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


@functools.cache
def integrity_defaults() -> dict[str, float]:
    """Default thresholds of the integrity checks: those of the config schema's ``integrity`` section."""
    from passivscreen.config import schema

    props = schema()["properties"]["integrity"]["properties"]
    return {k: v["default"] for k, v in props.items()}


def broken_pb_br_bonds(final: Atoms, reference: Atoms, bond: float = 3.4, broken: float = 3.8) -> list[str]:
    """Pb-Br pairs bonded in ``reference`` (< ``bond`` A) and apart in ``final`` (> ``broken`` A)."""
    sym = reference.get_chemical_symbols()
    pb = [i for i, s in enumerate(sym) if s == "Pb"]
    br = [i for i, s in enumerate(sym) if s == "Br"]
    if not pb or not br:
        return []
    d0 = reference.get_all_distances(mic=True)[np.ix_(pb, br)]
    n = len(reference)
    d1 = final[:n].get_all_distances(mic=True)[np.ix_(pb, br)]
    out = []
    for a, b in zip(*np.where((d0 < bond) & (d1 > broken))):
        out.append(f"Pb{pb[a]}-Br{br[b]} {d0[a, b]:.2f}->{d1[a, b]:.2f} A")
    return out


def integrity_flags(
    final: Atoms,
    slab_reference: Atoms,
    n_slab: int,
    anchors: list[int],
    ligand_reference: Atoms,
    n_lig_atoms: int,
    backend: str,
    slab_free: bool,
    cfg: dict | None = None,
    ligand_charge: float | None = None,
) -> dict:
    """Integrity of a relaxed complex: ligand reacted or reduced, left the surface, surface damaged.

    ``ligand_charge`` is the Mulliken charge per ligand (electrons donated to the
    slab); below ``-reduction`` the ligand took electrons from the slab (a radical
    anion instead of a Lewis-base donor): flag ``ligand_reduced``.

    Flags carry the backend that produced them (``ligand_reacted[gfn2]``). Surface
    damage is assessed only where slab atoms were free to move; on a held slab the
    surface cannot be damaged by construction, and the ligand is judged by what
    happens to the ligand itself.
    """
    c = integrity_defaults() | dict(cfg or {})
    flags: list[str] = []
    details: dict[str, list[str]] = {}
    n_lig = len(anchors)
    reacted = []
    for k in range(n_lig):
        frag = final[n_slab + k * n_lig_atoms : n_slab + (k + 1) * n_lig_atoms]
        reacted += ligand_bonds_changed(ligand_reference, frag)
    if reacted:
        flags.append(f"ligand_reacted[{backend}]")
        details["ligand_reacted"] = reacted
    if ligand_charge is not None and ligand_charge < -c["reduction"]:
        flags.append(f"ligand_reduced[{backend}]")
        details["ligand_reduced"] = [f"ligand charge {ligand_charge:+.2f} e"]
    far = []
    for a in anchors:
        pb, d = nearest_pb(final, a, n_slab)
        if d > c["desorption_cutoff"]:
            far.append(f"anchor {a} {d:.2f} A from Pb{pb}")
    if far:
        flags.append(f"desorbed[{backend}]")
        details["desorbed"] = far
    if slab_free:
        damage = broken_pb_br_bonds(final, slab_reference, c["pb_br_bond"], c["pb_br_broken"])
        tags = slab_reference.get_tags()
        dz = final.positions[:n_slab, 2] - slab_reference.positions[:, 2]
        pulled = [
            f"atom {i} ({slab_reference[i].symbol}) {dz[i]:+.2f} A"
            for i in range(n_slab)
            if tags[i] != 0 and abs(dz[i]) > c["pull_out"]
        ]
        if damage or pulled:
            flags.append(f"surface_damaged[{backend}]")
            details["surface_damaged"] = damage + pulled
    return {"flags": flags, "details": details, "surface_assessed": slab_free, "backend": backend}
