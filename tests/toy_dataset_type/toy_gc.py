"""A toy dataset type, added through sfcrepro.data.dataset_types alone (tests/test_dataset_types.py):
one sequence per line of a text file, labelled GC-rich (GC fraction above one half), split by a
seeded permutation. Its builder is ``toy_gc:build``; :func:`register` adds its table entry."""

import numpy as np

from sfcrepro.data.dataset_types import DATASET_TYPES, DatasetType
from sfcrepro.data.datasets import write_dataset
from sfcrepro.data.sequences import encode

TOY = DatasetType(
    "toy_gc",
    "toy: text sequences labelled GC-rich or not",
    tasks=lambda ds: list(ds["tasks"]),
    builder="toy_gc:build",
    build_keys=("sequences", "tasks", "seed"),
)


def register():
    DATASET_TYPES[TOY.name] = TOY


def build(dataset, sources, outputs):
    lines = open(sources["sequences"]).read().split()
    codes = np.stack([encode(line) for line in lines])
    gc = np.isin(codes, (1, 2)).mean(axis=1)
    labels = (gc > 0.5).astype(np.uint8)[:, None].repeat(len(dataset["tasks"]), axis=1)
    order = np.random.default_rng(dataset["seed"]).permutation(len(codes))
    parts = np.array_split(order, [int(0.6 * len(codes)), int(0.8 * len(codes))])
    counts = {}
    for split, rows in zip(("train", "valid", "test"), parts, strict=True):
        rows = np.sort(rows)
        write_dataset(outputs[split], codes[rows], labels[rows], list(dataset["tasks"]))
        counts[split] = len(rows)
    return counts
