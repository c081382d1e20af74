"""Checks of a config after its schema: names that become paths, finite numbers, thresholds that agree,
backends and their parameters, and every ligand embedded in 3D, all before any compute."""

from __future__ import annotations

import math
import re
from typing import Any

from passivscreen.calculators import (
    REGISTRY,
    BackendError,
    calculator_parameters,
    get_backend,
    parameter_problem,
    unavailable_reason,
)
from passivscreen.config.errors import ConfigError

#: Seconds RDKit may spend embedding one `ligands:` entry during validation (a ligands_file row is not embedded
#: there; the ligand step allows its conformers `passivscreen.ligands.molecules.EMBED_TIMEOUT_S`).
VALIDATION_EMBED_TIMEOUT_S = 3


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


def dots_only(value: str) -> bool:
    """A name of dots only (``.``, ``..``): as a folder it would not stay under results/."""
    return re.fullmatch(r"\.+", value) is not None


def _path_name(value: str, what: str) -> None:
    if dots_only(value):
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


def _entries(cfg: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The protocol's entries (``calculator`` alone, or every ``tiers[i]``) with their config paths."""
    if cfg.get("tiers"):
        return [(f"tiers[{i}]", t) for i, t in enumerate(cfg["tiers"])]
    return [("calculator", cfg["calculator"])]


def check_backends(cfg: dict[str, Any]) -> None:
    """Every backend of the protocol is known, its parameters lie in the engine's domain
    (``presets/parameter_domains.yaml``), and it can run on this machine."""
    if cfg.get("tiers"):  # the tiers are the protocol; calculator is not used, but must name a backend
        try:
            get_backend(cfg["calculator"]["backend"])
        except BackendError as err:
            raise ConfigError(f"config field calculator.backend: {err}") from err
    for where, entry in _entries(cfg):
        name = entry["backend"]
        try:
            get_backend(name)
        except BackendError as err:
            raise ConfigError(f"config field {where}.backend: {err}") from err
        problem = parameter_problem(name, calculator_parameters(name, entry.get("params")))
        if problem:
            raise ConfigError(f"config field {where}.params.{problem[0]}: {problem[1]}")
        reason = unavailable_reason(name)
        if reason:
            raise ConfigError(f"config field {where}.backend: {name!r} cannot run here: {reason}")


def check_hold(cfg: dict[str, Any]) -> None:
    """Slab atoms may be freed (``hold.free_radius > 0``) only by backends that hold the slab
    (``Backend.holds_slab``: they passed the rattle-and-relax slab test, benchmarks/slab_hold.py)."""
    radius = cfg["hold"]["free_radius"]
    if radius <= 0:
        return
    for where, entry in _entries(cfg):
        backend = REGISTRY.get(entry["backend"])  # an unknown backend is check_backends' to name
        if backend is not None and entry.get("task", "relax") == "relax" and not backend.holds_slab:
            raise ConfigError(
                f"config field hold.free_radius: {radius} A frees slab atoms near the anchor, but {where} relaxes "
                f"with backend {backend.name!r}, which does not hold the slab (holds_slab=False: it failed the "
                "rattle-and-relax slab test, docs/backends.md); set free_radius: 0 or relax with a backend "
                f"that holds it ({sorted(n for n, b in REGISTRY.items() if b.holds_slab)})"
            )


def check_convergence_accuracy(cfg: dict[str, Any]) -> None:
    """The convergence harness's ``accuracy`` values are tblite accuracies: each in an xTB tier's domain."""
    for _, entry in _entries(cfg):
        name = entry["backend"]
        if get_backend(name).kind != "xtb":
            continue
        for i, acc in enumerate(cfg["convergence"]["accuracy"]):
            problem = parameter_problem(name, {"accuracy": acc})
            if problem:
                raise ConfigError(f"config field convergence.accuracy[{i}]: {problem[1]}")


def embeds(smiles: str, seed: int) -> bool:
    """RDKit ETKDG (seeded, one conformer, at most ``VALIDATION_EMBED_TIMEOUT_S``) embeds ``smiles`` in 3D."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    params.timeout = VALIDATION_EMBED_TIMEOUT_S
    return AllChem.EmbedMolecule(mol, params) == 0


def check_embedding(cfg: dict[str, Any], molecules: dict[str, list[str]]) -> None:
    """Every molecule a ligand's run computes (``molecules``: name -> SMILES of its placed species and
    references) embedded in 3D (RDKit ETKDG, seeded, one conformer, at most a few seconds each)."""
    for i, lig in enumerate(cfg["ligands"]):
        for smiles in molecules.get(lig["name"], []):
            if not embeds(smiles, cfg["seed"]):
                raise ConfigError(
                    f"config field ligands[{i}] (ligand '{lig['name']}'): RDKit cannot embed {smiles!r} in 3D "
                    f"(seed {cfg['seed']}, {VALIDATION_EMBED_TIMEOUT_S} s): no geometry to start from"
                )
