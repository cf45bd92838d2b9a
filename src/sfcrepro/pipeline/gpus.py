"""One GPU per job: slot locks taken inside each GPU job, before the Keras backend loads.

Snakemake counts GPUs as a number (the resource ``gpu``) and gives jobs no device ids
(Snakemake issue 281), so on a machine with several GPUs every job would start on GPU 0. Each
GPU job therefore claims its GPU itself (:func:`claim_gpus`, called by
:func:`sfcrepro.pipeline.runtime.configure`): GPU ``<id>`` has ``jobs_per_gpu`` slots, each a
file ``.snakemake/gpu-slots/<host>/<id>-<k>.lock`` in the job's working directory (Snakemake's
workdir), held with ``fcntl.flock`` for the life of the process. The kernel drops the lock when
the process ends, however it ends (a job killed with SIGKILL included), so a slot is never left
taken. The job then sets ``CUDA_VISIBLE_DEVICES`` to the GPUs it holds before the backend is
imported, and logs it.

Slots are tried level by level, slot 0 of every GPU before slot 1 of any: jobs spread over the
GPUs before they share one. Under SLURM (``SLURM_JOB_ID`` is set) the GPUs SLURM allocated are
the job's: when they are no more than the job asks for (a job the SLURM executor submitted with
``--gpus=N``) they are kept as they are; when there are more (Snakemake itself running inside an
``salloc`` or ``sbatch`` of several GPUs, its jobs local), the job claims slots among them as on a
workstation; without ``CUDA_VISIBLE_DEVICES`` (no GPU allocated) nothing is claimed.

The slot files are per host (``.snakemake/gpu-slots/<host>/``), so that runs on several nodes
sharing one working directory never take each other's GPU ids. They coordinate the jobs of one
working directory: two runs in different directories do not see each other's slots. The file
system must support ``flock`` (local disks and most shared ones do; NFS mounted with ``nolock``
and Lustre without ``flock`` do not): where it does not, the job stops and says so.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["SLOT_DIR", "claim_gpus", "driver_gpus", "held_slots", "visible_gpus"]

log = logging.getLogger("sfcrepro")

#: Folder of the slot lock files, relative to the job's working directory (one folder per host
#: below it).
SLOT_DIR = Path(".snakemake") / "gpu-slots"
#: Seconds between tries while every slot is taken.
POLL_SECONDS = 2.0

# The open lock files of the slots this process holds: kept for the life of the process (the
# kernel releases a flock when its last file descriptor closes, so closing them frees the slots).
_HELD: list[tuple[str, int, int]] = []  # (GPU id, slot, file descriptor)


def _close_in_child() -> None:
    """A forked child does not keep its parent's slots: it closes its copies of the lock files
    (the lock stays the parent's), so that a child outliving a killed job frees nothing late."""
    for _, _, fd in _HELD:
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_close_in_child)


def driver_gpus() -> list[str]:
    """Indices of the GPUs the NVIDIA driver lists, in PCI bus order ("0", "1", ...).

    From ``nvidia-smi -L``, else the entries of ``/proc/driver/nvidia/gpus/`` (one per GPU, named
    by PCI bus id); empty where neither exists (no NVIDIA driver).
    """
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=60)
            ids = re.findall(r"^GPU (\d+):", out.stdout, flags=re.M)
            if out.returncode == 0 and ids:
                return ids
        except (OSError, subprocess.SubprocessError) as err:
            log.warning("nvidia-smi -L failed (%s); reading /proc/driver/nvidia/gpus", err)
    proc = Path("/proc/driver/nvidia/gpus")
    try:
        return [str(i) for i in range(sum(1 for _ in proc.iterdir()))]
    except OSError:
        return []


def visible_gpus(environ=None) -> list[str]:
    """The GPU ids this process may use.

    ``CUDA_VISIBLE_DEVICES`` when set (comma-separated indices or UUIDs; empty or ``-1``: none),
    else the driver's GPUs (:func:`driver_gpus`).

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default ``os.environ``).

    Returns
    -------
    list of str
        The ids, in order; empty when there is no GPU.
    """
    environ = os.environ if environ is None else environ
    value = environ.get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return driver_gpus()
    ids = []
    for item in (part.strip() for part in value.split(",")):
        if not item or item == "-1":
            break  # CUDA ignores the list from the first invalid entry on
        ids.append(item)
    return ids


def held_slots() -> list[tuple[str, int]]:
    """The ``(GPU id, slot)`` pairs this process holds."""
    return [(gpu, slot) for gpu, slot, _ in _HELD]


def _slot_path(folder: Path, gpu: str, slot: int) -> Path:
    return folder / f"{re.sub(r'[^A-Za-z0-9._-]', '_', gpu)}-{slot}.lock"


def _try_lock(path: Path) -> int | None:
    """An exclusive flock on ``path`` (created if needed): its descriptor, or None if held.

    Raises
    ------
    RuntimeError
        When the file system cannot lock the file at all (``flock`` unsupported).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)  # not inherited by exec'd children
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            return None  # held by another job
        raise RuntimeError(
            f"Cannot lock GPU slot files in {path.parent} ({error.strerror}): its file system "
            "does not support flock (NFS mounted with nolock, Lustre without flock). Run the "
            "workflow from a directory on a file system that does (a local disk), or give each "
            "run its GPUs with CUDA_VISIBLE_DEVICES and gpus_per_job: 0."
        ) from error
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()}\n".encode())  # for people looking at the folder
    return fd


def _try_claim(ids: list[str], n: int, jobs_per_gpu: int, folder: Path):
    """Slots on ``n`` distinct GPUs, the lowest slot level first; [] (holding nothing) if fewer."""
    taken = []
    for slot in range(jobs_per_gpu):
        for gpu in ids:
            if len(taken) == n:
                return taken
            if any(g == gpu for g, _, _ in taken):
                continue
            fd = _try_lock(_slot_path(folder, gpu, slot))
            if fd is not None:
                taken.append((gpu, slot, fd))
    if len(taken) == n:
        return taken
    for _, _, fd in taken:  # all or nothing: two jobs never wait on each other's half
        os.close(fd)
    return []


def claim_gpus(
    n: int = 1,
    jobs_per_gpu: int = 4,
    folder=SLOT_DIR,
    poll: float = POLL_SECONDS,
) -> list[str] | None:
    """Take ``n`` GPUs of this machine for this process and make them the only ones it sees.

    Call it before the Keras backend (TensorFlow, PyTorch, JAX) is imported: it sets
    ``CUDA_VISIBLE_DEVICES``, which CUDA reads once, when the library starts.

    Parameters
    ----------
    n : int
        GPUs to take (config ``gpus_per_job``); 0 takes none. More than the machine has: all
        of them.
    jobs_per_gpu : int
        Jobs that may share one GPU (config ``jobs_per_gpu``): the slots per GPU.
    folder : path
        Folder of the slot files (default ``.snakemake/gpu-slots`` of the working directory).
    poll : float
        Seconds between tries while every slot is taken.

    Returns
    -------
    list of str or None
        The GPU ids taken, or None where nothing was done: ``n`` is 0, SLURM allocated the job
        no more GPUs than it asks for (kept) or none, no GPU is visible, or this process already
        holds its slots.

    Notes
    -----
    When every slot is taken the job waits, polling every ``poll`` seconds, and says so once
    in its log; it never fails for it. The slots stay held until the process ends.
    """
    if n < 1 or jobs_per_gpu < 1 or _HELD:
        return None
    from_driver = "CUDA_VISIBLE_DEVICES" not in os.environ
    slurm = os.environ.get("SLURM_JOB_ID")
    if slurm and from_driver:  # no GPU allocated to this SLURM job: the node's are not its own
        return None
    ids = visible_gpus()
    if slurm and len(ids) <= n:
        log.info(
            "SLURM job %s: keeping SLURM's GPUs (CUDA_VISIBLE_DEVICES=%s)",
            slurm,
            os.environ["CUDA_VISIBLE_DEVICES"],
        )
        return None
    if not ids:
        return None
    if n > len(ids):
        log.warning("%d GPUs asked for, %d visible: taking all of them", n, len(ids))
        n = len(ids)
    folder = Path(folder)
    if folder == SLOT_DIR:
        folder = folder / socket.gethostname()
    folder.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    waited = False
    while True:
        taken = _try_claim(ids, n, jobs_per_gpu, folder)
        if taken:
            break
        if not waited:
            log.info(
                "waiting for a free GPU slot: all %d slots of GPUs %s are taken (%s/*.lock, "
                "jobs_per_gpu %d)",
                jobs_per_gpu * len(ids),
                ",".join(ids),
                folder,
                jobs_per_gpu,
            )
            waited = True
        time.sleep(poll)
    _HELD.extend(taken)
    gpus = [gpu for gpu, _, _ in taken]
    if from_driver:
        # the driver's indices are in PCI bus order; CUDA's default order is fastest first
        os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    log.info(
        "CUDA_VISIBLE_DEVICES=%s (slot %s of %d per GPU, %s%s)",
        ",".join(gpus),
        ",".join(str(slot) for _, slot, _ in taken),
        jobs_per_gpu,
        ", ".join(str(_slot_path(folder, g, s)) for g, s, _ in taken),
        f"; waited {time.monotonic() - start:.0f} s" if waited else "",
    )
    return gpus
