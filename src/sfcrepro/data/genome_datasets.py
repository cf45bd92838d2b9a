"""Genome-derived datasets: labelled regions and their genome sequence, written to split files.

:func:`build_regions` streams one chromosome at a time: each region's sequence is cut from the
genome, regions with too many N are dropped, and the rest go to the split of their chromosome
(:func:`split_of`) in the layout of :mod:`sfcrepro.data.datasets` with a ``tables/regions`` table.
The in vivo datasets keep the real sequence; simulated accessibility passes a ``transform``
that shuffles it and inserts motifs (:func:`sfcrepro.data.sim_access.build_sim_access`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from sfcrepro.data.datasets import DatasetWriter
from sfcrepro.data.sequences import N_CODE, encode

__all__ = ["CHUNK_REGIONS", "build_regions", "split_of"]

log = logging.getLogger("sfcrepro.data.genome_datasets")
CHUNK_REGIONS = 50_000  # regions processed at once (about 50 MB per 1000 bp array)
# The ``source`` attribute of the split files built from genome regions (every genome dataset
# type): this module. Files built before 2026-12-05 say "sfcrepro.sim_access (genome sequence)",
# where this code began.
GENOME_SEQUENCE = "sfcrepro.data.genome_datasets (genome sequence)"


def split_of(chrom: str, splits: dict[str, list[str]]) -> str:
    """``valid``/``test`` when the chromosome is listed there, else ``train``."""
    for split in ("valid", "test"):
        if chrom in splits.get(split, []):
            return split
    return "train"


def build_regions(
    regions: pd.DataFrame,
    tasks: list[str],
    genome,
    outputs: dict[str, str],
    seed: int,
    splits: dict[str, list[str]],
    max_n_fraction: float = 0.1,
    transform: Callable | None = None,
    source: str = GENOME_SEQUENCE,
) -> dict[str, int]:
    """Build the split files of labelled regions, streaming one chromosome at a time.

    Parameters
    ----------
    regions : DataFrame
        ``chrom, start, end`` and one label column per task, sorted by chromosome.
    tasks : list of str
        Label columns of ``regions``.
    genome : pyfaidx.Fasta
        The genome (soft-masked lowercase is fine).
    outputs : dict
        Path of each split: ``train``, ``valid``, ``test``.
    seed : int
        Dataset seed (stored in the files, and the seed of ``transform``'s randomness).
    splits : dict
        Chromosomes of the ``valid`` and ``test`` splits; all others train.
    max_n_fraction : float
        Regions whose genome sequence has a larger fraction of N are dropped (and counted).
    transform : callable, optional
        ``transform(chrom, index, starts, sequences, first_row) -> (sequences, tables)`` for each
        chunk of kept regions (``index``: their rows of ``regions``; ``first_row``: where the
        chunk starts in its split file); ``tables`` maps table names to columns appended to the
        split. None: the genome sequence as it is.
    source : str
        The files' ``source`` attribute.

    Returns
    -------
    dict
        Examples written per split, and ``dropped_n``.
    """
    lengths = (regions["end"] - regions["start"]).unique()
    if len(lengths) != 1:
        raise ValueError(f"regions must all have the same length, got {sorted(lengths)[:5]}")
    length = int(lengths[0])
    counts = {split: 0 for split in outputs} | {"dropped_n": 0}
    writers = {
        split: DatasetWriter(path, length, tasks, {"seed": seed, "split": split, "source": source})
        for split, path in outputs.items()
    }
    started, done = time.monotonic(), 0
    try:
        for writer in writers.values():
            writer.__enter__()
        for chrom, rows in regions.groupby("chrom", sort=False):
            codes = encode(str(genome[chrom][:]))
            split = split_of(chrom, splits)
            # Chunks of regions bound the memory to a few arrays of CHUNK_REGIONS x length bytes
            # beside the chromosome; every region's result is the same whatever the chunking.
            for first in range(0, len(rows), CHUNK_REGIONS):
                chunk = rows.iloc[first : first + CHUNK_REGIONS]
                index = chunk.index.to_numpy()
                starts = chunk["start"].to_numpy(np.int64)
                sequences = codes[starts[:, None] + np.arange(length)]
                n_rich = np.count_nonzero(sequences == N_CODE, axis=1) / length > max_n_fraction
                counts["dropped_n"] += int(n_rich.sum())
                keep = ~n_rich
                index, starts, sequences = index[keep], starts[keep], sequences[keep]
                if transform is not None:
                    sequences, tables = transform(chrom, index, starts, sequences, counts[split])
                    for name, table in tables.items():
                        writers[split].append_table(name, table)
                labels = regions.loc[index, tasks].to_numpy(np.uint8)
                table = {
                    "chrom": np.full(len(index), chrom, dtype=object),
                    "start": starts,
                    "end": starts + length,
                }
                writers[split].append(sequences, labels, table)
                counts[split] += len(index)
            del codes
            done += len(rows)
            log.info(
                "%s: %d regions -> %s (%d of %d regions, %.0f%%, %.0f s)",
                chrom,
                len(rows),
                split,
                done,
                len(regions),
                100 * done / len(regions),
                time.monotonic() - started,
            )
        empty = [split for split in outputs if counts[split] == 0]
        if empty:
            raise ValueError(
                f"No regions for split(s) {', '.join(empty)}: the chromosomes of these splits "
                f"({splits}) have no regions. Set splits in the config to chromosomes with peaks."
            )
    except BaseException as exc:
        for writer in writers.values():
            writer.__exit__(type(exc), exc, exc.__traceback__)
        raise
    for writer in writers.values():
        writer.__exit__(None, None, None)
    return counts
