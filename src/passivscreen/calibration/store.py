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

from ase import Atoms

from passivscreen.calculators import Tier
from passivscreen.calibration.protocol import class_of, fingerprint, screen_protocol, screen_tier_name


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
