"""Training speed of the pipeline's own training (`sfcrepro.pipeline.train`), before and after, in one run.

Every measurement trains through the package's `train_runs()` (or, for a checkout older than the
training engine, given with `--before-src`, its `train()`) in a fresh process, for `--epochs`
epochs (no early stopping). Two figures per measurement:

* ``examples_per_s``: training examples per second of the training steps alone, read from the
  epoch lines the pipeline logs (``sfcrepro.pipeline.train``: "... (<s> s; training <N>
  examples/s)", N counting training examples of all the runs stepped in that epoch, validation
  excluded); the median over the epochs after the first (which includes tracing and
  compilation). With runs one after another (``together`` false) an epoch's training time is
  the sum of the runs' times.
* ``epoch_examples_per_s``: the older figure, training examples per epoch / the median epoch time
  of the history (``seconds``: training and one pass over the validation split). Code without
  the epoch line (before the engine) has only this one.

The work per example is counted from the layer shapes
(`sfcrepro.network.models.training_flops_per_example`: 3 x 2 x the forward multiply-adds); the
share of peak is that work x examples/s / `--peak-tflops`.

Data: `--architecture simulated_tf` uses the paper's simulated TF-binding splits (6,400 training
and 1,600 validation sequences of config/config.yaml, as `make reproduce` trains); `tf_binding`
and `basset` use `--examples` random 1000 bp sequences with 1 or 2 tasks (and 512 validation
sequences), written once under `--cache`. Choose `--examples` as a multiple of the batch size:
a shorter last batch is a second compiled step.

Each worker process inherits the environment's PYTHONPATH (where Keras may come from, as on the
GPU machine of benchmarks/device_training.sh) with the measured code's src/ first; other
checkouts' src/ folders are dropped from it. Measurements alternate between the code versions,
`--rounds` times. Examples::

    # 2-core CPU: the sim_tf epoch, before and after
    python benchmarks/training_speed.py --architecture simulated_tf --heads sep --threads 1 \\
        --before-src /tmp/before/src --rounds 3 --epochs 4
    # GPU (benchmarks/device_training.sh): Basset under JAX in bfloat16, 50 steps of 1024
    python benchmarks/training_speed.py --architecture basset --backends jax --heads sep std \\
        --precisions mixed_bfloat16 --batch-sizes 1024 --examples 51200 --epochs 3 \\
        --peak-tflops 989
    # several seeds of a small model in one process, stepped together
    python benchmarks/training_speed.py --architecture simulated_tf --seeds 10 --together true

Prints one JSON object per measurement as it ends (and writes them all to `--json`, or appends
each line to `--jsonl`). `--deadline` bounds the whole run: each measurement's time limit is cut
to what is left, and measurements with under 20 s left are reported as skipped.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALID_EXAMPLES = 512
# Under this many seconds left before --deadline a measurement is not started.
MIN_MEASUREMENT_S = 20


def make_data(
    folder: Path, architecture: str, examples: int, per_class: int | None = None
) -> tuple[Path, Path]:
    """The training and validation splits of a measurement (written once, then reused);
    ``per_class``: simulated TF binding with this many training sequences per class (and a
    quarter of it for validation) instead of the config's."""
    folder.mkdir(parents=True, exist_ok=True)
    if architecture == "simulated_tf":
        folder = folder / ("sim_tf" if per_class is None else f"sim_tf_{per_class}")
    else:
        folder = folder / f"{architecture}_{examples}"
    paths = folder / "train.h5", folder / "valid.h5"
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    if architecture == "simulated_tf":
        import yaml

        from sfcrepro.data.simulate import write_simulated_tf_split

        config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        dataset = config["datasets"]["sim_tf"]
        if per_class is not None:
            dataset["simulation"]["per_class"] = {"train": per_class, "valid": per_class // 4}
        for split, path in zip(("train", "valid"), paths, strict=True):
            write_simulated_tf_split(dataset["simulation"], split, dataset["seed"], path)
        return paths
    import numpy as np

    from sfcrepro.data.datasets import write_dataset

    rng = np.random.default_rng(0)
    tasks = ["a"] if architecture == "tf_binding" else ["a", "b"]
    for n, path in zip((examples, VALID_EXAMPLES), paths, strict=True):
        write_dataset(
            path,
            rng.integers(0, 4, size=(n, 1000), dtype=np.uint8),
            rng.integers(0, 2, size=(n, len(tasks)), dtype=np.uint8),
            tasks,
        )
    return paths


# --- shared with benchmarks/host_overhead.py ---------------------------------------------------

# The modules a worker uses, by subpackage (an older checkout, --before-src, has them flat).
SUBPACKAGE = {
    "runtime": "pipeline",
    "settings": "pipeline",
    "train": "pipeline",
    "datasets": "data",
    "models": "network",
    "heads": "network",
}


def module(name: str, flat: str | None = None):
    """``sfcrepro.<subpackage>.<name>`` of the code under test, or ``sfcrepro.<flat or name>`` in
    an older, flat checkout."""
    try:
        return importlib.import_module(f"sfcrepro.{SUBPACKAGE[name]}.{name}")
    except ModuleNotFoundError:
        return importlib.import_module(f"sfcrepro.{flat or name}")


def worker_env(src: str, backend: str, **extra: str) -> dict:
    """The environment of a worker measuring the code in ``src``: this one's, with ``src`` first on
    PYTHONPATH and the inherited entries after it (Keras and the other packages may come from
    there: the GPU machine has them only on PYTHONPATH), less any other sfcrepro checkout's src/."""
    inherited = [
        entry
        for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if entry and not (Path(entry) / "sfcrepro" / "__init__.py").exists()
    ]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([src, *inherited]),
        "KERAS_BACKEND": backend,
        **extra,
    }


class EpochLog(logging.Handler):
    """Collects what the training loop logs: each run's epoch lines (the epoch, its time and
    training examples/s) and the line that says how the runs execute (``engine``)."""

    EPOCH = re.compile(
        r"seed (\d+) epoch (\d+)/\d+: .*\(([\d.]+) s; training ([\d.]+) examples/s\)\s*$"
    )

    def __init__(self):
        super().__init__(logging.INFO)
        self.epochs: list[dict] = []
        self.engine: str | None = None

    def emit(self, record):
        message = record.getMessage()
        match = self.EPOCH.search(message)
        if match:
            seed, epoch, seconds, rate = match.groups()
            self.epochs.append(
                {"seed": int(seed), "epoch": int(epoch), "s": float(seconds), "rate": float(rate)}
            )
        elif "run(s) on" in message:
            self.engine = message

    @classmethod
    def install(cls, echo: bool = True) -> EpochLog:
        """Attach one to the package's logger (and echo its messages to stderr)."""
        handler = cls()
        logger = logging.getLogger("sfcrepro")
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        if echo:
            stream = logging.StreamHandler(sys.stderr)
            stream.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
            logger.addHandler(stream)
        return handler

    def together(self) -> bool | None:
        """Whether the runs stepped together (from the engine line; None without one)."""
        if self.engine is None:
            return None
        return "one after another" not in self.engine

    def training_seconds(self, examples: int, seeds: int) -> dict[int, float]:
        """Per epoch, the seconds of training steps of all the seeds: from each epoch line,
        ``examples x runs in the line's epoch / N``; runs together log one N for all of them,
        runs one after another one each, summed."""
        by_epoch: dict[int, list[dict]] = {}
        for row in self.epochs:
            by_epoch.setdefault(row["epoch"], []).append(row)
        together = self.together()
        seconds = {}
        for epoch, rows in sorted(by_epoch.items()):
            if together:
                seconds[epoch] = examples * len(rows) / rows[0]["rate"]
            else:
                seconds[epoch] = sum(examples / r["rate"] for r in rows)
        return seconds


def execution_value(text: str | None):
    """``--steps-per-execution``/``--together`` text to the Execution's value."""
    if text is None:
        return None
    return {"auto": "auto", "true": True, "false": False}.get(text.lower(), text)


def make_execution(train_module, together, steps, jit_compile=None):
    """An ``Execution`` of the code under test (None arguments: its defaults). Raises
    ``ValueError`` when that code does not accept a value (older code: steps per call as an
    integer only)."""
    kwargs = {"together": together}
    if steps is not None:
        kwargs["steps_per_execution"] = steps if steps == "auto" else int(steps)
    if jit_compile is not None:
        kwargs["jit_compile"] = jit_compile
    return train_module.Execution(**kwargs)


def median_after_first(values: list[float]) -> float | None:
    if not values:
        return None
    return statistics.median(values[1:]) if len(values) > 1 else values[0]


def run_worker(command, env, timeout, describe: dict) -> dict:
    """Run one worker; its last ``RESULT {json}`` line, or ``describe`` with the error."""
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        tail = (error.stderr or b"")[-2000:]
        tail = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        return {**describe, "error": f"over {timeout:.0f} s", "stderr_tail": tail.splitlines()[-5:]}
    lines = [
        line[len("RESULT ") :] for line in proc.stdout.splitlines() if line.startswith("RESULT ")
    ]
    if lines:
        return json.loads(lines[-1])
    return {
        **describe,
        "error": f"exit {proc.returncode}",
        "stderr_tail": proc.stderr.strip().splitlines()[-15:],
    }


class Results:
    """Measurements as they end: printed, appended to ``jsonl``, all written to ``json``."""

    def __init__(self, json_path=None, jsonl_path=None, **common):
        self.json_path, self.jsonl_path, self.common, self.rows = json_path, jsonl_path, common, []

    def add(self, result: dict) -> None:
        result = {**result, **self.common, "host": platform.node()}
        print(json.dumps(result), flush=True)
        self.rows.append(result)
        if self.jsonl_path:
            with open(self.jsonl_path, "a") as out:
                out.write(json.dumps(result) + "\n")
        if self.json_path:
            Path(self.json_path).write_text(json.dumps(self.rows, indent=1))


def device_name() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    if backend == "jax":
        import jax

        return str(jax.devices()[0])
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name if gpus else "cpu"


# --- the worker --------------------------------------------------------------------------------


def worker(args) -> None:
    """One measurement in this process: prints a ``RESULT {json}`` line."""
    if args.cpus:
        os.sched_setaffinity(0, [int(c) for c in args.cpus.split(",")])
    configure = module("runtime").configure
    if args.deterministic == "default":
        configure(backend=args.backend, threads=args.threads, seed=0)
    else:  # the code's determinism setting (issue 35: what it costs on a GPU)
        deterministic = {"auto": "auto", "true": True, "false": False}[args.deterministic]
        configure(backend=args.backend, threads=args.threads, seed=0, deterministic=deterministic)
    import tempfile

    import keras

    epoch_log = EpochLog.install()
    read_dataset = module("datasets").read_dataset
    build_model = module("models").build_model
    training_flops_per_example = module("models").training_flops_per_example
    TrainingSpec = module("settings", flat="config").TrainingSpec
    train_module = module("train")

    train_path, valid_path = Path(args.train), Path(args.valid)
    settings = dict(
        architecture=args.architecture,
        head=args.head,
        seed=0,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        patience=args.epochs,
        name=f"bench/{args.head}",
    )
    new_code = hasattr(train_module, "train_runs")
    if "precision" in TrainingSpec.__dataclass_fields__:
        settings["precision"] = args.precision
    elif args.precision != "float32":
        keras.mixed_precision.set_global_policy(args.precision)  # the old code's only way
    out = Path(tempfile.mkdtemp(dir=train_path.parent))
    steps_asked = execution_value(args.steps_per_execution)
    start = time.perf_counter()
    if new_code:
        RunFiles, train_runs = train_module.RunFiles, train_module.train_runs
        try:
            execution = make_execution(
                train_module,
                execution_value(args.together),
                steps_asked,
                execution_value(args.jit_compile),
            )
        except (TypeError, ValueError) as error:
            raise SystemExit(
                f"this code's Execution does not take these settings: {error}"
            ) from None
        specs = [TrainingSpec(**{**settings, "seed": seed}) for seed in range(args.seeds)]
        runs = [
            RunFiles(s, out / f"s{s.seed}" / "m.keras", out / f"s{s.seed}" / "h.tsv") for s in specs
        ]
        histories = train_runs(runs, train_path, valid_path, execution)
    else:
        if args.seeds != 1:
            raise SystemExit("the code before trains one seed per process")
        histories = [
            train_module.train(
                TrainingSpec(**settings), train_path, valid_path, out / "m.keras", out / "h.tsv"
            )
        ]
    total = time.perf_counter() - start
    train_x, _, tasks = read_dataset(train_path)
    model = build_model(
        args.architecture, head=args.head, length=train_x.shape[1], tasks=len(tasks)
    )
    flops = training_flops_per_example(model)
    examples = len(train_x)

    # history: one pass per epoch (runs together: the same seconds for each; one after another:
    # each run's own, summed)
    per_run = [[float(s) for s in h["seconds"]] for h in histories]
    together = epoch_log.together()
    epoch_seconds = (
        per_run[0]
        if together or len(per_run) == 1
        else [sum(s) for s in zip(*per_run, strict=False)]
    )
    steady_epoch = median_after_first(epoch_seconds)
    train_seconds = epoch_log.training_seconds(examples, args.seeds)
    train_list = [train_seconds[e] for e in sorted(train_seconds)]
    steady_train = median_after_first(train_list)
    per_s = examples * args.seeds / steady_train if steady_train else None
    per_s_epoch = examples * args.seeds / steady_epoch
    rate = per_s or per_s_epoch
    print(
        "RESULT "
        + json.dumps(
            {
                "code": args.code,
                "backend": keras.backend.backend(),
                "device": device_name(),
                "architecture": args.architecture,
                "head": args.head,
                "precision": args.precision,
                "batch_size": args.batch_size,
                "seeds": args.seeds,
                "together": args.together,
                "steps_per_execution": args.steps_per_execution or "default",
                "jit_compile": args.jit_compile or "default",
                "deterministic": args.deterministic,
                "engine": epoch_log.engine,
                "threads": args.threads,
                "examples": examples,
                "training_seconds": [round(s, 3) for s in train_list],
                "epoch_seconds": [round(s, 3) for s in epoch_seconds],
                "first_epoch_s": round(epoch_seconds[0], 3),
                "median_epoch_s": round(steady_epoch, 3),
                "median_training_s": round(steady_train, 3) if steady_train else None,
                "process_seconds": round(total, 1),
                "examples_per_s": round(per_s, 1) if per_s else None,
                "epoch_examples_per_s": round(per_s_epoch, 1),
                "training_gflop_per_example": round(flops / 1e9, 4),
                "achieved_tflops": round(rate * flops / 1e12, 3),
                "share_of_peak": round(rate * flops / 1e12 / args.peak_tflops, 4)
                if args.peak_tflops
                else None,
            }
        ),
        flush=True,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--architecture", default="basset", choices=["simulated_tf", "tf_binding", "basset"]
    )
    parser.add_argument("--backends", nargs="+", default=["tensorflow"])
    parser.add_argument("--heads", nargs="+", default=["sep"])
    parser.add_argument("--precisions", nargs="+", default=["float32"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=None)
    parser.add_argument("--examples", type=int, default=20_480, help="random training examples")
    parser.add_argument(
        "--per-class", type=int, default=None, help="simulated_tf: training sequences per class"
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement (>= 2)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1, help="seeds trained in one process")
    parser.add_argument("--together", default="auto", choices=["auto", "true", "false"])
    parser.add_argument(
        "--steps-per-execution",
        default=None,
        help="an integer or auto (default: the code's own default)",
    )
    parser.add_argument(
        "--jit-compile",
        default=None,
        choices=["auto", "true", "false"],
        help="execution.jit_compile (default: the code's own, auto: on a GPU)",
    )
    parser.add_argument(
        "--deterministic",
        default="default",
        choices=["default", "auto", "true", "false"],
        help="deterministic kernels, as training.deterministic (default: the code's own)",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per process")
    parser.add_argument("--cpus", default="", help="pin each process to these CPUs (0,1)")
    parser.add_argument("--before-src", help="src/ of the code before, to time beside this one")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak")
    parser.add_argument("--cache", default="/tmp/sfcrepro-training-speed")
    parser.add_argument("--json", help="write the results here too (a JSON list)")
    parser.add_argument("--jsonl", help="append each result here as it ends (JSON lines)")
    parser.add_argument("--label", default=None, help="a 'part' field added to each result")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    parser.add_argument("--deadline", type=float, default=None, help="seconds for the whole run")
    # worker
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", default="after", help=argparse.SUPPRESS)
    for name in ("backend", "head", "precision", "train", "valid"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return

    started = time.monotonic()
    batch_sizes = args.batch_sizes or [
        {"simulated_tf": 100, "tf_binding": 100}.get(args.architecture, 128)
    ]
    train_path, valid_path = make_data(
        Path(args.cache), args.architecture, args.examples, args.per_class
    )
    codes = {"after": str(ROOT / "src")}
    if args.before_src:
        codes = {"before": str(Path(args.before_src).resolve()), **codes}
    results = Results(args.json, args.jsonl, **({"part": args.label} if args.label else {}))
    for _ in range(args.rounds):
        for backend in args.backends:
            for head in args.heads:
                for precision in args.precisions:
                    for batch in batch_sizes:
                        for code, src in codes.items():
                            describe = {
                                "code": code,
                                "backend": backend,
                                "architecture": args.architecture,
                                "head": head,
                                "precision": precision,
                                "batch_size": batch,
                                "seeds": args.seeds,
                                "together": args.together,
                            }
                            timeout = args.timeout
                            if args.deadline:
                                timeout = min(timeout, args.deadline - (time.monotonic() - started))
                            if timeout < MIN_MEASUREMENT_S:
                                results.add({**describe, "error": "skipped: out of time"})
                                continue
                            command = [
                                sys.executable,
                                __file__,
                                "--worker",
                                *("--code", code, "--backend", backend, "--head", head),
                                *("--precision", precision, "--batch-size", str(batch)),
                                *("--architecture", args.architecture),
                                *("--train", str(train_path), "--valid", str(valid_path)),
                                *("--epochs", str(args.epochs), "--seeds", str(args.seeds)),
                                *("--together", args.together),
                            ]
                            if args.steps_per_execution:
                                command += ["--steps-per-execution", args.steps_per_execution]
                            if args.jit_compile:
                                command += ["--jit-compile", args.jit_compile]
                            command += ["--deterministic", args.deterministic]
                            if args.threads:
                                command += ["--threads", str(args.threads)]
                            if args.cpus:
                                command += ["--cpus", args.cpus]
                            if args.peak_tflops:
                                command += ["--peak-tflops", str(args.peak_tflops)]
                            results.add(
                                run_worker(command, worker_env(src, backend), timeout, describe)
                            )


if __name__ == "__main__":
    main()
