"""The interpretation jobs' steps that build on evaluation: the importance of a variant's best
seed (Figure 4), and attribution accuracy over seeds against the baseline. The methods
themselves are in :mod:`sfcrepro.explain.importance` and :mod:`sfcrepro.explain.ground_truth`."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sfcrepro.explain.importance import gradient_x_input, importance_table
from sfcrepro.network.models import load_model
from sfcrepro.pipeline.effects import Bootstrap
from sfcrepro.pipeline.evaluate import best_seed, compare_seeds

__all__ = ["best_seed_importance", "summarize_attribution"]

log = logging.getLogger("sfcrepro.pipeline.interpretation")


def best_seed_importance(
    models: list,
    seeds: list[int],
    metrics: pd.DataFrame,
    sequences,
    task: str,
    task_index: int,
    batch_size: int,
    **columns,
) -> tuple[int, pd.DataFrame]:
    """Gradient x input of one variant's best seed (validation auROC) on ``sequences``.

    ``models`` are the variant's model files, one per seed of ``seeds``; ``metrics`` its
    :func:`sfcrepro.pipeline.evaluate.evaluate_models` table. Returns the seed and its
    :func:`sfcrepro.explain.importance.importance_table` (with ``columns``, then ``seed`` and ``task``).
    """
    seed = best_seed(metrics, split="valid")
    log.info("best seed %d by validation auROC; task %s", seed, task)
    model = load_model(models[seeds.index(seed)], compile=False)
    curve = gradient_x_input(model, sequences, task_index, batch_size=batch_size)
    return seed, importance_table(curve, len(sequences), **columns, seed=seed, task=task)


def summarize_attribution(
    scores: pd.DataFrame,
    curves: pd.DataFrame,
    metrics: pd.DataFrame,
    baseline: str,
    bootstrap: Bootstrap,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Attribution accuracy and Figure 4a's scores over seeds, each variant against the baseline.

    Parameters
    ----------
    scores : DataFrame
        :func:`sfcrepro.explain.ground_truth.score_models` rows of every variant of one dataset.
    curves : DataFrame
        Its per-seed curve scores (symmetry, smoothness).
    metrics : DataFrame
        The variants' evaluation rows (:func:`sfcrepro.pipeline.evaluate.evaluate_models`), for the best
        seed of each variant (highest mean validation auROC, the seed Figure 4a shows).
    baseline : str
        The variant the others are tested against.
    bootstrap : Bootstrap
        How the effects' intervals are drawn (the config's ``effect_sizes``).
    Returns
    -------
    summary : DataFrame
        Per task, method, metric (auroc, auprc) and variant: :func:`sfcrepro.pipeline.evaluate.compare_seeds`.
    curve_summary : DataFrame
        Per metric (symmetry, smoothness) and variant: the same, plus ``best_seed`` and
        ``best_value`` (the best seed's score).
    best : dict
        The best seed of each variant.
    """
    dataset = scores["dataset"].iloc[0]
    per_seed = scores.melt(
        id_vars=["dataset", "task", "method", "variant", "seed"],
        value_vars=["auroc", "auprc"],
        var_name="metric",
    )
    summary = compare_seeds(
        per_seed, ["dataset", "task", "method", "metric"], {dataset: baseline}, bootstrap
    )
    best = {variant: best_seed(rows) for variant, rows in metrics.groupby("variant", sort=False)}
    per_seed = curves.melt(
        id_vars=["dataset", "task", "variant", "seed"],
        value_vars=["symmetry", "smoothness"],
        var_name="metric",
    )
    curve_summary = compare_seeds(
        per_seed, ["dataset", "task", "metric"], {dataset: baseline}, bootstrap
    )
    curve_summary["best_seed"] = curve_summary["variant"].map(best)
    lookup = per_seed.set_index(["variant", "seed", "metric"])["value"]
    curve_summary["best_value"] = [
        lookup.get((row.variant, row.best_seed, row.metric), np.nan)
        for row in curve_summary.itertuples()
    ]
    return summary, curve_summary, best
