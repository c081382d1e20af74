"""Step: the ranking of a screen from whatever complexes have finished (``passivscreen rank CONFIG``).

A campaign of thousands of ligands can be ranked at any time without stopping it: the records that exist
are ranked (column ``complete``: every complex of the row's ligand is in), the figure's title says how many
of the planned complexes are in, and the database is brought up to date. When every complex is in, the
table is the one the workflow's ``ranking`` rule writes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from passivscreen.calculators import funnel_tiers, tiers_from_config
from passivscreen.calibration import resolve
from passivscreen.convergence.uncertainty import uncertainty_for
from passivscreen.ranking import write_ranking
from passivscreen.records.database import update_database
from passivscreen.records.layout import Results
from passivscreen.steps.funnel import funnel_paths
from passivscreen.structures import site_labels


def planned_complexes(cfg: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every complex (ligand, site label, faces) a validated config screens, in config order.

    With ``slab.repeat: auto`` the labels name no cell: each ligand's cell is chosen in its ligand job (record
    field ``cell``), so a plan needs no 3D structure (:func:`passivscreen.structures.sites.site_labels`).
    """
    sites = site_labels(cfg)
    return [(lig["name"], site, face) for lig in cfg["ligands"] for site in sites for face in cfg["faces"]]


def rank_finished(cfg: dict[str, Any]) -> tuple[pd.DataFrame | None, int, int]:
    """Rank the finished complexes of a validated config: (the table or None if none is in, complexes in,
    complexes planned). Writes ranking.csv, its side tables, ranking.png and results.db."""
    layout = Results.for_set(cfg["set"])
    complexes = planned_complexes(cfg)
    screen = {m: layout.complex(*m).json for m in complexes}
    done = [p for p in screen.values() if Path(p).exists()]
    pending = Counter(m[0] for m, p in screen.items() if not Path(p).exists())
    chain = tiers_from_config(cfg)
    funnel = [p for t in funnel_tiers(chain) for p in funnel_paths(layout, t, complexes)]
    records = done + [p for p in funnel if Path(p).exists()]
    if not done:
        return None, 0, len(complexes)
    df = write_ranking(
        records,
        layout.ranking,
        set_name=cfg["set"],
        order=cfg["ranking"]["order"],
        uncertainty=uncertainty_for(cfg, layout.convergence.summary),
        tier_names=[t.name for t in chain],
        pending=dict(pending),
        n_expected=len(complexes),
        calibration=resolve(cfg),
    )
    update_database(records, layout.database, cfg["set"])
    return df, len(done), len(complexes)
