"""The workflow on SLURM: profiles/slurm through snakemake-executor-plugin-slurm, on a real cluster.

The cluster is a one-node SLURM (munge, MariaDB + slurmdbd, slurmctld, slurmd) that
tests/slurm_cluster.py installs from Debian's packages when missing and starts as root in a
temporary directory. Where it cannot be started the test says why and fails when $CI is set;
outside CI it is skipped.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import pytest
import yaml
from slurm_cluster import SlurmCluster, SlurmUnavailable, ensure_installed, make_base

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
ROOT = Path(__file__).resolve().parents[1]
PROFILE_DIR = ROOT / "profiles" / "slurm"
PROFILE = yaml.safe_load((PROFILE_DIR / "config.yaml").read_text())
#: every rule of the workflow on the top face only: a short run that still has every rule
CONFIG = ROOT / "configs" / "slurm_test.yaml"
#: keys of the profile that belong to a site; the test cluster sets its own
SITE_KEYS = ("slurm_partition", "slurm_account")


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"SLURM cannot run on this CI machine: {reason}", pytrace=False)
    pytest.skip(f"SLURM cannot run here: {reason}")


def _require_plugin() -> None:
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError as err:
        _unavailable(f"snakemake-executor-plugin-slurm is not installed ({err}): pip install -e '.[test]'")


def _evaluate(expr: Any, attempt: int, threads: int = 1) -> Any:
    """A profile resource as Snakemake evaluates it (Python, with ``attempt`` and ``threads``)."""
    if not isinstance(expr, str):
        return expr
    try:
        return eval(expr, {"attempt": attempt, "threads": threads})  # noqa: S307 - the project's own profile
    except (NameError, SyntaxError):
        return expr


def _declared_resources() -> dict[str, dict[str, int]]:
    """``resources:`` with literal values declared in the rule files, by rule."""
    text = "\n".join(p.read_text() for p in [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))])
    out: dict[str, dict[str, int]] = {}
    for block in re.split(r"^(?=rule \w+:)", text, flags=re.M):
        m = re.match(r"rule (\w+):", block)
        if m:
            out[m.group(1)] = {k: int(v) for k, v in re.findall(r"^\s+(mem_mb|runtime)=(\d+),?\s*$", block, re.M)}
    return out


def _rules(root: Path) -> list[str]:
    out = subprocess.run(
        [*SNAKEMAKE, "--snakefile", str(root / "Snakefile"), "--configfile", str(CONFIG), "--list-rules"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip() and not line.startswith(" ")]


def _slurm_time(minutes: int) -> str:
    """sacct's Timelimit for a limit of ``minutes``."""
    days, rest = divmod(minutes, 24 * 60)
    text = f"{rest // 60:02d}:{rest % 60:02d}:00"
    return f"{days}-{text}" if days else text


def _job_stats(log: str) -> Counter[str]:
    """The 'Job stats' table that Snakemake prints first: jobs of the DAG by rule."""
    table = log.split("Job stats:", 1)[1]
    stats: Counter[str] = Counter()
    for line in table.splitlines()[3:]:
        parts = line.split()
        if not parts or parts[0] == "total":
            break
        stats[parts[0]] = int(parts[1])
    return stats


def _smk(workdir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900) -> tuple[Any, float]:
    cmd = [*SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(CONFIG)]
    start = time.monotonic()
    out = subprocess.run([*cmd, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout)
    return out, time.monotonic() - start


# ---------------------------------------------------------------------------- the profile itself
def test_profile_sizes_every_rule_and_scales_with_attempt(root):
    assert PROFILE["executor"] == "slurm"
    assert PROFILE["retries"] >= 1 and PROFILE["jobs"] >= 1
    assert set(SITE_KEYS) <= set(PROFILE["default-resources"])
    declared = _declared_resources()
    rules = [r for r in _rules(root) if r != "all"]
    missing = sorted(set(rules) - set(PROFILE["set-resources"]))
    assert not missing, f"profiles/slurm/config.yaml has no set-resources for rule(s) {missing}"
    for rule in rules:
        res = PROFILE["set-resources"][rule]
        assert {"mem_mb", "runtime", "cpus_per_task"} <= set(res), rule
        first = {k: _evaluate(v, 1) for k, v in res.items()}
        # attempt 1 asks at least what the rule declares, each retry asks more memory and time
        for key, value in declared.get(rule, {}).items():
            assert first[key] >= value, f"{rule}: profile {key}={first[key]} < rule's {value}"
        for key in ("mem_mb", "runtime"):
            values = [_evaluate(res[key], a) for a in range(1, PROFILE["retries"] + 2)]
            assert all(isinstance(v, int) for v in values) and values == sorted(set(values)), (rule, key, values)
        assert isinstance(first["cpus_per_task"], int) and first["cpus_per_task"] >= 1


def test_profile_dry_run(root, tmp_path):
    """Snakemake accepts the profile and hands each job its resources (attempt 1)."""
    _require_plugin()
    out, _ = _smk(tmp_path, "-n", "--workflow-profile", str(PROFILE_DIR), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    mem = _evaluate(PROFILE["set-resources"]["adsorption"]["mem_mb"], 1)
    runtime = _evaluate(PROFILE["set-resources"]["adsorption"]["runtime"], 1)
    block = text.split("rule adsorption:", 1)[1].split("\n\n", 1)[0]
    assert f"mem_mb={mem}," in block and f"runtime={runtime}," in block, block


# ---------------------------------------------------------------------------- a real cluster
@pytest.fixture(scope="module")
def cluster() -> Iterator[SlurmCluster]:
    _require_plugin()
    base = make_base()
    cl = SlurmCluster(base)
    try:
        ensure_installed(base / "apt.log")
        cl.start()
    except (SlurmUnavailable, subprocess.SubprocessError, OSError) as err:
        cl.stop()
        shutil.rmtree(base, ignore_errors=True)
        _unavailable(str(err))
    yield cl
    cl.stop()
    shutil.rmtree(base, ignore_errors=True)


def _site_default_resources(cl: SlurmCluster) -> list[str]:
    """The profile's default-resources with the site keys set for the test cluster.

    On the command line, --default-resources replaces the profile's whole block, so every other
    entry is passed on unchanged.
    """
    site = {"slurm_partition": cl.partition, "slurm_account": cl.account}
    return [f"{k}={site.get(k, v)}" for k, v in PROFILE["default-resources"].items()]


@pytest.mark.slow
@pytest.mark.slurm
def test_workflow_on_slurm_matches_local_run(cluster, tmp_path):
    biggest = max(_evaluate(r["mem_mb"], 1) for r in PROFILE["set-resources"].values())
    if cluster.real_memory_mb < biggest:
        _unavailable(f"the node has {cluster.real_memory_mb} MB, the profile asks up to {biggest} MB per job")

    local, local_s = _smk(tmp_path / "local", "--cores", "2")
    assert local.returncode == 0, local.stderr[-3000:]

    try:
        slurm, slurm_s = _smk(
            tmp_path / "slurm",
            "--executor",
            "slurm",
            "--workflow-profile",
            str(PROFILE_DIR),
            "--default-resources",
            *_site_default_resources(cluster),
            # poll sacct every few seconds instead of the profile's cluster-friendly 40 s
            "--slurm-init-seconds-before-status-checks",
            "2",
            "--seconds-between-status-checks",
            "2",
            env=cluster.env,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"the SLURM run did not finish in {err.timeout} s\n{cluster.logs()}")
    log = slurm.stdout + slurm.stderr
    assert slurm.returncode == 0, log[-4000:] + "\n" + cluster.logs()

    # ------------------------------------------------ every job of the DAG went through sbatch
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    stats = _job_stats(log)
    local_rules = set(re.findall(r"^localrule (\w+):", log, re.M))
    assert local_rules == {"all"}, f"jobs run on the submit host instead of SLURM: {local_rules}"
    remote = Counter({rule: n for rule, n in stats.items() if rule not in local_rules})
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    rows = cluster.sacct(run_id)
    assert len(submitted) == sum(remote.values()), (submitted, remote)
    assert {r["JobIDRaw"] for r in rows} == set(submitted.values()), (rows, submitted)
    by_rule = Counter(r["Comment"].removeprefix("rule_").split("_wildcards_")[0] for r in rows)
    assert by_rule == remote, (by_rule, remote)
    for row in rows:
        rule = row["Comment"].removeprefix("rule_").split("_wildcards_")[0]
        res = {k: _evaluate(v, 1) for k, v in PROFILE["set-resources"][rule].items()}
        assert row["State"] == "COMPLETED" and row["ExitCode"] == "0:0", row
        assert (row["Partition"], row["Account"]) == (cluster.partition, cluster.account), row
        # the profile's resources reached sbatch (first attempt: nothing failed)
        assert row["ReqMem"] == f"{res['mem_mb']}M", row
        assert row["Timelimit"] == _slurm_time(res["runtime"]), row
        assert int(row["AllocCPUS"]) == res["cpus_per_task"], row

    # ------------------------------------------------ the same numbers as a local run
    name = yaml.safe_load(CONFIG.read_text())["set"]
    ref = pd.read_csv(tmp_path / "local" / "results" / name / "ranking.csv")
    got = pd.read_csv(tmp_path / "slurm" / "results" / name / "ranking.csv")
    keys = ["ligand", "site", "faces", "status"]
    assert got[keys].values.tolist() == ref[keys].values.tolist()
    assert got["flags"].fillna("").tolist() == ref["flags"].fillna("").tolist()
    for a, b in zip(got["E_ads_eV"], ref["E_ads_eV"]):
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-6, (a, b)
    records = sorted((tmp_path / "local" / "results" / name / "adsorption").rglob("*.json"))
    assert records
    for rec in records:
        mine = json.loads((tmp_path / "slurm" / rec.relative_to(tmp_path / "local")).read_text())
        theirs = json.loads(rec.read_text())
        if theirs.get("E_ads_eV") is None:
            assert mine.get("E_ads_eV") is None, rec
        else:
            assert abs(mine["E_ads_eV"] - theirs["E_ads_eV"]) <= 1e-6, rec

    summary = {
        "jobs": sum(stats.values()),
        "slurm_jobs": len(rows),
        "wall_s_slurm": round(slurm_s, 1),
        "wall_s_local": round(local_s, 1),
    }
    print(f"SLURM test run: {summary}")
    for row in rows:
        print("sacct:", " ".join(f"{k}={v}" for k, v in row.items() if k != "JobName"))
