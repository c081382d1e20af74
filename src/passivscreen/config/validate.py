"""Configuration: schema validation with defaults, then chemistry checks before any compute."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from passivscreen.calculators import BackendError, check_elements, get_backend
from passivscreen.calculators.tier import TOP_MAX
from passivscreen.config.checks import (
    check_backends,
    check_convergence_accuracy,
    check_embedding,
    check_finite,
    check_hold,
    check_names,
    check_thresholds,
)
from passivscreen.config.errors import ConfigError
from passivscreen.config.ligand_checks import check_ligands, resolve_structures
from passivscreen.config.ligand_file import expand_ligands_file
from passivscreen.schema import schema
from passivscreen.structures import SlabError, build_slab, surface_pb_indices
from passivscreen.structures.cells import AUTO_MIN, is_auto, slab_spec


def field_path(parts: Any) -> str:
    """A config field's name from its path: ``ligands[0].smiles``, ``slab.vacuum``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def apply_schema(config: dict[str, Any]) -> dict[str, Any]:
    """Validate against the schema and fill defaults (returns a new dict)."""
    import jsonschema

    cfg = copy.deepcopy(config)
    validator_cls = jsonschema.validators.validator_for(schema())

    def set_defaults(validator, properties, instance, sch):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from validator_cls.VALIDATORS["properties"](validator, properties, instance, sch)

    filling = jsonschema.validators.extend(validator_cls, {"properties": set_defaults})
    errors = sorted(filling(schema()).iter_errors(cfg), key=lambda e: [(isinstance(p, int), str(p)) for p in e.path])
    if errors:
        err = errors[0]
        where = field_path(err.absolute_path) or "(top level)"
        if err.absolute_path and err.absolute_path[0] == "ligands" and len(err.absolute_path) > 1:
            lig = config["ligands"][err.absolute_path[1]]
            if isinstance(lig, dict) and "name" in lig:
                where += f" (ligand '{lig['name']}')"
        raise ConfigError(f"config field {where}: {err.message}")
    return cfg


def _check_tiers(chain: list[dict[str, Any]]) -> None:
    """Unique names, known backends, and a funnel (``top_k``) only at the end: single points, k not growing."""
    names = [t.get("name", t["backend"]) for t in chain]
    if len(set(names)) != len(names):
        raise ConfigError(f"config field tiers: tier names must be unique, got {names} (set 'name')")
    for i, tier in enumerate(chain):
        try:
            get_backend(tier["backend"])
        except BackendError as err:
            raise ConfigError(f"config field tiers[{i}].backend: {err}") from err
    funnel = [i for i, t in enumerate(chain) if t.get("top_k") is not None]
    for i, t in enumerate(chain[: funnel[0] if funnel else len(chain)]):
        if t.get("vacuum") is not None:
            raise ConfigError(f"config field tiers[{i}].vacuum: only funnel tiers (top_k) have their own cell")
    if not funnel:
        return
    first = funnel[0]
    if first == 0:
        raise ConfigError(
            "config field tiers[0].top_k: the first tier sees every ligand (a funnel needs a tier before)"
        )
    if funnel != list(range(first, len(chain))):
        raise ConfigError(f"config field tiers: every tier after tiers[{first}] (a funnel tier) needs top_k too")
    for i in funnel:
        if chain[i]["task"] != "single_point":
            raise ConfigError(
                f"config field tiers[{i}].task: a funnel tier (top_k) evaluates the previous "
                "tier's geometry: task must be single_point"
            )
        if chain[i]["top_k"] == "all" and i > first:
            raise ConfigError(
                f"config field tiers[{i}].top_k: all (every row, each as soon as it is in) only on the first "
                "funnel tier"
            )
        auto = chain[i]["top_k"] == "auto"
        for key in ("top_n", "top_max"):
            if chain[i].get(key) is not None and not auto:
                raise ConfigError(f"config field tiers[{i}].{key}: only for top_k: auto")
        if auto and chain[i].get("top_n", 1) > chain[i].get("top_max", TOP_MAX):
            raise ConfigError(
                f"config field tiers[{i}].top_n: {chain[i]['top_n']} is more than top_max "
                f"({chain[i].get('top_max', TOP_MAX)})"
            )
        if i > first and _planned(chain[i]) > _planned(chain[i - 1]):
            raise ConfigError(
                f"config field tiers[{i}].top_k: {_planned(chain[i])} is more than the "
                f"{_planned(chain[i - 1])} rows the tier before it evaluates"
            )


def _planned(tier: dict[str, Any]) -> int | float:
    """The rows a funnel tier entry evaluates at most (``top_max`` for ``top_k: auto``, unbounded for all)."""
    if tier["top_k"] == "all":
        return float("inf")
    return int(tier.get("top_max", TOP_MAX)) if tier["top_k"] == "auto" else int(tier["top_k"])


def _check_calibration(cfg: dict[str, Any], base: str | Path | None) -> None:
    """``calibration.data`` (a path: relative to ``base``, made absolute, readable as a data set) and
    ``calibration.store`` (its folder exists; made absolute)."""
    from passivscreen.calibration import CalibrationError, read_dataset

    cal = cfg["calibration"]
    if cal["data"] not in ("shipped", "none"):
        path = Path(cal["data"]).expanduser()
        path = path if path.is_absolute() else Path(base or ".") / path
        try:
            read_dataset(path)
        except CalibrationError as err:
            raise ConfigError(f"config field calibration.data: {err}") from err
        cal["data"] = str(path.resolve())
    if cal.get("store"):
        path = Path(cal["store"]).expanduser()
        path = path if path.is_absolute() else Path(base or ".") / path
        if path.suffix != ".db":
            raise ConfigError(f"config field calibration.store: {path} is not an ASE database file (.db)")
        if not path.parent.is_dir():
            raise ConfigError(f"config field calibration.store: folder {path.parent} does not exist")
        cal["store"] = str(path.resolve())
    if cal.get("skip_stored") and not cal.get("store"):
        raise ConfigError("config field calibration.skip_stored: needs calibration.store (the pairs to skip)")
    if cal.get("skip_stored") and not any(t.get("top_k") is not None for t in cfg.get("tiers") or []):
        raise ConfigError("config field calibration.skip_stored: no funnel tier (top_k) makes the pairs it would skip")


def validate_config(config: dict[str, Any], base: str | Path | None = None) -> dict[str, Any]:
    """Full validation before compute; returns the config with defaults.

    Checks, in this order: finite numbers, the schema (unknown keys, types, bounds), names that become
    paths, duplicate ligand names, thresholds that must agree, freed slab atoms only on backends that hold
    the slab, the backends (known, their parameters in the engine's domain, installed), the tiers, the
    convergence harness's accuracies, the slab (charge-neutral, the backends' elements, the chosen sites),
    every ligand entry (its keys agree; the placed species and references as the run decides them, each
    computable by every backend) and the 3D embedding of every molecule a ligand's run computes; then the
    rows of ``ligands_file`` (relative to ``base``, the config file's folder), each with the same checks
    (:func:`passivscreen.config.ligand_file.expand_ligands_file`), appended to ``ligands``.

    Raises
    ------
    ConfigError
        With a message that names the ligand and the config field.
    """
    check_finite(config)
    cfg = apply_schema(config)
    check_names(cfg)
    names = [lig["name"] for lig in cfg["ligands"]]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise ConfigError(f"config field ligands: duplicate ligand name(s) {dups}")
    cfg = resolve_structures(cfg, base)
    check_thresholds(cfg)
    check_hold(cfg)
    check_backends(cfg)
    chain = cfg.get("tiers") or []
    _check_tiers(chain)
    check_convergence_accuracy(cfg)
    _check_calibration(cfg, base)
    backends = [("calculator", cfg["calculator"]["backend"])] + [
        (f"tiers[{i}]", t["backend"]) for i, t in enumerate(chain)
    ]
    _check_slab(cfg, backends)
    engines = [name for _, name in backends]
    check_embedding(cfg, check_ligands(cfg, engines))
    cfg = expand_ligands_file(cfg, base, engines)
    if not cfg["ligands"]:
        raise ConfigError("config field ligands: no ligand (give ligands, ligands_file or both)")
    if cfg["calibration"]["skip_stored"]:
        cfg = _skip_stored(cfg)
    return cfg


def _skip_stored(cfg: dict[str, Any]) -> dict[str, Any]:
    """``calibration.skip_stored``: the config without the ligands whose pair is in the store already
    (:func:`passivscreen.calibration.store.stored_ligands`); they are listed in ``stored_report``."""
    from passivscreen.calibration.store import stored_ligands

    stored = stored_ligands(cfg)
    if stored and len(stored) == len(cfg["ligands"]):
        raise ConfigError(
            f"config field calibration.skip_stored: every ligand's pair is in {cfg['calibration']['store']} "
            "already: nothing to run (passivscreen calibrate --no-shipped STORE fits from it)"
        )
    out = {**cfg, "ligands": [lig for lig in cfg["ligands"] if lig["name"] not in stored]}
    out["stored_report"] = stored
    return out


def _check_slab(cfg: dict[str, Any], backends: list[tuple[str, str]]) -> None:
    """The slab can be built, is charge-neutral, its elements suit every backend, the chosen sites exist."""
    auto = is_auto(cfg)
    if auto and cfg["placement"]["sites"] != "all":
        raise ConfigError(
            "config field placement.sites: Pb indices name the atoms of one cell; with slab.repeat: auto each "
            "ligand has its own cell: give slab.repeat [n, n] with placement.sites, or sites: all"
        )
    try:
        slab = build_slab(slab_spec(cfg, repeat=(AUTO_MIN, AUTO_MIN) if auto else None))
    except SlabError as err:
        raise ConfigError(f"config field slab: {err}") from err
    for where, name in backends:
        try:
            check_elements(name, set(slab.get_chemical_symbols()), periodic=True)
        except BackendError as err:
            raise ConfigError(f"config field {where}.backend: {err} (the slab)") from err
    sites = cfg["placement"]["sites"]
    if sites != "all":
        top = surface_pb_indices(slab)
        bad = [s for s in sites if s >= len(slab) or s not in top]
        if bad:
            raise ConfigError(f"config field placement.sites: {bad} are not top-face Pb (choose from {top})")
