"""A long run in sittings, each on whatever machine is at hand, the finished work carried in an archive.

Usage: python benchmarks/sittings.py CONFIG --archive benchmarks/runs/NAME.tar.xz --hours H [--grace G]
       [--first TARGET ...] [--cores 2] [--workdir DIR] [TARGET ...]
       python benchmarks/sittings.py --show benchmarks/runs/NAME.tar.xz

A screen of the seed's molecules or a 50-ligand library is 10-20 h of 2 cores; a sitting is the 1-3 h a
machine is free, and the next sitting may be on a fresh machine. One sitting:

1. restores the work directory from the archive when the directory holds no run yet (a fresh machine);
2. refuses to go on when the config's screening protocol (:func:`passivscreen.calibration.protocol.fingerprint`:
   backend, engine version, slab, relaxation, search, hold, seed) is not the one the carried jobs were made
   with (the table would mix two protocols), naming the settings that differ;
3. runs ``snakemake --keep-going --rerun-incomplete --rerun-triggers mtime`` on the config (and the targets)
   for at most H hours, then stops it with SIGINT (SIGKILL 300 s later: a job inside a long SCF does not see
   the signal; the next sitting unlocks the directory). With ``--grace G`` it first sends Snakemake alone
   SIGTERM at H hours, which starts no new job and lets the running ones finish (a 40-min DFT row cut 5 min
   before its end costs the whole 40 min again), for at most G hours more, then SIGINT as above. Only an input
   newer than a job's output reruns it:
   a change of the code between sittings does not rerun finished jobs, the protocol check above stands guard;
4. records the sitting in ``sittings.json`` of the work directory: the wall time, the machine unit measured at
   its start (``benchmarks/machine_unit.py``), the commit, the protocol's fingerprint, the exit, and the
   Snakemake ``benchmark:`` seconds of every job that finished in it (so each job's time can be read in the
   unit of the machine it ran on);
5. writes the archive: the work directory without ``.snakemake/`` and without trajectories (``*.traj``: a
   relaxation cut by the end of a sitting restarts from its start on the next machine; on the same machine it
   resumes from the trajectory, which stays in the directory); also every ``--save-every`` minutes (default 20)
   while Snakemake runs, with the sitting recorded as ``provisional`` so far, so that a machine that goes away
   in the middle of a sitting loses at most that much work (a partial job's checkpoints, e.g. its finished
   probes, travel too). Put the archive where the next session will find it (the project's checkout).

``--show`` prints the sittings of an archive and the jobs' times in machine units, without running anything.
Exits 0 when the run is complete, 2 when a sitting stopped it (run the same command to go on), 1 on failure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: the record of the sittings, inside the work directory (and so inside the archive)
RECORD = "sittings.json"
#: what the archive leaves out: Snakemake's own state (locks, metadata) and the trajectories
LEFT_OUT_DIRS = {".snakemake"}
LEFT_OUT_SUFFIXES = {".traj"}


def _kept(rel: Path) -> bool:
    return not (set(rel.parts) & LEFT_OUT_DIRS) and rel.suffix not in LEFT_OUT_SUFFIXES


def save(work: Path, archive: Path) -> int:
    """Write ``work`` (without what :data:`LEFT_OUT_DIRS` and :data:`LEFT_OUT_SUFFIXES` name) to ``archive``
    (xz tar; written beside it and moved into place, so a killed save leaves the old archive); its size."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    part = archive.with_name(archive.name + ".part")
    with tarfile.open(part, "w:xz") as tar:
        for path in sorted(work.rglob("*")):
            rel = path.relative_to(work)
            if path.is_file() and _kept(rel):
                tar.add(path, arcname=str(rel), recursive=False)
    part.replace(archive)
    return archive.stat().st_size


def restore(archive: Path, work: Path) -> bool:
    """Unpack ``archive`` into ``work`` when ``work`` holds no run (no :data:`RECORD`); whether it did. File
    times are kept, so Snakemake sees the carried outputs as up to date."""
    if (work / RECORD).exists() or not archive.exists():
        return False
    work.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:xz") as tar:
        # the "data" filter (no links out of the folder, no devices) where this Python has it (3.11.4 and later)
        tar.extractall(work, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return True


def sittings_of(source: Path) -> list[dict[str, Any]]:
    """The sittings recorded in a work directory or an archive (empty when there are none)."""
    if source.is_dir():
        rec = source / RECORD
        return json.loads(rec.read_text()) if rec.exists() else []
    with tarfile.open(source, "r:xz") as tar:
        try:
            member = tar.extractfile(RECORD)
        except KeyError:
            return []
        return json.load(io.TextIOWrapper(member)) if member is not None else []


def job_seconds(work: Path) -> dict[str, float]:
    """The wall seconds of every finished job of the work directory, from Snakemake's ``benchmark:`` files of
    each results tree in it (:func:`snakemake_runs.job_times`), keyed by the file's path relative to ``work``."""
    from snakemake_runs import job_times

    from passivscreen.records.layout import Results

    out = {}
    for tree in sorted(p for p in (work / "results").glob("*") if p.is_dir()):
        res = Results(str(tree))
        for name, sec in job_times(res).items():
            out[str(Path(res.benchmark(*name.split("/"))).relative_to(work))] = sec
    return out


def write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` only when it differs: a config is an input, a new file time would rerun jobs."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def protocol_of(config: Path) -> tuple[dict[str, Any], str]:
    """The screening protocol of a config and its fingerprint (what a calibration is made for)."""
    from passivscreen.calibration.protocol import fingerprint, screen_protocol
    from passivscreen.config import load_config, validate_config

    protocol = screen_protocol(validate_config(load_config(config)))
    return protocol, fingerprint(protocol)


def check_protocol(sittings: list[dict[str, Any]], protocol: dict[str, Any], fp: str) -> str | None:
    """Why the carried jobs cannot be continued with this protocol (None when they can)."""
    from passivscreen.calibration.protocol import differences

    made = [s for s in sittings if s.get("protocol_fingerprint")]
    if not made or made[-1]["protocol_fingerprint"] == fp:
        return None
    diff = differences(made[-1].get("protocol", {}), protocol)
    return (
        f"the carried jobs were made with protocol {made[-1]['protocol_fingerprint']}, this config's is {fp} "
        f"(differs in: {', '.join(diff) or 'the engine or a default'}): start a new archive or restore the settings"
    )


def _wait(proc: subprocess.Popen, seconds: float | None, tick: Callable[[], None] | None, every: float | None) -> bool:
    """Wait for ``proc`` at most ``seconds`` (None: until it ends), calling ``tick`` every ``every`` seconds while
    it runs; whether it ended."""
    end = None if seconds is None else time.monotonic() + seconds
    while True:
        left = None if end is None else max(0.0, end - time.monotonic())
        step = left if not (tick and every) else (every if left is None else min(every, left))
        try:
            proc.wait(timeout=step)
            return True
        except subprocess.TimeoutExpired:
            if left is not None and step >= left:
                return False
            tick()


#: seconds from the stop's SIGINT to SIGKILL
KILL_AFTER_S = 300.0


def _sigint_default() -> None:
    """In the child, before it starts: SIGINT back to its default action. A sitting started in the background of a
    shell (``... &``) has SIGINT ignored, its children inherit that, and Python then installs no handler: Snakemake
    never saw the stop and ran on, starting new jobs, until SIGKILL (stop 50)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_for(
    cmd: list[str],
    cwd: Path,
    hours: float | None,
    grace: float | None = None,
    tick: Callable[[], None] | None = None,
    every: float | None = None,
) -> tuple[int, str, bool]:
    """Run ``cmd`` in ``cwd`` (its own process group), stopped with SIGINT after ``hours`` (Snakemake then ends
    its jobs; SIGKILL when it has not ended 300 s later); (exit code, the end of its stderr, whether it was
    stopped). ``grace`` (hours): at ``hours`` first SIGTERM to Snakemake alone (its graceful stop: no new job,
    the running ones finish), and SIGINT only if it is still running ``grace`` hours later. A sitting that ended
    in its grace counts as stopped when Snakemake left work undone (its exit is then not 0). ``tick`` is called
    every ``every`` seconds while the command runs (the sitting's checkpoint)."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            start_new_session=True,
            preexec_fn=_sigint_default,
        )
        stopped = False
        if not _wait(proc, None if hours is None else hours * 3600, tick, every):
            stopped = True
            if grace:
                proc.send_signal(signal.SIGTERM)
                _wait(proc, grace * 3600, tick, every)
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=KILL_AFTER_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        elif stopped and proc.returncode == 0:
            stopped = False  # it ended in its grace with nothing left to do
        err.seek(0)
        return proc.returncode, err.read()[-3000:], stopped


def snakemake_command(
    work: Path, configfile: str, cores: str, targets: list[str] = (), first: list[str] = ()
) -> list[str]:
    """The Snakemake command of a sitting (the project's Snakefile, run in ``work``); ``first``: targets whose
    jobs (and their inputs) Snakemake starts before any other (its ``--prioritize``), e.g. the longest job."""
    cmd = [sys.executable, "-m", "snakemake", *targets]
    if first:
        cmd += ["--prioritize", *first]
    cmd += ["--snakefile", str(ROOT / "Snakefile")]
    cmd += ["--directory", str(work), "--configfile", configfile, "--cores", cores, "--keep-going"]
    # the targets first: --rerun-triggers takes one or more values and would swallow them
    return [*cmd, "--rerun-incomplete", "--rerun-triggers", "mtime"]


#: the cores of a sitting recorded before stop 52, when every sitting ran Snakemake on 2 (``--cores 2``)
CORES_BEFORE_RECORDED = 2


def cores_of(cmd: list[str]) -> int | None:
    """The cores a sitting's Snakemake command is given (``--cores N``); None for a command without them."""
    return int(cmd[cmd.index("--cores") + 1]) if "--cores" in cmd else None


def cores_ran(sitting: dict[str, Any]) -> int:
    """The cores a recorded sitting ran on (:data:`CORES_BEFORE_RECORDED` for a record from before they were kept)."""
    return sitting.get("cores") or CORES_BEFORE_RECORDED


def core_seconds(sittings: list[dict[str, Any]], unit: float) -> float:
    """The sittings' core time in seconds of a machine whose unit is ``unit``: each sitting's wall time in its own
    machine's unit, times the cores it ran on (a sitting may run on one core while another run has the other)."""
    return sum(x["wall_s"] / x["mu_s"] * cores_ran(x) for x in sittings) * unit


def sit(
    work: Path,
    cmd: list[str],
    hours: float | None,
    unit: float,
    protocol: dict[str, Any],
    fp: str,
    grace: float | None = None,
    archive: Path | None = None,
    save_every: float | None = None,
) -> tuple[dict[str, Any], str]:
    """One sitting in ``work`` (restored already): unlock, run ``cmd`` for at most ``hours``, record it in
    :data:`RECORD`; (the sitting's record, the end of Snakemake's stderr). With ``archive`` and ``save_every``
    (seconds), the work is also saved to the archive every ``save_every`` seconds while Snakemake runs, with
    this sitting recorded as ``provisional`` (its wall time and finished jobs so far): a machine that goes
    away in the middle of a sitting loses at most that much work, not the whole sitting."""
    sittings = sittings_of(work)
    # a sitting stopped with SIGKILL leaves Snakemake's lock; a restored directory has none, unlocking is harmless
    subprocess.run([*cmd, "--unlock"], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before = job_seconds(work)
    start, t0 = time.strftime("%Y-%m-%d %H:%M:%S %Z"), time.perf_counter()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    def record(**end: Any) -> dict[str, Any]:
        return {
            "start": start,
            "host": socket.gethostname(),
            "commit": commit,
            "wall_s": time.perf_counter() - t0,
            "mu_s": unit,
            "cores": cores_of(cmd),
            "grace_h": grace,
            "protocol_fingerprint": fp,
            "protocol": protocol,
            **end,
            # a job is this sitting's when its benchmark file is new or says other seconds (a rerun job, or a batch
            # number that an earlier sitting's job had)
            "jobs": {k: v for k, v in job_seconds(work).items() if before.get(k) != v},
        }

    def checkpoint() -> None:
        (work / RECORD).write_text(json.dumps([*sittings, record(stopped=True, exit=None, provisional=True)], indent=1))
        save(work, archive)

    tick = checkpoint if archive is not None and save_every else None
    code, stderr, stopped = run_for(cmd, work, hours, grace, tick, save_every)
    final = record(stopped=stopped, exit=code)
    (work / RECORD).write_text(json.dumps([*sittings, final], indent=1))
    return final, stderr


def show(sittings: list[dict[str, Any]]) -> None:
    """Print the sittings and the jobs finished in each, every time also in the unit of its machine."""
    total_mu = 0.0
    for i, s in enumerate(sittings, 1):
        jobs = s.get("jobs", {})
        job_mu = sum(jobs.values()) / s["mu_s"]
        total_mu += s["wall_s"] / s["mu_s"]
        ended = "stopped" if s["stopped"] else f"exit {s['exit']}"
        if s.get("provisional"):
            ended = "cut: saved while running (the sitting had not ended when this archive was written)"
        print(
            f"sitting {i}: {s.get('start', '?')} on {s.get('host', '?')} at {str(s.get('commit', '?'))[:7]}: "
            f"{s['wall_s']:.0f} s = {s['wall_s'] / s['mu_s']:.0f} MU (1 MU = {s['mu_s']:.2f} s), "
            f"{ended}; {len(jobs)} jobs finished, {job_mu:.0f} MU of jobs"
        )
        for name, sec in sorted(jobs.items(), key=lambda kv: -kv[1])[:12]:
            print(f"    {sec:8.0f} s = {sec / s['mu_s']:6.0f} MU  {name.split('/benchmarks/', 1)[-1]}")
    print(f"{len(sittings)} sittings, {total_mu:.0f} MU of wall time in all")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", type=Path, help="the config to run (copied into the work directory)")
    ap.add_argument("targets", nargs="*", help="Snakemake targets, relative to the work directory (default: all)")
    ap.add_argument("--archive", type=Path, help="the carried work (created at the first sitting)")
    ap.add_argument("--workdir", type=Path, help="default: <tmp>/passivscreen-<archive name>")
    ap.add_argument("--hours", type=float, help="stop the sitting after this many hours")
    ap.add_argument("--grace", type=float, help="at --hours start no new job; stop the running ones G hours later")
    ap.add_argument("--cores", default="2")
    ap.add_argument(
        "--first",
        nargs="+",
        default=[],
        metavar="TARGET",
        help="start these targets' jobs first (the longest job of a sitting, so it ends in it)",
    )
    ap.add_argument(
        "--save-every",
        type=float,
        default=20.0,
        metavar="MIN",
        help="also save the archive every MIN minutes while Snakemake runs (0: only at the end)",
    )
    ap.add_argument("--show", type=Path, metavar="ARCHIVE", help="print the sittings of an archive and stop")
    args = ap.parse_args()
    if args.show:
        show(sittings_of(args.show))
        return 0
    if args.config is None or args.archive is None:
        ap.error("a config and --archive are needed (or --show ARCHIVE)")
    sys.path.insert(0, str(Path(__file__).parent))
    from machine_unit import announce, machine_unit

    archive = args.archive.resolve()
    work = (args.workdir or Path(tempfile.gettempdir()) / f"passivscreen-{archive.name.split('.')[0]}").resolve()
    protocol, fp = protocol_of(args.config)
    carried = sittings_of(archive) if archive.exists() else []
    why = check_protocol(carried, protocol, fp)
    if why:
        print(f"{archive}: {why}", file=sys.stderr)
        return 1
    if restore(archive, work):
        print(f"restored {len(carried)} sitting(s) of work from {archive} into {work}")
    work.mkdir(parents=True, exist_ok=True)
    write_if_changed(work / "config.yaml", args.config.read_text())
    announce()
    record, stderr = sit(work, snakemake_command(work, "config.yaml", args.cores, args.targets, args.first), args.hours,
                         machine_unit(), protocol, fp, args.grace, archive, args.save_every * 60)  # fmt: skip
    size = save(work, archive)
    show(sittings_of(work))
    print(f"archive: {archive} ({size / 1e6:.2f} MB)")
    if record["stopped"]:
        print("PARTIAL: the sitting was stopped; run the same command to go on")
        return 2
    if record["exit"] != 0:
        print(stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
