"""Process set-up for pipeline jobs: GPU claim, backend choice, threads, determinism and matmul
precision, the compilation cache, logging.

Call :func:`configure` before anything imports keras: the backend is fixed at keras' first
import, CUDA reads ``CUDA_VISIBLE_DEVICES`` when the backend's library starts, and TensorFlow
fixes its thread pools at its first operation.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

from sfcrepro.pipeline.config import resolve_backend
from sfcrepro.pipeline.gpus import claim_gpus, visible_gpus

__all__ = [
    "COMPILATION_CACHE",
    "DETERMINISTIC",
    "FLOAT32_MATMUL",
    "TORCH_CACHE",
    "configure",
    "configure_gpu_job",
    "describe_devices",
    "device_policy",
    "device_report",
    "export_package_path",
    "gpu_devices",
    "job_logging",
    "share_gpu",
]

log = logging.getLogger("sfcrepro")

#: JAX's persistent compilation cache of pipeline jobs, relative to the working directory: the
#: jobs of one run compile each program once between them.
COMPILATION_CACHE = ".snakemake/jax-cache"
#: PyTorch Inductor's cache of pipeline jobs (``TORCHINDUCTOR_CACHE_DIR`` unless set).
TORCH_CACHE = ".snakemake/torch-cache"
#: Values of ``training.deterministic``: auto = deterministic kernels on a CPU, not on a GPU.
DETERMINISTIC = ("auto", True, False)
#: Values of ``training.float32_matmul``: high = TF32 allowed on GPUs, highest = full float32.
FLOAT32_MATMUL = ("high", "highest")
# What a deterministic GPU run adds to XLA_FLAGS (JAX), and cuBLAS's workspace setting that
# PyTorch's deterministic algorithms need for CUDA >= 10.2.
XLA_DETERMINISTIC_FLAG = "--xla_gpu_deterministic_ops=true"
CUBLAS_WORKSPACE = ":4096:8"


def device_policy(
    backend: str,
    gpu: bool,
    deterministic: str | bool = "auto",
    float32_matmul: str = "high",
) -> dict:
    """What a job sets for determinism and float32 matmul precision: one policy, every backend.

    A pure function (it imports nothing and sets nothing), so that the GPU branch is testable on
    a CPU; :func:`configure` applies its result.

    Parameters
    ----------
    backend : {"tensorflow", "torch", "jax"}
        The Keras backend.
    gpu : bool
        Whether the job runs on a GPU.
    deterministic : {"auto", True, False}
        Deterministic kernels (config ``training.deterministic``); auto: on a CPU yes, on a GPU
        no.
    float32_matmul : {"high", "highest"}
        float32 matmuls and convolutions on a GPU (config ``training.float32_matmul``): high lets
        them use TensorFloat-32 (TF32) tensor cores, highest computes them in full float32. No
        effect on a CPU, which has no TF32: nothing is set there.

    Returns
    -------
    dict
        ``device`` ("gpu" or "cpu"), ``deterministic`` (bool), ``float32_matmul`` (the
        setting on a GPU, "n/a" on a CPU), ``environment`` (variables to set where unset),
        ``xla_flags`` (to add to ``XLA_FLAGS``), and the backend's own settings:
        ``tf_op_determinism``, ``tf_tensor_float_32`` (TensorFlow); ``torch_deterministic``,
        ``torch_float32_matmul_precision``, ``torch_cudnn_allow_tf32`` (PyTorch);
        ``jax_default_matmul_precision`` (JAX). None: left as the library has it.

    Raises
    ------
    ValueError
        On a value outside :data:`DETERMINISTIC` or :data:`FLOAT32_MATMUL`.
    """
    if deterministic not in DETERMINISTIC or not isinstance(deterministic, str | bool):
        raise ValueError(f"deterministic must be auto, true or false; got {deterministic!r}.")
    if float32_matmul not in FLOAT32_MATMUL:
        raise ValueError(f"float32_matmul must be high or highest; got {float32_matmul!r}.")
    on = (not gpu) if deterministic == "auto" else bool(deterministic)
    tf32 = float32_matmul == "high"
    policy = {
        "device": "gpu" if gpu else "cpu",
        "deterministic": on,
        "float32_matmul": float32_matmul if gpu else "n/a",
        "environment": {},
        "xla_flags": [],
    }
    if backend == "tensorflow":
        policy["tf_op_determinism"] = on
        policy["tf_tensor_float_32"] = tf32 if gpu else None
    elif backend == "torch":
        policy["torch_deterministic"] = on
        if on and gpu:
            policy["environment"]["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
        policy["torch_float32_matmul_precision"] = float32_matmul if gpu else None
        policy["torch_cudnn_allow_tf32"] = tf32 if gpu else None
    elif backend == "jax":
        if on and gpu:
            policy["xla_flags"].append(XLA_DETERMINISTIC_FLAG)
        # JAX's default on GPUs is already TF32 (docs: "Matmul precision"); set it explicitly.
        policy["jax_default_matmul_precision"] = (
            ("tensorfloat32" if tf32 else "float32") if gpu else None
        )
    return policy


def _set_environment(policy: dict) -> None:
    """The policy's environment variables (where unset) and XLA flags (where absent)."""
    for name, value in policy["environment"].items():
        os.environ.setdefault(name, value)
    flags = os.environ.get("XLA_FLAGS", "").split()
    names = {flag.split("=")[0] for flag in flags}
    added = [flag for flag in policy["xla_flags"] if flag.split("=")[0] not in names]
    if added:
        os.environ["XLA_FLAGS"] = " ".join([*flags, *added])


def configure(
    backend: str | None = None,
    threads: int | None = None,
    seed: int | None = None,
    deterministic: str | bool = "auto",
    require_gpu: bool = False,
    *,
    gpus: int = 0,
    jobs_per_gpu: int = 4,
    float32_matmul: str = "high",
    compilation_cache=None,
) -> str:
    """Set up a job's process: its GPU, the Keras backend, threads, seeds, determinism.

    In this order: take ``gpus`` GPUs (:func:`sfcrepro.pipeline.gpus.claim_gpus`, which sets
    ``CUDA_VISIBLE_DEVICES`` and logs it), select the backend, limit threads, let several jobs
    share a GPU (:func:`share_gpu`), import the backend's library, apply the determinism and
    precision policy (:func:`device_policy`, logged in one line), turn on the compilation cache,
    and seed every generator.

    Parameters
    ----------
    backend : {"tensorflow", "torch", "jax"}, optional
        Keras backend; default: the ``KERAS_BACKEND`` environment variable, else tensorflow
        (:func:`sfcrepro.pipeline.config.resolve_backend`).
    threads : int, optional
        CPU threads for the backend's thread pools (Snakemake's ``threads``).
    seed : int, optional
        Passed to ``keras.utils.set_random_seed`` (Python, NumPy and the backend).
    deterministic : {"auto", True, False}
        Deterministic kernels: TensorFlow op determinism; PyTorch deterministic algorithms
        (``warn_only``: an op without a deterministic kernel warns in the log) and, on a GPU,
        ``CUBLAS_WORKSPACE_CONFIG``; JAX on a GPU ``--xla_gpu_deterministic_ops``. auto: on a
        CPU (where a seed then gives the same weights, bit for bit), off on a GPU. TensorFlow's
        op determinism rules out XLA (no deterministic max-pooling gradient):
        :meth:`sfcrepro.pipeline.train.Execution.resolve` then trains without it.
    require_gpu : bool
        Raise at once when the backend sees no GPU (config ``require_gpu``).
    gpus : int
        GPUs this job takes (config ``gpus_per_job``; the GPU rules pass it); 0: none claimed.
    jobs_per_gpu : int
        Jobs that may share one GPU (config ``jobs_per_gpu``).
    float32_matmul : {"high", "highest"}
        On a GPU, TF32 allowed (high) or full float32 (highest) for float32 matmuls and
        convolutions; nothing changes on a CPU.
    compilation_cache : path, optional
        JAX's persistent compilation cache folder (pipeline jobs: :data:`COMPILATION_CACHE`),
        every program cached however short its compile; the torch backend puts Inductor's cache
        in :data:`TORCH_CACHE` unless ``TORCHINDUCTOR_CACHE_DIR`` is set. None: no change.

    Returns
    -------
    str
        The backend in use.

    Raises
    ------
    RuntimeError
        When the backend's library is not installed, or ``require_gpu`` and no GPU is visible.
    ValueError
        On an unknown backend, ``deterministic`` or ``float32_matmul``.
    """
    backend = resolve_backend({"backend": backend})
    device_policy(backend, False, deterministic, float32_matmul)  # check the values first
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != backend:
        raise RuntimeError("configure() must run before keras is imported to change the backend.")
    claim_gpus(gpus, jobs_per_gpu)
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
    share_gpu(backend)
    if compilation_cache is not None and backend == "torch":
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.abspath(TORCH_CACHE))
    # XLA reads its flags when JAX's backend starts: set them for the GPU the driver lists.
    _set_environment(device_policy(backend, bool(visible_gpus()), deterministic, float32_matmul))
    _import_backend(backend)
    if backend == "tensorflow":
        import tensorflow as tf

        share_gpu(backend, tf)
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
        policy = device_policy(
            backend, bool(tf.config.list_physical_devices("GPU")), deterministic, float32_matmul
        )
        if policy["tf_op_determinism"]:
            tf.config.experimental.enable_op_determinism()
        if policy["tf_tensor_float_32"] is not None:
            tf.config.experimental.enable_tensor_float_32_execution(policy["tf_tensor_float_32"])
    elif backend == "torch":
        import torch

        if threads:
            torch.set_num_threads(threads)
        policy = device_policy(backend, torch.cuda.is_available(), deterministic, float32_matmul)
        _set_environment(policy)  # before the first CUDA call
        if policy["torch_deterministic"]:
            torch.use_deterministic_algorithms(True, warn_only=True)
        if policy["torch_float32_matmul_precision"] is not None:
            torch.set_float32_matmul_precision(policy["torch_float32_matmul_precision"])
            torch.backends.cudnn.allow_tf32 = policy["torch_cudnn_allow_tf32"]
    else:
        import jax

        policy = device_policy(
            backend, jax.default_backend() == "gpu", deterministic, float32_matmul
        )
        if policy["jax_default_matmul_precision"] is not None:
            jax.config.update(
                "jax_default_matmul_precision", policy["jax_default_matmul_precision"]
            )
        if compilation_cache is not None:
            _jax_compilation_cache(jax, compilation_cache)
    log.info(
        "%s on %s: deterministic %s, float32 matmul precision %s%s",
        backend,
        policy["device"].upper(),
        "on" if policy["deterministic"] else "off",
        policy["float32_matmul"],
        f" (XLA_FLAGS {os.environ['XLA_FLAGS']})" if policy["xla_flags"] else "",
    )
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


def configure_gpu_job(job, **settings) -> str:
    """:func:`configure` for a job of a GPU rule (training, importance, attribution), from its
    Snakemake object: the rule's backend (``params.backend``) and threads, the config's
    ``require_gpu``, ``gpus_per_job`` and ``jobs_per_gpu``, and the pipeline's compilation cache;
    ``settings`` (seed, determinism, matmul precision) are passed on."""
    return configure(
        backend=job.params.backend,
        threads=job.threads,
        require_gpu=job.config["require_gpu"],
        gpus=job.config["gpus_per_job"],
        jobs_per_gpu=job.config["jobs_per_gpu"],
        compilation_cache=COMPILATION_CACHE,
        **settings,
    )


def _jax_compilation_cache(jax, folder) -> None:
    """JAX's persistent compilation cache in ``folder``, for every program (JAX's defaults skip
    those compiled in under a second, which are most of a CPU job's). With a size limit, JAX
    guards each read and write with a file lock (the ``filelock`` package), so that concurrent
    jobs never read an entry half written."""
    jax.config.update("jax_compilation_cache_dir", os.path.abspath(str(folder)))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    try:
        import filelock  # noqa: F401 (JAX needs it for the size limit)

        jax.config.update("jax_compilation_cache_max_size", 8 << 30)
    except ImportError:
        pass


#: Environment variables by which a user sets JAX's GPU memory use (jaxlib 0.10.2,
#: ``xla_client.generate_pjrt_gpu_plugin_options``); any of them set: :func:`share_gpu` leaves
#: preallocation alone.
JAX_MEMORY_OPTIONS = (
    "XLA_PYTHON_CLIENT_PREALLOCATE",
    "XLA_CLIENT_MEM_FRACTION",
    "XLA_PYTHON_CLIENT_MEM_FRACTION",  # the deprecated name of XLA_CLIENT_MEM_FRACTION
    "XLA_PYTHON_CLIENT_ALLOCATOR",
)


def share_gpu(backend: str, tensorflow=None) -> dict:
    """Let several processes share one GPU: no backend takes the whole device at start.

    JAX (XLA) preallocates 75% of a GPU's memory in every process, so a second job on the same
    GPU fails to start ("Unable to initialize backend 'cuda'"); this sets
    ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (memory taken as needed) before JAX is imported,
    unless the environment already sets one of JAX's memory options (:data:`JAX_MEMORY_OPTIONS`:
    ``XLA_PYTHON_CLIENT_PREALLOCATE``, the memory fraction ``XLA_CLIENT_MEM_FRACTION`` or its
    deprecated name ``XLA_PYTHON_CLIENT_MEM_FRACTION``, or the allocator
    ``XLA_PYTHON_CLIENT_ALLOCATOR``): your choice wins. TensorFlow likewise maps all of a GPU's
    memory: called again with the imported ``tensorflow`` module, it turns on memory growth for
    every GPU (before the GPUs are first used). PyTorch allocates as it goes: nothing to do.

    Returns
    -------
    dict
        What was set: environment variables, and ``memory_growth`` (the GPUs) for TensorFlow.
    """
    done = {}
    if backend == "jax" and not set(JAX_MEMORY_OPTIONS) & set(os.environ):
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


def device_report(
    backend: str | None = None,
    require_gpu: bool = False,
    *,
    gpus: int = 0,
    jobs_per_gpu: int = 4,
) -> str:
    """Select the backend (see :func:`configure`, which takes ``gpus`` GPUs with ``jobs_per_gpu``
    jobs per GPU) and describe what it runs on, one ``key: value`` per line.

    Raises
    ------
    RuntimeError
        When ``require_gpu`` and the backend sees no GPU (the message lists the devices it sees).
    """
    import platform
    from importlib.metadata import version

    backend = configure(
        backend=backend, require_gpu=require_gpu, gpus=gpus, jobs_per_gpu=jobs_per_gpu
    )
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
