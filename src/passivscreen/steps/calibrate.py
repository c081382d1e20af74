"""Step: ``passivscreen calibrate``, a calibration data set from the DFT rows of finished runs, the shipped set and
stores (:mod:`passivscreen.calibration`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from passivscreen.calculators import funnel_tiers, tiers_from_config
from passivscreen.calibration.dataset import (
    CalibrationError,
    build_dataset,
    dataset_path,
    read_dataset,
    shipped_dataset,
)
from passivscreen.calibration.fit import LEVEL
from passivscreen.calibration.protocol import fingerprint, screen_protocol, screen_tier_name
from passivscreen.calibration.store import covered, pair_of, read_pairs, reference_of
from passivscreen.records.files import read_json
from passivscreen.records.layout import Results
from passivscreen.steps.funnel import funnel_paths
from passivscreen.steps.rank import planned_complexes


def pairs_from_run(
    cfg: dict[str, Any], partial: bool = False, reduced: bool = False
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The (screening, DFT) pairs of a validated config's finished run (its last funnel tier's rows with status
    ok, pristine sites, one ligand per face, the ligand not reduced in the screen) and the DFT reference's
    settings; ``partial``: of the rows in so far (a preliminary look at a run still going), else a row not
    computed yet is an error. ``reduced``: instead the rows whose ligand the screen found reduced, at any site."""
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
        if rec.get("status") != "ok":
            continue
        pair = pair_of(rec, screen)
        if pair["reduced"] == reduced and (reduced or covered(pair["site"], pair["faces"])):
            pairs.append({**pair, "source": str(path)})
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
    protocol_of: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A data set from the shipped set's pairs (``shipped``), the finished runs of ``configs`` and the ``stores``;
    ``protocol_of``: of that config's screening protocol and DFT reference (a store holds several).

    Every source must share one screening protocol and one DFT reference (the shipped set's, else the first
    config's, else the most common of the stores); store rows of others are left out, a config of another
    protocol is refused. ``partial``: a config's run may still be going (its finished rows only). A molecule
    (SMILES and class) in several sources counts once: the last source wins. The rows whose ligand the screen
    found reduced (any site) are gathered the same way, one per molecule, class and site, into the data set's
    ``reduced`` block.
    """
    protocol, reference = _protocol_and_reference(protocol_of)
    pairs: dict[tuple[str, ...], dict[str, Any]] = {}
    reduced: dict[tuple[str, ...], dict[str, Any]] = {}

    def key(p: dict[str, Any]) -> tuple[str, ...]:
        return (p["smiles"] or p["ligand"], p["class"])

    def rkey(p: dict[str, Any]) -> tuple[str, ...]:
        return (*key(p), p.get("site") or "")

    if shipped:
        data = shipped_dataset(None if protocol is None else fingerprint(protocol))
        if data is None:
            raise CalibrationError("no shipped calibration data set (use --no-shipped)")
        if protocol is not None and data["fingerprint"] != fingerprint(protocol):
            name = (protocol_of or {}).get("set")
            raise CalibrationError(f"no shipped data set of the protocol of set {name!r} (use --no-shipped)")
        protocol, reference = data["protocol"], data["reference"]
        for p in data["pairs"]:
            pairs[key(p)] = {**p, "source": f"shipped:{data['name']}"}
        for p in (data.get("reduced") or {}).get("pairs", []):
            reduced[rkey(p)] = {**p, "source": f"shipped:{data['name']}"}
    for cfg in configs:
        got, ref = pairs_from_run(cfg, partial)
        prot = screen_protocol(cfg)
        if protocol is None:
            protocol, reference = prot, ref
        if fingerprint(prot) != fingerprint(protocol) or fingerprint(ref) != fingerprint(reference):
            raise CalibrationError(
                f"set {cfg['set']!r}: another screening protocol or DFT reference than the data set's"
            )
        pairs.update({key(p): p for p in got})
        reduced.update({rkey(p): p for p in pairs_from_run(cfg, partial, reduced=True)[0]})
    for store in stores:
        if not Path(store).is_file():
            raise CalibrationError(f"calibration store {store}: no such file")
        rows = read_pairs(store) if protocol is None else []  # every protocol's: only to pick the most common
        if protocol is None and rows:
            pick, _ = Counter((r["protocol_fingerprint"], r["reference_fingerprint"]) for r in rows).most_common(1)[0]
            protocol, reference = _protocols_of(store, *pick)
        want = (fingerprint(protocol or {}), fingerprint(reference or {}))
        # the latest pair of each molecule among this protocol's rows (not the latest of any protocol, left out)
        pairs.update({key(r): r for r in read_pairs(store, *want)})
        red = read_pairs(store, *want, reduced=True)
        reduced.update({rkey(r): r for r in red})
    if protocol is None:
        raise CalibrationError("no source given: name a finished config, a store, or keep the shipped set")
    return build_dataset(
        list(pairs.values()),
        protocol,
        name=name,
        reference=reference,
        command=command,
        level=level,
        reduced=list(reduced.values()),
    )


def _protocol_and_reference(cfg: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The screening protocol and DFT reference of a config (its run is not read); (None, None) without one."""
    if cfg is None:
        return None, None
    funnel = funnel_tiers(tiers_from_config(cfg))
    if not funnel:
        raise CalibrationError(f"set {cfg['set']!r} has no funnel tier: no DFT reference to calibrate to")
    return screen_protocol(cfg), reference_of(funnel[-1])


def _protocols_of(store: str | Path, protocol: str, reference: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The full screening protocol and DFT reference of a store's rows with these fingerprints."""
    from ase.db import connect

    with connect(str(store)) as db:
        row = next(db.select(protocol=protocol, reference=reference, limit=1))
    return row.data["protocol"], row.data["reference"]


def check_calibration(cfg: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """How the calibration a validated config resolves (:func:`~passivscreen.calibration.resolve`: the shipped
    data set unless ``calibration.data`` names another) does on that config's own DFT rows, finished so far: the
    held-out test of a data set, on molecules it was not made from.

    Returns one row per DFT pair (molecule, class, group, screening E_ads, the calibrated value and the half-width
    of its interval as the ranking gives them, DFT E_ads, both errors, whether DFT lies inside the interval and
    whether the data set holds the molecule) and a summary over the molecules the data set does not hold
    (``held_out``) and over all: n, MAE raw and calibrated, largest errors, Kendall tau raw and calibrated, and
    the share of DFT values inside their interval (at ``level``; expected about ``level`` for an honest
    interval). Raises :class:`CalibrationError` when the config has no DFT tier or the calibration does not
    apply to its protocol (the reason is said).
    """
    import numpy as np

    from passivscreen.calibration.dataset import calibrate, error_statistics, resolve
    from passivscreen.calibration.groups import functional_group

    cal = resolve(cfg)
    if not cal["active"]:
        raise CalibrationError(f"calibration {cal['name']} does not apply to set {cfg['set']!r}: {cal['reason']}")
    shipped = dataset_path(cfg) == "shipped"
    data = shipped_dataset(fingerprint(screen_protocol(cfg))) if shipped else read_dataset(dataset_path(cfg))
    known = {_canonical(p.get("smiles")) for p in (data or {}).get("pairs", [])} - {None}
    pairs, _ = pairs_from_run(cfg, partial=True)
    rows = []
    for p in pairs:
        e_cal, hw, how = calibrate(
            cal,
            anchor=p["anchor"],
            binding=p["binding"],
            site="pristine",
            tier=cal["tier"],
            e_raw=p["E_screen_eV"],
            smiles=p["smiles"],
        )
        rows.append(
            {
                "ligand": p["ligand"],
                "class": p["class"],
                "group": functional_group(p["smiles"], p["anchor"]),
                "E_screen_eV": p["E_screen_eV"],
                "E_calibrated_eV": e_cal,
                "interval_eV": hw,
                "E_dft_eV": p["E_dft_eV"],
                "error_raw_eV": p["E_screen_eV"] - p["E_dft_eV"],
                "error_calibrated_eV": e_cal - p["E_dft_eV"],
                "inside": bool(hw is not None and abs(e_cal - p["E_dft_eV"]) <= hw),
                "calibration": how,
                "in_data_set": _canonical(p["smiles"]) in known,
            }
        )

    def summary(sub: list[dict[str, Any]]) -> dict[str, Any] | None:
        if not sub:
            return None
        raw, cal_e, dft = (np.array([r[k] for r in sub]) for k in ("E_screen_eV", "E_calibrated_eV", "E_dft_eV"))
        return {**error_statistics(raw, cal_e, dft), "coverage": float(np.mean([r["inside"] for r in sub]))}

    held = [r for r in rows if not r["in_data_set"]]
    return rows, {"data_set": cal["name"], "level": cal["level"], "held_out": summary(held), "all": summary(rows)}


def _canonical(smiles: str | None) -> str | None:
    """The canonical SMILES, or None when there is none or it does not parse."""
    from passivscreen.ligands import canonical_smiles
    from passivscreen.ligands.errors import LigandError

    try:
        return canonical_smiles(smiles) if smiles else None
    except LigandError:
        return None


#: A stored pair is carried to a new search when the new screen's complex is within MAX_SHIFT_A of the stored one (A,
#: the largest displacement of any atom) and its screening E_ads within MAX_SCREEN_EV: the same minimum, reached again
#: (a start relaxed again ends 0.01-0.03 A and under 1 meV from where it ended before; a new minimum is Angstroms and
#: 0.1 eV away). The screening energy is the sharper gate: the DFT energy near a minimum moves as little as it does.
MAX_SHIFT_A = 0.05
MAX_SCREEN_EV = 0.002


def carry_pairs(
    cfg: dict[str, Any], max_shift_A: float = MAX_SHIFT_A, max_screen_eV: float = MAX_SCREEN_EV
) -> list[dict[str, Any]]:
    """``passivscreen calibrate --carry CONFIG``: the stored pairs (``calibration.store``) that the finished screen of
    ``cfg`` reproduces after a change of its search, written again under its protocol
    (:func:`~passivscreen.calibration.store.carry_pair`); then ``calibration.skip_stored`` leaves those molecules out
    of the DFT run, and only the complexes the new search moved are computed again. One row per finished complex
    (pristine, or at a vacancy where the store holds a reduced pair): carried, already stored, moved (the DFT tier
    has to run) or none (no stored pair to carry)."""

    from passivscreen.calibration.store import carry_pair
    from passivscreen.steps.funnel import tier_systems

    store = (cfg.get("calibration") or {}).get("store")
    funnel = funnel_tiers(tiers_from_config(cfg))
    if not store or not funnel:
        raise CalibrationError(f"set {cfg['set']!r}: --carry needs calibration.store and a DFT funnel tier")
    if not Path(store).is_file():
        raise CalibrationError(f"set {cfg['set']!r}: no calibration store at {store}")
    layout, out = Results.for_set(cfg["set"]), []
    for ligand, site, face in planned_complexes(cfg):
        path = Path(layout.complex(ligand, site, face).json)
        if not path.exists():  # a vacancy row too: the store keeps those the screen found reduced
            continue
        rec = {**read_json(path), "_path": str(path)}
        if rec.get("status") != "ok":
            continue
        _, cx, _, _, _ = tier_systems(cfg, funnel[-1], rec)
        out.append(carry_pair(store, cfg, funnel[-1], rec, cx, max_shift_A=max_shift_A, max_screen_eV=max_screen_eV))
    return out
