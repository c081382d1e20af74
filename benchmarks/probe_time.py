"""Where the search's probe time goes, from the probe records a run leaves (issue 22 item 3; docs/slurm.md).

Usage: python benchmarks/probe_time.py RESULTS [RESULTS ...] [--clash W [W ...]]

RESULTS: results trees (``results/<set>``) or folders above them; every ``work/adsorption/*/*/*/probes.json``
below them is read (the probes the search cached, ``passivscreen.steps.probes``), with the starts each search
went on to relax (its ``reduced_<start>.json``). Prints, over all searches:

- the probes whose SCF failed every rung of the ladder, and their share of the probe time (what
  ``placement.probe_scf: quick`` would cut to its cheap rungs);
- probes that took more than 3x their search's median and 60 s while converging: an SCF that needed the
  ladder's damped rungs (the only probes whose result ``quick`` would change; a job paused while it ran also
  shows here);
- the share of probe time in starts more than 0.5, 1, 3 eV above the lowest start's single point, and the
  largest such gap among the starts that were relaxed (what a start-energy cut would lose);
- with ``--clash W``: what ``placement.probe_clash_eV: W`` would have done to these searches, replayed in the
  order the probes ran (a probe whose first energy lies more than W above the lowest first energy of the probes
  before it stops after that call): how many probes it cuts, the probe time they took (the saving is that less
  their first call), and how close the closest cut probe came, after all its steps, to its search's lowest probe.

No calculation; seconds to run. Exits 1 when no probe record is found, or when a start that ``--clash`` would
have cut was one that its search relaxed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

THRESHOLDS_EV = (0.5, 1.0, 3.0)


def stem(pose: list) -> str:
    """The start's name in the work directory (:func:`passivscreen.steps.probes.placement_stem`) from a probe's
    ``pose`` (``passivscreen.steps.screening.row_pose``): conformer, rotation, height offset, tilt, then
    ``"roll", deg`` for a polar-H roll and a last 2 for a bidentate start."""
    from passivscreen.steps.probes import placement_stem

    conformer, rotation, height, tilt, *rest = pose
    start = SimpleNamespace(
        conformer=conformer,
        rotation_deg=rotation,
        height_offset=height,
        tilt_deg=tilt,
        roll_deg=rest[1] if rest[:1] == ["roll"] else 0.0,
        denticity=2 if rest[-1:] == [2] else 1,
    )
    return placement_stem(start)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--clash", nargs="+", type=float, default=[], metavar="W", help="replay probe_clash_eV W")
    args = ap.parse_args()
    files = sorted({f for r in args.results for f in r.glob("**/work/adsorption/*/*/*/probes.json")})
    if not files:
        print("no probes.json below " + ", ".join(map(str, args.results)))
        return 1
    total = failed_s = 0.0
    n = 0
    failed, slow, relaxed_gaps = [], [], []
    above = dict.fromkeys(THRESHOLDS_EV, 0.0)
    searches = {f: json.loads(f.read_text())["probes"] for f in files}
    for f, probes in searches.items():
        name = "/".join(f.parts[-4:-1])
        relaxed = relaxed_starts(f)
        starts = [p["E_ads_start_eV"] for p in probes if p.get("E_ads_start_eV") is not None]
        lowest = min(starts) if starts else 0.0
        median = statistics.median(p.get("probe_calc_s", 0.0) for p in probes)
        for p in probes:
            t = p.get("probe_calc_s", 0.0)
            total += t
            n += 1
            if p.get("sp_status") == "scf_failed":
                failed.append((name, stem(p["pose"]), t))
                failed_s += t
                continue
            if t > 3 * median and t > 60:
                slow.append((name, stem(p["pose"]), t, median))
            gap = p["E_ads_start_eV"] - lowest
            for th in above:
                above[th] += t * (gap > th)
            if stem(p["pose"]) in relaxed:
                relaxed_gaps.append((gap, name, stem(p["pose"])))
    print(f"{len(files)} searches, {n} probes, {total:,.0f} s of probe time")
    print(f"SCF failed: {len(failed)} probes ({len(failed) / n:.0%}), {failed_s:,.0f} s ({failed_s / total:.0%})")
    for name, s, t in failed:
        print(f"  {name} {s}: {t:,.0f} s")
    print(f"converged only after more than 3x the search's median time: {len(slow)}")
    for name, s, t, med in slow:
        print(f"  {name} {s}: {t:,.0f} s (median {med:.0f} s)")
    print(
        "probe time in starts above the lowest start by "
        + ", ".join(f"> {th:g} eV: {v / total:.0%}" for th, v in above.items())
    )
    if relaxed_gaps:
        gap, name, s = max(relaxed_gaps)
        print(f"relaxed starts: {len(relaxed_gaps)}; the highest {gap:.3f} eV above its search's lowest ({name} {s})")
    lost = []
    for w in args.clash:
        cut = [c for f, probes in searches.items() for c in clash_cut(probes, w, f)]
        cut_s = sum(c["s"] for c in cut)
        lost += [c for c in cut if c["relaxed"]]
        closest = min(cut, key=lambda c: c["end_gap"], default=None)
        print(
            f"probe_clash_eV {w:g}: {len(cut)} of {n} probes cut after their first call; they took {cut_s:,.0f} s "
            f"({cut_s / total:.0%} of the probe time)"
            + (f"; the closest ended {closest['end_gap']:.3f} eV above its search's lowest probe "
               f"({closest['name']} {closest['stem']}, began {closest['start_gap']:.2f} eV above)" if closest else "")
        )  # fmt: skip
        for c in cut:
            if c["relaxed"]:
                print(f"  LOST: {c['name']} {c['stem']} was relaxed by its search")
    return 1 if lost else 0


def relaxed_starts(f: Path) -> set[str]:
    """The starts a search relaxed (its ``reduced_<start>.json`` beside its ``probes.json`` ``f``)."""
    return {p.name[len("reduced_") : -len(".json")] for p in f.parent.glob("reduced_*.json")}


def clash_cut(probes: list[dict], window: float, f: Path) -> list[dict]:
    """The probes of one search (in the order they ran) that ``placement.probe_clash_eV: window`` stops after their
    first call, each with its time, how far above the lowest first energy before it it began, how far above the
    search's lowest probe it ended after its steps, and whether the search relaxed it."""
    relaxed = relaxed_starts(f)
    ends = [p["E_ads_sp_eV"] for p in probes if p.get("E_ads_sp_eV") is not None]
    best_end = min(ends) if ends else 0.0
    out, lowest = [], None
    for p in probes:
        e0 = p.get("E_ads_start_eV")
        if e0 is None:
            continue
        if lowest is not None and e0 > lowest + window:
            end = p.get("E_ads_sp_eV")
            out.append({
                "name": "/".join(f.parts[-4:-1]), "stem": stem(p["pose"]), "s": p.get("probe_calc_s", 0.0),
                "start_gap": e0 - lowest, "end_gap": float("inf") if end is None else end - best_end,
                "relaxed": stem(p["pose"]) in relaxed,
            })  # fmt: skip
        lowest = e0 if lowest is None else min(lowest, e0)
    return out


if __name__ == "__main__":
    sys.exit(main())
