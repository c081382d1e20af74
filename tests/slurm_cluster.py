"""A throwaway one-node SLURM cluster on this machine, for tests/test_slurm.py.

Everything runs as root from one temporary directory: munged (its own key and socket), a
MariaDB server, slurmdbd (so that ``sacct`` works as on a real cluster: the executor plugin polls
job states with it), slurmctld and slurmd. Ports are picked free at start, so the cluster
neither needs nor disturbs /etc/slurm, /etc/munge or a cluster that may already run here.
:meth:`SlurmCluster.stop` cancels the cluster's jobs and ends exactly the processes it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Debian packages that bring the programs below.
APT_PACKAGES = ["slurm-wlm", "slurmdbd", "munge", "mariadb-server"]
#: Programs the cluster needs.
PROGRAMS = [
    "slurmctld",
    "slurmd",
    "slurmdbd",
    "sbatch",
    "sacct",
    "sacctmgr",
    "sinfo",
    "squeue",
    "scancel",
    "munged",
    "mungekey",
    "mariadbd",
    "mariadb-install-db",
    "mariadb",
]
#: Fields of :meth:`SlurmCluster.sacct`.
SACCT_FIELDS = [
    "JobIDRaw",
    "JobName",
    "Comment",
    "Partition",
    "Account",
    "State",
    "ExitCode",
    "ReqMem",
    "Timelimit",
    "AllocCPUS",
    "Elapsed",
    "Submit",
    "Start",
    "End",
]


class SlurmUnavailable(RuntimeError):
    """SLURM cannot be installed or started on this machine; the message says why."""


def missing_programs() -> list[str]:
    sbin = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    return [p for p in PROGRAMS if shutil.which(p, path=sbin) is None]


def ensure_installed(log: Path) -> None:
    """Install Debian's SLURM, munge and MariaDB packages when a program is missing."""
    missing = missing_programs()
    if not missing:
        return
    if os.geteuid() != 0:
        raise SlurmUnavailable(f"{', '.join(missing)} missing and not root, cannot apt-get install them")
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable(f"{', '.join(missing)} missing and no apt-get to install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with log.open("a") as out:
        for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", *APT_PACKAGES]):
            out.write(f"+ {' '.join(cmd)}\n")
            out.flush()
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=900).returncode
            if rc != 0:
                raise SlurmUnavailable(f"`{' '.join(cmd)}` failed with exit code {rc}; see {log}")
    missing = missing_programs()
    if missing:
        raise SlurmUnavailable(f"still missing after apt-get install: {', '.join(missing)}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise SlurmUnavailable("no MemTotal in /proc/meminfo")


@dataclass
class SlurmCluster:
    """A one-node cluster: node ``hostname -s`` with this machine's CPUs and memory less a margin."""

    base: Path
    partition: str = "ci"
    account: str = "ci_acct"
    name: str = "passivscreen"
    memory_margin_mb: int = 1024
    node: str = field(default_factory=lambda: socket.gethostname().split(".")[0])
    cpus: int = field(default_factory=lambda: len(os.sched_getaffinity(0)))
    real_memory_mb: int = 0
    started_at: float = 0.0
    _procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    # ------------------------------------------------------------------ paths and environment
    @property
    def conf(self) -> Path:
        return self.base / "etc" / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.base / "munge" / "munge.socket"

    @property
    def db_socket(self) -> Path:
        return self.base / "db" / "mysqld.sock"

    @property
    def env(self) -> dict[str, str]:
        """The environment for SLURM's commands (and Snakemake): SLURM_CONF points at this cluster."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_", "SALLOC_"))}
        env["SLURM_CONF"] = str(self.conf)
        env["PATH"] = f"{self.base / 'bin'}:{env.get('PATH', '')}:/usr/sbin:/sbin"
        return env

    def run(self, *cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise SlurmUnavailable(f"`{' '.join(cmd)}` failed ({out.returncode}): {out.stdout}{out.stderr}")
        return out

    def logs(self, tail: int = 15) -> str:
        """The last lines of every daemon log, to explain a failure."""
        parts = []
        for log in sorted((self.base / "log").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    # ------------------------------------------------------------------ start
    def start(self, timeout: float = 120) -> None:
        if os.geteuid() != 0:
            raise SlurmUnavailable("the test cluster runs its daemons as root; this is not root")
        if len(str(self.munge_socket)) > 100 or len(str(self.db_socket)) > 100:
            raise SlurmUnavailable(f"{self.base} is too long a path for a unix socket")
        for sub in ("bin", "etc", "log", "munge", "db", "state", "spool"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self._write_srun_wrapper()
        os.chmod(self.base / "munge", 0o711)
        self.real_memory_mb = _mem_total_mb() - self.memory_margin_mb
        self.started_at = time.time()
        ports = {k: _free_port() for k in ("ctld", "slurmd", "dbd", "db")}
        try:
            self._start_munge()
            self._start_mariadb(ports["db"], timeout)
            self._write_conf(ports)
            self._start_slurmdbd(timeout)
            self.run("sacctmgr", "-i", "add", "cluster", self.name)
            self.run("sacctmgr", "-i", "add", "account", self.account, "Description=ci", "Organization=ci")
            self.run("sacctmgr", "-i", "add", "user", "root", f"Account={self.account}")
            self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
            self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", self.node])
            self._wait_idle(timeout)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = (self.base / "log" / f"{name}.stdout").open("w")
        self._procs[name] = subprocess.Popen(
            cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        time.sleep(0.2)
        if self._procs[name].poll() is not None:
            raise SlurmUnavailable(f"{name} exited at start ({self._procs[name].returncode}):\n{self.logs()}")

    def _wait(self, what: str, ok, timeout: float) -> None:
        end = time.time() + timeout
        while time.time() < end:
            if ok():
                return
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise SlurmUnavailable(f"{name} died ({proc.returncode}) waiting for {what}:\n{self.logs()}")
            time.sleep(0.5)
        raise SlurmUnavailable(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.logs()}")

    def _start_munge(self) -> None:
        key = self.base / "munge" / "munge.key"
        self.run("mungekey", "--create", "--keyfile", str(key))
        os.chmod(key, 0o600)
        d = self.base / "munge"
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--log-file={self.base / 'log' / 'munged.log'}",
                f"--pid-file={d / 'munged.pid'}",
                f"--seed-file={d / 'munged.seed'}",
            ],
        )
        self._wait("munged", lambda: self.munge_socket.exists(), 30)

    def _start_mariadb(self, port: int, timeout: float) -> None:
        data = self.base / "db" / "data"
        self.run(
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={data}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            timeout=120,
        )
        self._spawn(
            "mariadbd",
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                f"--socket={self.db_socket}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                f"--pid-file={self.base / 'db' / 'mariadbd.pid'}",
                f"--log-error={self.base / 'log' / 'mariadbd.log'}",
                "--innodb-buffer-pool-size=64M",
                "--innodb-lock-wait-timeout=900",
            ],
        )
        sql = ["mariadb", "--no-defaults", "-S", str(self.db_socket), "-u", "root"]
        self._wait("MariaDB", lambda: self.run(*sql, "-e", "SELECT 1", check=False).returncode == 0, timeout)
        self.run(
            *sql,
            "-e",
            "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';"
            " GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';",
        )

    def _write_conf(self, ports: dict[str, int]) -> None:
        b = self.base
        self.conf.write_text(
            f"""# one-node test cluster written by tests/slurm_cluster.py
ClusterName={self.name}
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={ports["ctld"]}
SlurmdPort={ports["slurmd"]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={b / "state"}
SlurmdSpoolDir={b / "spool"}
SlurmctldPidFile={b / "state" / "slurmctld.pid"}
SlurmdPidFile={b / "spool" / "slurmd.pid"}
SlurmctldLogFile={b / "log" / "slurmctld.log"}
SlurmdLogFile={b / "log" / "slurmd.log"}
SlurmctldTimeout=30
SlurmdTimeout=60
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
# accounting through slurmdbd (MariaDB): what sacct and the executor plugin read
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort={ports["dbd"]}
AccountingStoragePass={self.munge_socket}
AccountingStorageEnforce=associations
AccountingStoreFlags=job_comment
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.real_memory_mb} State=UNKNOWN
PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
"""
        )
        dbd = self.conf.parent / "slurmdbd.conf"
        dbd.write_text(
            f"""# written by tests/slurm_cluster.py
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={ports["dbd"]}
SlurmUser=root
PidFile={b / "state" / "slurmdbd.pid"}
LogFile={b / "log" / "slurmdbd.log"}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={ports["db"]}
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
"""
        )
        os.chmod(dbd, 0o600)

    def _write_srun_wrapper(self) -> None:
        """An ``srun`` first on PATH that puts SLURM_CONF back.

        Inside a SLURM job the executor plugin runs the rule through ``srun``, and the jobstep
        plugin (snakemake-executor-plugin-slurm-jobstep 0.6.1) removes every SLURM_* variable but
        the job's identity from that srun's environment, SLURM_CONF included. A real cluster's
        srun finds /etc/slurm/slurm.conf (or asks slurmctld, configless); this cluster's config
        lives only here, so the wrapper restores the variable.
        """
        real = shutil.which("srun")
        if real is None:
            raise SlurmUnavailable("no srun")
        wrapper = self.base / "bin" / "srun"
        wrapper.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {real} "$@"\n')
        wrapper.chmod(0o755)

    def _start_slurmdbd(self, timeout: float) -> None:
        # slurmdbd reads slurmdbd.conf next to $SLURM_CONF
        self._spawn("slurmdbd", ["slurmdbd", "-D"])
        self._wait(
            "slurmdbd", lambda: self.run("sacctmgr", "-n", "list", "cluster", check=False).returncode == 0, timeout
        )

    def _wait_idle(self, timeout: float) -> None:
        def idle() -> bool:
            out = self.run("sinfo", "-h", "-N", "-o", "%T", check=False)
            return out.returncode == 0 and out.stdout.strip() == "idle"

        self._wait(f"node {self.node} idle in sinfo", idle, timeout)

    # ------------------------------------------------------------------ queries
    def sacct(self, job_name: str) -> list[dict[str, str]]:
        """Every job (allocation, not steps) of this cluster named ``job_name``, as sacct reports it."""
        start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.started_at - 3600))
        out = self.run(
            "sacct",
            "-X",
            "--parsable2",
            "--noheader",
            "--starttime",
            start,
            "--endtime",
            "now",
            "--name",
            job_name,
            "--format",
            ",".join(SACCT_FIELDS),
        )
        return [dict(zip(SACCT_FIELDS, line.split("|"))) for line in out.stdout.splitlines() if line.strip()]

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        """Cancel this cluster's jobs, then end the daemons it started (newest first)."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            try:
                self.run("scancel", "--full", "-u", "root", check=False, timeout=30)
                end = time.time() + 60
                while time.time() < end:
                    out = self.run("squeue", "-h", "-o", "%i", check=False, timeout=30)
                    if out.returncode != 0 or not out.stdout.strip():
                        break
                    time.sleep(1)
            except subprocess.TimeoutExpired:
                pass
        for name in reversed(list(self._procs)):
            proc = self._procs.pop(name)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=30)


def make_base() -> Path:
    """A short private directory under /tmp (unix socket paths must stay short)."""
    return Path(tempfile.mkdtemp(prefix="ps-slurm-", dir="/tmp"))
