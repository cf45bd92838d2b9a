"""Process set-up for pipeline jobs: backend choice, threads, determinism, logging.

Call :func:`configure` before anything imports keras: the backend is fixed at keras' first
import, and TensorFlow's thread pools at its first operation.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

__all__ = ["BACKENDS", "configure", "job_logging"]

BACKENDS = ("tensorflow", "torch", "jax")
log = logging.getLogger("sfcrepro")


def configure(backend: str | None = None, threads: int | None = None, seed: int | None = None,
              deterministic: bool = True) -> str:
    """Select the Keras backend, limit threads, seed every generator and ask for deterministic ops.

    Parameters
    ----------
    backend : {"tensorflow", "torch", "jax"}, optional
        Keras backend; default: the ``KERAS_BACKEND`` environment variable, else tensorflow.
    threads : int, optional
        CPU threads for the backend's thread pools (Snakemake's ``threads``).
    seed : int, optional
        Passed to ``keras.utils.set_random_seed`` (Python, NumPy and the backend).
    deterministic : bool
        Request deterministic kernels (TensorFlow op determinism, torch deterministic algorithms),
        so that a seed gives the same weights on CPU.

    Returns
    -------
    str
        The backend in use.
    """
    backend = backend or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if backend not in BACKENDS:
        raise ValueError(f"Unknown Keras backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != backend:
        raise RuntimeError("configure() must run before keras is imported to change the backend.")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
    if backend == "tensorflow":
        import tensorflow as tf

        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
        if deterministic:
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
    return keras.backend.backend()


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
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
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
