"""What the timing benchmarks share: a timed Snakemake run of a config, and the time of its jobs.

Imported by ``default_screen.py``, ``dft_check.py`` and ``validation_table.py`` (run as
``python benchmarks/<script>.py``, which puts this directory on the import path).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from passivscreen.records.layout import Results

ROOT = Path(__file__).resolve().parents[1]


def run_snakemake(
    config: str, cores: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess, float]:
    """``snakemake --cores CORES --configfile CONFIG`` in the project root: the finished process, wall time (s)."""
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", cores, "--configfile", config],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    return run, time.perf_counter() - t0


def job_times(res: Results, under: str = "") -> dict[str, float]:
    """Seconds of every job under ``under`` (Snakemake's benchmark files of results tree ``res``,
    :meth:`Results.benchmark_folder`), keyed by the file's path below that folder, without ``.tsv``."""
    top = Path(res.benchmark_folder(under))
    return {
        str(tsv.relative_to(top).with_suffix("")): float(tsv.read_text().splitlines()[1].split("\t")[0])
        for tsv in sorted(top.rglob("*.tsv"))
    }
