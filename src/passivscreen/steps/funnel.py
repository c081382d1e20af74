"""Step: a funnel tier. Only the best ``top_k`` rows of the previous tier's ranking are evaluated again,
at this tier, at the previous tier's final geometry, in this tier's cell; the slab and the complex share that
cell, the free ligand its lateral cell (:func:`~passivscreen.calculators.systems.molecule_box`)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ase import Atoms
from ase.io import read

from passivscreen.analysis.energies import adsorption_energy
from passivscreen.analysis.integrity import tier_reduction
from passivscreen.calculators import Tier, funnel_tiers, set_threads, tiers_from_config
from passivscreen.calculators.systems import complex_state, electronic_state, molecule_box, state_of
from passivscreen.calibration import resolve
from passivscreen.calibration.store import store_pair
from passivscreen.convergence.uncertainty import uncertainty_for
from passivscreen.convergence.variants import rebuild
from passivscreen.ranking import ranking_table
from passivscreen.records.files import read_json, write_record, write_structures
from passivscreen.records.layout import Results
from passivscreen.records.provenance import provenance
from passivscreen.relaxation.held import held_copy
from passivscreen.relaxation.tiers import run_chain
from passivscreen.steps.common import Skip, failure
from passivscreen.steps.slab import run_slab
from passivscreen.structures import SlabSpec, face_tuple
from passivscreen.structures.cells import slab_spec
from passivscreen.types import E_ADS, E_ADS_CALIBRATED, E_ADS_INTERVAL, E_ADS_PER_LIGAND, E_COMPLEX


def funnel_tier(cfg: dict[str, Any], name: str) -> tuple[Tier, int]:
    """The funnel tier ``name`` and its level (1 for the first funnel tier)."""
    for level, tier in enumerate(funnel_tiers(tiers_from_config(cfg)), start=1):
        if tier.name == name:
            return tier, level
    raise KeyError(f"{name!r} is not a funnel tier (a tier with top_k)")


def slab_site(record: dict[str, Any]) -> str:
    """The label of a complex record's slab reference: ``slab_site`` (its site on its cell with ``slab.repeat:
    auto``), or ``site`` (an explicit repeat, and a record written before the plan's labels named no cell)."""
    return record.get("slab_site") or record["site"]


def tier_spec(cfg: dict[str, Any], tier: Tier, site: str | None = None) -> SlabSpec:
    """The slab of a funnel tier on the cell of ``site``: the config's, with the tier's own vacuum."""
    spec = slab_spec(cfg, site)
    return spec if tier.vacuum is None else replace(spec, vacuum=float(tier.vacuum))


def run_funnel_slab(cfg: dict[str, Any], name: str, site: str, face: str, out_json: str | Path, out_xyz: str | Path):
    """The reference slab of one site and face set at funnel tier ``name``, in that tier's cell."""
    tier, _ = funnel_tier(cfg, name)
    return run_slab(cfg, site, face, out_json, out_xyz, chain=[tier], spec=tier_spec(cfg, tier, site))


def funnel_paths(layout: Results, tier: Tier, complexes: list[tuple[str, str, str]]) -> list[str]:
    """The record paths of funnel ``tier``: one per rank (``top_k`` k or auto), or one per complex
    (``top_k: all``: ``complexes`` are the screen's (ligand, site, faces), in order)."""
    if tier.every:
        return [layout.funnel_row(tier.name, *m).json for m in complexes]
    return [layout.funnel(tier.name, i).json for i in range(tier.planned_k)]


def chosen_rows(table: pd.DataFrame, tier: Tier) -> tuple[pd.DataFrame, str]:
    """The rows of a ranking (``table``, ranking order) that funnel ``tier`` evaluates, in order, and why.

    ``top_k: k``: the k best rows with status ok; ``all``: every ok row. ``top_k: auto``: every ok row whose interval
    (``E_ads_calibrated_eV`` +/- ``E_ads_interval_eV``; a row without an interval is a point) overlaps the
    interval of the ``top_n``-th best row, the rows the screen cannot order against it, and the ``top_n``
    best; at most ``top_max``, the best first.
    """
    ok = table[table["status"] == "ok"]
    if tier.every:
        return ok, "top_k all"
    if not tier.auto:
        return ok.iloc[: int(tier.top_k or 0)], f"top_k {tier.top_k}"
    if ok.empty:
        return ok, "top_k auto: no row finished"
    e = pd.to_numeric(ok[E_ADS_CALIBRATED]).fillna(pd.to_numeric(ok[E_ADS_PER_LIGAND]))
    h = pd.to_numeric(ok[E_ADS_INTERVAL]).fillna(0.0)
    ref = min(tier.top_n, len(ok)) - 1
    upper = float(e.iloc[ref] + h.iloc[ref])
    pos = pd.Series(range(len(ok)), index=ok.index)
    pick = ok[(pos <= ref) | (e - h <= upper)]
    why = (
        f"top_k auto: {len(pick)} rows overlap the interval of row {ref + 1} "
        f"({e.iloc[ref]:.3f} +/- {h.iloc[ref]:.3f} eV)"
    )
    if len(pick) > tier.planned_k:
        why += f"; the best {tier.planned_k} (top_max) evaluated"
    return pick.iloc[: tier.planned_k], why


def select(
    candidates: list[dict[str, Any]],
    rank: int,
    order: list[str],
    tier: Tier | None = None,
    *,
    uncertainty: dict[str, Any] | None = None,
    calibration: dict[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, int, str]:
    """The ``rank``-th (0-based) row that funnel ``tier`` evaluates (:func:`chosen_rows`; no tier: the
    ``rank``-th ok row), or None; with the number of rows chosen and why."""
    table = ranking_table(candidates, order, uncertainty, calibration)
    if tier is None:
        rows, why = table[table["status"] == "ok"], "ranking order"
    else:
        rows, why = chosen_rows(table, tier)
    if rank >= len(rows):
        return None, len(rows), why
    row = rows.iloc[rank]
    key = (row["ligand"], row["site"], row["faces"])
    return next(r for r in candidates if (r["ligand"], r.get("site"), r.get("face", "top")) == key), len(rows), why


def _single_point(atoms, tier: Tier, charge: int, mult: int) -> tuple[float | None, dict[str, Any], dict[str, Any]]:
    """Energy, tier row and the calculator's atomic populations (``charges``, ``magmoms`` where it gives them)."""
    electronic_state(atoms, charge, mult)
    run = run_chain(held_copy(atoms), [tier], "steps")
    results = getattr(getattr(run.result.atoms, "calc", None), "results", None) or {}
    populations = {k: np.asarray(results[k], dtype=float) for k in ("charges", "magmoms") if k in results}
    return run.result.energy, run.rows[0], populations


def ligand_populations(populations: dict[str, Any], n_slab: int, n_ligands: int) -> dict[str, float]:
    """The charge (e) and spin moment (unpaired electrons) of one ligand in a complex at a tier: the sums of
    the calculator's atomic values over the atoms after the slab's ``n_slab``, per ligand. A ligand the slab
    reduced holds a negative charge and, in a spin-polarised run, the unpaired electron."""
    out: dict[str, float] = {}
    for key, name in (("charges", "ligand_charge_e"), ("magmoms", "ligand_spin")):
        if key in populations:
            out[name] = round(float(np.sum(populations[key][n_slab:])) / n_ligands, 3)
    return out


def tier_systems(
    cfg: dict[str, Any], tier: Tier, chosen: dict[str, Any]
) -> tuple[Atoms, Atoms, Atoms, dict[str, Any], dict[str, Any]]:
    """The slab, the complex and the free ligand of a screened row as funnel tier ``tier`` computes them: the
    screen's final complex moved into the tier's cell, the ligand in the same lateral cell
    (:func:`~passivscreen.calculators.systems.molecule_box`); with the screen's slab and ligand records.
    ``chosen``: the screen's record with its path (``_path``), or a funnel record naming it (``screen_record``)."""
    screen = Path(chosen.get("screen_record") or chosen["_path"])  # the screen's adsorption record
    layout = Results.of_complex(screen)
    on = slab_site(chosen)
    slab_files, lig_files = layout.slab(on, chosen["face"]), layout.ligand(chosen["ligand"])
    screen_slab = read_json(slab_files.json)
    reference = read(slab_files.xyz)
    complex_atoms = read(layout.complex(chosen["ligand"], chosen["site"], chosen["face"]).xyz)  # the screen's final
    slab, cx, _ = rebuild(screen_slab, reference, complex_atoms, tier_spec(cfg, tier, on))
    lig = read(lig_files.xyz)
    molecule_box(lig, tier.for_molecule(), cell=slab.cell)
    return slab, cx, lig, screen_slab, read_json(lig_files.json)


def _evaluate(cfg: dict[str, Any], tier: Tier, chosen: dict[str, Any], slab_ref: dict[str, Any]) -> dict[str, Any]:
    """E_ads of the chosen row at ``tier`` (:func:`tier_systems`)."""
    if slab_ref.get("status") != "ok":
        raise Skip("reference_failed", f"{tier.name} slab: {slab_ref.get('status')} {slab_ref.get('reason', '')}")
    slab, cx, lig, screen_slab, lig_rec = tier_systems(cfg, tier, chosen)
    molecule_tier = tier.for_molecule()
    n = len(face_tuple(chosen["face"]))
    e_lig, lig_row, _ = _single_point(lig, molecule_tier, *state_of(lig_rec))
    q, mult = complex_state(state_of(screen_slab), state_of(lig_rec), n)
    e_cx, cx_row, populations = _single_point(cx, tier, q, mult)
    if e_lig is None or e_cx is None:
        raise Skip("scf_failed", f"{tier.name}: ligand {lig_row['status']}, complex {cx_row['status']}")
    e_ads = adsorption_energy(e_cx, float(slab_ref["energy_eV"]), e_lig, n)
    row = {**cx_row, "E_ads_eV": e_ads, "E_ligand_eV": e_lig, "E_slab_eV": slab_ref["energy_eV"]}
    row.update(ligand_populations(populations, len(slab), n))
    d_slab = (slab_ref.get("tiers") or [{}])[-1].get("dispersion_eV")
    if None not in (d_slab, cx_row.get("dispersion_eV"), lig_row.get("dispersion_eV")):
        row["E_ads_dispersion_eV"] = adsorption_energy(cx_row["dispersion_eV"], d_slab, lig_row["dispersion_eV"], n)
    return {E_ADS: e_ads, E_ADS_PER_LIGAND: e_ads / n, E_COMPLEX: e_cx, "row": row, "atoms": cx}


def run_funnel_member(
    cfg: dict[str, Any],
    name: str,
    rank: int,
    candidates: list[str | Path],
    slab_refs: list[str | Path],
    out_json: str | Path,
    out_xyz: str | Path,
) -> dict[str, Any]:
    """The ``rank``-th best row of ``candidates`` (the previous tier's records) evaluated at funnel tier ``name``.

    Writes a record that carries the previous tier's row (bond orders, traps, flags) with this tier's E_ads,
    or, when fewer rows than ``rank + 1`` finished, a record with status ``not_selected``.
    """
    for what, value in (("candidates", candidates), ("slab_refs", slab_refs)):
        if isinstance(value, (str, Path)):  # a bug of the caller: iterating it would read one file per character
            raise TypeError(f"run_funnel_member: {what} must be a list of paths, not the single path {value!r}")
    set_threads(cfg["threads"])
    tier, level = funnel_tier(cfg, name)
    chain = tiers_from_config(cfg)
    recs = [{**read_json(p), "_path": str(p)} for p in candidates]
    chosen, k, why = select(
        recs,
        rank,
        cfg["ranking"]["order"],
        tier,
        uncertainty=uncertainty_for(cfg, Results.for_set(cfg["set"]).convergence.summary),
        calibration=resolve(cfg),
    )
    if chosen is None:
        record = {"kind": "funnel", "tier": name, "funnel_rank": rank, "status": "not_selected", "level": level}
        record.update(funnel_k=k, funnel_choice=why)
        write_structures(out_xyz, Atoms())
        write_record(out_json, record)
        return record
    refs = {(r["site"], r["face"]): r for r in (read_json(p) for p in slab_refs)}
    record = {k: v for k, v in chosen.items() if k not in ("_path", "orientations")}
    record.update(kind="funnel", funnel_rank=rank, level=level, previous=chosen["_path"], tier=name)
    record.update(funnel_k=k, funnel_choice=why)
    record["screen_record"] = chosen.get("screen_record") or chosen["_path"]
    record["provenance"] = provenance(cfg, tier, chain, funnel_tier=name, top_k=tier.top_k)
    try:
        out = _evaluate(cfg, tier, chosen, refs[(slab_site(chosen), chosen["face"])])
        record.update(
            status="ok",
            reason="",
            backend=tier.backend,
            tiers=[*chosen.get("tiers", []), out["row"]],
            **{key: out[key] for key in (E_ADS, E_ADS_PER_LIGAND, E_COMPLEX)},
        )
        record["integrity"] = tier_reduction(record.get("integrity"), out["row"], tier.backend, cfg.get("integrity"))
        write_structures(out_xyz, out["atoms"])
    except Exception as err:  # noqa: BLE001 - a failure of the science becomes a row; failure() re-raises a bug
        record.update(failure(err, E_ADS), backend=tier.backend)
        record[E_ADS_PER_LIGAND] = None
        write_structures(out_xyz, Atoms())
    store = (cfg.get("calibration") or {}).get("store")
    if store and record["status"] == "ok":
        try:
            record["calibration_store"] = store_pair(store, cfg, tier, record, read(out_xyz))
        except (OSError, sqlite3.Error) as err:  # the DFT row stands; the store is a by-product
            record["calibration_store"] = f"not stored: {err}"
    write_record(out_json, record)
    return record
