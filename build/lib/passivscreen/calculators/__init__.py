"""Calculators: the backend registry (presets read once), each engine's factory, threads, tiers.

Where the calculator is chosen: :func:`tiers_from_config` turns the config into
:class:`Tier` objects; :meth:`Tier.attach` builds the backend's calculator from the
registry (:mod:`.registry`), whose factories live in :mod:`.xtb`, :mod:`.ml`,
:mod:`.cp2k` and :mod:`.planewave`.
"""

from passivscreen.calculators.common import ML_HINT, BackendError, SCFError
from passivscreen.calculators.domains import Domain, parameter_domain, parameter_problem
from passivscreen.calculators.registry import (
    REGISTRY,
    Backend,
    attach,
    available_backends,
    build_calculator,
    calculator_parameters,
    check_elements,
    get_backend,
    get_calculator,
    presets,
    scf_ladder,
    unavailable_reason,
)
from passivscreen.calculators.threads import set_threads
from passivscreen.calculators.tier import Tier, funnel_tiers, make_tier, screen_tiers, tiers_from_config

__all__ = [
    "ML_HINT",
    "REGISTRY",
    "SCFError",
    "Backend",
    "Domain",
    "BackendError",
    "Tier",
    "attach",
    "available_backends",
    "build_calculator",
    "calculator_parameters",
    "check_elements",
    "get_backend",
    "get_calculator",
    "funnel_tiers",
    "make_tier",
    "parameter_domain",
    "parameter_problem",
    "screen_tiers",
    "presets",
    "scf_ladder",
    "set_threads",
    "tiers_from_config",
    "unavailable_reason",
]
