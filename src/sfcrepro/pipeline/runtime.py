"""Process set-up for pipeline jobs: backend choice, threads, determinism, logging.

Call :func:`configure` before anything imports keras: the backend is fixed at keras' first
import, and TensorFlow's thread pools at its first operation.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

from sfcrepro.pipeline.config import resolve_backend

__all__ = [
    "configure",
    "describe_devices",
    "device_report",
    "export_package_path",
    "gpu_devices",
    "job_logging",
    "share_gpu",
]

log = logging.getLogger("sfcrepro")


def configure(
    backend: str | None = None,
    threads: int | None = None,
    seed: int | None = None,
    deterministic: bool = True,
    require_gpu: bool = False,
) -> str:
    """Select the Keras backend, limit threads, seed every generator and ask for deterministic ops.

    Parameters
    ----------
    backend : {"tensorflow", "torch", "jax"}, optional
        Keras backend; default: the ``KERAS_BACKEND`` environment variable, else tensorflow
        (:func:`sfcrepro.pipeline.config.resolve_backend`).
    threads : int, optional
        CPU threads for the backend's thread pools (Snakemake's ``threads``).
    seed : int, optional
        Passed to ``keras.utils.set_random_seed`` (Python, NumPy and the backend).
    deterministic : bool
        Request deterministic kernels (TensorFlow op determinism, torch deterministic algorithms),
        so that a seed gives the same weights on CPU. TensorFlow's op determinism is requested
        only where it sees no GPU: on a GPU it would rule out XLA (which has no deterministic
        max-pooling gradient), and GPU runs are not bitwise reproducible anyway.
    require_gpu : bool
        Raise at once when the backend sees no GPU (config ``require_gpu``).

    Returns
    -------
    str
        The backend in use.

    Raises
    ------
    RuntimeError
        When the backend's library is not installed, or ``require_gpu`` and no GPU is visible.
    """
    backend = resolve_backend({"backend": backend})
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != backend:
        raise RuntimeError("configure() must run before keras is imported to change the backend.")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
    share_gpu(backend)
    _import_backend(backend)
    if backend == "tensorflow":
        import tensorflow as tf

        share_gpu(backend, tf)
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
        if deterministic and not tf.config.list_physical_devices("GPU"):
            tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        if threads:
            torch.set_num_threads(threads)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
    import keras

    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    if require_gpu and not gpu_devices():
        raise RuntimeError(
            f"require_gpu is true but the {backend} backend sees no GPU (CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}; devices: {', '.join(describe_devices())}). Run on a "
            "GPU node (profiles/slurm sends this job to the GPU partition), install the GPU build (envs/gpu.yaml, "
            "or pip install 'tensorflow[and-cuda]'), or set require_gpu: false to train on the CPU."
        )
    return keras.backend.backend()


def share_gpu(backend: str, tensorflow=None) -> dict:
    """Let several processes share one GPU: no backend takes the whole device at start.

    JAX (XLA) preallocates 75% of a GPU's memory in every process, so a second job on the same
    GPU fails to start ("Unable to initialize backend 'cuda'"); this sets
    ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (memory taken as needed) before JAX is imported,
    unless the environment already sets it or ``XLA_PYTHON_CLIENT_MEM_FRACTION`` (your choice
    wins). TensorFlow likewise maps all of a GPU's memory: called again with the imported
    ``tensorflow`` module, it turns on memory growth for every GPU (before the GPUs are first
    used). PyTorch allocates as it goes: nothing to do.

    Returns
    -------
    dict
        What was set: environment variables, and ``memory_growth`` (the GPUs) for TensorFlow.
    """
    done = {}
    if backend == "jax" and not {
        "XLA_PYTHON_CLIENT_PREALLOCATE",
        "XLA_PYTHON_CLIENT_MEM_FRACTION",
    } & set(os.environ):
        os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = done["XLA_PYTHON_CLIENT_PREALLOCATE"] = (
            "false"
        )
    if backend == "tensorflow" and tensorflow is not None:
        gpus = tensorflow.config.list_physical_devices("GPU")
        for gpu in gpus:
            try:
                tensorflow.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError as error:  # the GPU is already in use in this process
                log.warning("memory growth not set on %s: %s", gpu.name, error)
        done["memory_growth"] = [gpu.name for gpu in gpus]
    return done


def _import_backend(backend: str) -> None:
    """Import the backend's library (its module has the backend's name), with a fix on failure."""
    try:
        __import__(backend)
    except ImportError as err:
        raise RuntimeError(
            f"The Keras backend {backend!r} needs the {backend} package, which is not installed here ({err}). "
            f"Install it (pip install {backend}; the conda environments in envs/ carry TensorFlow only) or choose "
            "another backend (config key backend, or KERAS_BACKEND)."
        ) from err


def gpu_devices() -> list[str]:
    """Names of the GPUs the current Keras backend sees (empty on CPU-only machines)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if backend == "torch":
        import torch

        return [
            f"cuda:{i} {torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count())
        ]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    return []


def describe_devices() -> list[str]:
    """Every device the current Keras backend sees, CPU included, as readable names."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [f"{d.device_type} {d.name}" for d in tf.config.list_physical_devices()]
    if backend == "jax":
        import jax

        return [f"{d.platform} {d}" for d in jax.devices()]
    return ["CPU"] + gpu_devices()


@contextmanager
def job_logging(path=None, level=logging.INFO):
    """Log a job to ``path`` (its Snakemake ``log:``), or to stderr when ``path`` is None.

    With a path, the process's own stdout and stderr (file descriptors 1 and 2) go to the log
    too, so that messages of compiled libraries (TensorFlow's start-up lines, say) land in the
    rule's log rather than on the Snakemake console. An exception is logged with its traceback
    before it propagates.
    """
    saved = []
    if path:
        stream = open(path, "w", buffering=1)
        sys.stdout.flush()
        sys.stderr.flush()
        for fd in (1, 2):
            saved.append((fd, os.dup(fd)))
            os.dup2(stream.fileno(), fd)
    else:
        stream = sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    try:
        yield log
    except BaseException:
        log.exception("job failed")
        raise
    finally:
        root.removeHandler(handler)
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        if path:
            stream.close()


def device_report(backend: str | None = None, require_gpu: bool = False) -> str:
    """Select the backend (see :func:`configure`) and describe what it runs on, one ``key: value`` per line.

    Raises
    ------
    RuntimeError
        When ``require_gpu`` and the backend sees no GPU (the message lists the devices it sees).
    """
    import platform
    from importlib.metadata import version

    backend = configure(backend=backend, require_gpu=require_gpu)
    gpus = gpu_devices()
    lines = {
        "backend": backend,
        "keras": version("keras"),
        backend: version(backend),
        "host": platform.node(),
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
        "devices": ", ".join(describe_devices()),
        "gpus": str(len(gpus)),
        "require_gpu": str(require_gpu).lower(),
    }
    return "".join(f"{key}: {value}\n" for key, value in lines.items())


def export_package_path(src) -> None:
    """Put ``src`` first on ``PYTHONPATH`` (once), so that job processes import this package from it.

    The workflow calls it with the checkout's ``src/``: jobs in a conda environment that has only
    the dependencies then run the same code as jobs in the development environment.
    """
    src = str(src)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if src not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([src, *paths])
