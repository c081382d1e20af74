"""Checks of a config after its schema: names that become paths, finite numbers, thresholds that agree,
backends and their parameters, and every ligand embedded in 3D, all before any compute."""

from __future__ import annotations

import math
import re
from typing import Any

from passivscreen.calculators import BackendError, get_backend, unavailable_reason
from passivscreen.config.errors import ConfigError

#: Methods tblite knows (``calculator.params.method`` of an xTB backend).
TBLITE_METHODS = ("GFN2-xTB", "GFN1-xTB", "IPEA1-xTB")

#: Seconds RDKit may spend embedding one ligand during validation.
EMBED_TIMEOUT_S = 3


def non_finite(value: Any, where: str = "") -> list[str]:
    """Paths of every NaN or infinite number in ``value`` (a parsed config)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, float):
        return [] if math.isfinite(value) else [where or "(top level)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in non_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in non_finite(v, f"{where}[{i}]")]
    return []


def check_finite(config: dict[str, Any]) -> None:
    """Refuse NaN and infinity anywhere (YAML's .nan and .inf pass a schema's bounds)."""
    bad = non_finite(config)
    if bad:
        raise ConfigError(f"config field {bad[0]}: must be a finite number, not NaN or infinity")


def _path_name(value: str, what: str) -> None:
    if re.fullmatch(r"\.+", value):
        raise ConfigError(f"config field {what}: {value!r} is not a name (only dots: it would leave results/)")


def check_names(cfg: dict[str, Any]) -> None:
    """Names that become folders and files: not dots only, and ligands distinct even ignoring case
    (two names that differ only in case are one file on a case-insensitive disk)."""
    _path_name(cfg["set"], "set")
    seen: dict[str, str] = {}
    for i, lig in enumerate(cfg["ligands"]):
        _path_name(lig["name"], f"ligands[{i}].name")
        other = seen.get(lig["name"].lower())
        if other is not None and other != lig["name"]:
            raise ConfigError(
                f"config field ligands[{i}].name: {lig['name']!r} and {other!r} differ only in case "
                "(one file on a case-insensitive disk)"
            )
        seen[lig["name"].lower()] = lig["name"]
    for i, tier in enumerate(cfg.get("tiers") or []):
        if tier.get("name"):
            _path_name(tier["name"], f"tiers[{i}].name")


def check_thresholds(cfg: dict[str, Any]) -> None:
    """Thresholds that must agree with each other."""
    integ = cfg["integrity"]
    if integ["pb_br_broken"] <= integ["pb_br_bond"]:
        raise ConfigError(
            f"config field integrity.pb_br_broken: {integ['pb_br_broken']} A must exceed integrity.pb_br_bond "
            f"({integ['pb_br_bond']} A): a bond cannot be broken at a shorter distance than it exists"
        )


def check_backends(cfg: dict[str, Any]) -> None:
    """Every backend of the protocol is known, can run on this machine, and its xTB parameters are valid."""
    entries = [("calculator", cfg["calculator"])] + [(f"tiers[{i}]", t) for i, t in enumerate(cfg.get("tiers") or [])]
    for where, entry in entries:
        name = entry["backend"]
        try:
            backend = get_backend(name)
        except BackendError as err:
            raise ConfigError(f"config field {where}.backend: {err}") from err
        if where == "calculator" and cfg.get("tiers"):
            continue  # the tiers are the protocol; calculator is not used
        reason = unavailable_reason(name)
        if reason:
            raise ConfigError(f"config field {where}.backend: {name!r} cannot run here: {reason}")
        params = entry.get("params") or {}
        if backend.kind == "xtb":
            _check_tblite(params, f"{where}.params")


def _check_tblite(params: dict[str, Any], where: str) -> None:
    from tblite.ase import TBLite

    unknown = sorted(set(params) - set(TBLite.default_parameters))
    if unknown:
        raise ConfigError(f"config field {where}: unknown tblite parameter(s) {unknown}")
    method = params.get("method")
    if method is not None and method not in TBLITE_METHODS:
        raise ConfigError(f"config field {where}.method: {method!r} is not a tblite method {TBLITE_METHODS}")


def check_embedding(cfg: dict[str, Any]) -> None:
    """Every ligand embedded in 3D (RDKit ETKDG, seeded, one conformer, at most a few seconds each)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    from passivscreen.ligands import parse_smiles, resolve_smiles
    from passivscreen.ligands.binding import binding_plan

    for i, lig in enumerate(cfg["ligands"]):
        plan = binding_plan(
            parse_smiles(resolve_smiles(lig), lig["name"]), lig["name"], lig.get("anchor"), lig.get("binding")
        )
        mol = Chem.AddHs(Chem.MolFromSmiles(plan.placed))
        params = AllChem.ETKDGv3()
        params.randomSeed = int(cfg["seed"])
        params.timeout = EMBED_TIMEOUT_S
        if AllChem.EmbedMolecule(mol, params) != 0:
            raise ConfigError(
                f"config field ligands[{i}] (ligand '{lig['name']}'): RDKit cannot embed {plan.placed!r} in 3D "
                f"(seed {cfg['seed']}, {EMBED_TIMEOUT_S} s): no geometry to start from"
            )
