"""The simulated-accessibility dataset (paper section 2.3, steps 6-7).

Each labelled region (see :func:`sfcrepro.data.regions.label_windows`) gets its genome sequence
dinucleotide-shuffled, then a PWM sample of the motif of every TF whose ChIP-seq summit lies in
the region is written centred on the summit (clipped to the region). The labels stay those of
the real accessibility data, so a model can only learn them from the inserted motifs and the
sequence composition. Every inserted instance is recorded in the split's ``tables/motifs``
(:func:`motif_table`), so attribution maps can be scored against the truth.

Randomness is per region: a region's seeds are a hash of the dataset seed, its chromosome and
its start, so its sequence does not depend on how the work is split into jobs or batches.
The build streams one chromosome at a time into the split files
(:func:`sfcrepro.data.genome_datasets.build_regions`, which also builds the in vivo datasets).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from sfcrepro.data.genome_datasets import build_regions
from sfcrepro.data.motifs import PWM
from sfcrepro.data.sequences import dinucleotide_shuffle

__all__ = [
    "build_sim_access",
    "check_motif_lengths",
    "insert_motifs",
    "motif_table",
    "region_seeds",
]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
SHUFFLE_STREAM, MOTIF_STREAM = 1, 2


def region_seeds(seed: int, chrom: str, starts, stream: int) -> np.ndarray:
    """64-bit seeds from (dataset seed, chromosome, start, stream) by a splitmix64 hash.

    The chromosome enters through its CRC-32, so seeds are the same in every process.
    """
    starts = np.asarray(starts, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (np.uint64(seed) + np.uint64(stream) * _GOLDEN) * _M1
        x = x ^ (np.uint64(zlib.crc32(chrom.encode())) << np.uint64(32)) ^ starts
        for _ in range(2):
            x = x + _GOLDEN
            x = (x ^ (x >> np.uint64(30))) * _M1
            x = (x ^ (x >> np.uint64(27))) * _M2
            x = x ^ (x >> np.uint64(31))
    return x


def insert_motifs(
    sequences: np.ndarray,
    starts: np.ndarray,
    hits: pd.DataFrame,
    motifs: dict[str, PWM],
    seeds: np.ndarray,
    record: list | None = None,
) -> int:
    """Write motif samples centred on summits, in place.

    Parameters
    ----------
    sequences : ndarray of uint8, shape (n, L)
        Region sequences (already shuffled).
    starts : ndarray, shape (n,)
        Genome start of each region.
    hits : DataFrame
        ``row`` (index into ``sequences``), ``tf``, ``position`` (genome coordinate of the summit),
        sorted by row then position.
    motifs : dict
        Motif of each TF.
    seeds : ndarray, shape (n,)
        One seed per region for the motif samples.
    record : list, optional
        Receives ``(row, tf, motif name, start, end)`` of every instance written, ``start:end``
        being the bases written in the sequence (an instance clipped at a region edge keeps only
        its part inside).

    Returns
    -------
    int
        Number of instances written.
    """
    length = sequences.shape[1]
    if len(hits) == 0:
        return 0
    # Plain arrays, grouped by row (stable, so a row keeps its hits' order); each row's instances
    # come from one generator seeded by the region, drawn in order.
    order = np.argsort(hits["row"].to_numpy(), kind="stable")
    rows = hits["row"].to_numpy()[order]
    tfs = hits["tf"].to_numpy()[order]
    positions = hits["position"].to_numpy(dtype=np.int64)[order]
    bounds = np.flatnonzero(np.diff(rows)) + 1
    written = 0
    for first, last in zip(np.r_[0, bounds], np.r_[bounds, len(rows)], strict=False):
        row = int(rows[first])
        rng = np.random.default_rng(int(seeds[row]))
        for tf, position in zip(tfs[first:last], positions[first:last], strict=False):
            pwm = motifs[tf]
            instance = pwm.sample(1, rng)[0]
            offset = int(position - starts[row]) - len(pwm) // 2
            lo, hi = max(offset, 0), min(offset + len(pwm), length)
            if lo < hi:
                sequences[row, lo:hi] = instance[lo - offset : hi - offset]
                written += 1
                if record is not None:
                    record.append((row, tf, pwm.name, lo, hi))
    return written


def motif_table(records: list, first_row: int) -> dict[str, np.ndarray]:
    """``tables/motifs`` columns of inserted instances (see :func:`insert_motifs`).

    ``index`` is the sequence's row in its split file (``first_row`` plus the row in the chunk),
    ``tf`` the TF whose summit placed it, ``motif`` the motif's name, ``start``/``end`` the bases it
    occupies in the sequence and ``strand`` ``+`` (motifs are inserted as given, forward strand).
    """
    rows = np.array([r[0] for r in records], dtype=np.int64) + first_row
    return {
        "index": rows,
        "tf": np.array([r[1] for r in records], dtype=object),
        "motif": np.array([r[2] for r in records], dtype=object),
        "start": np.array([r[3] for r in records], dtype=np.int64),
        "end": np.array([r[4] for r in records], dtype=np.int64),
        "strand": np.full(len(records), "+", dtype=object),
    }


def check_motif_lengths(motifs: dict[str, PWM], length: int, source: str) -> None:
    """Fail when a TF's motif is longer than the regions it is to be inserted into.

    Raises
    ------
    ValueError
        Naming each such TF, its motif from ``source`` (the motif file) and the fix.
    """
    long = {tf: pwm for tf, pwm in motifs.items() if len(pwm) > length}
    if long:
        listed = ", ".join(f"{tf}: {pwm.name} ({len(pwm)} bp)" for tf, pwm in long.items())
        raise ValueError(
            f"Motifs of {source} are longer than the {length} bp regions: {listed}. Set windows.length "
            f"of the dataset to at least {max(map(len, long.values()))}, or pick shorter motifs."
        )


def build_sim_access(
    regions: pd.DataFrame,
    tasks: list[str],
    summits: pd.DataFrame,
    motifs: dict[str, PWM],
    genome,
    outputs: dict[str, str],
    seed: int,
    splits: dict[str, list[str]],
    max_n_fraction: float = 0.1,
) -> dict[str, int]:
    """The simulated-accessibility splits: each region's genome sequence dinucleotide-shuffled,
    then the motifs of the TFs whose summits lie in it inserted (:func:`insert_motifs`).

    Parameters are those of :func:`sfcrepro.data.genome_datasets.build_regions`, plus ``summits``
    (``region``: row of ``regions``, ``tf``, ``position``; see
    :func:`sfcrepro.data.regions.intersect_summits`) and ``motifs`` (the PWM of each TF named there).

    Returns
    -------
    dict
        Examples written per split, and the ``dropped_n`` and ``motifs`` counts.
    """
    # Summits sorted by row, so that each chunk's hits are one slice.
    summits = summits.rename(columns={"region": "row"})
    summits = summits.sort_values("row", kind="stable").reset_index(drop=True)
    summit_rows = summits["row"].to_numpy(np.int64)
    written = 0

    def shuffle_and_insert(chrom, index, starts, sequences, first_row):
        nonlocal written
        shuffled = dinucleotide_shuffle(
            sequences, seeds=region_seeds(seed, chrom, starts, SHUFFLE_STREAM)
        )
        lo, hi = (
            np.searchsorted(summit_rows, [index.min(), index.max() + 1]) if len(index) else (0, 0)
        )
        hits = summits.iloc[lo:hi]
        hits = hits[hits["row"].isin(index)].copy()
        hits["row"] = pd.Index(index).get_indexer(hits["row"])
        inserted = []
        written += insert_motifs(
            shuffled,
            starts,
            hits,
            motifs,
            region_seeds(seed, chrom, starts, MOTIF_STREAM),
            inserted,
        )
        return shuffled, {"motifs": motif_table(inserted, first_row)}

    counts = build_regions(
        regions,
        tasks,
        genome,
        outputs,
        seed,
        splits,
        max_n_fraction,
        transform=shuffle_and_insert,
        source="sfcrepro.data.sim_access (shuffled, motifs inserted)",
    )
    return counts | {"motifs": written}
