"""Command line: ``passivscreen validate CONFIG``, ``cells CONFIG`` (each ligand's lateral cell), ``run CONFIG``
(the screen), ``rank CONFIG`` (the ranking of what has finished, while a run goes on), ``converge CONFIG``
(the convergence harness over the screen's results) and ``calibrate SOURCE...`` (a calibration data set from
the shipped one, finished runs with a DFT tier and calibration stores)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: ``validate`` lists this many of a library's changed rows (file-safe names, counter-ions removed)
CHANGED_SHOWN = 20


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="passivscreen", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="check a config (schema, SMILES, anchors, slab) without computing")
    v.add_argument("config")
    c = sub.add_parser(
        "cells",
        help="validate, then print each ligand's cell (slab.repeat: auto; every embedded conformer: the largest "
        "cell its ligand job can choose) and its atom count",
    )
    c.add_argument("config")
    c.add_argument(
        "--processes", type=int, default=1, help="embed the ligands not in the cache with this many processes"
    )
    k = sub.add_parser(
        "rank", help="rank the complexes that have finished (a run may still be going): ranking.csv, .png, results.db"
    )
    k.add_argument("config")
    cal = sub.add_parser(
        "calibrate",
        help="refit the calibration from the shipped data set plus finished DFT-tier runs (CONFIG) and stores (.db)",
    )
    cal.add_argument("sources", nargs="*", help="configs (.yaml) of finished runs with a DFT tier, or stores (.db)")
    cal.add_argument("--out", default="calibration.json", help="the data set to write (default calibration.json)")
    cal.add_argument("--name", default=None, help="the data set's name (default: the output file's stem)")
    cal.add_argument("--no-shipped", action="store_true", help="leave the shipped data set's pairs out")
    cal.add_argument("--level", type=float, default=None, help="confidence level of the intervals (default 0.9)")
    cal.add_argument(
        "--check",
        action="store_true",
        help="instead of fitting: how the calibration a config (one source) resolves does on that config's own "
        "finished DFT rows, the held-out test (writes results/<set>/calibration_check.csv)",
    )
    cal.add_argument(
        "--protocol-of",
        metavar="CONFIG",
        help="the data set of this config's screening protocol and DFT reference (a store holds pairs of several; "
        "its run is not read); default: the shipped set's, else the first config's, else the store's most common",
    )
    cal.add_argument(
        "--carry",
        action="store_true",
        help="instead of fitting: after a change of the search, copy into the config's calibration.store, under its "
        "protocol, each stored pair its finished screen reproduces (the same complex: within 0.05 A and 2 meV); its "
        "DFT run then computes only the molecules the new search moved",
    )
    cal.add_argument(
        "--partial",
        action="store_true",
        help="use the DFT rows finished so far of a run still going (a preliminary fit)",
    )
    for name, text in (
        ("run", "validate, then run the Snakemake workflow on a config"),
        (
            "converge",
            "validate, then run the screen if needed and the convergence harness (results/<set>/convergence.*)",
        ),
    ):
        r = sub.add_parser(name, help=text)
        r.add_argument("config")
        r.add_argument("--cores", default="all")
        r.add_argument("snakemake_args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    from passivscreen.config import ConfigError, load_config

    if args.cmd == "calibrate":
        return _calibrate(args, argv)
    t0 = time.perf_counter()
    try:
        cfg = load_config(args.config)
    except ConfigError as err:
        print(f"passivscreen: invalid config {args.config}: {err}", file=sys.stderr)
        return 2
    if args.cmd == "validate":
        from passivscreen.calculators import tiers_from_config

        chain = " -> ".join(f"{t.name} ({t.backend}, {t.task})" for t in tiers_from_config(cfg))
        print(
            f"{args.config}: valid ({len(cfg['ligands'])} ligands, set '{cfg['set']}', "
            f"protocol {chain}) in {time.perf_counter() - t0:.1f} s"
        )
        report = cfg.get("ligands_file_report")
        if report:
            extra = report.get("entries", report["used"]) - report["used"]
            more = f" ({report['entries']} ligands: {extra} more for their other anchor classes)" if extra else ""
            print(f"ligands_file {report['file']}: {report['used']} of {report['rows']} rows used{more}")
            changed = report.get("changed", [])
            for row in changed[:CHANGED_SHOWN]:
                print(f"  changed: line {row['line']} ({row['name']}): {row['change']}")
            if len(changed) > CHANGED_SHOWN:
                print(f"  changed: {len(changed) - CHANGED_SHOWN} more rows the same ways")
            for row in report["skipped"]:
                print(f"  not run: line {row['line']} ({row['name']}): {row['reason']}")
        for name, row in (cfg.get("stored_report") or {}).items():
            print(f"  not run: {name}: its pair is in the calibration store ({row})")
        return 0
    if args.cmd == "cells":
        return _cells(cfg, args.processes)
    if args.cmd == "rank":
        from passivscreen.records.layout import Results
        from passivscreen.steps.rank import rank_finished

        df, n_in, n_all = rank_finished(cfg)
        if df is None:
            print(f"set '{cfg['set']}': no complex has finished yet (0 of {n_all})")
            return 0
        complete = int(df.groupby("ligand")["complete"].all().sum())
        print(
            f"{Results.for_set(cfg['set']).ranking.csv}: {n_in} of {n_all} complexes in, {len(df)} rows, "
            f"{complete} of {len(cfg['ligands'])} ligands complete"
        )
        return 0
    snakefile = Path(__file__).resolve().parents[2] / "Snakefile"
    targets = ["converge"] if args.cmd == "converge" else []
    cmd = [
        "snakemake",
        *targets,
        "--snakefile",
        str(snakefile),
        "--cores",
        args.cores,
        "--configfile",
        args.config,
        *args.snakemake_args,
    ]
    return subprocess.call(cmd)


def _calibrate(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Write a calibration data set and print its cross-validated figures."""
    import json

    from passivscreen.calibration import LEVEL, CalibrationError
    from passivscreen.config import ConfigError, load_config
    from passivscreen.steps.calibrate import calibrate_from

    if args.check:
        return _check(args.sources)
    if args.carry:
        return _carry(args.sources)
    configs, stores = [], []
    for src in args.sources:
        if src.endswith(".db"):
            stores.append(src)
            continue
        try:
            configs.append(load_config(src))
        except ConfigError as err:
            print(f"passivscreen: invalid config {src}: {err}", file=sys.stderr)
            return 2
    protocol_of = None
    if args.protocol_of:
        try:
            protocol_of = _whole_config(args.protocol_of)
        except ConfigError as err:
            print(f"passivscreen: invalid config {args.protocol_of}: {err}", file=sys.stderr)
            return 2
    out = Path(args.out)
    command = "passivscreen " + " ".join(sys.argv[1:] if argv is None else argv)
    try:
        data = calibrate_from(
            configs,
            stores,
            name=args.name or out.stem,
            shipped=not args.no_shipped,
            level=args.level or LEVEL,
            command=command,
            partial=args.partial,
            protocol_of=protocol_of,
        )
    except CalibrationError as err:
        print(f"passivscreen calibrate: {err}", file=sys.stderr)
        return 2
    out.write_text(json.dumps(data, indent=1) + "\n")
    overall = data["statistics"]["overall"]
    print(f"{out}: {overall['n']} molecules, protocol {data['fingerprint']}")
    print(
        f"leave-one-molecule-out MAE {overall['mae_raw_eV']:.3f} -> {overall['mae_eV']:.3f} eV, "
        f"Kendall tau {overall['kendall_tau_raw']} -> {overall['kendall_tau']}"
    )
    for cls, fit in sorted(data["classes"].items()):
        print(
            f"  {cls:<10} n={fit['n']} {fit['model']:<6} "
            f"MAE {fit['loo_mae_raw_eV']:.3f} -> {fit['loo_mae_eV']:.3f} eV, "
            f"interval +/-{fit['half_width_eV']:.3f} eV at {fit['level']:.0%}"
        )
    for cls, why in sorted(data["uncalibrated"].items()):
        print(f"  {cls:<10} not calibrated: {why}")
    red = data["reduced"]
    if red["n"]:
        from passivscreen.calibration import half_width

        hw = f"+/-{half_width(red['raw_errors_eV'], data['level']):.3f} eV" if red["n"] >= 2 else "none (one pair)"
        errors = ", ".join(f"{p['ligand']} at {p['site']} {e:+.3f}" for p, e in zip(red["pairs"], red["raw_errors_eV"]))
        print(f"  reduced in the screen: n={red['n']}, raw errors {errors} eV; interval {hw} at {data['level']:.0%}")
    else:
        print("  reduced in the screen: no pair (a row the screen flags ligand_reduced gets no interval)")
    return 0


def _whole_config(path: str) -> dict[str, Any]:
    """A config validated with all its ligands, those whose pair its store holds already too
    (``calibration.skip_stored`` off): what ``--carry`` and ``--protocol-of`` read is its protocol and screen."""
    from passivscreen.config.load import read_yaml
    from passivscreen.config.validate import validate_config

    raw = read_yaml(path)
    raw.setdefault("calibration", {})["skip_stored"] = False
    return validate_config(raw, base=Path(path).parent)


def _carry(sources: list[str]) -> int:
    """``passivscreen calibrate --carry CONFIG``: carry the stored pairs the config's finished screen reproduces."""
    from passivscreen.calibration import CalibrationError
    from passivscreen.config import ConfigError
    from passivscreen.steps.calibrate import MAX_SHIFT_A, carry_pairs

    if len(sources) != 1 or sources[0].endswith(".db"):
        print("passivscreen calibrate --carry: name one config (.yaml) with calibration.store", file=sys.stderr)
        return 2
    try:
        rows = carry_pairs(_whole_config(sources[0]))
    except (ConfigError, CalibrationError) as err:
        print(f"passivscreen calibrate --carry: {err}", file=sys.stderr)
        return 2
    for r in rows:
        shift = "" if r.get("max_shift_A") is None else f", largest shift {r['max_shift_A']:.4f} A"
        change = "" if r.get("screen_change_eV") is None else f", screening E_ads {r['screen_change_eV']:+.4f} eV"
        print(f"  {r['ligand']} at {r['site']}: {r['status']}{shift}{change} {r.get('source', '')}")
    n = {k: sum(r["status"] == k for r in rows) for k in ("carried", "already", "moved", "none")}
    print(
        f"{sources[0]}: {n['carried']} pairs carried, {n['already']} already stored, {n['moved']} moved by the new "
        f"search (> {MAX_SHIFT_A} A: their DFT rows have to run), {n['none']} without a stored pair"
    )
    return 0


def _check(sources: list[str]) -> int:
    """``passivscreen calibrate --check CONFIG``: print and write the held-out test of the config's calibration."""
    import pandas as pd

    from passivscreen.calibration import CalibrationError
    from passivscreen.config import ConfigError, load_config
    from passivscreen.records.layout import Results
    from passivscreen.steps.calibrate import check_calibration

    if len(sources) != 1 or sources[0].endswith(".db"):
        print("passivscreen calibrate --check: name one config (.yaml) of a run with a DFT tier", file=sys.stderr)
        return 2
    try:
        cfg = load_config(sources[0])
        rows, summary = check_calibration(cfg)
    except (ConfigError, CalibrationError) as err:
        print(f"passivscreen calibrate --check: {err}", file=sys.stderr)
        return 2
    out = Path(Results.for_set(cfg["set"]).root) / "calibration_check.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_csv(out, index=False)
    if rows:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(df.drop(columns=["calibration"]).round(3).to_string(index=False))
    print(f"{out}: {len(rows)} DFT rows, calibration {summary['data_set']} at {summary['level']:.0%}")
    for part in ("held_out", "all"):
        s = summary[part]
        if s is None:
            print(f"  {part}: no row")
            continue
        print(
            f"  {part}: n={s['n']} MAE {s['mae_raw_eV']:.3f} -> {s['mae_eV']:.3f} eV, largest "
            f"{s['max_raw_eV']:.3f} -> {s['max_eV']:.3f} eV, Kendall tau {s['kendall_tau_raw']} -> "
            f"{s['kendall_tau']}, DFT inside the interval {s['coverage']:.0%}"
        )
    return 0


def _cells(cfg: dict, processes: int = 1) -> int:
    """Each ligand's cell and the size of its complex (what one GFN2-xTB call costs grows as its cube): before
    anything is computed, over every conformer the ligand job embeds (the same function and seed); the job
    chooses from the conformers it places, so its cell is this one or smaller."""
    from passivscreen.placement.cells import ligand_cells
    from passivscreen.records.layout import Results
    from passivscreen.structures import build_slab
    from passivscreen.structures.cells import slab_spec

    cells = ligand_cells(cfg, cache=Results.for_set(cfg["set"]).cells, processes=max(1, processes))
    sizes = {cell: len(build_slab(slab_spec(cfg, repeat=cell))) for cell in set(cells.values())}
    print(f"{'ligand':<32} {'cell':>5} {'slab atoms':>10}")
    for name, cell in cells.items():
        print(f"{name:<32} {cell[0]}x{cell[1]:<3} {sizes[cell]:>10}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
