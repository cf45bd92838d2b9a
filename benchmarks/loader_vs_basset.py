"""Training input pipeline vs the Basset model: batches per second delivered and consumed on CPU.

Writes a split of random 1000 bp sequences (uint8 codes, 2 tasks) with the pipeline's own writer,
then in one run measures:

* the loader (`sfcrepro.train.OneHotBatches`, as `train()` uses it: the split read into memory as
  uint8, rows shuffled per epoch with a seed, one-hot encoded per batch), one full epoch; the same
  reading batches straight from the open h5 file; and with reverse-complement augmentation;
* the Basset model (std head, batch 128) consuming batches: `train_on_batch` steps after warm-up.

Prints batches per second of each and the ratio loader / model (target: 5 or more).

Example::

    python benchmarks/loader_vs_basset.py --examples 20000
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from sfcrepro.datasets import read_dataset, write_dataset
from sfcrepro.models import build_model
from sfcrepro.train import OneHotBatches


def epoch_rate(batches, limit=None):
    """Batches per second over one pass (or the first ``limit`` batches)."""
    n = len(batches) if limit is None else min(limit, len(batches))
    start = time.perf_counter()
    for i in range(n):
        batches[i]
    batches.on_epoch_end()
    return n / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=20000)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="timed Basset steps")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.h5"
        write_dataset(
            path,
            rng.integers(0, 4, size=(args.examples, args.length), dtype=np.uint8),
            rng.integers(0, 2, size=(args.examples, 2), dtype=np.uint8),
            ["a", "b"],
        )
        x, y, _ = read_dataset(path)
        rates = {
            "loader (in memory, as train() uses it)": epoch_rate(
                OneHotBatches(x, y, args.batch_size, seed=1)
            ),
            "loader, reverse complements added (2x batch)": epoch_rate(
                OneHotBatches(x, y, args.batch_size, seed=1, reverse_complement=True)
            ),
        }
        hx, hy, _ = read_dataset(path, load=False)
        rates["loader reading the h5 file per batch"] = epoch_rate(
            OneHotBatches(hx, hy, args.batch_size, seed=1), limit=100
        )
        hx.file.close()

        model = build_model("basset", head="std", length=args.length, tasks=2)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        batches = OneHotBatches(x, y, args.batch_size, seed=1)
        bx, by = batches[0]
        for _ in range(2):
            model.train_on_batch(bx, by)
        times = []
        for i in range(args.steps):
            bx, by = batches[i + 1]
            start = time.perf_counter()
            model.train_on_batch(bx, by)
            times.append(time.perf_counter() - start)
        model_rate = 1 / statistics.median(times)

    print(
        f"# {args.examples} examples x {args.length} bp, batch {args.batch_size}; backend "
        f"{keras.backend.backend()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    print("what\tbatches_per_s\tratio_vs_basset")
    for name, rate in rates.items():
        print(f"{name}\t{rate:.1f}\t{rate / model_rate:.0f}")
    print(f"Basset std training step (median of {args.steps})\t{model_rate:.3f}\t1")


if __name__ == "__main__":
    main()
