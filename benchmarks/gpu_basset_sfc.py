"""Basset + SFC training throughput on a GPU (or any device the Keras backend uses).

Trains the Basset model with a `sep` (or `symm`/`std`) head on a simulated-accessibility-sized
split: either an h5 split made by the pipeline (`--data results/datasets/sim_access/train.h5`) or
random uint8 sequences of the paper's shape (`--examples`, 1000 bp, 2 tasks), fed by the
pipeline's own loader (`OneHotBatches`: uint8 in memory, one-hot per batch, seeded shuffle).
Reports examples per second over the timed steps (after warm-up) and the share of the device's
peak it reaches: model FLOPs per training example (multiply-adds x 2, forward + input gradient +
weight gradient counted as 3 x forward for every layer with weights) x examples/s / `--peak-tflops`.

Written for the `device` tool's H100 (Keras with the torch or jax backend there; TensorFlow is
absent), e.g.::

    KERAS_BACKEND=torch python benchmarks/gpu_basset_sfc.py --examples 200000 --batch-size 128 --steps 200
    KERAS_BACKEND=torch python benchmarks/gpu_basset_sfc.py --mixed-precision --peak-tflops 989

H100 SXM dense peaks (NVIDIA data sheet): 67 TFLOPS FP32, 495 TF32, 989 BF16/FP16 tensor core;
pass the one matching the precision used (default: 67, FP32 without tensor cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import keras
import numpy as np

from sfcrepro.models import build_model, training_flops_per_example
from sfcrepro.train import OneHotBatches


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="an h5 split of the pipeline (default: random sequences)")
    parser.add_argument(
        "--examples", type=int, default=200_000, help="random examples when no --data"
    )
    parser.add_argument("--head", default="sep", choices=["std", "sep", "symm"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=200, help="timed steps")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--mixed-precision", action="store_true", help="keras mixed_float16 policy")
    parser.add_argument(
        "--peak-tflops", type=float, default=67.0, help="device peak for the precision used"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)

    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    keras.utils.set_random_seed(args.seed)
    if args.data:
        from sfcrepro.datasets import read_dataset

        x, y, tasks = read_dataset(args.data)
    else:
        rng = np.random.default_rng(args.seed)
        x = rng.integers(0, 4, size=(args.examples, 1000), dtype=np.uint8)
        y = rng.integers(0, 2, size=(args.examples, 2), dtype=np.uint8)
        tasks = ["a", "b"]
    model = build_model("basset", head=args.head, length=x.shape[1], tasks=len(tasks))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    batches = OneHotBatches(x, y, args.batch_size, seed=args.seed)
    n_batches = len(batches)

    for i in range(args.warmup):
        model.train_on_batch(*batches[i % n_batches])
    loss = model.train_on_batch(*batches[0])
    float(np.asarray(keras.ops.convert_to_numpy(loss)).ravel()[0])  # wait for the device
    start = time.perf_counter()
    for i in range(args.steps):
        loss = model.train_on_batch(*batches[(args.warmup + i) % n_batches])
    float(np.asarray(keras.ops.convert_to_numpy(loss)).ravel()[0])
    seconds = time.perf_counter() - start

    examples_per_s = args.steps * args.batch_size / seconds
    flops = training_flops_per_example(model)
    result = {
        "backend": keras.backend.backend(),
        "device": _device_name(),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "head": args.head,
        "params": model.count_params(),
        "examples_in_split": int(len(x)),
        "batch_size": args.batch_size,
        "mixed_precision": args.mixed_precision,
        "timed_steps": args.steps,
        "seconds": round(seconds, 3),
        "examples_per_s": round(examples_per_s, 1),
        "training_gflops_per_example": round(flops / 1e9, 3),
        "achieved_tflops": round(examples_per_s * flops / 1e12, 2),
        "peak_tflops": args.peak_tflops,
        "share_of_peak": round(examples_per_s * flops / 1e12 / args.peak_tflops, 4),
        "epoch_estimate_s": round(len(x) / examples_per_s, 1),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)


def _device_name() -> str:
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


if __name__ == "__main__":
    main()
