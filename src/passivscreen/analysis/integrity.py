"""Integrity of a relaxed complex: ligand reacted, reduced or desorbed, surface damaged; record flags."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms

from passivscreen.analysis.geometry import ligand_bonds_changed, nearest_pb
from passivscreen.schema import section_defaults


def integrity_defaults() -> dict[str, float]:
    """Default thresholds of the integrity checks: those of the config schema's ``integrity`` section."""
    return section_defaults("integrity")


def broken_pb_br_bonds(
    final: Atoms, reference: Atoms, bond: float | None = None, broken: float | None = None
) -> list[str]:
    """Pb-Br pairs bonded in ``reference`` (< ``bond`` A) and apart in ``final`` (> ``broken`` A).

    ``bond`` and ``broken`` default to the config schema's ``integrity.pb_br_bond`` and ``pb_br_broken``.
    """
    defaults = integrity_defaults()
    bond = defaults["pb_br_bond"] if bond is None else bond
    broken = defaults["pb_br_broken"] if broken is None else broken
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


def ligand_reduced(charge: float | None, cfg: dict | None = None) -> bool:
    """Whether a ligand holding ``charge`` (e per ligand; negative: electrons taken from the slab) was reduced:
    below ``-integrity.reduction`` (``cfg``'s, else the schema's default). The one rule of every tier's flag."""
    return charge is not None and charge < -(integrity_defaults() | dict(cfg or {}))["reduction"]


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
    if ligand_reduced(ligand_charge, c):
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


def tier_reduction(
    integrity: dict[str, Any] | None, row: dict[str, Any], backend: str, cfg: dict | None = None
) -> dict[str, Any]:
    """The integrity of a record re-evaluated at another tier (a funnel's single point), with that tier's verdict on
    reduction: ``ligand_reduced[backend]`` when the tier's ligand charge (``row["ligand_charge_e"]``) is below
    ``-reduction``. The earlier tiers' flags stay, each with its backend: two levels that disagree both show."""
    out = {"flags": [], "details": {}} | dict(integrity or {})
    out["flags"] = list(out.get("flags", []))
    out["details"] = dict(out.get("details", {}))
    charge = row.get("ligand_charge_e")
    if charge is None:
        return out
    spin = row.get("ligand_spin")
    note = f"ligand charge {charge:+.2f} e" + ("" if spin is None else f", spin {spin:+.2f}") + f" [{backend}]"
    out["details"].setdefault("ligand_charge", []).append(note)
    if ligand_reduced(charge, cfg):
        out["flags"].append(f"ligand_reduced[{backend}]")
        out["details"].setdefault("ligand_reduced", []).append(note)
    return out


def record_backend(rec: dict[str, Any]) -> str | None:
    """Backend of the tier that computed a record's value (older records: their provenance)."""
    return rec.get("backend") or rec.get("provenance", {}).get("backend")


def flags_of(rec: dict[str, Any]) -> list[str]:
    """Integrity flags of an adsorption record (empty for a clean row)."""
    flags = list((rec.get("integrity") or {}).get("flags", []))
    if rec.get("status") == "reconstruction":
        flags.append(f"reconstruction[{record_backend(rec) or '?'}]")
    return flags


def trap_flags(
    before: dict[str, Any] | None, after: dict[str, Any] | None, threshold: float, backend: str
) -> list[str]:
    """``adds_trap[backend]`` when the complex has an in-gap state deeper (below the CBM) than ``threshold``
    eV beyond what its slab reference had: a passivator that makes a trap is not a passivator."""
    if not after:
        return []
    gained = float(after.get("trap_depth_eV") or 0.0) - float((before or {}).get("trap_depth_eV") or 0.0)
    return [f"adds_trap[{backend}]"] if gained > threshold else []
