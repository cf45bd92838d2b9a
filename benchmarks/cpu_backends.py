"""Training speed of the simulated TF-binding model on this CPU: Keras backends x thread layouts,
against the machine's float32 matmul peak, in one run.

For each backend (TensorFlow, JAX, PyTorch under Keras 3) and each layout of the CPU's cores,
the pipeline's own training (`sfcrepro.pipeline.train.train`, as `make reproduce` runs it: the paper's
6,400 training and 1,600 validation sequences of config/config.yaml's sim_tf simulation, batch
100, Adam, validation auROC after every epoch) runs for `--epochs` epochs in fresh processes:

- ``1x2``: one job with 2 threads;
- ``2x1``: two jobs at once with 1 thread each (what `snakemake --cores 2` does with the
  config's `threads.train: 1`).

Each job is pinned to its own CPUs (`os.sched_setaffinity`: job i of a layout with t threads gets
CPUs i*t to i*t+t-1), the same for every backend: JAX has no documented CPU thread limit (XLA_FLAGS
do not reliably limit it, jax-ml/jax issues 743 and 1539), so pinning is how two JAX jobs can
share two cores. The epoch time is the median over the epochs after the first (which includes
tracing and compilation). Throughput is examples per second summed over the jobs. The work per
example is counted from the layer shapes (`sfcrepro.network.models.training_flops_per_example`: 3 x 2 x
the multiply-adds of the forward pass), plus a third of that for each validation example
(forward only). The peak is the GFLOP/s of float32 matmuls (NumPy's BLAS, `--matmul` square) run
with the same jobs, threads and CPUs, measured in the same run just before each backend.

Example::

    python benchmarks/cpu_backends.py --backends tensorflow jax torch --epochs 4

JAX and PyTorch must be installed (`pip install jax`, `pip install torch==2.13.0`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = {"1x2": (1, 2), "2x1": (2, 1)}


def matmul_gflops(size: int, jobs: int, threads: int, repeats: int = 5) -> float:
    """GFLOP/s of ``jobs`` processes at once, each timing a ``size`` x ``size`` float32 matmul
    (NumPy's BLAS) with ``threads`` threads on its own CPUs, as the training jobs are placed: the
    sum of each process's best of ``repeats``."""
    code = (
        "import os, sys, time\n"
        "os.sched_setaffinity(0, [int(c) for c in sys.argv[1].split(',')])\n"
        "import numpy as np\n"
        f"a = np.random.default_rng(0).random(({size}, {size}), dtype=np.float32)\n"
        "a @ a\n"
        "best = float('inf')\n"
        f"for _ in range({repeats}):\n"
        "    t = time.perf_counter(); a @ a; best = min(best, time.perf_counter() - t)\n"
        f"print(2 * {size} ** 3 / best / 1e9)\n"
    )
    env = {**os.environ, **{v: str(threads) for v in _THREAD_VARS}}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, ",".join(map(str, range(j * threads, (j + 1) * threads)))],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for j in range(jobs)
    ]
    return sum(float(p.communicate()[0].strip()) for p in procs)


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def make_data(folder: Path) -> None:
    """The sim_tf training and validation splits of config/config.yaml, written to ``folder``."""
    import yaml
    from snakemake.utils import validate

    from sfcrepro.data.simulate import write_simulated_tf_split

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    validate(config, schema=str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    dataset = config["datasets"]["sim_tf"]
    for split in ("train", "valid"):
        write_simulated_tf_split(
            dataset["simulation"], split, dataset["seed"], folder / f"{split}.h5"
        )


def worker(args) -> None:
    """One training job: prints a JSON line with its epoch times and the model's work."""
    os.sched_setaffinity(0, [int(c) for c in args.cpus.split(",")])
    from sfcrepro.pipeline.runtime import configure

    configure(backend=args.backend, threads=args.threads, seed=0)
    import keras

    from sfcrepro.data.datasets import read_dataset
    from sfcrepro.network.models import training_flops_per_example
    from sfcrepro.pipeline.settings import TrainingSpec
    from sfcrepro.pipeline.train import spec_model, train

    folder = Path(args.data)
    spec = TrainingSpec(
        architecture="simulated_tf",
        head=args.head,
        seed=args.seed,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        patience=args.epochs,
        name=f"bench/{args.head}",
    )
    out = Path(tempfile.mkdtemp(dir=folder))
    history = train(spec, folder / "train.h5", folder / "valid.h5", out / "m.keras", out / "h.tsv")
    train_x, _, tasks = read_dataset(folder / "train.h5")
    valid_x, _, _ = read_dataset(folder / "valid.h5")
    model = spec_model(spec, length=train_x.shape[1], tasks=len(tasks))
    train_flops = training_flops_per_example(model)
    epoch_flops = len(train_x) * train_flops + len(valid_x) * train_flops / 3
    print(
        json.dumps(
            {
                "backend": keras.backend.backend(),
                "threads": args.threads,
                "seconds": [float(s) for s in history["seconds"]],
                "examples": len(train_x),
                "epoch_gflop": epoch_flops / 1e9,
            }
        ),
        flush=True,
    )


def run_layout(data: Path, backend: str, jobs: int, threads: int, args) -> list[dict]:
    """``jobs`` training jobs at once (different seeds), each with ``threads`` threads."""
    command = [sys.executable, __file__, "--worker", "--data", str(data)]
    command += ["--backend", backend, "--threads", str(threads), "--epochs", str(args.epochs)]
    command += ["--batch-size", str(args.batch_size), "--head", args.head]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    procs = []
    for job in range(jobs):
        cpus = ",".join(str(c) for c in range(job * threads, (job + 1) * threads))
        procs.append(
            subprocess.Popen(
                [*command, "--seed", str(job), "--cpus", cpus],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        )
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"{backend} {jobs}x{threads} failed:\n{stderr.decode()[-3000:]}")
        results.append(json.loads(stdout.decode().strip().splitlines()[-1]))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=list(LAYOUTS))
    parser.add_argument("--epochs", type=int, default=4, help="epochs per job (first not timed)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--head", default="sep", choices=["std", "sep", "symm", "gap"])
    parser.add_argument("--matmul", type=int, default=2048, help="matmul size for the peak")
    # worker mode (internal)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--cpus", default="0", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        make_data(Path(folder))
        for name in args.layouts:
            jobs, threads = LAYOUTS[name]
            for backend in args.backends:
                peak = matmul_gflops(args.matmul, jobs, threads)
                start = time.perf_counter()
                results = run_layout(Path(folder), backend, jobs, threads, args)
                wall = time.perf_counter() - start
                epoch = statistics.median(s for r in results for s in r["seconds"][1:])
                examples_per_s = sum(
                    r["examples"] / statistics.median(r["seconds"][1:]) for r in results
                )
                gflops = sum(
                    r["epoch_gflop"] / statistics.median(r["seconds"][1:]) for r in results
                )
                rows.append(
                    {
                        "backend": backend,
                        "layout": name,
                        "median_epoch_s": round(epoch, 2),
                        "first_epoch_s": round(
                            statistics.median(r["seconds"][0] for r in results), 2
                        ),
                        "examples_per_s": round(examples_per_s),
                        "achieved_gflops": round(gflops, 1),
                        "matmul_peak_gflops": round(peak, 1),
                        "share_of_peak": round(gflops / peak, 3),
                        "wall_s": round(wall, 1),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    header = list(rows[0])
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in header) + " |")


if __name__ == "__main__":
    main()
