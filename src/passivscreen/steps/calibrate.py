"""Step: ``passivscreen calibrate``, a calibration data set from the DFT rows of finished runs, the shipped set and
stores (:mod:`passivscreen.calibration`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from passivscreen.calculators import funnel_tiers, tiers_from_config
from passivscreen.calibration.dataset import CalibrationError, build_dataset, shipped_dataset
from passivscreen.calibration.fit import LEVEL
from passivscreen.calibration.protocol import fingerprint, screen_protocol, screen_tier_name
from passivscreen.calibration.store import covered, pair_of, read_pairs, reference_of
from passivscreen.records.files import read_json
from passivscreen.records.layout import Results
from passivscreen.steps.funnel import funnel_paths
from passivscreen.steps.rank import planned_complexes


def pairs_from_run(cfg: dict[str, Any], partial: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The (screening, DFT) pairs of a validated config's finished run (its last funnel tier's rows with status
    ok, pristine sites, one ligand per face) and the DFT reference's settings; ``partial``: of the rows in so far
    (a preliminary look at a run still going), else a row not computed yet is an error."""
    funnel = funnel_tiers(tiers_from_config(cfg))
    if not funnel:
        raise CalibrationError(f"config set {cfg['set']!r} has no funnel tier (top_k): no DFT partner to calibrate to")
    tier, screen = funnel[-1], screen_tier_name(cfg)
    layout = Results.for_set(cfg["set"])
    complexes = planned_complexes(cfg)
    paths = funnel_paths(layout, tier, complexes)
    pairs, missing = [], 0
    for path in map(Path, paths):
        if not path.exists():
            missing += 1
            continue
        rec = read_json(path)
        if rec.get("status") == "ok" and covered(rec.get("site"), rec.get("face", "top")):
            pairs.append({**pair_of(rec, screen), "source": str(path)})
    if missing and not partial:
        raise CalibrationError(
            f"set {cfg['set']!r}: {missing} of {len(paths)} {tier.name} rows not computed yet (finish the run first)"
        )
    return pairs, reference_of(tier)


def calibrate_from(
    configs: list[dict[str, Any]],
    stores: list[str | Path],
    *,
    name: str,
    shipped: bool = True,
    level: float = LEVEL,
    command: str = "",
    partial: bool = False,
) -> dict[str, Any]:
    """A data set from the shipped set's pairs (``shipped``), the finished runs of ``configs`` and the ``stores``.

    Every source must share one screening protocol and one DFT reference (the shipped set's, else the first
    config's, else the most common of the stores); store rows of others are left out, a config of another
    protocol is refused. ``partial``: a config's run may still be going (its finished rows only). A molecule
    (SMILES and class) in several sources counts once: the last source wins.
    """
    protocol = reference = None
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    if shipped:
        data = shipped_dataset()
        if data is None:
            raise CalibrationError("no shipped calibration data set (use --no-shipped)")
        protocol, reference = data["protocol"], data["reference"]
        for p in data["pairs"]:
            pairs[(p["smiles"] or p["ligand"], p["class"])] = {**p, "source": f"shipped:{data['name']}"}
    for cfg in configs:
        got, ref = pairs_from_run(cfg, partial)
        prot = screen_protocol(cfg)
        if protocol is None:
            protocol, reference = prot, ref
        if fingerprint(prot) != fingerprint(protocol) or fingerprint(ref) != fingerprint(reference):
            raise CalibrationError(
                f"set {cfg['set']!r}: another screening protocol or DFT reference than the data set's"
            )
        pairs.update({(p["smiles"] or p["ligand"], p["class"]): p for p in got})
    for store in stores:
        if not Path(store).is_file():
            raise CalibrationError(f"calibration store {store}: no such file")
        rows = read_pairs(store)
        if protocol is None and rows:
            pick, _ = Counter((r["protocol_fingerprint"], r["reference_fingerprint"]) for r in rows).most_common(1)[0]
            protocol, reference = _protocols_of(store, *pick)
        want = (fingerprint(protocol or {}), fingerprint(reference or {}))
        for r in rows:
            if (r["protocol_fingerprint"], r["reference_fingerprint"]) == want:
                pairs[(r["smiles"] or r["ligand"], r["class"])] = r
    if protocol is None:
        raise CalibrationError("no source given: name a finished config, a store, or keep the shipped set")
    return build_dataset(list(pairs.values()), protocol, name=name, reference=reference, command=command, level=level)


def _protocols_of(store: str | Path, protocol: str, reference: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The full screening protocol and DFT reference of a store's rows with these fingerprints."""
    from ase.db import connect

    with connect(str(store)) as db:
        row = next(db.select(protocol=protocol, reference=reference, limit=1))
    return row.data["protocol"], row.data["reference"]
