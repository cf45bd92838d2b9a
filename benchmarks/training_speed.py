"""Training speed of the pipeline's own training (`sfcrepro.pipeline.train`), before and after, in one run.

Every measurement trains through the package's `train_runs()` (or, for the code "before", the
`train()` of an older checkout given with `--before-src`, e.g. `git archive 149b21f src | tar -x
-C /tmp/before`) in a fresh process, for `--epochs` epochs (no early stopping), and reads the
epoch times from the history. Examples per second = training examples per epoch (times the
seeds trained at once) / the median time of the epochs after the first (which includes tracing
and compilation); an epoch's time includes one pass over a small validation split. The work per
example is counted from the layer shapes (`sfcrepro.network.models.training_flops_per_example`: 3 x 2 x
the forward multiply-adds); the share of peak is that work x examples/s / `--peak-tflops`.

Data: `--architecture simulated_tf` uses the paper's simulated TF-binding splits (6,400
training and 1,600 validation sequences of config/config.yaml, as `make reproduce` trains);
`tf_binding` and `basset` use `--examples` random 1000 bp sequences with 1 or 2 tasks (and 512
validation sequences), written once under `--cache`.

Measurements alternate between the code versions, `--rounds` times. Examples::

    # 2-core CPU: the sim_tf epoch, before and after
    python benchmarks/training_speed.py --architecture simulated_tf --heads sep --threads 1 \\
        --before-src /tmp/before/src --rounds 3 --epochs 4
    # GPU (the device script): Basset heads x precisions x batch sizes under JAX
    python benchmarks/training_speed.py --architecture basset --backends jax --heads std sep symm \\
        --precisions float32 mixed_bfloat16 --batch-sizes 128 1024 --examples 200000 --epochs 3 \\
        --peak-tflops 989
    # several seeds of a small model in one process, stepped together
    python benchmarks/training_speed.py --architecture simulated_tf --seeds 10 --together true

Prints one JSON object per measurement (and writes them all to `--json`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VALID_EXAMPLES = 512


def make_data(folder: Path, architecture: str, examples: int) -> tuple[Path, Path]:
    """The training and validation splits of a measurement (written once, then reused)."""
    folder.mkdir(parents=True, exist_ok=True)
    if architecture == "simulated_tf":
        folder = folder / "sim_tf"
    else:
        folder = folder / f"{architecture}_{examples}"
    paths = folder / "train.h5", folder / "valid.h5"
    if all(p.exists() for p in paths):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    if architecture == "simulated_tf":
        import yaml
        from snakemake.utils import validate

        from sfcrepro.data.simulate import write_simulated_tf_split

        config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        validate(config, schema=str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
        dataset = config["datasets"]["sim_tf"]
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


# The modules the worker uses, by subpackage (an older checkout, --before-src, has them flat).
SUBPACKAGE = {
    "runtime": "pipeline",
    "settings": "pipeline",
    "train": "pipeline",
    "datasets": "data",
    "models": "network",
}


def module(name: str, flat: str | None = None):
    """``sfcrepro.<subpackage>.<name>`` of the code under test, or ``sfcrepro.<flat or name>`` in
    an older, flat checkout."""
    try:
        return importlib.import_module(f"sfcrepro.{SUBPACKAGE[name]}.{name}")
    except ModuleNotFoundError:
        return importlib.import_module(f"sfcrepro.{flat or name}")


def worker(args) -> None:
    """One measurement in this process: prints a JSON line."""
    if args.cpus:
        os.sched_setaffinity(0, [int(c) for c in args.cpus.split(",")])
    module("runtime").configure(backend=args.backend, threads=args.threads, seed=0)
    import tempfile

    import keras

    read_dataset = module("datasets").read_dataset
    build_model = module("models").build_model
    training_flops_per_example = module("models").training_flops_per_example
    TrainingSpec = module("settings", flat="config").TrainingSpec
    train = module("train").train

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
    new_code = "precision" in TrainingSpec.__dataclass_fields__
    if new_code:
        settings["precision"] = args.precision
    elif args.precision != "float32":
        keras.mixed_precision.set_global_policy(args.precision)  # the old code's only way
    out = Path(tempfile.mkdtemp(dir=train_path.parent))
    start = time.perf_counter()
    if new_code:
        Execution, RunFiles = module("train").Execution, module("train").RunFiles
        train_runs = module("train").train_runs

        specs = [TrainingSpec(**{**settings, "seed": seed}) for seed in range(args.seeds)]
        runs = [
            RunFiles(s, out / f"s{s.seed}" / "m.keras", out / f"s{s.seed}" / "h.tsv") for s in specs
        ]
        execution = Execution(
            together={"auto": "auto", "true": True, "false": False}[args.together],
            steps_per_execution=args.steps_per_execution,
        )
        history = train_runs(runs, train_path, valid_path, execution)[0]
    else:
        if args.seeds != 1:
            raise SystemExit("the code before trains one seed per process")
        history = train(
            TrainingSpec(**settings), train_path, valid_path, out / "m.keras", out / "h.tsv"
        )
    total = time.perf_counter() - start
    train_x, _, tasks = read_dataset(train_path)
    model = build_model(
        args.architecture, head=args.head, length=train_x.shape[1], tasks=len(tasks)
    )
    flops = training_flops_per_example(model)
    seconds = [float(s) for s in history["seconds"]]
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    per_s = len(train_x) * args.seeds / steady
    print(
        "RESULT "
        + json.dumps(
            {
                "code": args.code,
                "backend": keras.backend.backend(),
                "device": _device_name(),
                "architecture": args.architecture,
                "head": args.head,
                "precision": args.precision,
                "batch_size": args.batch_size,
                "seeds": args.seeds,
                "together": args.together,
                "threads": args.threads,
                "examples": len(train_x),
                "epoch_seconds": [round(s, 3) for s in seconds],
                "first_epoch_s": round(seconds[0], 3),
                "median_epoch_s": round(steady, 3),
                "process_seconds": round(total, 1),
                "examples_per_s": round(per_s, 1),
                "training_gflop_per_example": round(flops / 1e9, 4),
                "achieved_tflops": round(per_s * flops / 1e12, 3),
                "share_of_peak": round(per_s * flops / 1e12 / args.peak_tflops, 4)
                if args.peak_tflops
                else None,
            }
        ),
        flush=True,
    )


def _device_name() -> str:
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
    parser.add_argument("--examples", type=int, default=20_000, help="random training examples")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement (>= 2)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1, help="seeds trained in one process")
    parser.add_argument("--together", default="auto", choices=["auto", "true", "false"])
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads per process")
    parser.add_argument("--cpus", default="", help="pin each process to these CPUs (0,1)")
    parser.add_argument("--before-src", help="src/ of the code before, to time beside this one")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's peak")
    parser.add_argument("--cache", default="/tmp/sfcrepro-training-speed")
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per measurement")
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

    batch_sizes = args.batch_sizes or [
        {"simulated_tf": 100, "tf_binding": 100}.get(args.architecture, 128)
    ]
    train_path, valid_path = make_data(Path(args.cache), args.architecture, args.examples)
    codes = {"after": str(ROOT / "src")}
    if args.before_src:
        codes = {"before": str(Path(args.before_src).resolve()), **codes}
    results = []
    for _ in range(args.rounds):
        for backend in args.backends:
            for head in args.heads:
                for precision in args.precisions:
                    for batch in batch_sizes:
                        for code, src in codes.items():
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
                                *("--steps-per-execution", str(args.steps_per_execution)),
                            ]
                            if args.threads:
                                command += ["--threads", str(args.threads)]
                            if args.cpus:
                                command += ["--cpus", args.cpus]
                            if args.peak_tflops:
                                command += ["--peak-tflops", str(args.peak_tflops)]
                            env = {**os.environ, "PYTHONPATH": src, "KERAS_BACKEND": backend}
                            try:
                                proc = subprocess.run(
                                    command,
                                    env=env,
                                    capture_output=True,
                                    text=True,
                                    timeout=args.timeout,
                                )
                            except subprocess.TimeoutExpired:
                                result = {
                                    "code": code,
                                    "backend": backend,
                                    "head": head,
                                    "precision": precision,
                                    "batch_size": batch,
                                    "error": f"over {args.timeout} s",
                                }
                            else:
                                lines = [
                                    line[len("RESULT ") :]
                                    for line in proc.stdout.splitlines()
                                    if line.startswith("RESULT ")
                                ]
                                result = (
                                    json.loads(lines[-1])
                                    if lines
                                    else {
                                        "code": code,
                                        "backend": backend,
                                        "head": head,
                                        "precision": precision,
                                        "batch_size": batch,
                                        "error": proc.stderr.strip().splitlines()[-1:],
                                    }
                                )
                            result["host"] = platform.node()
                            print(json.dumps(result), flush=True)
                            results.append(result)
                            if args.json:
                                Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
