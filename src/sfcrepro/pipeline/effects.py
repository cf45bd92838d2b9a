"""Effect sizes over seeds: how much a variant differs from its baseline, with an interval.

A p-value says whether a difference is distinguishable from none over the seeds at hand; it does
not say how large the difference is, and with 10 seeds an effect of 0.001-0.003 auROC can be
"significant" on one machine and not on another. Every table that shows a paired Wilcoxon p also
shows, from :func:`paired_difference`:

- ``median_difference``: the median over seeds of (variant - baseline), seed for seed;
- ``ci_low``, ``ci_high``: its percentile bootstrap confidence interval over seeds (the seed pairs
  resampled with replacement, ``resamples`` times, from a generator seeded with ``seed``; the
  level is ``confidence``, the config's ``effect_sizes`` block).

An interval that excludes zero says the sign of the effect is resolved by these seeds; its width
says how well its size is. The seeds are the only source of variation resampled: the dataset and
its splits are fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import bootstrap as scipy_bootstrap

__all__ = ["EFFECT_COLUMNS", "FOREST_COLUMNS", "Bootstrap", "forest_rows", "paired_difference"]

EFFECT_COLUMNS = ("median_difference", "ci_low", "ci_high")
FOREST_COLUMNS = [
    "dataset",
    "group",
    "measure",
    "variant",
    "baseline",
    *EFFECT_COLUMNS,
    "n_seeds",
    "wilcoxon_p",
]
METRIC_NAMES = {"auroc": "auROC", "auprc": "auPRC"}


@dataclass(frozen=True)
class Bootstrap:
    """How effect-size intervals are drawn (the config's ``effect_sizes`` block).

    Attributes
    ----------
    resamples : int
        Bootstrap resamples of the seed pairs.
    confidence : float
        Level of the interval, e.g. 0.95.
    seed : int
        Seed of the resampling; each comparison draws from a fresh generator with it, so an
        interval does not depend on which other comparisons a table holds.
    """

    resamples: int
    confidence: float
    seed: int

    def __post_init__(self):
        if int(self.resamples) < 1:
            raise ValueError(f"effect_sizes.resamples must be at least 1, got {self.resamples}.")
        if not 0 < float(self.confidence) < 1:
            raise ValueError(
                f"effect_sizes.confidence must be between 0 and 1, got {self.confidence}."
            )


def paired_difference(values, base, bootstrap: Bootstrap) -> dict[str, float]:
    """The median paired difference ``values - base`` over seeds and its bootstrap interval.

    Parameters
    ----------
    values, base : Series or array-like
        One score per seed. Series are paired by their index (the seeds both have); arrays by
        position (equal lengths). Missing scores (NaN) drop their pair.
    bootstrap : Bootstrap
        Resamples, confidence level and seed of the interval.

    Returns
    -------
    dict
        ``median_difference``, ``ci_low``, ``ci_high`` (:data:`EFFECT_COLUMNS`) and ``n_pairs``.
        With no pair everything is NaN; with one pair, or when every pair differs by the same
        amount, the interval is that single value.
    """
    if not isinstance(values, pd.Series) or not isinstance(base, pd.Series):
        values, base = np.asarray(values, dtype=float), np.asarray(base, dtype=float)
        if values.shape != base.shape:
            raise ValueError(
                f"paired scores need the same number of seeds: {values.shape} and {base.shape}."
            )
        values, base = pd.Series(values), pd.Series(base)
    paired = pd.concat([values, base], axis=1, join="inner").dropna()
    diff = (paired.iloc[:, 0] - paired.iloc[:, 1]).to_numpy(dtype=float)
    result = dict.fromkeys(EFFECT_COLUMNS, np.nan) | {"n_pairs": len(diff)}
    if len(diff) == 0:
        return result
    result["median_difference"] = float(np.median(diff))
    if np.ptp(diff) == 0:
        result["ci_low"] = result["ci_high"] = float(diff[0])
        return result
    interval = scipy_bootstrap(
        (diff,),
        np.median,
        n_resamples=int(bootstrap.resamples),
        confidence_level=float(bootstrap.confidence),
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(int(bootstrap.seed)),
    ).confidence_interval
    result["ci_low"], result["ci_high"] = float(interval.low), float(interval.high)
    return result


def forest_rows(
    summary: pd.DataFrame, attribution: dict[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """The effects of a run, one row per dataset, measure and variant, for the forest plot.

    Parameters
    ----------
    summary : DataFrame
        ``results/summary.tsv`` (:func:`sfcrepro.pipeline.evaluate.summarize`): performance per
        split and metric.
    attribution : dict, optional
        Per dataset, its attribution summary (``results/attribution/{dataset}_summary.tsv``,
        :func:`sfcrepro.pipeline.interpretation.summarize_attribution`): accuracy against the
        planted motifs per method and metric.

    Returns
    -------
    DataFrame
        :data:`FOREST_COLUMNS`: ``group`` is ``performance`` or ``attribution``, ``measure`` names
        the split or method and the metric (e.g. ``valid auROC``, ``deeplift_shap auROC``). The
        baselines' own rows are left out, and so are comparisons without an effect (no paired
        seeds).
    """
    parts = []
    rows = summary.assign(
        group="performance",
        measure=summary["split"] + " " + summary["metric"].map(METRIC_NAMES),
    )
    parts.append(rows)
    for dataset, table in (attribution or {}).items():
        table = table.assign(dataset=dataset)
        parts.append(
            table.assign(
                group="attribution",
                measure=table["method"] + " " + table["metric"].map(METRIC_NAMES),
            )
        )
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[(rows["variant"] != rows["baseline"]) & rows["median_difference"].notna()]
    return rows[FOREST_COLUMNS].reset_index(drop=True)
