"""Steps: the functions the Snakemake rules call, each composing the parts for one job.

``run_slab`` (:mod:`.slab`), ``run_ligand_batch`` and ``run_adsorption_batch`` (:mod:`.batches`,
over :mod:`.ligand` and :mod:`.adsorption`), ``write_ranking`` (:mod:`passivscreen.ranking`)
and ``update_database`` (:mod:`passivscreen.records.database`). :mod:`.jobs` cuts a screen
into jobs. Imported lazily: the workflow's planning imports only :mod:`.jobs`.
"""

from __future__ import annotations

import importlib
from typing import Any

_STEPS = {
    "run_slab": "passivscreen.steps.slab",
    "run_ligand": "passivscreen.steps.ligand",
    "run_adsorption": "passivscreen.steps.adsorption",
    "run_ligand_batch": "passivscreen.steps.batches",
    "run_adsorption_batch": "passivscreen.steps.batches",
    "run_funnel_slab": "passivscreen.steps.funnel",
    "run_funnel_member": "passivscreen.steps.funnel",
    "run_convergence": "passivscreen.steps.convergence",
    "job_log": "passivscreen.steps.common",
    "write_ranking": "passivscreen.ranking",
    "write_validation": "passivscreen.ranking",
    "update_database": "passivscreen.records.database",
}

__all__ = sorted(_STEPS)


def __getattr__(name: str) -> Any:
    if name in _STEPS:
        return getattr(importlib.import_module(_STEPS[name]), name)
    raise AttributeError(f"module 'passivscreen.steps' has no attribute {name!r}")
