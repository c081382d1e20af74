"""Calibration data sets: built from (screening, DFT) pairs, shipped as JSON, resolved for a config, applied to rows.

A data set (``presets/calibration.json`` ships with the package) holds the protocol it was made with and its
fingerprint (:mod:`passivscreen.calibration.protocol`), the DFT reference's settings, the package versions,
the date and the command that regenerates it, every pair, each class's fit (:mod:`passivscreen.calibration.fit`)
and the cross-validated statistics. A config names one in ``calibration.data`` (``shipped``, ``none`` or a
path relative to the config file); :func:`resolve` turns it into the small JSON-able table that the ranking
and the funnel apply with :func:`calibrate`.
"""

from __future__ import annotations

import datetime
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from passivscreen.calibration.fit import LEVEL, MIN_MOLECULES, fit_class, half_width, predict
from passivscreen.calibration.groups import functional_group
from passivscreen.calibration.protocol import class_of, differences, fingerprint, screen_protocol, screen_tier_name
from passivscreen.records.provenance import versions
from passivscreen.structures.sites import parse_site

#: The data sets shipped with the package (``calibration.data: shipped``), each for the protocol it was made with:
#: the default protocol's first (``placement.relax_each_tilt`` true, stop 56), then the protocol before it (false).
#: A screen gets the one made with its protocol (:func:`shipped_dataset`).
SHIPPED = ("presets/calibration_each_tilt.json", "presets/calibration.json")

#: How far (eV) outside the screening E_ads its molecules span a linear class's line still holds: a row as close to
#: the range's end as a molecule the carry takes for the same one (``steps.calibrate.MAX_SCREEN_EV``), so that a
#: calibration molecule screened again, a few micro-eV off, is not moved from the line to the shift (0.03-0.08 eV at
#: the ends of the S=O, N=O and thiol lines).
RANGE_TOLERANCE_EV = 0.002

#: Columns of a pair.
PAIR_KEYS = ("ligand", "smiles", "anchor", "binding", "class", "group", "E_screen_eV", "E_dft_eV")

#: Columns of a reduced pair (a complex whose ligand the screen finds reduced, at any site).
REDUCED_KEYS = ("ligand", "smiles", "anchor", "binding", "class", "site", "E_screen_eV", "E_dft_eV")


class CalibrationError(ValueError):
    """A calibration data set that cannot be read or built."""


def _kendall(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import kendalltau

    if len(a) < 2:
        return None
    tau = kendalltau(a, b)[0]
    return None if math.isnan(tau) else float(tau)


def error_statistics(raw: np.ndarray, cal: np.ndarray, dft: np.ndarray) -> dict[str, Any]:
    """n, MAE, largest error and Kendall tau of the raw (``raw``) and calibrated (``cal``) values against ``dft``,
    and the raw mean error."""
    er, ec = raw - dft, cal - dft
    return {
        "n": len(dft),
        "mae_raw_eV": float(np.mean(np.abs(er))),
        "mae_eV": float(np.mean(np.abs(ec))),
        "max_raw_eV": float(np.max(np.abs(er))),
        "max_eV": float(np.max(np.abs(ec))),
        "mean_error_raw_eV": float(np.mean(er)),
        "kendall_tau_raw": _kendall(raw, dft),
        "kendall_tau": _kendall(cal, dft),
    }


def build_dataset(
    pairs: list[dict[str, Any]],
    protocol: dict[str, Any],
    *,
    name: str,
    reference: dict[str, Any] | None = None,
    command: str = "",
    level: float = LEVEL,
    reduced: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A data set from the pairs of one protocol (one pair per molecule and class).

    Each class with at least :data:`MIN_MOLECULES` ``["shift"]`` molecules gets its cross-validated fit; the
    others stay uncalibrated (their rows keep the raw value). ``statistics``: raw and calibrated
    leave-one-molecule-out MAE, largest error and Kendall tau, overall and per class (a molecule of an
    uncalibrated class counts with its raw value). ``pooled``: the raw error of every pair, the interval of a
    row whose class has no fit. ``reduced``: the pairs of complexes whose ligand the screen finds reduced (flag
    ``ligand_reduced[<screen backend>]``, at any site): no class fit covers them (the classes are fitted to Lewis
    donors), so their raw errors give the interval of a flagged row on their own (:func:`calibrate`).
    """
    if not pairs:
        raise CalibrationError("no (screening, DFT) pair to calibrate from")
    rows = [{k: p.get(k) for k in PAIR_KEYS} for p in pairs]
    for r in rows:
        r["class"] = r["class"] or class_of(r["anchor"], r["binding"])
        r["group"] = r["group"] or functional_group(r["smiles"], r["anchor"])
        if r["E_screen_eV"] is None or r["E_dft_eV"] is None:
            raise CalibrationError(f"pair {r['ligand']!r} lacks an energy")
    classes: dict[str, Any] = {}
    uncalibrated: dict[str, str] = {}
    for cls in sorted({r["class"] for r in rows}):
        members = [r for r in rows if r["class"] == cls]
        names = [r["ligand"] for r in members]
        x = [r["E_screen_eV"] for r in members]
        y = [r["E_dft_eV"] for r in members]
        if len(members) < MIN_MOLECULES["shift"]:
            uncalibrated[cls] = f"{len(members)} molecule(s): too few to cross-validate (>= {MIN_MOLECULES['shift']})"
            continue
        classes[cls] = fit_class(names, x, y, level, [r["group"] for r in members]).as_dict()
    loo = loo_values(rows, classes)
    raw = np.array([r["E_screen_eV"] for r in rows])
    dft = np.array([r["E_dft_eV"] for r in rows])
    pred = np.array([loo[r["ligand"]] for r in rows])
    stats = {"overall": error_statistics(raw, pred, dft), "classes": {}}
    for cls in sorted({r["class"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["class"] == cls]
        stats["classes"][cls] = error_statistics(raw[idx], pred[idx], dft[idx])
    return {
        "name": name,
        "created": datetime.date.today().isoformat(),
        "command": command,
        "protocol": protocol,
        "fingerprint": fingerprint(protocol),
        "reference": reference or {},
        "versions": versions(),
        "level": level,
        "pairs": rows,
        "classes": classes,
        "uncalibrated": uncalibrated,
        "pooled": {"n": len(rows), "raw_errors_eV": [float(v) for v in raw - dft]},
        "reduced": reduced_block(reduced or []),
        "statistics": stats,
    }


def reduced_block(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """The data set's reduced complexes: their pairs (one per molecule, class and site) and raw errors."""
    rows = [{k: p.get(k) for k in REDUCED_KEYS} for p in pairs]
    for r in rows:
        r["class"] = r["class"] or class_of(r["anchor"], r["binding"])
        if r["E_screen_eV"] is None or r["E_dft_eV"] is None:
            raise CalibrationError(f"reduced pair {r['ligand']!r} at {r['site']} lacks an energy")
    return {
        "n": len(rows),
        "pairs": rows,
        "raw_errors_eV": [float(r["E_screen_eV"] - r["E_dft_eV"]) for r in rows],
    }


def screen_reduced(record: dict[str, Any], backend: str | None) -> bool:
    """Whether the screening level (``backend``) flagged a record's ligand reduced (``ligand_reduced[backend]``)."""
    from passivscreen.analysis.integrity import flags_of

    return backend is not None and f"ligand_reduced[{backend}]" in flags_of(record)


def loo_values(pairs: list[dict[str, Any]], classes: dict[str, Any]) -> dict[str, float]:
    """Each molecule's leave-one-molecule-out calibrated E_ads (its raw value in a class without a fit)."""
    out = {p["ligand"]: p["E_screen_eV"] for p in pairs}
    dft = {p["ligand"]: p["E_dft_eV"] for p in pairs}
    for fit in classes.values():
        out.update({name: dft[name] + r for name, r in zip(fit["molecules"], fit["loo_residuals_eV"])})
    return out


def read_dataset(path: str | Path) -> dict[str, Any]:
    """A data set from its JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise CalibrationError(f"calibration data set {path}: {err}") from err
    missing = [k for k in ("name", "fingerprint", "protocol", "pairs", "classes") if k not in data]
    if missing:
        raise CalibrationError(f"calibration data set {path}: not a calibration data set (missing {missing})")
    return data


def shipped_dataset(protocol: str | None = None) -> dict[str, Any] | None:
    """The shipped data set made with the protocol of fingerprint ``protocol``, else the default protocol's (the
    first of :data:`SHIPPED`; None if none is shipped)."""
    files = (resources.files("passivscreen").joinpath(name) for name in SHIPPED)
    sets = [json.loads(f.read_text()) for f in files if f.is_file()]
    return next((d for d in sets if d["fingerprint"] == protocol), sets[0] if sets else None)


def dataset_path(cfg: dict[str, Any]) -> str:
    """``shipped``, ``none`` or the path of the config's data set (made absolute by validation)."""
    return str((cfg.get("calibration") or {}).get("data", "shipped"))


def resolve(cfg: dict[str, Any]) -> dict[str, Any]:
    """The calibration a validated config's ranking applies (JSON-able).

    ``{"name", "active", "reason", "tier", "level", "classes": {class: {model, a, b, half_width_eV, n}},
    "uncalibrated": {class: why}, "pooled_half_width_eV"}``; ``active`` is False (with the reason) when the
    config asks for none, no data set is found, or the data set's protocol is not the config's (the keys that
    differ are named).
    """
    level = float((cfg.get("calibration") or {}).get("level", LEVEL))
    protocol = screen_protocol(cfg)
    out: dict[str, Any] = {"name": "none", "active": False, "tier": screen_tier_name(cfg), "level": level}
    where = dataset_path(cfg)
    if where == "none":
        return {**out, "reason": "calibration.data: none"}
    data = shipped_dataset(fingerprint(protocol)) if where == "shipped" else read_dataset(where)
    if data is None:
        return {**out, "reason": "no calibration data set shipped"}
    out["name"] = data["name"]
    if data["fingerprint"] != fingerprint(protocol):
        diff = differences(data["protocol"], protocol)
        return {**out, "reason": f"protocol differs from {data['name']}'s ({', '.join(diff[:4]) or 'fingerprint'})"}
    classes = {}
    for cls, fit in data["classes"].items():
        hw = fit["half_width_eV"] if math.isclose(level, fit["level"]) else half_width(fit["loo_residuals_eV"], level)
        new = fit.get("new_group_residuals_eV") or []
        shift = fit.get("shift_residuals_eV") or []
        classes[cls] = {
            "model": fit["model"],
            "a": fit["a"],
            "b": fit["b"],
            "group_shifts_eV": dict(fit.get("group_shifts_eV") or {}),
            "half_width_eV": hw,
            "groups": list(fit.get("groups") or []),
            "new_group_half_width_eV": half_width(new, level) if new else None,
            "n": fit["n"],
            "range_eV": list(fit.get("range_eV") or []),
            "shift_b_eV": fit.get("shift_b_eV"),
            "shift_half_width_eV": half_width(shift, level) if shift else None,
        }
    pooled = data["pooled"]["raw_errors_eV"]
    reduced = (data.get("reduced") or {}).get("raw_errors_eV") or []
    return {
        **out,
        "active": True,
        "reason": "",
        "backend": data["protocol"].get("backend"),
        "classes": classes,
        "uncalibrated": dict(data.get("uncalibrated") or {}),
        "pooled_half_width_eV": half_width(pooled, level),
        "reduced_n": len(reduced),
        "reduced_half_width_eV": half_width(reduced, level) if len(reduced) >= 2 else None,
    }


def calibrate(
    cal: dict[str, Any] | None,
    *,
    anchor: str | None,
    binding: str | None,
    site: str | None,
    tier: str | None,
    e_raw: float | None,
    convergence: float | None = None,
    smiles: str | None = None,
    reduced: bool = False,
) -> tuple[float | None, float | None, str]:
    """A row's calibrated E_ads per ligand, the interval's half-width and the ``calibration`` column.

    A row of the calibrated tier, on a pristine site, whose class has a fit: ``a E + b`` with the class's
    half-width (combined in quadrature with the convergence uncertainty ``convergence``), column = the data
    set's name; where the class's model is ``group``, the shift of the molecule's functional group (from
    ``smiles``; the class's shift for a group the data set lacks, and the column says so). Otherwise the raw
    value, with the interval of what is known (the pooled raw error of the data set when its protocol matches,
    and the convergence uncertainty), and the column says why (``none: ...``).
    A row of another tier (a DFT funnel tier) keeps its value, no interval.

    A row whose ligand the screen finds ``reduced`` (it took electrons from the surface: a radical anion, not a
    Lewis donor) is outside every class fit, at any site: the raw value, with the interval of the data set's
    reduced complexes (Student's t times the RMS of their raw errors), or none
    when the data set has fewer than two such complexes (the column says so: an error bar from the donors would
    be believed and is not what was measured).
    """
    conv = 0.0 if convergence is None or (isinstance(convergence, float) and math.isnan(convergence)) else convergence
    if e_raw is None or (isinstance(e_raw, float) and math.isnan(e_raw)):
        return None, None, "none: no E_ads"
    if not cal:
        return e_raw, conv or None, "none: no calibration"
    if tier is not None and tier != cal["tier"]:
        return e_raw, None, f"none: {tier} is not the calibrated tier ({cal['tier']})"
    if not cal["active"]:
        return e_raw, conv or None, f"none: {cal['reason']}"
    if reduced:
        hw, n = cal.get("reduced_half_width_eV"), cal.get("reduced_n", 0)
        if hw is None:
            why = f"none: ligand reduced in the screen, {n} reduced complex(es) in {cal['name']}: no interval"
            return e_raw, None, why
        why = f"none: ligand reduced in the screen (interval of {n} reduced complexes at DFT in {cal['name']})"
        return e_raw, math.hypot(hw, conv), why
    pooled = cal["pooled_half_width_eV"]
    kind = parse_site(site)[0] if site and "-Pb" in site else (site or "pristine")
    if kind != "pristine":
        why = f"none: site {kind} (the data set has pristine sites only)"
        return e_raw, math.hypot(pooled, conv), why
    cls = class_of(anchor, binding)
    fit = cal["classes"].get(cls or "")
    if fit is None:
        why = (cal.get("uncalibrated") or {}).get(cls or "")
        why = f"uncalibrated in {cal['name']} ({why})" if why else f"not in {cal['name']}"
        return e_raw, math.hypot(pooled, conv), f"none: class {cls} {why}"
    seen = fit.get("groups") or []
    group = functional_group(smiles, anchor) if fit["model"] == "group" or seen else None
    how, hw = cal["name"], fit["half_width_eV"]
    if group is not None and seen and group not in seen:
        # a functional group the data set lacks: the class's correction, with the error measured for a group the
        # fit did not see (leave one group out), or the pooled raw error where the class has one group only
        new = fit.get("new_group_half_width_eV")
        hw = max(hw, new if new is not None else pooled)
        fix = "class shift" if fit["model"] == "group" else "class fit"
        how += f" ({fix}: group {group} not in the data set; interval of a new group)"
    elif fit["model"] == "group" and group not in (fit.get("group_shifts_eV") or {}):
        how += f" (class shift: group {group} not in the data set)"
    lo, hi = fit.get("range_eV") or (-math.inf, math.inf)
    outside = not lo - RANGE_TOLERANCE_EV <= e_raw <= hi + RANGE_TOLERANCE_EV
    if fit["model"] == "linear" and fit.get("shift_b_eV") is not None and outside:
        # a line is not carried beyond the screening E_ads its molecules span: the class's shift, with the larger
        # interval of the two models
        how += f" (class shift: {e_raw:.3f} eV outside the line's range {lo:.3f} to {hi:.3f} eV)"
        return e_raw + fit["shift_b_eV"], math.hypot(max(hw, fit["shift_half_width_eV"]), conv), how
    return predict(fit, e_raw, group), math.hypot(hw, conv), how
