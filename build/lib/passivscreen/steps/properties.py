"""Properties of a relaxed complex: E_ads, bond orders, distances, charge transfer, integrity, trap states."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from ase import Atoms

from passivscreen.analysis.electronic import electronic_properties
from passivscreen.analysis.geometry import (
    ligand_bonds_changed,
    ligand_charge,
    max_slab_displacement,
    min_image_distance,
    nearest_pb,
)
from passivscreen.analysis.integrity import integrity_flags, trap_flags
from passivscreen.ligands import Ligand
from passivscreen.placement import Complex
from passivscreen.steps.common import gfn2_view
from passivscreen.types import E_ADS, E_ADS_PER_LIGAND


def complex_properties(
    fin: Atoms,
    e_ads: float,
    c: Complex,
    lig: Ligand,
    slab: Atoms,
    groups: dict[str, list[int]],
    cfg: dict[str, Any],
    backend: str,
    traps_before: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """E_ads per ligand, anchor-Pb distances and bond orders, charge transfer, integrity flags and trap states.

    ``backend`` is the one that produced the geometry ``fin`` (its flags carry it); the
    electronic analysis is GFN2-xTB at ``fin`` whatever that backend was.
    """
    n_slab, n_lig = c.n_slab, len(c.anchors)
    row: dict[str, Any] = {E_ADS: e_ads, E_ADS_PER_LIGAND: e_ads / n_lig}
    per_anchor = []
    for a in c.anchors:
        pb, d = nearest_pb(fin, a, n_slab)
        per_anchor.append({"anchor": a, "pb": pb, "d_anchor_Pb_A": d})
    row["anchors"] = per_anchor
    row["d_anchor_Pb_A"] = float(np.mean([x["d_anchor_Pb_A"] for x in per_anchor]))
    row["max_slab_displacement_A"] = max_slab_displacement(fin, slab)
    groups = {**groups, "ligand": list(range(n_slab, len(fin)))}
    t0 = time.perf_counter()
    elec = electronic_properties(gfn2_view(fin), groups, [(x["anchor"], x["pb"]) for x in per_anchor])
    row["analysis_calc_s"] = time.perf_counter() - t0
    orbitals = elec.get("orbitals") or {}
    if "bond_orders" in orbitals:
        for x, bo in zip(per_anchor, orbitals["bond_orders"]):
            x["bond_order"] = bo
        row["bond_order"] = float(np.mean(orbitals["bond_orders"]))
        row["bond_order_source"] = "GFN2-xTB (tblite) Mayer/Wiberg anchor-Pb at the final geometry, mean over anchors"
    if "charges" in elec:
        # electrons donated to the slab: the Mulliken charge beyond the placed species' formal charge
        # (acetate at -0.5 e has given half an electron; a neutral donor at -0.5 e has taken one half)
        row["charge_transfer_e"] = ligand_charge(elec["charges"], n_slab) / n_lig - lig.charge
    row.update({k: v for k, v in elec.items() if k != "charges"})
    ligs = [fin[n_slab + k * c.n_lig : n_slab + (k + 1) * c.n_lig] for k in range(n_lig)]
    row["bonds_changed"] = [x for frag in ligs for x in ligand_bonds_changed(lig.atoms, frag)]
    row["integrity"] = integrity_flags(
        fin,
        slab,
        n_slab,
        c.anchors,
        lig.atoms,
        c.n_lig,
        backend=backend,
        slab_free=bool(cfg["hold"]["free_radius"] > 0),
        cfg=cfg["integrity"],
        ligand_charge=row.get("charge_transfer_e"),
    )
    flags = row["integrity"]["flags"]
    trap = trap_flags(traps_before, row.get("traps"), cfg["integrity"]["trap_depth"], backend)
    if trap:
        flags += trap
        row["integrity"]["details"]["adds_trap"] = [
            f"trap depth {float((row.get('traps') or {}).get('trap_depth_eV') or 0):.2f} eV after, "
            f"{float((traps_before or {}).get('trap_depth_eV') or 0):.2f} eV before"
        ]
    row["min_image_distance_A"] = min_image_distance(fin, n_slab)
    if row["min_image_distance_A"] < cfg["placement"]["min_image_distance"]:
        flags.append(f"crowded[{backend}]")
        row["integrity"]["details"]["crowded"] = [f"{row['min_image_distance_A']:.2f} A from a periodic image"]
    if lig.cation_index is not None:  # an ion pair: how far the ammonium N is from the nearest Pb
        cations = [n_slab + k * c.n_lig + lig.cation_index for k in range(n_lig)]
        row["d_cation_Pb_A"] = min(nearest_pb(fin, a, n_slab)[1] for a in cations)
    return row
