"""The calibration store (``calibration.store``, opt-in): every DFT row a funnel computes, with its screening
partner, appended to an ASE database, so that ``passivscreen calibrate`` can refit from the shipped set and
everything the project's screens have checked since.

A row holds the funnel's complex (its atoms at the DFT tier's cell), the screening and DFT E_ads per ligand,
the molecule (name, SMILES, anchor, binding, class), the site and faces, the screening protocol's fingerprint
and the DFT reference's fingerprint (:func:`reference_of`); its ``data`` holds both protocols in full.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

from passivscreen.calculators import Tier
from passivscreen.calibration.protocol import class_of, differences, fingerprint, screen_protocol, screen_tier_name
from passivscreen.structures.cells import strip_cell

#: The protocol keys of the search alone (which starts are tried and which are relaxed): two protocols that differ in
#: these only compute the same DFT pair for a complex the screen ends at the same geometry (:func:`carry_pair`).
SEARCH_KEYS = ("placement", "conformers", "seed")


def reference_of(tier: Tier) -> dict[str, Any]:
    """What a DFT reference value depends on: the funnel tier's backend, parameters and vacuum."""
    return {"backend": tier.backend, "parameters": dict(tier.parameters), "vacuum": tier.vacuum}


def screen_value(record: dict[str, Any], screen_tier: str) -> float | None:
    """The screening tier's E_ads per ligand of a funnel record (from its per-tier rows)."""
    n = 2 if record.get("face") == "both" else 1
    for row in record.get("tiers") or []:
        if row.get("name") == screen_tier and row.get("E_ads_eV") is not None:
            return float(row["E_ads_eV"]) / n
    return None


def covered(site: str | None, faces: str | None) -> bool:
    """A row a calibration covers: a pristine site, one ligand per face."""
    return str(site or "").startswith("pristine") and faces != "both"


def screen_backend(record: dict[str, Any], screen_tier: str) -> str | None:
    """The backend of a funnel record's screening tier (from its per-tier rows)."""
    return next((r.get("backend") for r in record.get("tiers") or [] if r.get("name") == screen_tier), None)


def pair_of(record: dict[str, Any], screen_tier: str) -> dict[str, Any]:
    """The (screening, DFT) pair of a funnel record (status ok): the molecule, its class, its site, both E_ads per
    ligand, and whether the screen found the ligand reduced (:func:`~passivscreen.calibration.screen_reduced`)."""
    from passivscreen.calibration.dataset import screen_reduced

    binding = record.get("binding", "L")
    return {
        "ligand": record["ligand"],
        "smiles": record.get("smiles"),
        "anchor": record.get("anchor"),
        "binding": binding,
        "class": class_of(record.get("anchor"), binding),
        "E_screen_eV": screen_value(record, screen_tier),
        "E_dft_eV": float(record["E_ads_per_ligand_eV"]),
        "site": record.get("site"),
        "faces": record.get("face", "top"),
        "reduced": screen_reduced(record, screen_backend(record, screen_tier)),
    }


def store_pair(path: str | Path, cfg: dict[str, Any], tier: Tier, record: dict[str, Any], atoms: Atoms) -> str:
    """Append one funnel row (status ok) to the store at ``path``; returns ``"row <id> of <path>"``."""
    from ase.db import connect

    screen = screen_tier_name(cfg)
    protocol, reference = screen_protocol(cfg), reference_of(tier)
    pair = pair_of(record, screen)
    with connect(str(path)) as db:
        row_id = db.write(
            atoms,
            key_value_pairs={
                "ligand": pair["ligand"],
                "smiles": pair["smiles"] or "",
                "anchor": pair["anchor"] or "",
                "binding": pair["binding"],
                "cls": pair["class"] or "",
                "site": record.get("site") or "",
                "faces": record.get("face", "top"),
                "e_screen": pair["E_screen_eV"],
                "e_dft": pair["E_dft_eV"],
                "reduced": pair["reduced"],
                "screen_tier": screen,
                "dft_tier": tier.name,
                "protocol": fingerprint(protocol),
                "reference": fingerprint(reference),
                "set_name": cfg["set"],
                "date": datetime.date.today().isoformat(),
            },
            data={"protocol": protocol, "reference": reference},
        )
    return f"row {row_id} of {path}"


def read_pairs(
    path: str | Path, protocol: str | None = None, reference: str | None = None, reduced: bool = False
) -> list[dict[str, Any]]:
    """The store's pairs (one per SMILES and class: the latest), of one screening protocol and DFT reference
    fingerprint when given, on pristine sites with one ligand per face (what a calibration covers) whose ligand the
    screen did not find reduced; ``reduced``: instead the pairs whose ligand it did, at any site (one per SMILES,
    class and site)."""
    from ase.db import connect

    latest: dict[tuple[str, ...], dict[str, Any]] = {}
    with connect(str(path)) as db:
        for row in db.select(sort="id"):
            kv = row.key_value_pairs
            if protocol and kv.get("protocol") != protocol or reference and kv.get("reference") != reference:
                continue
            if bool(kv.get("reduced", False)) != reduced:
                continue
            if not reduced and not covered(kv.get("site"), kv.get("faces")):
                continue
            if kv.get("e_screen") is None:
                continue
            key = (kv.get("smiles") or kv["ligand"], kv["cls"]) + ((kv.get("site", ""),) if reduced else ())
            latest[key] = {
                "ligand": kv["ligand"],
                "smiles": kv.get("smiles"),
                "anchor": kv.get("anchor"),
                "binding": kv.get("binding"),
                "class": kv.get("cls"),
                "E_screen_eV": float(kv["e_screen"]),
                "E_dft_eV": float(kv["e_dft"]),
                "site": kv.get("site"),
                "source": f"{path}#{row.id}",
                "protocol_fingerprint": kv.get("protocol"),
                "reference_fingerprint": kv.get("reference"),
            }
    return list(latest.values())


def stored_ligands(cfg: dict[str, Any]) -> dict[str, str]:
    """The ligands of a validated config whose pair is already in its ``calibration.store`` (:func:`read_pairs` of
    the config's screening protocol and its last funnel tier's DFT reference; the same molecule: canonical SMILES,
    and the entry's anchor and binding where it names them), each with the store row it has (``<path>#<id>``).
    Empty when the store does not exist yet."""
    from passivscreen.calculators import funnel_tiers, tiers_from_config
    from passivscreen.ligands import canonical_smiles, resolve_smiles

    path = Path(cfg["calibration"]["store"])
    funnel = funnel_tiers(tiers_from_config(cfg))
    if not path.is_file() or not funnel:
        return {}
    have: dict[str, list[dict[str, Any]]] = {}
    for pair in read_pairs(path, fingerprint(screen_protocol(cfg)), fingerprint(reference_of(funnel[-1]))):
        if pair["smiles"]:
            have.setdefault(canonical_smiles(pair["smiles"], pair["ligand"]), []).append(pair)
    out = {}
    for entry in cfg["ligands"]:
        for pair in have.get(canonical_smiles(resolve_smiles(entry), entry["name"]), []):
            if all(entry.get(key) in (None, pair[key]) for key in ("anchor", "binding")):
                out[entry["name"]] = pair["source"]
    return out


def search_only(have: dict[str, Any], want: dict[str, Any]) -> bool:
    """Whether two screening protocols differ, and only in their search (:data:`SEARCH_KEYS`)."""
    diff = differences(have, want)
    return bool(diff) and all(d.split(".")[0] in SEARCH_KEYS for d in diff)


def max_shift(a: Atoms, b: Atoms) -> float | None:
    """The largest displacement (A, minimum image) between two structures of the same atoms, in the same order and
    cell; None when they are not that (another molecule, another cell)."""
    if len(a) != len(b) or (a.numbers != b.numbers).any() or not np.allclose(a.cell[:], b.cell[:], atol=1e-6):
        return None
    d, _ = find_mic(b.positions - a.positions, a.cell, a.pbc)
    return float(np.linalg.norm(d, axis=1).max()) if len(a) else 0.0


def carry_pair(
    path: str | Path,
    cfg: dict[str, Any],
    tier: Tier,
    record: dict[str, Any],
    atoms: Atoms,
    *,
    max_shift_A: float,
    max_screen_eV: float,
) -> dict[str, Any]:
    """Carry a stored pair to the protocol of ``cfg`` when this screen reproduces its complex.

    ``record`` is a finished screening record (status ok) of ``cfg``'s protocol and ``atoms`` its complex in the
    DFT tier's cell (:func:`~passivscreen.steps.funnel.tier_systems`). A row of the store at ``path`` is carried
    when it is the same molecule (SMILES), anchor, binding, site and faces, of the same DFT reference, of a protocol
    that differs from ``cfg``'s in its search only (:func:`search_only`), the screen's reduced flag is the same, its
    complex is within ``max_shift_A`` of ``atoms`` and its screening E_ads within ``max_screen_eV`` of the record's:
    the DFT single points at the new protocol would be those of the stored pair. It is written again under the new
    protocol (the new screening value, the stored DFT value, ``carried_from``). Returns what was found:
    ``{"status": carried | already | moved | none, ...}``.
    """
    from ase.db import connect

    from passivscreen.calibration.dataset import screen_reduced

    screen = screen_tier_name(cfg)
    protocol, reference = screen_protocol(cfg), fingerprint(reference_of(tier))
    e_screen = screen_value(record, screen)
    if e_screen is None:
        e_screen = record.get("E_ads_per_ligand_eV")
    reduced = screen_reduced(record, screen_backend(record, screen) or record.get("backend"))
    same = {
        "ligand": record["ligand"],
        "smiles": record.get("smiles") or "",
        "faces": record.get("face", "top"),
        "reference": reference,
    }
    site = strip_cell(record.get("site") or "")
    best: dict[str, Any] = {"status": "none", "ligand": record["ligand"], "site": site, "E_screen_eV": e_screen}
    with connect(str(path)) as db:
        # the same site: a row stored before the site labels left the cell out names it (pristine-Pb10-2x2)
        rows = [r for r in db.select(sort="id", **same) if strip_cell(r.get("site", "")) == site]
        if any(r.get("protocol") == fingerprint(protocol) for r in rows):
            return {**best, "status": "already"}
        for row in rows:
            if row.get("anchor") != (record.get("anchor") or "") or row.get("binding") != record.get("binding", "L"):
                continue
            if not search_only(row.data.get("protocol") or {}, protocol) or bool(row.get("reduced")) != reduced:
                continue
            shift = max_shift(row.toatoms(), atoms)
            d_screen = abs(float(row.get("e_screen")) - float(e_screen))
            found = {"source": f"{path}#{row.id}", "max_shift_A": shift, "screen_change_eV": d_screen}
            if shift is None or shift > max_shift_A or d_screen > max_screen_eV:
                best = {**best, "status": "moved", **found}
                continue
            kv = {**row.key_value_pairs, "e_screen": float(e_screen), "protocol": fingerprint(protocol)}
            kv.update(set_name=cfg["set"], date=datetime.date.today().isoformat(), carried_from=found["source"])
            kv["max_shift_A"] = shift
            data = {"protocol": protocol, "reference": row.data["reference"]}
            new_id = db.write(atoms, key_value_pairs=kv, data=data)
            found.update(E_dft_eV=float(row.get("e_dft")), row=f"row {new_id} of {path}")
            return {**best, "status": "carried", **found}
    return best
