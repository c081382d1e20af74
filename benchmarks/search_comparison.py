"""Issue 22 item 3: does a search lose a minimum that the exhaustive search finds?

Usage: python benchmarks/search_comparison.py REFERENCE SEARCH [SEARCH ...] [--tolerance 0.05]

REFERENCE: the results tree (``results/<set>``) of ``configs/search_reference.yaml`` or any config that
relaxes every start to convergence (every rotation, height and tilt); SEARCH: the results tree of a search
to judge (the shipped default, ``configs/whole_slab_search.yaml``, ...), optionally ``label=path``. The complexes
are matched by ligand, site type and face (a site's label names its cell, and a search may have chosen
another); only complexes finished in the reference are compared.

Prints, per complex, the reference's lowest E_ads with the start it came from and each search's E_ads with
its difference from it (positive: the search stopped above the reference's minimum). The goal of issue 22:
every search E_ads within ``--tolerance`` eV of the reference's, or lower. Exits 1 when a search misses it on
a compared complex, 2 when nothing could be compared. Energies only: the searches' costs are measured by
``benchmarks/default_screen.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from passivscreen.records.layout import Results
from passivscreen.types import E_ADS, STATUS

#: issue 22: the new search's final E_ads within this much of the exhaustive search's, or lower
TOLERANCE_EV = 0.05


def records(tree: Path) -> dict[tuple[str, str, str], dict]:
    """The screening records of a results tree, keyed by (ligand, site type, face); unfinished or failed
    complexes are left out (a failed search row is reported by the search's own ranking, not compared)."""
    out: dict[tuple[str, str, str], dict] = {}
    layout = Results(str(tree))
    for path in layout.existing(layout.complex("*", "*", "*").json):
        rec = json.loads(Path(path).read_text())
        if rec.get(STATUS) != "ok" or not isinstance(rec.get(E_ADS), (int, float)) or not math.isfinite(rec[E_ADS]):
            continue
        key = (rec["ligand"], rec["site_type"], rec["face"])
        # a site type screened on several Pb (sites: all): the lowest of them, as the ranking keeps
        if key not in out or rec[E_ADS] < out[key][E_ADS]:
            out[key] = rec
    return out


def start_of(rec: dict) -> str:
    """The start a record's minimum came from: conformer, rotation, height offset and tilt."""
    return (
        f"conf {rec.get('conformer', 0)}, rot {rec.get('rotation_deg', float('nan')):g}, "
        f"h {rec.get('height_offset_A', 0.0):+g} A, tilt {rec.get('tilt_deg', 0.0):g}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("searches", nargs="+", help="results trees to judge, as PATH or LABEL=PATH")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE_EV)
    args = parser.parse_args(argv)
    ref = records(args.reference)
    searches = []
    for item in args.searches:
        label, _, path = item.rpartition("=")
        searches.append((label or Path(path).name, records(Path(path))))
    if not ref:
        print(f"no finished complex in the reference tree {args.reference}")
        return 2
    header = f"{'complex':42s} {'reference (eV)':>14s}  " + "  ".join(f"{lab:>20s}" for lab, _ in searches)
    print(header)
    misses, compared = [], 0
    for key in sorted(ref):
        rec = ref[key]
        cells = []
        for label, found in searches:
            if key not in found:
                cells.append(f"{'not run':>20s}")
                continue
            compared += 1
            diff = found[key][E_ADS] - rec[E_ADS]
            ok = diff <= args.tolerance
            if not ok:
                misses.append(f"{label}: {'/'.join(key)} {diff:+.3f} eV")
            cells.append(f"{found[key][E_ADS]:8.3f} ({diff:+.3f}){' ' if ok else '!'}".rjust(20))
        print(f"{'/'.join(key):42s} {rec[E_ADS]:14.3f}  " + "  ".join(cells))
        print(f"{'':42s} reference start: {start_of(rec)}, {rec.get('n_orientations', '?')} starts relaxed")
    print(f"\n{compared} comparisons over {len(ref)} reference complexes; goal: within {args.tolerance:g} eV or lower")
    if compared == 0:
        print("nothing compared: no search tree has a complex of the reference")
        return 2
    if misses:
        print("MISS: " + "; ".join(misses))
        return 1
    print("PASS: no search stopped more than the tolerance above the exhaustive minimum")
    return 0


if __name__ == "__main__":
    sys.exit(main())
