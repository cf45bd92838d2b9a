"""Attribution tracks: per-base attributions of a variant's best seed over genome regions, written
as one bigWig per task for a genome browser.

For a genome-derived dataset (its split files carry ``tables/regions``), the model of the
variant's best seed (validation auROC) explains each task's logit over regions sampled from a
split with one method of :mod:`sfcrepro.explain.attribution`; the score of the base present at each
position (the attribution summed over the four bases of the one-hot input) goes to that
position of the genome. Overlapping regions (tiled windows) are averaged
(:func:`sfcrepro.data.exports.write_bigwig`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sfcrepro.data.datasets import read_dataset, read_table
from sfcrepro.data.exports import write_bigwig
from sfcrepro.data.regions import read_chrom_sizes
from sfcrepro.data.sequences import one_hot
from sfcrepro.explain.ground_truth import method_options
from sfcrepro.pipeline.evaluate import best_seed

__all__ = ["attribution_tracks"]

log = logging.getLogger("sfcrepro.pipeline.tracks")


def attribution_tracks(
    models: list,
    seeds: list[int],
    metrics: pd.DataFrame,
    data,
    fai,
    settings: dict,
    folder,
) -> dict[str, Path]:
    """Write ``<folder>/<task>.bw`` for every task of a split file.

    Parameters
    ----------
    models : list of path
        The variant's model files, one per seed of ``seeds``.
    metrics : DataFrame
        The variant's :func:`sfcrepro.pipeline.evaluate.evaluate_models` table (its best seed is used).
    data : path-like
        The split's h5 file (``tables/regions`` gives each row's coordinates).
    fai : path-like
        The genome index (chromosome sizes of the bigWig header).
    settings : dict
        The dataset's ``tracks`` block (validated): ``regions`` sampled with ``seed``, the
        ``method`` and its options (``references``, ``steps``, ``batch_size``).
    folder : path-like
        Output folder (created).

    Returns
    -------
    dict
        Task name -> bigWig path.
    """
    from sfcrepro.explain.attribution import attribute
    from sfcrepro.explain.importance import sample_rows
    from sfcrepro.network.models import load_model

    sequences, _, tasks = read_dataset(data)
    regions = read_table(data, "regions")
    rows = sample_rows(len(sequences), settings["regions"], settings["seed"])
    seed = best_seed(metrics, split="valid")
    log.info(
        "best seed %d by validation auROC; %s over %d of %d regions of %s",
        seed,
        settings["method"],
        len(rows),
        len(sequences),
        data,
    )
    model = load_model(models[seeds.index(seed)], compile=False)
    x = one_hot(sequences[rows])
    options = method_options(settings)[settings["method"]]
    sizes = read_chrom_sizes(fai)
    chroms = regions["chrom"].to_numpy(dtype=str)[rows]
    starts = regions["start"].to_numpy(np.int64)[rows]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for index, task in enumerate(tasks):
        started = time.perf_counter()
        result = attribute(settings["method"], model, x, index, **options)
        path = folder / f"{task}.bw"
        write_bigwig(path, sizes, chroms, starts, result.per_position())
        written[task] = path
        log.info("%s: %s (%.1f s)", task, path, time.perf_counter() - started)
    return written
