"""Relaxation: the optimizer runner, guards, SCF recovery, resumption, the held slab and the tier chain."""

from passivscreen.relaxation.guards import Guards, GuardTripped
from passivscreen.relaxation.optimizer import OPTIMIZERS, RelaxResult, make_optimizer, relax
from passivscreen.relaxation.scf import SCF_LADDER, single_point

__all__ = [
    "OPTIMIZERS",
    "SCF_LADDER",
    "GuardTripped",
    "Guards",
    "RelaxResult",
    "make_optimizer",
    "relax",
    "single_point",
]
