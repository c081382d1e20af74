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
    extra, row["denticity"] = _bound_extra(fin, c, lig, per_anchor, cfg["integrity"]["desorption_cutoff"])
    groups = {**groups, "ligand": list(range(n_slab, len(fin)))}
    t0 = time.perf_counter()
    pairs = [(x["anchor"], x["pb"]) for x in per_anchor + extra]
    elec = electronic_properties(gfn2_view(fin), groups, pairs)
    row["analysis_calc_s"] = time.perf_counter() - t0
    orbitals = elec.get("orbitals") or {}
    if "bond_orders" in orbitals:
        for x, bo in zip(per_anchor + extra, orbitals["bond_orders"]):
            x["bond_order"] = bo
        row["bond_order"] = float(np.mean(orbitals["bond_orders"][: len(per_anchor)]))
        route = orbitals.get("scf", "restart")
        row["bond_order_source"] = (
            "GFN2-xTB (tblite) Mayer/Wiberg anchor-Pb at the final geometry, mean over anchors"
            + ("" if route == "restart" else f" (SCF: {route})")
        )
    row["anchors"] = per_anchor + extra
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
    if "orbitals" not in elec:
        _flag_scf_unstable(row["integrity"])
    row["min_image_distance_A"] = min_image_distance(fin, n_slab)
    if row["min_image_distance_A"] < cfg["placement"]["min_image_distance"]:
        flags.append(f"crowded[{backend}]")
        row["integrity"]["details"]["crowded"] = [f"{row['min_image_distance_A']:.2f} A from a periodic image"]
    if lig.cation_index is not None:  # an ion pair: how far the ammonium N is from the nearest Pb
        cations = [n_slab + k * c.n_lig + lig.cation_index for k in range(n_lig)]
        row["d_cation_Pb_A"] = min(nearest_pb(fin, a, n_slab)[1] for a in cations)
    return row


def _bound_extra(
    fin: Atoms, c: Complex, lig: Ligand, per_anchor: list[dict[str, Any]], cutoff: float
) -> tuple[list[dict[str, Any]], int]:
    """The other anchors of each ligand's class within ``cutoff`` of a Pb (a bidentate binder's second anchor),
    and the denticity: the most anchors of one ligand bound (its own anchor included)."""
    extra = []
    for k in range(len(c.anchors)):
        for i in lig.other_anchors:
            a = c.n_slab + k * c.n_lig + i
            pb, d = nearest_pb(fin, a, c.n_slab)
            if d <= cutoff:
                extra.append({"anchor": a, "pb": pb, "d_anchor_Pb_A": d, "ligand": k, "extra": True})
    bound = [int(x["d_anchor_Pb_A"] <= cutoff) + sum(e["ligand"] == k for e in extra) for k, x in enumerate(per_anchor)]
    return extra, max(bound)


def _flag_scf_unstable(integrity: dict[str, Any]) -> None:
    """Flag a row without an orbital summary: gfn2_view always evaluates with tblite's GFN2-xTB, so none means its
    SCF at the final geometry did not converge again by any route of the analysis (restarted from the relaxation's
    density at its own and at looser thresholds, or from the atomic guess): the E_ads is that of a state reached
    only by continuity. (DMSO lying on the slab, stop 27, was such a row until the looser restarts, stop 32.)"""
    integrity["flags"].append("scf_unstable[gfn2]")
    integrity["details"]["scf_unstable"] = [
        "GFN2-xTB SCF at the final geometry does not converge again (restarts, looser thresholds, atomic guess): "
        "no bond order or trap states; the E_ads comes from the relaxation's SCF"
    ]
