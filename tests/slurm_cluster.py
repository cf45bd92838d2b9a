"""A throw-away single-node SLURM cluster for tests, from Debian's `slurm-wlm` and `munge`.

:class:`SlurmCluster` writes a minimal configuration for this machine (its CPUs and memory, two
partitions ``cpu`` and ``gpu``, two schedulable GPUs declared on ``/dev/null`` and ``/dev/zero``),
starts ``munged`` (unless one already answers), ``slurmctld`` and ``slurmd`` in the foreground as
child processes, and stops exactly those processes by PID. :meth:`SlurmCluster.unavailable` names what is missing
where no cluster can be started (not root, packages absent, a real SLURM configured here).

Facts this relies on (Debian 12, SLURM 22.05, no systemd): ``proctrack/linuxproc`` and
``task/none`` work without cgroups; no accounting daemon, so job states come from ``squeue``
(``MinJobAge`` keeps finished jobs visible to it); ``slurm.conf`` must be in ``/etc/slurm`` because
the ``srun`` that Snakemake runs inside each job ignores ``SLURM_CONF`` there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

ETC = Path("/etc/slurm")
MARKER = "# written by sfcrepro tests/slurm_cluster.py; removed when the test ends"
BINARIES = [
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scontrol",
    "scancel",
    "sinfo",
    "munged",
    "munge",
    "unmunge",
]


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _mem_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class SlurmCluster:
    """One controller and one compute node (this machine), state and logs under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.host = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1
        self.procs: dict[str, subprocess.Popen] = {}
        self.written: list[Path] = []

    @staticmethod
    def unavailable() -> str | None:
        """Why no cluster can be started here, or None."""
        if os.name != "posix" or not Path("/proc/meminfo").exists():
            return "needs Linux"
        if os.geteuid() != 0:
            return "slurmd must run as root to start jobs; run the tests as root (CI does)"
        missing = [b for b in BINARIES if not shutil.which(b)]
        if missing:
            return (
                f"{', '.join(missing)} not found: install Debian's slurm-wlm and munge "
                "(`make test` does it with apt-get when run as root)"
            )
        conf = ETC / "slurm.conf"
        if conf.exists() and MARKER not in conf.read_text():
            return f"{conf} exists: a real SLURM is configured on this machine, and the test does not touch it"
        for port in (6817, 6818):
            if _port_in_use(port):
                return f"port {port} is in use (a SLURM daemon already runs here)"
        return None

    # -- configuration -------------------------------------------------------------------------
    def _write(self, path: Path, text: str) -> None:
        path.write_text(text)
        self.written.append(path)

    def configure(self) -> None:
        state = self.root / "state"
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        ETC.mkdir(parents=True, exist_ok=True)
        memory = max(1024, _mem_mb() - 2048)
        log = self.root / "log"
        self._write(
            ETC / "slurm.conf",
            f"""{MARKER}
ClusterName=sfcrepro-test
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={state}
SlurmdSpoolDir={self.root / "spool"}
SlurmctldPidFile={self.root / "slurmctld.pid"}
SlurmdPidFile={self.root / "slurmd.pid"}
SlurmctldLogFile={log / "slurmctld.log"}
SlurmdLogFile={log / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
ReturnToService=2
GresTypes=gpu
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory} Gres=gpu:2 State=UNKNOWN
PartitionName=cpu Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={self.host} MaxTime=INFINITE State=UP
""",
        )
        # Two GPUs for scheduling only (a job of gpus_per_job: 2); the files are never opened.
        self._write(
            ETC / "gres.conf", f"{MARKER}\nName=gpu File=/dev/null\nName=gpu File=/dev/zero\n"
        )

    # -- daemons -------------------------------------------------------------------------------
    def _munge_answers(self) -> bool:
        try:
            cred = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
            if cred.returncode != 0:
                return False
            return (
                subprocess.run(
                    ["unmunge"], input=cred.stdout, capture_output=True, timeout=10
                ).returncode
                == 0
            )
        except subprocess.TimeoutExpired:
            return False

    def _start(self, name: str, cmd: list[str]) -> None:
        out = open(self.root / "log" / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _start_munge(self) -> None:
        if self._munge_answers():
            return
        if not Path("/etc/munge/munge.key").exists():
            subprocess.run(["mungekey", "--create"], check=True)
        for d in ("/run/munge", "/var/lib/munge", "/var/log/munge"):
            Path(d).mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "munge", "munge")
        shutil.chown("/etc/munge/munge.key", "munge", "munge")
        self._start(
            "munged", ["runuser", "-u", "munge", "--", shutil.which("munged"), "--foreground"]
        )
        self._wait(self._munge_answers, "munged", 20)

    def _wait(self, ready, what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if ready():
                return
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.logs()}")
            time.sleep(0.5)
        raise RuntimeError(f"{what} not ready after {seconds} s:\n{self.logs()}")

    def _node_idle(self) -> bool:
        proc = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=10
        )
        return proc.returncode == 0 and proc.stdout.strip().startswith("idle")

    def start(self) -> None:
        """Configure and start munged (if needed), slurmctld and slurmd; wait for an idle node."""
        self.configure()
        self._start_munge()
        self._start("slurmctld", [shutil.which("slurmctld"), "-D", "-i"])
        self._start("slurmd", [shutil.which("slurmd"), "-D"])
        self._wait(self._node_idle, "the SLURM node", 60)

    def stop(self) -> None:
        """Cancel remaining jobs, stop the daemons this object started, remove its configuration."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--full", "--user", "root"], capture_output=True, timeout=20)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for path in self.written:
            path.unlink(missing_ok=True)

    def logs(self, chars: int = 3000) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job`` as a dict (finished jobs stay visible for MinJobAge seconds)."""
        text = subprocess.run(
            ["scontrol", "-o", "show", "job", job_id], capture_output=True, text=True, timeout=10
        ).stdout
        return dict(item.split("=", 1) for item in text.split() if "=" in item)
