"""What a calibration holds for: the screening protocol of a config, and its fingerprint.

A calibration relates the E_ads of one screening protocol to DFT; another backend, cell, vacuum, search or
relaxation gives other geometries and energies, so a data set is used only by a screen whose protocol has
the same fingerprint. The protocol is everything that shapes a screening E_ads: the screening tier (backend,
its parameters that change a result, the engine's version), the slab, the relaxation, the search (placement,
conformers, the random seed) and the hold. How the work is split (threads, batches), the funnel tiers, the
sites and faces screened and the ranking are not part of it.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from typing import Any

from passivscreen.calculators import screen_tiers, tiers_from_config
from passivscreen.convergence.uncertainty import NOT_IN_RESULT

#: Relaxation settings that do not change a converged result.
RELAX_NOT_IN_RESULT = {"max_wall_s"}

#: Settings added after data sets were made, at the value that reproduces the protocol before them: left out
#: of the protocol at that value, so that the older data sets still match.
ADDED_AT = {
    "placement": {
        "probe_layers": 0,
        "probe_tie_eV": 0.0,
        "relax_layers": 0,
        "polar_h_roll": False,
        "probe_scf": "full",
        "probe_clash_eV": 0.0,
        "relax_each_tilt": False,
    }
}

#: The Python package of the engine behind each backend kind whose version shapes the numbers.
ENGINES = {"xtb": "tblite"}


def engine_version(kind: str) -> str | None:
    """``"tblite 0.7.0"`` for an xTB backend (None for a kind without a versioned engine here)."""
    pkg = ENGINES.get(kind)
    if pkg is None:
        return None
    try:
        return f"{pkg} {metadata.version(pkg)}"
    except metadata.PackageNotFoundError:
        return f"{pkg} absent"


def screen_tier_name(cfg: dict[str, Any]) -> str:
    """The name of the tier whose E_ads a calibration corrects (the last tier every ligand goes through)."""
    return screen_tiers(tiers_from_config(cfg))[-1].name


def screen_protocol(cfg: dict[str, Any]) -> dict[str, Any]:
    """The screening protocol of a validated config (JSON-able; the tier's name is not part of it)."""
    tier = screen_tiers(tiers_from_config(cfg))[-1]
    return json.loads(
        json.dumps(
            {
                "backend": tier.backend,
                "parameters": {k: v for k, v in tier.parameters.items() if k not in NOT_IN_RESULT},
                "engine": engine_version(tier.kind),
                "slab": cfg["slab"],
                "relax": {k: v for k, v in tier.relax.items() if k not in RELAX_NOT_IN_RESULT},
                "placement": {
                    k: v
                    for k, v in cfg["placement"].items()
                    if k != "sites" and not (k in ADDED_AT["placement"] and v == ADDED_AT["placement"][k])
                },
                "conformers": cfg.get("conformers"),
                "hold": cfg["hold"],
                "seed": cfg["seed"],
            },
            sort_keys=True,
        )
    )


def fingerprint(protocol: dict[str, Any]) -> str:
    """The first 16 hex digits of the SHA-256 of the protocol's JSON (keys sorted)."""
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:16]


def differences(have: dict[str, Any], want: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two protocols (``slab.vacuum``, ``backend``)."""
    out = []
    for key in sorted(set(have) | set(want)):
        a, b = have.get(key), want.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, name + ".")
        elif a != b:
            out.append(name)
    return out


def class_of(anchor: str | None, binding: str | None) -> str | None:
    """The calibration class of a row: its anchor class, with the binding mode when it is not the class's
    usual one (``amine``, ``ammonium``, ``COOH:X``)."""
    from passivscreen.ligands.anchors import BINDING_MODES

    if not anchor:
        return None
    usual = BINDING_MODES.get(anchor)
    return anchor if binding in (None, usual) else f"{anchor}:{binding}"
