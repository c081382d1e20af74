"""ASE database of every calculation (``results/<set>/results.db``), rebuilt from the JSON records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ase import Atoms
from ase.io import read

from passivscreen.analysis.integrity import flags_of, record_backend
from passivscreen.records.files import read_json
from passivscreen.types import E_ADS, E_ADS_PER_LIGAND

#: Key-value pairs stored for each row (ASE db keys must be identifiers; None values are left out).
KEYS = (
    "ligand",
    "anchor",
    "site",
    "site_type",
    "face",
    "tier",
    E_ADS,
    E_ADS_PER_LIGAND,
    "bond_order",
    "d_anchor_Pb_A",
    "charge_transfer_e",
    "status",
    "flags",
    "backend",
    "set",
    "anchor_group",
)


#: ASE's command-line query parser splits an expression at every "=", so ``anchor=P=O`` cannot be
#: parsed by ``ase db``; each row also carries ``anchor_group`` without the "=" (P=O -> PO).
def anchor_group(anchor: str | None) -> str | None:
    return None if anchor is None else anchor.replace("=", "")


def _row(rec: dict[str, Any], set_name: str) -> dict[str, Any]:
    kv = {
        "ligand": rec["ligand"],
        "anchor": rec.get("anchor"),
        "site": rec.get("site"),
        "site_type": rec.get("site_type"),
        "face": rec.get("face"),
        "tier": rec.get("tier", "final"),
        E_ADS: rec.get(E_ADS),
        E_ADS_PER_LIGAND: rec.get(E_ADS_PER_LIGAND),
        "bond_order": rec.get("bond_order"),
        "d_anchor_Pb_A": rec.get("d_anchor_Pb_A"),
        "charge_transfer_e": rec.get("charge_transfer_e"),
        "status": rec.get("status"),
        "flags": ";".join(flags_of(rec)) or "none",
        "backend": record_backend(rec),
        "set": set_name,
        "anchor_group": anchor_group(rec.get("anchor")),
    }
    for key in ("trap_depth_eV",):
        traps = rec.get("traps") or {}
        if key in traps:
            kv["trap_depth_after_eV"] = traps[key]
        before = rec.get("traps_before") or {}
        if key in before:
            kv["trap_depth_before_eV"] = before[key]
    return {k: v for k, v in kv.items() if v is not None}


def update_database(records: list[str | Path], db_path: str | Path, set_name: str) -> int:
    """Insert or update one row per adsorption record; returns the number of rows in the database.

    Rows are keyed by (ligand, site, face, tier): a re-run updates its row and
    never duplicates it. Structures come from the record's ``.extxyz`` next to it.
    """
    from ase.db import connect

    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with connect(str(db_path), append=True) as db:
        for path in records:
            path = Path(path)
            rec = read_json(path)
            kv = _row(rec, set_name)
            xyz = path.with_suffix(".extxyz")
            atoms = read(xyz) if xyz.exists() and xyz.stat().st_size > 0 else Atoms()
            if len(atoms) == 0:
                atoms = Atoms()
            key = {k: kv[k] for k in ("ligand", "site", "face", "tier") if k in kv}
            old = [row.id for row in db.select(**key)]
            data = {"reason": rec.get("reason", ""), "json": str(path)}
            if old:
                for extra in old[1:]:
                    del db[extra]
                db.update(old[0], atoms=atoms, data=data, **kv)
            else:
                db.write(atoms, key_value_pairs=kv, data=data)
        return db.count()
