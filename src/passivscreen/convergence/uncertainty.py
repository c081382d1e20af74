"""The numerical uncertainty of a ranked E_ads: the harness's largest change over the checks, per anchor class.

A set's own harness run (``results/<set>/convergence.json``) is used when present; otherwise the table
shipped for the default protocol (``presets/convergence.json``, the harness run of docs/convergence.md),
but only when the set's protocol is that protocol.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from passivscreen.calculators import screen_tiers, tiers_from_config
from passivscreen.structures.cells import AUTO_MIN, is_auto, slab_spec

#: Calculator parameters that do not change a converged result (an SCF cycle cap, the log level).
NOT_IN_RESULT = {"max_iterations", "verbosity"}


def _result_parameters(params: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if k not in NOT_IN_RESULT}


def protocol_of(cfg: dict[str, Any]) -> dict[str, Any]:
    """What a harness result depends on: the tier that computes the ranked E_ads and the slab's cell."""
    auto = is_auto(cfg)
    spec = slab_spec(cfg, repeat=(AUTO_MIN, AUTO_MIN) if auto else None)
    tier = screen_tiers(tiers_from_config(cfg))[-1]
    return {
        "tier": tier.name,
        "backend": tier.backend,
        "parameters": _result_parameters(tier.parameters),
        "total_vacuum_A": 2 * spec.vacuum,
        "layers": spec.n_pbbr2,
        # auto: the cell follows the ligand from AUTO_MIN x AUTO_MIN up: the protocol of the ligands that fit
        # that cell (the harness checks each complex on its own cell and the next)
        "repeat": list(spec.repeat),
        "lattice_constant": spec.a,
    }


def shipped_summary() -> dict[str, Any] | None:
    """The harness summary shipped with the package for the default protocol (None if absent)."""
    f = resources.files("passivscreen").joinpath("presets/convergence.json")
    return json.loads(f.read_text()) if f.is_file() else None


def uncertainty_for(cfg: dict[str, Any], set_summary: str | Path | None = None) -> dict[str, Any]:
    """``{"tier", "anchors": {class: eV}, "source"}`` for the protocol of ``cfg``, or ``{}`` if none matches."""
    want = json.loads(json.dumps(protocol_of(cfg)))
    candidates: list[tuple[str, dict[str, Any] | None]] = []
    if set_summary is not None and Path(set_summary).is_file():
        candidates.append((str(set_summary), json.loads(Path(set_summary).read_text())))
    candidates.append(("presets/convergence.json", shipped_summary()))
    for source, summary in candidates:
        if not summary:
            continue
        have = {k: summary["protocol"].get(k) for k in want}
        have["parameters"] = _result_parameters(have["parameters"])
        if have == want:
            return {"tier": want["tier"], "anchors": summary["uncertainty_eV"], "source": source}
    return {}
