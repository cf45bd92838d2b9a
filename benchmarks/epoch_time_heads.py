"""Epoch time of one architecture with std vs SFC heads, on the same data in one run.

Models are built once each; after one warm-up epoch per model the heads take turns, one epoch
at a time, so that machine noise hits every head alike. Prints a table (median and min of the
per-epoch wall times, and the ratio of medians against std).

Example::

    python benchmarks/epoch_time_heads.py --architecture simulated_tf --rounds 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import keras
import numpy as np

from sfcrepro.network.models import build_model

# SFC widths of the measurements in docs/benchmarks.md: parameter-matched for the small models
# (simulated_tf sep 648 / symm 741, tf_binding sep 11 / symm 18), the paper's 1000 for Basset.
MEASURED_UNITS = {"simulated_tf": "matched", "tf_binding": "matched", "basset": None}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--architecture", default="simulated_tf", choices=["simulated_tf", "tf_binding", "basset"]
    )
    parser.add_argument("--heads", nargs="+", default=["std", "sep", "symm"])
    parser.add_argument(
        "--examples", type=int, default=6400, help="examples per epoch (paper sim TF: 6400)"
    )
    parser.add_argument(
        "--length",
        type=int,
        default=None,
        help="input length (default: 200 for simulated_tf, else 1000)",
    )
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per head")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    length = args.length or (200 if args.architecture == "simulated_tf" else 1000)

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(args.examples, length))]
    y = rng.integers(0, 2, size=(args.examples, args.tasks)).astype("float32")

    models = {}
    for head in args.heads:
        model = build_model(
            args.architecture,
            head=head,
            length=length,
            tasks=args.tasks,
            units=MEASURED_UNITS[args.architecture],
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        model.fit(
            x, y, batch_size=args.batch_size, epochs=1, verbose=0
        )  # warm-up: tracing, allocation
        models[head] = model

    times = {head: [] for head in args.heads}
    for _ in range(args.rounds):
        for head, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)
            times[head].append(time.perf_counter() - start)

    print(
        f"# {args.architecture}, {args.examples} examples x {length} bp, batch {args.batch_size}, "
        f"{args.rounds} timed epochs per head, backend {keras.backend.backend()}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    print("head\tparams\tmedian_epoch_s\tmin_epoch_s\tratio_vs_std")
    base = (
        statistics.median(times[args.heads[0]])
        if "std" not in times
        else statistics.median(times["std"])
    )
    for head, model in models.items():
        med = statistics.median(times[head])
        print(
            f"{head}\t{model.count_params()}\t{med:.3f}\t{min(times[head]):.3f}\t{med / base:.3f}"
        )


if __name__ == "__main__":
    main()
