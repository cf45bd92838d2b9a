"""One GPU per job (sfcrepro.pipeline.gpus): slot locks taken by real processes, tested without a
GPU by naming pretend GPU ids in CUDA_VISIBLE_DEVICES.

Timeouts here are hang guards only (minutes): the tests wait for events (a line in a file), never
for a wall-clock deadline, so a slower machine makes them slower, not failed.
"""

import errno
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY, snakemake

from sfcrepro.pipeline import gpus

GUARD = 300  # seconds: only against a hang

# A pipeline job in miniature: claim, report the GPU, hold it until told to stop or for a while.
CHILD = """
import json, logging, os, sys, time
from pathlib import Path
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
from sfcrepro.pipeline.gpus import claim_gpus
n, per_gpu, folder, hold, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
got = claim_gpus(n, per_gpu, folder=folder, poll=0.1)
start = time.time()
record = {"pid": os.getpid(), "got": got, "env": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start}
Path(out + ".claimed").write_text(json.dumps(record))
if hold.replace(".", "").isdigit():
    time.sleep(float(hold))
else:  # hold until the file `hold` exists
    while not Path(hold).exists():
        time.sleep(0.05)
record["end"] = time.time()
Path(out).write_text(json.dumps(record))
"""


def start_child(tmp_path, name, ids, n=1, per_gpu=1, hold="1.0"):
    """A process claiming ``n`` of ``ids`` (CUDA_VISIBLE_DEVICES) with ``per_gpu`` slots each;
    its record goes to ``tmp_path/name.json``, its log to ``tmp_path/name.log``."""
    env = {k: v for k, v in os.environ.items() if k != "SLURM_JOB_ID"}
    env["CUDA_VISIBLE_DEVICES"] = ids
    log = open(tmp_path / f"{name}.log", "w")
    folder = tmp_path / "slots"
    args = [str(n), str(per_gpu), str(folder), str(hold), str(tmp_path / f"{name}.json")]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args], env=env, stderr=log, stdout=log, cwd=tmp_path
    )
    log.close()
    return proc


def wait_for(condition, what):
    deadline = time.monotonic() + GUARD
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def logged(tmp_path, name, text):
    path = tmp_path / f"{name}.log"
    return path.exists() and text in path.read_text()


def hold_slots(folder, names):
    """Take the slot files ``names`` in this process (as other jobs would hold them)."""
    folder.mkdir(parents=True, exist_ok=True)
    fds = []
    for name in names:
        fd = os.open(folder / name, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fds.append(fd)
    return fds


def _locked(path) -> bool:
    """Whether another open file description holds a flock on ``path``."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.fixture
def own_slots(monkeypatch):
    """The in-process tests' slots, released afterwards; CUDA_* and SLURM_JOB_ID restored."""
    for var in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "SLURM_JOB_ID"):
        monkeypatch.delenv(var, raising=False)
    saved = list(gpus._HELD)
    gpus._HELD.clear()
    yield
    for _, _, fd in gpus._HELD:
        os.close(fd)
    gpus._HELD[:] = saved


def test_concurrent_jobs_never_put_more_than_jobs_per_gpu_on_a_gpu(tmp_path):
    # 6 jobs, 2 GPUs, 2 slots each. All 4 slots are held first, so that every job starts waiting;
    # then they are freed and the jobs take turns.
    held = hold_slots(tmp_path / "slots", ["0-0.lock", "0-1.lock", "1-0.lock", "1-1.lock"])
    names = [f"job{i}" for i in range(6)]
    procs = [start_child(tmp_path, name, "0,1", per_gpu=2, hold="1.5") for name in names]
    for name in names:
        wait_for(
            lambda n=name: logged(tmp_path, n, "waiting for a free GPU slot"), f"{name} to wait"
        )
    for name in names:  # nobody got a slot while they were all taken
        assert not (tmp_path / f"{name}.json.claimed").exists()
    for fd in held:
        os.close(fd)
    for proc in procs:
        assert proc.wait(timeout=GUARD) == 0
    records = [json.loads((tmp_path / f"{name}.json").read_text()) for name in names]
    for name, record in zip(names, records, strict=True):
        assert record["got"] in (["0"], ["1"]) and record["env"] == record["got"][0], record
        text = (tmp_path / f"{name}.log").read_text()
        assert text.count("waiting for a free GPU slot") == 1  # said once, however long
        assert f"CUDA_VISIBLE_DEVICES={record['env']} " in text
    for gpu in ("0", "1"):
        events = sorted(
            [(r["start"], 1) for r in records if r["got"] == [gpu]]
            + [(r["end"], -1) for r in records if r["got"] == [gpu]],
            key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
        )
        running = peak = 0
        for _, step in events:
            running += step
            peak = max(peak, running)
        assert peak <= 2, (gpu, records)
    assert {r["env"] for r in records} == {"0", "1"}


def test_a_killed_job_frees_its_slot(tmp_path):
    first = start_child(tmp_path, "first", "0", hold=str(tmp_path / "never"))
    wait_for(lambda: (tmp_path / "first.json.claimed").exists(), "the first job's claim")
    second = start_child(tmp_path, "second", "0", hold="0")
    wait_for(
        lambda: logged(tmp_path, "second", "waiting for a free GPU slot"), "the second to wait"
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=GUARD)
    assert second.wait(timeout=GUARD) == 0
    assert json.loads((tmp_path / "second.json").read_text())["got"] == ["0"]


def test_jobs_spread_over_the_gpus_before_sharing_one(tmp_path):
    release = tmp_path / "release"
    procs = [
        start_child(tmp_path, name, "0,1,2,3", per_gpu=4, hold=str(release)) for name in ("a", "b")
    ]
    for name in ("a", "b"):
        wait_for(lambda n=name: (tmp_path / f"{n}.json.claimed").exists(), f"{name}'s claim")
    release.touch()
    for proc in procs:
        assert proc.wait(timeout=GUARD) == 0
    got = [json.loads((tmp_path / f"{n}.json").read_text())["got"] for n in ("a", "b")]
    assert sorted(got) == [["0"], ["1"]]


def test_slot_order_and_several_gpus_per_job(tmp_path):
    folder = tmp_path / "slots"
    folder.mkdir()
    ids = ["0", "1", "2"]
    taken = [gpus._try_claim(ids, 1, 2, folder) for _ in range(6)]
    assert [(t[0][0], t[0][1]) for t in taken] == [
        ("0", 0),
        ("1", 0),
        ("2", 0),
        ("0", 1),
        ("1", 1),
        ("2", 1),
    ]
    assert gpus._try_claim(ids, 1, 2, folder) == []  # every slot taken
    for t in taken[:2]:  # GPUs 0 and 1 free one slot each
        os.close(t[0][2])
    pair = gpus._try_claim(ids, 2, 2, folder)
    assert sorted(g for g, _, _ in pair) == ["0", "1"]  # two distinct GPUs
    assert gpus._try_claim(ids, 2, 2, folder) == []  # all or nothing: none left half taken
    for fd in [t[0][2] for t in taken[2:]] + [fd for _, _, fd in pair]:
        os.close(fd)


def test_claim_sets_the_gpu_and_logs_it(own_slots, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    with caplog.at_level(logging.INFO, logger="sfcrepro"):
        assert gpus.claim_gpus(1, 2, folder=tmp_path / "slots") == ["0"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    assert "CUDA_VISIBLE_DEVICES=0 " in caplog.text
    assert (tmp_path / "slots" / "0-0.lock").exists()
    assert "CUDA_DEVICE_ORDER" not in os.environ  # ids given by the user: their order kept
    assert gpus.held_slots() == [("0", 0)]
    assert gpus.claim_gpus(1, 2, folder=tmp_path / "slots") is None  # held already: kept


def test_gpus_per_job_takes_distinct_gpus(own_slots, monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aaa,GPU-bbb,GPU-ccc")
    assert gpus.claim_gpus(2, 4, folder=tmp_path) == ["GPU-aaa", "GPU-bbb"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-aaa,GPU-bbb"


def test_zero_gpus_per_job_takes_none(own_slots, monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert gpus.claim_gpus(0, 4, folder=tmp_path / "slots") is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1" and not (tmp_path / "slots").exists()


def test_slurm_allocation_is_kept(own_slots, monkeypatch, tmp_path):
    # a job the SLURM executor submitted with --gpus=2: SLURM's two GPUs are the job's
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert gpus.claim_gpus(2, 4, folder=tmp_path / "slots") is None
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3,5"
    assert not (tmp_path / "slots").exists() and gpus.held_slots() == []


def test_slurm_job_without_gpus_claims_none_of_the_nodes(own_slots, monkeypatch, tmp_path):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setattr(gpus, "driver_gpus", lambda: ["0", "1"])
    assert gpus.claim_gpus(1, 4, folder=tmp_path / "slots") is None
    assert "CUDA_VISIBLE_DEVICES" not in os.environ


def test_snakemake_inside_an_allocation_of_several_gpus_spreads_its_jobs(
    own_slots, monkeypatch, tmp_path
):
    # salloc --gpus=2, then the README's GPU line: the jobs run locally inside the allocation,
    # each sees both GPUs, and claims one of them as on a workstation
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    held = hold_slots(tmp_path / "slots", ["3-0.lock"])  # another job of the run holds GPU 3
    assert gpus.claim_gpus(1, 4, folder=tmp_path / "slots") == ["5"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    for fd in held:
        os.close(fd)


def test_a_file_system_without_flock_stops_the_job_naming_the_folder(
    own_slots, monkeypatch, tmp_path
):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(gpus.fcntl, "flock", no_locks)
    with pytest.raises(RuntimeError, match=r"Cannot lock GPU slot files in .*slots .*No locks"):
        gpus.claim_gpus(1, 4, folder=tmp_path / "slots")


def test_the_default_slot_folder_is_per_host(own_slots, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert gpus.claim_gpus(1, 4) == ["0"]
    assert (tmp_path / gpus.SLOT_DIR / socket.gethostname() / "0-0.lock").exists()


def test_a_forked_child_does_not_keep_the_slot(own_slots, monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert gpus.claim_gpus(1, 1, folder=tmp_path / "slots") == ["0"]
    pid = os.fork()
    if pid == 0:  # the child: it holds no slot of its parent
        os._exit(0 if gpus.held_slots() == [] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert gpus.held_slots() == [("0", 0)]  # the parent's lock stays
    assert _locked(tmp_path / "slots" / "0-0.lock")


@pytest.mark.parametrize("value", ["", "-1", None])
def test_no_gpu_nothing_is_done(own_slots, monkeypatch, tmp_path, value):
    monkeypatch.setattr(gpus, "driver_gpus", lambda: [])
    if value is not None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert gpus.claim_gpus(1, 4, folder=tmp_path / "slots") is None
    assert os.environ.get("CUDA_VISIBLE_DEVICES") == value
    assert not (tmp_path / "slots").exists()


def test_visible_gpus_reads_cuda_visible_devices_then_the_driver(monkeypatch, tmp_path):
    assert gpus.visible_gpus({"CUDA_VISIBLE_DEVICES": "2, 3"}) == ["2", "3"]
    assert gpus.visible_gpus({"CUDA_VISIBLE_DEVICES": "0,-1,1"}) == ["0"]  # CUDA stops at -1
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\necho 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1a)'\n"
        "echo 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2b)'\n"
    )
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert gpus.visible_gpus({}) == ["0", "1"]


def test_driver_gpus_claimed_in_pci_order(own_slots, monkeypatch, tmp_path):
    monkeypatch.setattr(gpus, "driver_gpus", lambda: ["0", "1"])
    assert gpus.claim_gpus(1, 1, folder=tmp_path) == ["0"]
    assert os.environ["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"  # nvidia-smi's numbering


@pytest.mark.slow
def test_a_workflow_job_logs_its_gpu(tmp_path):
    # Rule check_gpu of the tiny workflow, with two pretend GPUs: the job takes slot 0 of GPU 0.
    env = {k: v for k, v in os.environ.items() if k != "SLURM_JOB_ID"}
    env["CUDA_VISIBLE_DEVICES"] = "0,1"
    proc = snakemake(
        tmp_path, TINY, "--resources", "gpu=2", "--cores", "1", "results/check_gpu.txt", env=env
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (tmp_path / "logs" / "check_gpu.log").read_text()
    assert "CUDA_VISIBLE_DEVICES=0 " in text
    assert "deterministic on, float32 matmul precision n/a" in text  # TensorFlow on the CPU
    assert "CUDA_VISIBLE_DEVICES: 0" in (tmp_path / "results" / "check_gpu.txt").read_text()
    assert Path(tmp_path / ".snakemake" / "gpu-slots" / socket.gethostname() / "0-0.lock").exists()
