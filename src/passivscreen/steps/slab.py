"""Step: the reference slab of one site type and face set, held at its reference geometry."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from passivscreen.analysis.electronic import electronic_properties
from passivscreen.calculators import Tier, screen_tiers, set_threads, tiers_from_config
from passivscreen.calculators.systems import electronic_state
from passivscreen.records.files import write_record, write_structures
from passivscreen.records.provenance import provenance
from passivscreen.relaxation.held import fixed_indices, held_copy
from passivscreen.relaxation.tiers import run_chain
from passivscreen.steps.common import failure, gfn2_view
from passivscreen.structures import SlabSpec, build_slab, face_tuple, parse_site, pdos_groups, site_slab
from passivscreen.structures.cells import slab_spec


def run_slab(
    cfg: dict[str, Any],
    site: str,
    face: str,
    out_json: str | Path,
    out_xyz: str | Path,
    chain: list[Tier] | None = None,
    spec: SlabSpec | None = None,
) -> dict[str, Any]:
    """Reference slab of one site type and face set: every tier evaluates it with all atoms held.

    Records the energy of each tier, and charges, orbital summary and trap states
    from GFN2-xTB at the reference geometry. ``chain`` (default: the screen's tiers) and
    ``spec`` (default: the config's slab) serve the funnel tiers, which have their own cell.
    """
    set_threads(cfg["threads"])
    kind, pb = parse_site(site)
    faces = face_tuple(face)
    spec = spec or slab_spec(cfg, site)
    ss = site_slab(build_slab(spec), kind, faces, pb)
    slab = ss.atoms
    electronic_state(slab, ss.charge, ss.multiplicity)
    groups = pdos_groups(slab, faces, ss.sites, ss.vacancies)
    chain = chain or screen_tiers(tiers_from_config(cfg))
    record: dict[str, Any] = {
        "kind": "slab",
        "site": site,
        "site_type": kind,
        "face": face,
        "formula": slab.get_chemical_formula(),
        "n_atoms": len(slab),
        "charge": ss.charge,
        "multiplicity": ss.multiplicity,
        "binding_pb": ss.sites,
        "vacancies": ss.vacancies,
        "groups": groups,
        "reference": cfg["slab"]["reference"],
        "spec": {**cfg["slab"], "vacuum": spec.vacuum},
    }
    extra = {"fixed_atoms": fixed_indices(slab), "held": "all slab atoms at the reference geometry"}
    record["provenance"] = provenance(cfg, chain[-1], chain, **extra)
    try:
        t0 = time.perf_counter()
        run = run_chain(held_copy(slab), chain, "steps")
        record["calc_s"] = time.perf_counter() - t0
        record["tiers"] = run.rows
        record["provenance"] = provenance(cfg, run.tier, chain, **extra)
        last = run.rows[-1]
        record.update(
            status=last["status"],
            energy_eV=last["energy_eV"],
            fmax_eV_A=run.result.fmax,
            reason=last["reason"],
            backend=run.tier.backend,
        )
        if run.ok:
            t0 = time.perf_counter()
            record.update(electronic_properties(gfn2_view(run.result.atoms), groups))
            record["analysis_calc_s"] = time.perf_counter() - t0
    except Exception as err:  # noqa: BLE001 - a failure of the science becomes a row; failure() re-raises a bug
        record.update(failure(err, "energy_eV"))
    write_structures(out_xyz, slab)
    write_record(out_json, record)
    return record
