"""Batches: many relaxations per cluster job, one calculator per batch, finished members reused.

A screen of N ligands on S sites and F face sets is N ligand relaxations and N x S x F complex
relaxations. With ``ligand_batch_size`` L and ``batch_size`` B in the config, the workflow runs
them as ceil(N / L) ligand jobs and ceil(N S F / B) complex jobs (plus the slabs, the ranking
and the database),
so that a 1,000-ligand set is tens of cluster jobs, not thousands. The members of a batch run
one after the other in one Python process: the calculator registry
(:func:`passivscreen.calculators.get_calculator`) builds each calculator once and every
member reuses it.

A member that finished is kept in its work directory with a fingerprint of everything its
result depends on (settings, the ligand's config entry, the reference energies). When a batch
runs again (killed, retried, or because another member's ligand changed), finished members
are copied back instead of recomputed, so a changed ligand recomputes only its own relaxations
and a killed batch resumes where it stopped.
"""

from __future__ import annotations

import os
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passivscreen.placement.cells import recorded_cell
from passivscreen.records.files import read_json
from passivscreen.records.layout import Results
from passivscreen.steps.adsorption import run_adsorption_member
from passivscreen.steps.common import ligand_entry
from passivscreen.steps.jobs import complex_member, fingerprint, result_settings
from passivscreen.steps.ligand import run_ligand
from passivscreen.steps.pictures import write_pdos_plot, write_structure_picture


def reference_summary(rec: dict[str, Any]) -> dict[str, Any]:
    """What a complex takes from a slab or ligand record (not its timings or provenance)."""
    keys = ("status", "smiles", "charge", "multiplicity", "energy_eV", "binding_pb", "formula")
    out = {k: rec.get(k) for k in keys}
    out["tiers"] = [(t.get("name"), t.get("energy_eV")) for t in rec.get("tiers") or []]
    return out


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def reuse(store: Path, key: str, outputs: dict[str, Path]) -> bool:
    """Copy a finished member's files from ``store`` into ``outputs`` if its fingerprint is ``key``."""
    stamp = store / "fingerprint"
    if not stamp.exists() or stamp.read_text().strip() != key:
        return False
    if not all((store / name).exists() for name in outputs):
        return False
    for name, dst in outputs.items():
        _copy(store / name, Path(dst))
    return True


def keep(store: Path, key: str, outputs: dict[str, Path]) -> None:
    """Store a finished member's files in ``store`` under fingerprint ``key`` (stamp written last)."""
    store.mkdir(parents=True, exist_ok=True)
    stamp = store / "fingerprint"
    stamp.unlink(missing_ok=True)
    for name, src in outputs.items():
        _copy(Path(src), store / name)
    stamp.write_text(key + "\n")


@dataclass
class Member:
    """One unit of a batch: its label, result fingerprint, output files, work directory and the
    workflow's description of it (``spec``: names and paths, as the rule passes them)."""

    label: str
    key: str
    outputs: dict[str, Path]
    workdir: Path
    spec: dict[str, str]


def run_members(
    members: Sequence[Member], run: Callable[[Member], dict[str, Any]], log: Any = None
) -> list[dict[str, Any]]:
    """Run or reuse every member in turn; one member's failure never stops the others.

    ``run`` writes the member's outputs and returns its record (the pipeline's steps never
    raise for a failure of the science; anything raised here is a bug: its traceback goes to the
    log, the remaining members still run, and the job then fails with a :class:`RuntimeError`).
    """
    done: list[dict[str, Any]] = []
    errors: list[str] = []
    for m in members:
        t0 = time.perf_counter()
        store = m.workdir / "finished"
        if reuse(store, m.key, m.outputs):
            done.append({"member": m.label, "reused": True, "wall_s": time.perf_counter() - t0})
            _say(log, f"{m.label}: reused (finished earlier with the same inputs)")
            continue
        try:
            rec = run(m)
        except Exception as err:  # noqa: BLE001 - the other members still run
            errors.append(f"{m.label}: {type(err).__name__}: {err}")
            _say(log, errors[-1] + "\n" + traceback.format_exc())
            continue
        keep(store, m.key, m.outputs)
        done.append(
            {"member": m.label, "reused": False, "status": rec.get("status"), "wall_s": time.perf_counter() - t0}
        )
        _say(log, f"{m.label}: {rec.get('status')} in {time.perf_counter() - t0:.1f} s {rec.get('reason') or ''}")
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(members)} batch members failed: " + "; ".join(errors))
    return done


def _say(log: Any, text: str) -> None:
    if log is not None:
        print(text, file=log, flush=True)


def run_ligand_batch(cfg: dict[str, Any], members: Sequence[dict[str, str]], log: Any = None) -> list[dict[str, Any]]:
    """Relax the free ligands of a batch. ``members``: dicts with ``ligand``, ``json``, ``xyz``, ``workdir``."""
    settings = result_settings(cfg)
    batch = []
    for m in members:
        entry = ligand_entry(cfg, m["ligand"])
        batch.append(
            Member(
                label=f"ligand {m['ligand']}",
                key=fingerprint("ligand", settings, entry),
                outputs={"record.json": Path(m["json"]), "structure.extxyz": Path(m["xyz"])},
                workdir=Path(m["workdir"]),
                spec=m,
            )
        )

    def run(member: Member) -> dict[str, Any]:
        m = member.spec
        return run_ligand(cfg, m["ligand"], m["json"], m["xyz"], m["workdir"])

    return run_members(batch, run, log)


def on_its_cell(cfg: dict[str, Any], member: dict[str, str]) -> dict[str, str]:
    """A complex as planned moved onto its ligand's cell: with ``slab.repeat: auto`` the plan's member names its slab
    references by the plan's label; its ligand job has chosen the cell since (the ligand record's ``cell``,
    :func:`passivscreen.placement.cells.recorded_cell`). Unchanged with an explicit repeat or a member already on a
    cell."""
    if member.get("slab_site", member["site"]) != member["site"]:
        return member
    cell = recorded_cell(cfg, member["ligand"], member["ligand_json"])
    if cell is None:
        return member
    layout = Results.of_complex(member["json"])
    return complex_member(layout, member["ligand"], member["site"], member["face"], cell)


def run_adsorption_batch(
    cfg: dict[str, Any], members: Sequence[dict[str, str]], log: Any = None
) -> list[dict[str, Any]]:
    """Relax the complexes of a batch and draw their projected DOS and structure pictures.

    ``members``: dicts with ``ligand``, ``site``, ``face``, the inputs ``clean_json``, ``slab_json``, ``slab_xyz``,
    ``ligand_json``, ``ligand_xyz``, the outputs ``json``, ``xyz``, ``pdos``, ``picture`` and
    ``workdir``.
    """
    settings = result_settings(cfg)
    summaries: dict[str, dict[str, Any]] = {}
    members = [on_its_cell(cfg, m) for m in members]

    def summary(path: str | Path) -> dict[str, Any]:
        """A reference record's summary, read once per batch (members share slabs and ligands)."""
        if str(path) not in summaries:
            summaries[str(path)] = reference_summary(read_json(path))
        return summaries[str(path)]

    batch = []
    for m in members:
        key = fingerprint(
            "adsorption",
            settings,
            ligand_entry(cfg, m["ligand"]),
            m["site"],
            m["face"],
            summary(m["slab_json"]),
            # the cell (slab.repeat: auto; the key of an explicit repeat's member is unchanged)
            *([m["slab_site"]] if m.get("slab_site", m["site"]) != m["site"] else []),
            summary(m["ligand_json"]),
            summary(m["clean_json"]),
        )
        batch.append(
            Member(
                label=f"{m['ligand']} on {m['site']} ({m['face']})",
                key=key,
                outputs={
                    "record.json": Path(m["json"]),
                    "structure.extxyz": Path(m["xyz"]),
                    "pdos.png": Path(m["pdos"]),
                    "picture.png": Path(m["picture"]),
                },
                workdir=Path(m["workdir"]),
                spec=m,
            )
        )

    def run(member: Member) -> dict[str, Any]:
        m = member.spec
        rec = run_adsorption_member(cfg, m)
        write_pdos_plot(m["clean_json"], m["slab_json"], m["json"], m["pdos"])
        write_structure_picture(m["xyz"], m["json"], m["picture"])
        return rec

    return run_members(batch, run, log)
