"""Issue 22 item 3: how many probe steps does the search need? Replayed on an exhaustive reference, no calculation.

Usage: python benchmarks/probe_replay.py REFERENCE --config SEARCH_CONFIG [--steps 0 2 4 6 8] [--tolerance 0.05]
[--each-tilt]

REFERENCE: the results tree (``results/<set>``) of a config that relaxes every start to convergence
(``configs/search_reference.yaml``, ``configs/search_reference_seed.yaml``). Its work directory holds each start's
relaxation: on the reduced model first (``reduced_<start>.traj``, with ``placement.relax_layers``), else on the
whole slab (``<start>.traj``). A probe of k steps is the first k steps of that same relaxation (the same tier,
optimizer and held slab: :func:`passivscreen.steps.probes.run_probe` and ``prerelax`` both run ``run_tier``), so
its energy is frame k of the trajectory, and it has converged when the relaxation ended at or before frame k.

SEARCH_CONFIG: the search to replay (``configs/seed_molecules.yaml``, ``configs/default.yaml``): its heights,
tilts, conformers, polar-H rolls, ``relax_top`` and ``probe_tie_eV`` choose which of the reference's starts it
places and which of its probes it relaxes (:func:`passivscreen.steps.screening.to_relax`, the search's own rule).
For each k the replay prints the starts chosen, the lowest reference E_ads among them, its difference from the
reference's minimum over every start, and the probe calls (k + 1 per start) against the reduced-model calls the
chosen starts then need to converge.

What it cannot see: the search relaxes a chosen start from where its probe stopped, with a new optimizer (its
Hessian starts afresh), the reference in one run, so the two can end in different nearby minima; a start whose
relaxation was resumed has its trajectory in segments. Exits 1 when the config's own ``probe_steps`` loses more
than ``--tolerance`` eV on a complex, 2 when nothing could be replayed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from ase.io import read
from probe_time import stem

from passivscreen.config.load import load_config
from passivscreen.schema import section_defaults
from passivscreen.steps.screening import row_pose, to_relax
from passivscreen.types import E_ADS

TOLERANCE_EV = 0.05


def stem_of(row: dict[str, Any]) -> str:
    """The start's name in the work directory, from its row in a record's ``orientations``."""
    return stem(list(row_pose(row)))


def energies(work: Path, stem: str) -> tuple[list[float], bool]:
    """The energies of a start's first relaxation (reduced model if it had one) and whether it converged."""
    for name, model in ((f"reduced_{stem}", "reduced"), (stem, "whole")):
        traj = work / f"{name}.traj"
        if not traj.exists():
            continue
        try:
            frames = read(str(traj), index=":")
        except Exception:  # noqa: BLE001 - an empty or cut trajectory: the start is not replayed
            return [], False
        converged = True
        status = work / f"{name}.json"
        if model == "reduced" and status.exists():
            converged = json.loads(status.read_text()).get("prerelax_status") == "converged"
        return [f.get_potential_energy() for f in frames], converged
    return [], False


def searched(row: dict[str, Any], placement: dict[str, Any], conformers: int) -> bool:
    """Whether the search config places this start of the reference."""
    return (
        row.get("conformer", 0) < conformers
        and any(abs(row.get("height_offset_A", 0.0) - h) < 1e-6 for h in placement["heights"])
        and any(abs(row.get("tilt_deg", 0.0) - t) < 1e-6 for t in placement["tilts"])
        and (placement["polar_h_roll"] or not row.get("roll_deg"))
    )


def replay(rec: dict[str, Any], work: Path, placement: dict[str, Any], conformers: int, k: int) -> dict[str, Any]:
    """The starts a search with ``k``-step probes relaxes, and the lowest reference E_ads among them."""
    rows, calls = [], 0
    for row in rec["orientations"]:
        if not searched(row, placement, conformers):
            continue
        es, converged = energies(work, stem_of(row))
        if not es:
            continue
        taken = min(k, len(es) - 1)
        calls += taken + 1
        probe = {key: row.get(key) for key in ("conformer", "rotation_deg", "height_offset_A", "tilt_deg", "roll_deg")}
        if row.get("denticity_start") == 2:
            probe["denticity_start"] = 2
        done = converged and len(es) - 1 <= k
        probe |= {"E_ads_sp_eV": es[taken], "probe_force_calls": taken + 1, "sp_status": "converged" if done else "x"}
        rows.append((probe, row, len(es) - 1 - taken))
    chosen = to_relax(
        [p for p, _, _ in rows], placement["relax_top"], placement["probe_tie_eV"], placement["relax_each_tilt"]
    )
    picked = [(r, left) for p, r, left in rows if any(p is c for c in chosen)]
    finals = [r[E_ADS] for r, _ in picked if isinstance(r.get(E_ADS), (int, float)) and math.isfinite(r[E_ADS])]
    rest = sum(left for _, left in picked)
    return {
        "n": len(rows),
        "chosen": [stem_of(r) for r, _ in picked],
        "best": min(finals, default=None),
        "probe_calls": calls,
        "relax_calls": rest,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference", type=Path)
    ap.add_argument("--config", type=Path, required=True)
    ap.add_argument("--steps", type=int, nargs="+", default=[0, 2, 4, 6, 8])
    ap.add_argument("--tolerance", type=float, default=TOLERANCE_EV)
    ap.add_argument(
        "--each-tilt", action="store_true", help="replay with placement.relax_each_tilt true, whatever the config says"
    )
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    placement = {**section_defaults("placement"), **cfg.get("placement", {})}
    if args.each_tilt:
        placement["relax_each_tilt"] = True
    conformers = placement.get("conformers") or 1
    own = placement["probe_steps"]
    misses, n = [], 0
    for path in sorted(args.reference.glob("adsorption/*/*/*.json")):
        rec = json.loads(path.read_text())
        if not isinstance(rec.get("orientations"), list):
            continue
        work = args.reference / "work" / "adsorption" / rec["ligand"] / rec["site"] / rec["face"]
        finals = [r[E_ADS] for r in rec["orientations"] if isinstance(r.get(E_ADS), (int, float))]
        if not finals or not work.is_dir():
            continue
        n += 1
        ref = min(finals)
        print(f"\n{rec['ligand']} / {rec['site']} / {rec['face']}: reference {ref:+.3f} eV over {len(finals)} starts")
        print(
            f"{'k':>3} {'starts':>6} {'chosen':<48} {'best (eV)':>9} {'diff':>7} {'probe calls':>11} {'+ reduced':>9}"
        )
        for k in sorted(set(args.steps) | {own}):
            r = replay(rec, work, placement, conformers, k)
            diff = None if r["best"] is None else r["best"] - ref
            miss = diff is None or diff > args.tolerance
            if k == own and miss:
                misses.append(rec["ligand"])
            best = "-" if r["best"] is None else f"{r['best']:+.3f}"
            d = "-" if diff is None else f"{diff:+.3f}"
            flag = " MISS" if miss else ""
            print(
                f"{k:>3} {r['n']:>6} {', '.join(r['chosen'])[:48]:<48} {best:>9} {d:>7} "
                f"{r['probe_calls']:>11} {r['relax_calls']:>9}{flag}"
            )
    if not n:
        print(f"no finished complex with a work directory below {args.reference}")
        return 2
    print(f"\nprobe_steps {own} (the config's): " + (f"misses on {', '.join(misses)}" if misses else "no miss"))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
