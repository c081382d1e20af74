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
#: the smallest screen that has every rule: three ligands on a vacancy, three face sets, batches of 3
CONFIG = ROOT / "configs" / "test.yaml"
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


def _job_resources(log: str) -> dict[str, dict[str, int]]:
    """Resources that Snakemake printed for each job, by rule (attempt 1)."""
    out: dict[str, dict[str, int]] = {}
    for block in re.split(r"^(?=(?:local)?rule \w+:)", log, flags=re.M):
        m = re.match(r"(?:local)?rule (\w+):", block)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        if m and res:
            pairs = dict(kv.split("=", 1) for kv in res.group(1).split(", ") if "=" in kv)
            out[m.group(1)] = {k: int(v) for k, v in pairs.items() if k in ("mem_mb", "runtime", "cpus_per_task")}
    return out


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


def _smk(
    workdir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900, config: Path = CONFIG
) -> tuple[Any, float]:
    cmd = [*SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(config)]
    start = time.monotonic()
    out = subprocess.run([*cmd, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout)
    return out, time.monotonic() - start


# ---------------------------------------------------------------------------- the profile itself
def test_profile_has_site_keys_only():
    assert PROFILE["executor"] == "slurm"
    assert PROFILE["retries"] >= 1 and PROFILE["jobs"] >= 1
    assert set(SITE_KEYS) <= set(PROFILE["default-resources"])
    # job sizes are the rules' business, not the profile's
    assert "set-resources" not in PROFILE


def test_rules_size_every_job_and_grow_with_attempt():
    from passivscreen.config import load_config
    from passivscreen.steps.jobs import job_resources

    for name in ("default", "test", "seed_paper"):
        cfg = load_config(ROOT / "configs" / f"{name}.yaml")
        for kind in ("slab", "ligands", "adsorption", "ranking", "database"):
            for n in (1, 3, 50):
                sizes = [job_resources(kind, n, cfg, attempt) for attempt in (1, 2, 3)]
                for key in ("mem_mb", "runtime"):
                    values = [s[key] for s in sizes]
                    assert all(isinstance(v, int) and v > 0 for v in values), (kind, values)
                    assert values == sorted(set(values)), (name, kind, key, values)
    small = load_config(ROOT / "configs" / "test.yaml")
    big = {**small, "slab": {**small["slab"], "repeat": [4, 4]}}
    assert job_resources("adsorption", 3, big)["runtime"] > job_resources("adsorption", 3, small)["runtime"]
    assert job_resources("adsorption", 30, small)["runtime"] > job_resources("adsorption", 3, small)["runtime"]


def test_profile_dry_run(root, tmp_path):
    """Snakemake accepts the profile; every job gets the rule's mem_mb, runtime and cpus_per_task."""
    from passivscreen.config import load_config
    from passivscreen.steps.jobs import job_resources

    _require_plugin()
    out, _ = _smk(tmp_path, "-n", "--workflow-profile", str(PROFILE_DIR), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = _job_resources(out.stdout + out.stderr)
    cfg = load_config(CONFIG)
    batches = {f"{kind}_{k:04d}" for kind in ("ligands", "adsorption") for k in range(3)}
    assert set(jobs) == {"all", "slab", "ranking", "database", *batches}, jobs
    for rule, res in jobs.items():
        if rule == "all":
            continue
        kind = rule.split("_")[0]
        n = {"ligands": cfg["ligand_batch_size"], "adsorption": cfg["batch_size"]}.get(kind, 1)
        assert res == {**job_resources(kind, n, cfg, 1), "cpus_per_task": cfg["threads"]}, (rule, res)


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


def _on_cluster(cl: SlurmCluster) -> list[str]:
    """Snakemake's arguments for a run on the test cluster through the profile."""
    return [
        "--executor",
        "slurm",
        "--workflow-profile",
        str(PROFILE_DIR),
        "--default-resources",
        *_site_default_resources(cl),
        # poll sacct every few seconds instead of the profile's cluster-friendly 40 s
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--seconds-between-status-checks",
        "2",
    ]


@pytest.mark.slow
@pytest.mark.slurm
def test_workflow_on_slurm_matches_local_run(cluster, tmp_path, request):
    """configs/test.yaml less one of its ligands on the cluster: every job of the DAG through sbatch with the
    resources its rule asked for, and the numbers of the local run of the whole config for the rows it has.

    Formaldehyde is left out for time (its three complexes cost as much as TMPO's); TMPO (an ``ok`` row on three
    face sets) and pentadecanone (a recorded failure) keep their places, so their jobs are the local run's."""
    from passivscreen.config import load_config
    from passivscreen.steps.jobs import job_resources

    cfg = load_config(CONFIG)
    biggest = max(job_resources(k, cfg["batch_size"], cfg)["mem_mb"] for k in ("slab", "ligands", "adsorption"))
    if cluster.real_memory_mb < biggest:
        _unavailable(f"the node has {cluster.real_memory_mb} MB, a job of this workflow asks {biggest} MB")
    raw = yaml.safe_load(CONFIG.read_text())
    raw["ligands"] = [lig for lig in raw["ligands"] if lig["name"] != "formaldehyde"]
    assert raw["ligands"][0]["name"] == "trimethylphosphine_oxide" and len(raw["ligands"]) == 2, raw["ligands"]
    config = tmp_path / "subset.yaml"
    config.write_text(yaml.safe_dump(raw))
    try:
        slurm, slurm_s = _smk(tmp_path / "slurm", *_on_cluster(cluster), env=cluster.env, config=config)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"the SLURM run did not finish in {err.timeout} s\n{cluster.logs()}")
    log = slurm.stdout + slurm.stderr
    assert slurm.returncode == 0, log[-4000:] + "\n" + cluster.logs()
    sizes = _job_resources(log)

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
        res = sizes[rule]
        assert row["State"] == "COMPLETED" and row["ExitCode"] == "0:0", row
        assert (row["Partition"], row["Account"]) == (cluster.partition, cluster.account), row
        # the rule's resources reached sbatch (first attempt: nothing failed)
        assert row["ReqMem"] == f"{res['mem_mb']}M", row
        assert row["Timelimit"] == _slurm_time(res["runtime"]), row
        assert int(row["AllocCPUS"]) == res["cpus_per_task"], row

    # ------------------------------------------------ the same numbers as a local run of the whole config
    # asked for only now: the local run, shared with test_workflow.py (tests/conftest.py::test_config_run), is
    # then usually finished by the other worker instead of being waited for
    test_config_run = request.getfixturevalue("test_config_run")
    local, local_s, local_dir = test_config_run.run, test_config_run.wall_s, test_config_run.workdir
    assert local.returncode == 0, local.stderr[-3000:]
    name = raw["set"]
    ref = pd.read_csv(local_dir / "results" / name / "ranking.csv")
    ref = ref[ref["ligand"] != "formaldehyde"].reset_index(drop=True)
    got = pd.read_csv(tmp_path / "slurm" / "results" / name / "ranking.csv")
    assert len(got) == len(ref) == 6, (got, ref)
    keys = ["ligand", "site", "faces", "status"]
    assert got[keys].values.tolist() == ref[keys].values.tolist()
    assert got["flags"].fillna("").tolist() == ref["flags"].fillna("").tolist()
    for a, b in zip(got["E_ads_eV"], ref["E_ads_eV"]):
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-6, (a, b)
    records = sorted((local_dir / "results" / name / "adsorption").rglob("*.json"))
    records = [rec for rec in records if "formaldehyde" not in rec.parts]
    assert len(records) == 6, records
    for rec in records:
        mine = json.loads((tmp_path / "slurm" / rec.relative_to(local_dir)).read_text())
        theirs = json.loads(rec.read_text())
        if theirs.get("E_ads_eV") is None:
            assert mine.get("E_ads_eV") is None, rec
        else:
            assert abs(mine["E_ads_eV"] - theirs["E_ads_eV"]) <= 1e-6, rec

    summary = {
        "jobs": sum(stats.values()),
        "slurm_jobs": len(rows),
        "wall_s_slurm": round(slurm_s, 1),
        "wall_s_local_whole_config": round(local_s, 1),
    }
    print(f"SLURM test run: {summary}")
    for row in rows:
        print("sacct:", " ".join(f"{k}={v}" for k, v in row.items() if k != "JobName"))


#: a small library as a chemist's file brings it: a repeat of a molecule (another SMILES of methylamine) and
#: a broken row among the usable ones
LIBRARY = """name,smiles,label
formaldehyde,C=O,C=O
methylamine,CN,amine
methanamine,NC,the same molecule again
broken,C1CC,unclosed ring
"""


@pytest.mark.slow
@pytest.mark.slurm
def test_ligand_library_on_slurm_with_batches(cluster, tmp_path):
    """A ligands_file library (issue 24) on the cluster with batching on: the bad row and the repeat are left out
    before any job, the two molecules run as one batch of two (adsorption and free ligands), every job is in sacct
    and COMPLETED, and the ranking holds the two."""
    work = tmp_path / "lib"
    work.mkdir()
    (work / "library.csv").write_text(LIBRARY)
    config = work / "library.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "set": "library",
                "seed": 42,
                "threads": 1,
                "batch_size": 2,
                "ligand_batch_size": 2,
                "ligands_file": "library.csv",
                "on_bad_ligand": "skip",
                # auto (the default): the ligand batch is a checkpoint that chooses the cells on the cluster
                "slab": {"n_pbbr2_layers": 2, "repeat": "auto", "vacuum": 8.0},
                "relax": {"fmax": 0.1, "steps": 40},
                "placement": {"orientations": 1, "heights": [0.0], "tilts": [0.0], "probe_steps": 0, "relax_top": 1},
            }
        )
    )
    try:
        out, wall = _smk(work, *_on_cluster(cluster), env=cluster.env, config=config)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"the SLURM library run did not finish in {err.timeout} s\n{cluster.logs()}")
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:] + "\n" + cluster.logs()
    stats = _job_stats(log)
    assert stats["adsorption_0000"] == stats["ligands_0000"] == 1, stats
    assert "adsorption_0001" not in stats and "ligands_0001" not in stats, stats
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    rows = cluster.sacct(run_id)
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    # every job that ran on the cluster: the plan's, and the slab references that joined when the ligand job (a
    # checkpoint) had chosen the cells
    ran = Counter(re.findall(r"^(?:rule|checkpoint) (\w+):$", log, re.M))
    assert "checkpoint ligands_0000:" in log and ran["slab"] >= 1 and "slab" not in stats, (ran, stats)
    assert {r["JobIDRaw"] for r in rows} == set(submitted.values()) and len(rows) == sum(ran.values()), (rows, ran)
    assert all(r["State"] == "COMPLETED" and r["ExitCode"] == "0:0" for r in rows), rows
    res = work / "results" / "library"
    ranking = pd.read_csv(res / "ranking.csv")
    assert sorted(ranking["ligand"]) == ["formaldehyde", "methylamine"]
    assert (ranking["status"] == "ok").all(), ranking[["ligand", "status", "reason"]]
    assert (ranking["repeat"] == "2x2").all()
    skipped = pd.read_csv(res / "skipped.csv")
    assert sorted(skipped["name"]) == ["broken", "methanamine"], skipped
    print(f"SLURM library run: {len(rows)} jobs in {wall:.0f} s")
