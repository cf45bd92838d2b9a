"""Speed of in-silico mutagenesis: naive vs fast (:func:`sfcrepro.explain.ism.ism`), in one run.

For each case (Basset at 1000 bp with the std and the sep head, simulated TF binding at 200 bp
with the std head; randomly initialised models) the same random one-hot sequences go through
both methods: one warm-up call each on the first sequence (tracing, caches), then ``--repeats``
timed calls each, methods taking turns. Prints a markdown table with the best time of each
method, sequences per second and the speed-up ``naive / fast``, the largest difference between
the two results (relative to the largest score), and the machine: CPU model, cores, the
backend and its thread counts.

Example::

    python benchmarks/ism_speed.py --sequences 4 --sim-sequences 16
    KERAS_BACKEND=torch python benchmarks/ism_speed.py --cases basset_std
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import keras
import numpy as np

from sfcrepro.explain.ism import ism
from sfcrepro.network.models import build_model

#: case name -> (architecture, head, length, tasks)
CASES = {
    "basset_std": ("basset", "std", 1000, 2),
    "basset_sep": ("basset", "sep", 1000, 2),
    "simulated_tf_std": ("simulated_tf", "std", 200, 3),
}


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo (platform's description elsewhere)."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def thread_report() -> str:
    """Threads of the backend in use (and of torch / TensorFlow when imported)."""
    parts = [f"cores {os.cpu_count()}"]
    try:
        import torch

        parts.append(f"torch threads {torch.get_num_threads()}")
    except ImportError:
        pass
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        parts.append(f"TF intra/inter-op threads {intra}/{inter} (0 = all cores)")
    return ", ".join(parts)


def time_case(model, x, task, batch_size, repeats):
    """Best seconds of each method over ``repeats`` alternating calls, and both results."""
    for method in ("naive", "fast"):  # warm-up
        ism(model, x[:1], task, batch_size=batch_size, method=method)
    best = {"naive": float("inf"), "fast": float("inf")}
    results = {}
    for _ in range(repeats):
        for method in ("naive", "fast"):
            start = time.perf_counter()
            results[method] = ism(model, x, task, batch_size=batch_size, method=method)
            best[method] = min(best[method], time.perf_counter() - start)
    return best, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--sequences", type=int, default=4, help="sequences per Basset case")
    parser.add_argument(
        "--sim-sequences", type=int, default=16, help="sequences of the simulated TF case"
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=1, help="timed calls per method")
    parser.add_argument("--task", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    print(f"Machine: {cpu_model()}; {thread_report()}; Keras backend {keras.backend.backend()}")
    print(f"batch size {args.batch_size}, best of {args.repeats} call(s) after a warm-up\n")
    print(
        "| model | length | sequences | naive s | fast s | naive seq/s | fast seq/s | "
        "speed-up | max rel. diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for case in args.cases:
        architecture, head, length, tasks = CASES[case]
        n = args.sim_sequences if architecture == "simulated_tf" else args.sequences
        model = build_model(architecture, head=head, length=length, tasks=tasks)
        x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))]
        best, results = time_case(model, x, args.task, args.batch_size, args.repeats)
        scale = max(float(np.abs(results["naive"]).max()), 1e-12)
        diff = float(np.abs(results["naive"] - results["fast"]).max()) / scale
        print(
            f"| {architecture} {head} | {length} | {n} | {best['naive']:.2f} | "
            f"{best['fast']:.2f} | {n / best['naive']:.2f} | {n / best['fast']:.2f} | "
            f"{best['naive'] / best['fast']:.1f}x | {diff:.1e} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
