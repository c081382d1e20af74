"""A tier of the protocol: which backend computes, with which parameters, relaxing or not.

The tiers are built once from the config (:func:`tiers_from_config`) and handed to the
steps; each tier carries everything its calculations need (backend, effective
parameters, task, convergence settings), so nothing is copied back into the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ase import Atoms

from passivscreen.calculators.registry import build_calculator, calculator_parameters, check_elements, get_backend

#: Tasks of a tier: relax the geometry and hand it on, or evaluate the geometry of the tier before.
TASKS = ("relax", "single_point")
#: tblite SCF accuracy during relaxation steps (the final energy uses the tier's own accuracy).
STEP_ACCURACY = 10.0

#: ``top_k: auto``: the most rows a funnel tier evaluates unless ``top_max`` says otherwise.
TOP_MAX = 20


@dataclass(frozen=True)
class Tier:
    """One level of the protocol.

    Attributes
    ----------
    name
        Unique name (``tiers[i].name`` in the config; default: the backend).
    backend
        Registry name of the calculator backend.
    task
        ``relax`` or ``single_point``.
    parameters
        The backend's presets overridden by the tier's ``params`` (merged once, here).
    relax
        The config's ``relax`` settings with this tier's ``fmax`` and ``steps``.
    top_k
        Funnel tiers only: how many of the previous tier's best rows this tier evaluates, ``"auto"``: the
        rows whose interval overlaps the ``top_n``-th best row's, at most ``top_max``, or ``"all"``: every
        row, each as soon as the screen has computed it (a validation or calibration run).
    top_n, top_max
        ``top_k: auto`` only (defaults 1 and :data:`TOP_MAX`).
    vacuum
        Funnel tiers only: vacuum on each side of the slab in this tier's cell (None: the config's).
    """

    name: str
    backend: str
    task: str
    parameters: dict[str, Any] = field(compare=False)
    relax: dict[str, Any] = field(compare=False)
    top_k: int | str | None = None
    vacuum: float | None = None
    top_n: int = 1
    top_max: int | None = None

    @property
    def auto(self) -> bool:
        """The funnel chooses k from the intervals (``top_k: auto``)."""
        return self.top_k == "auto"

    @property
    def every(self) -> bool:
        """The funnel evaluates every row (``top_k: all``): one job per complex, each as soon as its row is in."""
        return self.top_k == "all"

    @property
    def planned_k(self) -> int:
        """How many ranked funnel jobs are planned: ``top_k``, or ``top_max`` for ``auto`` (0 for a screening
        tier and for ``all``, whose jobs are one per complex: :func:`funnel_paths`)."""
        if self.top_k is None or self.every:
            return 0
        return int(self.top_max or TOP_MAX) if self.auto else int(self.top_k)

    @property
    def kind(self) -> str:
        """``xtb``, ``ml``, ``dft`` or ``test`` (see :class:`~passivscreen.calculators.registry.Backend`)."""
        return get_backend(self.backend).kind

    @property
    def scf_ladder(self) -> list[dict[str, Any]] | None:
        """SCF recovery rungs of the backend (None: relaxation's tblite ladder)."""
        return get_backend(self.backend).scf_ladder

    @property
    def step_settings(self) -> dict[str, Any]:
        """Settings for the steps of a relaxation, the final energy at :attr:`parameters` (tblite: SCF
        thresholds of accuracy 10 while the geometry moves, 17 % less time per step, forces within
        2e-4 eV/A; none for other backends or an accuracy already that loose)."""
        if get_backend(self.backend).kind == "xtb" and float(self.parameters.get("accuracy", 1.0)) < STEP_ACCURACY:
            return {"accuracy": STEP_ACCURACY}
        return {}

    def for_molecule(self) -> Tier:
        """This tier for a free molecule: its parameters with the backend's molecule parameters."""
        extra = get_backend(self.backend).molecule_parameters
        if not extra:
            return self
        return replace(self, parameters={**self.parameters, **extra})

    def attach(self, atoms: Atoms) -> Atoms:
        """Attach this tier's calculator (built once per process) after checking elements and periodicity."""
        check_elements(self.backend, set(atoms.get_chemical_symbols()), periodic=bool(atoms.pbc.any()))
        atoms.calc = build_calculator(self.backend, self.parameters)
        return atoms


def make_tier(entry: dict[str, Any], relax: dict[str, Any]) -> Tier:
    """A :class:`Tier` from a config ``tiers`` entry (defaults filled by the schema) and the ``relax`` section."""
    settings = dict(relax)
    for key in ("fmax", "steps"):
        if entry.get(key) is not None:
            settings[key] = entry[key]
    backend = entry["backend"]
    get_backend(backend)
    return Tier(
        name=entry.get("name") or backend,
        backend=backend,
        task=entry["task"],
        parameters=calculator_parameters(backend, entry["params"]),
        relax=settings,
        top_k=entry.get("top_k"),
        vacuum=entry.get("vacuum"),
        top_n=int(entry.get("top_n") or 1),
        top_max=entry.get("top_max"),
    )


def tiers_from_config(cfg: dict[str, Any]) -> list[Tier]:
    """The protocol of a validated config: its ``tiers``, or one relax tier of its ``calculator``."""
    chain = cfg.get("tiers") or [{**cfg["calculator"], "task": "relax"}]
    return [make_tier(entry, cfg["relax"]) for entry in chain]


def screen_tiers(chain: list[Tier]) -> list[Tier]:
    """The tiers that every ligand goes through (those before the first funnel tier)."""
    out = []
    for tier in chain:
        if tier.top_k is not None:
            break
        out.append(tier)
    return out


def funnel_tiers(chain: list[Tier]) -> list[Tier]:
    """The funnel tiers (``top_k``): each sees only the best rows of the tier before it."""
    return chain[len(screen_tiers(chain)) :]
