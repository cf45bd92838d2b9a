"""Training step time of each architecture with the std head vs the SFC heads, in one run.

For every architecture the three models (std, sep, symm; each with the builder's default head
size) are compiled once and warmed up; then the heads take turns, `--steps` training steps each
per round, on the same fixed batch of random one-hot sequences, so that machine noise hits every
head alike. Prints one row per architecture and head: median and fastest time per step over the
rounds, and the ratio of medians against std.

With `--twins`, each SFC model also gets a "dense twin": the same network with the SFC layer
replaced by Flatten + Dense(units, no bias), i.e. an unconstrained matrix of the shape of the SFC
product matrix. The twin does the same multiply-adds as the SFC layer minus building that matrix
from its two kernels, so `sfc / twin` is the cost of the SFC implementation itself, while
`sfc / std` also contains the width the parameter matching gives the SFC head (648 units in the
simulated TF-binding model against the std head's 50-wide dense layer).

Example::

    python benchmarks/step_time_heads.py --rounds 15
    KERAS_BACKEND=torch python benchmarks/step_time_heads.py --architectures basset
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

# Input length, tasks and batch size of each architecture in the paper's experiments.
SETTINGS = {"simulated_tf": (200, 3, 100), "tf_binding": (1000, 1, 100), "basset": (1000, 2, 128)}


def dense_twin(model):
    """``model`` with its SFC layer replaced by Flatten + Dense(units, use_bias=False)."""
    inputs = keras.Input(model.input_shape[1:])
    x = inputs
    for layer in model.layers[1:]:
        if layer.name == "sfc":
            x = keras.layers.Flatten()(x)
            x = keras.layers.Dense(layer.units, use_bias=False, name="dense_twin")(x)
        else:
            x = layer.__class__.from_config(layer.get_config())(x)
    return keras.Model(inputs, x, name=f"{model.name}_twin")


def step_times(models, x, y, rounds, steps):
    times = {head: [] for head in models}
    for _ in range(rounds):
        for head, model in models.items():
            start = time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(x, y)
            times[head].append((time.perf_counter() - start) / steps)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--architectures", nargs="+", default=list(SETTINGS), choices=list(SETTINGS)
    )
    parser.add_argument("--heads", nargs="+", default=["std", "sep", "symm"])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per head")
    parser.add_argument(
        "--steps", type=int, default=0, help="steps per round (default: 20, Basset 2)"
    )
    parser.add_argument(
        "--twins", action="store_true", help="also time a dense twin of each SFC model"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print(
        f"# backend {keras.backend.backend()}, keras {keras.__version__}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}; {args.rounds} rounds, heads taking turns"
    )
    print(
        "architecture\thead\tparams\tbatch\tmedian_step_ms\tmin_step_ms\tratio_vs_std\tratio_vs_twin"
    )
    for architecture in args.architectures:
        length, tasks, batch = SETTINGS[architecture]
        steps = args.steps or (2 if architecture == "basset" else 20)
        keras.utils.set_random_seed(args.seed)
        rng = np.random.default_rng(args.seed)
        x = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(batch, length))]
        y = rng.integers(0, 2, size=(batch, tasks)).astype("float32")
        models = {}
        for head in args.heads:
            model = build_model(
                architecture,
                head=head,
                length=length,
                tasks=tasks,
                units=MEASURED_UNITS[architecture],
            )
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
            for _ in range(3):  # tracing and allocation
                model.train_on_batch(x, y)
            models[head] = model
            if args.twins and head != "std":
                twin = dense_twin(model)
                twin.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
                for _ in range(3):
                    twin.train_on_batch(x, y)
                models[f"{head}_twin"] = twin
        times = step_times(models, x, y, args.rounds, steps)
        base = (
            statistics.median(times["std"])
            if "std" in times
            else statistics.median(times[args.heads[0]])
        )
        for head, model in models.items():
            med = statistics.median(times[head])
            twin = times.get(f"{head}_twin")
            vs_twin = f"{med / statistics.median(twin):.3f}" if twin else ""
            print(
                f"{architecture}\t{head}\t{model.count_params()}\t{batch}\t{med * 1e3:.2f}\t"
                f"{min(times[head]) * 1e3:.2f}\t{med / base:.3f}\t{vs_twin}",
                flush=True,
            )


if __name__ == "__main__":
    main()
