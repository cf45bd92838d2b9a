"""Scoring: auROC and auPRC per task, tidy metric tables and the across-seed summary."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import levene, wilcoxon
from sklearn.metrics import average_precision_score, roc_auc_score

from sfcrepro.data.datasets import read_dataset, read_table
from sfcrepro.data.exports import write_prediction_bed
from sfcrepro.data.sequences import one_hot
from sfcrepro.pipeline.effects import EFFECT_COLUMNS, Bootstrap, paired_difference

__all__ = [
    "METRIC_COLUMNS",
    "best_epoch",
    "best_epoch_scores",
    "best_seed",
    "binary_crossentropy",
    "compare_seeds",
    "evaluate_models",
    "failed_seeds",
    "predict",
    "spread_test",
    "summarize",
    "summarize_runs",
    "task_metrics",
    "write_region_predictions",
]

METRIC_COLUMNS = ["dataset", "variant", "seed", "split", "task", "auroc", "auprc"]


def task_metrics(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """auROC and auPRC (average precision) per task column.

    A task whose labels are all 0 or all 1 has no defined score: NaN, with a warning.
    """
    labels, scores = np.asarray(labels), np.asarray(scores)
    auroc = np.full(labels.shape[1], np.nan)
    auprc = np.full(labels.shape[1], np.nan)
    for t in range(labels.shape[1]):
        y = labels[:, t]
        if y.min() == y.max():
            warnings.warn(
                f"Task {t} has only one class ({y.min()}): auROC/auPRC undefined.", stacklevel=2
            )
            continue
        auroc[t] = roc_auc_score(y, scores[:, t])
        auprc[t] = average_precision_score(y, scores[:, t])
    return auroc, auprc


def binary_crossentropy(labels: np.ndarray, scores: np.ndarray, epsilon: float = 1e-7) -> float:
    """Mean binary cross-entropy over examples and tasks, clipped as Keras does."""
    p = np.clip(np.asarray(scores, dtype=np.float64), epsilon, 1 - epsilon)
    y = np.asarray(labels, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def predict(model, sequences, batch_size: int = 1000) -> np.ndarray:
    """Predicted probabilities for uint8 sequences (array or h5 dataset), one-hot per batch."""
    out = []
    for start in range(0, len(sequences), batch_size):
        batch = one_hot(np.asarray(sequences[start : start + batch_size]))
        out.append(np.asarray(model.predict_on_batch(batch), dtype=np.float32))
    if not out:
        return np.zeros((0, model.output.shape[-1]), dtype=np.float32)
    return np.concatenate(out)


def spread_test(values, base) -> float:
    """Brown-Forsythe test of equal spread: Levene's test around the median (``scipy.stats.levene``
    with ``center="median"``) of two samples.

    NaN with fewer than three values in either sample, or when the absolute deviations from the
    median do not vary within the samples. The test is an F test on those deviations, so it needs
    their within-sample variance: with two values both deviations are equal, the variance is zero
    and ``levene`` returns p = 0 (or a tiny p) whatever the values, a false "different spread"."""
    values, base = np.asarray(values, float), np.asarray(base, float)
    values, base = values[~np.isnan(values)], base[~np.isnan(base)]
    if min(len(values), len(base)) < 3:
        return np.nan
    deviations = [np.abs(x - np.median(x)) for x in (values, base)]
    if all(np.ptp(d) == 0 for d in deviations):
        return np.nan
    return float(levene(values, base, center="median").pvalue)


def compare_seeds(
    per_seed: pd.DataFrame, by: list[str], baseline: dict[str, str], bootstrap: Bootstrap
) -> pd.DataFrame:
    """Median, min, max and spread over seeds per variant, the effect against the baseline with
    its interval, and tests against the baseline.

    Parameters
    ----------
    per_seed : DataFrame
        Columns ``by``, ``variant``, ``seed`` and ``value``; ``by`` includes ``dataset``.
    by : list of str
        The columns that define one comparison (e.g. dataset, split, metric).
    baseline : dict
        Per dataset, the variant the others are tested against (the config's ``baseline``).
    bootstrap : Bootstrap
        How the effect's interval is drawn (the config's ``effect_sizes``).

    Returns
    -------
    DataFrame
        Columns ``by``, variant, median, min, max, iqr (interquartile range over seeds, linear
        interpolation), n_seeds, baseline; median_difference, ci_low, ci_high: the median over
        the seeds both have of (variant - baseline) and its bootstrap interval
        (:func:`sfcrepro.pipeline.effects.paired_difference`; NaN for the baseline itself);
        wilcoxon_p: the two-sided paired Wilcoxon signed-rank
        p-value of the variant against the baseline over the seeds both have (NaN for the
        baseline itself, with fewer than two pairs, or when every pair is tied), and
        brown_forsythe_p: the p-value of equal spread over seeds against the baseline
        (:func:`spread_test`; NaN for the baseline itself).
    """
    rows = []
    for keys, group in per_seed.groupby(by, sort=False):
        where = dict(zip(by, keys, strict=True))
        base_name = baseline[where["dataset"]]
        by_variant = {
            v: g.set_index("seed")["value"] for v, g in group.groupby("variant", sort=False)
        }
        base = by_variant.get(base_name)
        for variant, values in by_variant.items():
            p = spread = np.nan
            effect = dict.fromkeys(EFFECT_COLUMNS, np.nan)
            if base is not None and variant != base_name:
                found = paired_difference(values, base, bootstrap)
                effect = {key: found[key] for key in EFFECT_COLUMNS}
                paired = pd.concat([values, base], axis=1, join="inner").dropna()
                diff = paired.iloc[:, 0] - paired.iloc[:, 1]
                if len(paired) >= 2 and np.any(diff != 0):
                    p = float(wilcoxon(paired.iloc[:, 0], paired.iloc[:, 1]).pvalue)
                spread = spread_test(values, base)
            rows.append(
                {
                    **where,
                    "variant": variant,
                    "median": values.median(),
                    "min": values.min(),
                    "max": values.max(),
                    "iqr": values.quantile(0.75) - values.quantile(0.25),
                    "n_seeds": int(values.notna().sum()),
                    "baseline": base_name,
                    **effect,
                    "wilcoxon_p": p,
                    "brown_forsythe_p": spread,
                }
            )
    return pd.DataFrame(rows)


def failed_seeds(metrics: pd.DataFrame, failed_below: float) -> pd.DataFrame:
    """Per dataset and variant, the seeds that failed to learn: validation auROC (mean over
    tasks) below ``failed_below``.

    Returns
    -------
    DataFrame
        Columns dataset, variant, failed_seeds (count).
    """
    valid = metrics[metrics["split"] == "valid"]
    if valid.empty:
        raise ValueError("failed_seeds needs the validation split's metrics (split 'valid').")
    auroc = valid.groupby(["dataset", "variant", "seed"], sort=False)["auroc"].mean()
    failed = (auroc < failed_below).groupby(["dataset", "variant"], sort=False).sum()
    return failed.astype(int).rename("failed_seeds").reset_index()


def summarize(
    metrics: pd.DataFrame, baseline: dict[str, str], failed_below: float, bootstrap: Bootstrap
) -> pd.DataFrame:
    """Median, min, max and spread over seeds of the task-averaged auROC and auPRC.

    Parameters
    ----------
    metrics : DataFrame
        Tidy rows with :data:`METRIC_COLUMNS`.
    baseline : dict
        Per dataset, the variant the others are tested against (the config's ``baseline``).
    failed_below : float
        A seed whose validation auROC is below this failed to learn (:func:`failed_seeds`; the
        config's ``failed_auroc``).
    bootstrap : Bootstrap
        How the effects' intervals are drawn (the config's ``effect_sizes``).

    Returns
    -------
    DataFrame
        Columns dataset, split, variant, metric, then those of :func:`compare_seeds`, and
        failed_seeds (the variant's count, the same on each of its rows).
    """
    per_seed = (
        metrics.groupby(["dataset", "split", "variant", "seed"], sort=False)[["auroc", "auprc"]]
        .mean()
        .reset_index()
        .melt(id_vars=["dataset", "split", "variant", "seed"], var_name="metric")
    )
    summary = compare_seeds(per_seed, ["dataset", "split", "metric"], baseline, bootstrap)
    summary = summary.merge(failed_seeds(metrics, failed_below), on=["dataset", "variant"])
    columns = ["dataset", "split", "variant", "metric"]
    return summary[columns + [c for c in summary.columns if c not in columns]]


def summarize_runs(
    runs: pd.DataFrame,
    setting: str,
    baseline: dict[str, str],
    failed_below: float,
    bootstrap: Bootstrap,
) -> pd.DataFrame:
    """Spread over seeds and tests against the baseline per value of a training setting.

    For the learning-rate and training-size figures: each run is one model, scored by the
    validation auROC and auPRC of its kept (best) epoch.

    Parameters
    ----------
    runs : DataFrame
        One row per run: dataset, variant, seed, ``setting``, val_auroc, val_auprc.
    setting : str
        The column that varies (``learning_rate``, ``per_class``).
    baseline : dict
        Per dataset, the variant the others are tested against.
    failed_below : float
        A run whose validation auROC is below this failed to learn.
    bootstrap : Bootstrap
        How the effects' intervals are drawn (the config's ``effect_sizes``).

    Returns
    -------
    DataFrame
        Columns dataset, ``setting``, variant, metric (auroc, auprc), then those of
        :func:`compare_seeds`, and failed_seeds (the runs of that variant and setting below
        ``failed_below``).
    """
    per_seed = runs.rename(columns={"val_auroc": "auroc", "val_auprc": "auprc"}).melt(
        id_vars=["dataset", setting, "variant", "seed"],
        value_vars=["auroc", "auprc"],
        var_name="metric",
    )
    summary = compare_seeds(per_seed, ["dataset", setting, "metric"], baseline, bootstrap)
    failed = (
        (runs["val_auroc"] < failed_below)
        .groupby([runs["dataset"], runs[setting], runs["variant"]], sort=False)
        .sum()
        .astype(int)
        .rename("failed_seeds")
        .reset_index()
    )
    summary = summary.merge(failed, on=["dataset", setting, "variant"])
    columns = ["dataset", setting, "variant", "metric"]
    return summary[columns + [c for c in summary.columns if c not in columns]]


def evaluate_models(
    models: dict[int, str],
    splits: dict[str, str],
    dataset: str,
    variant: str,
    batch_size: int = 1000,
    predictions: dict | None = None,
) -> pd.DataFrame:
    """Score saved models (seed -> ``.keras`` path) on dataset splits (split -> ``.h5`` path).

    Returns tidy rows with :data:`METRIC_COLUMNS`, one per seed, split and task. A dict passed as
    ``predictions`` receives each split's predictions per seed: ``predictions[split][seed]``, an
    ``(N, T)`` array of probabilities.
    """
    from sfcrepro.network.models import load_model

    data = {split: read_dataset(path) for split, path in splits.items()}
    rows = []
    for seed, path in models.items():
        model = load_model(path, compile=False)
        for split, (sequences, labels, tasks) in data.items():
            scores = predict(model, sequences, batch_size)
            if predictions is not None:
                predictions.setdefault(split, {})[int(seed)] = scores
            auroc, auprc = task_metrics(labels, scores)
            rows += [
                {
                    "dataset": dataset,
                    "variant": variant,
                    "seed": int(seed),
                    "split": split,
                    "task": task,
                    "auroc": auroc[t],
                    "auprc": auprc[t],
                }
                for t, task in enumerate(tasks)
            ]
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def write_region_predictions(path, splits: dict[str, str], predictions: dict) -> None:
    """Every region's predictions per seed and task, with its labels, as a BED-like table.

    ``splits`` maps split -> ``.h5`` path (files with ``tables/regions``), ``predictions`` is what
    :func:`evaluate_models` collected. Rows: the regions of each split in file order, named
    ``<split>_<row>``; columns ``<task>_seed<seed>`` (probabilities), then ``<task>_label``
    (:func:`sfcrepro.data.exports.write_prediction_bed`).
    """

    parts = {"chrom": [], "start": [], "end": [], "name": []}
    columns: dict[str, list] = {}
    labels: dict[str, list] = {}
    for split, file in splits.items():
        _, truth, tasks = read_dataset(file)
        regions = read_table(file, "regions")
        for key in ("chrom", "start", "end"):
            parts[key].append(regions[key].to_numpy())
        parts["name"].append(np.char.add(f"{split}_", np.arange(len(regions)).astype(str)))
        for seed, scores in sorted(predictions[split].items()):
            for t, task in enumerate(tasks):
                columns.setdefault(f"{task}_seed{seed}", []).append(scores[:, t])
        for t, task in enumerate(tasks):
            labels.setdefault(f"{task}_label", []).append(truth[:, t])
    joined = {key: np.concatenate(value) for key, value in parts.items()}
    write_prediction_bed(
        path,
        joined["chrom"],
        joined["start"],
        joined["end"],
        {key: np.concatenate(value) for key, value in columns.items()},
        labels={key: np.concatenate(value) for key, value in labels.items()},
        name=joined["name"],
        float_format="%.6g",
    )


def best_seed(metrics: pd.DataFrame, split: str = "valid", metric: str = "auroc") -> int:
    """The seed with the highest task-averaged ``metric`` on ``split`` (ties: the lowest seed)."""
    scores = metrics[metrics["split"] == split].groupby("seed")[metric].mean()
    if scores.empty or scores.isna().all():
        raise ValueError(f"No {metric} scores on split {split!r} to choose a seed from.")
    return int(scores.sort_index().idxmax())


def best_epoch(history: pd.DataFrame) -> pd.Series:
    """The row of a training history whose weights the model kept: the lowest validation loss
    (ties: the earliest epoch), as :func:`sfcrepro.pipeline.train.train` restores."""
    if history.empty or history["val_loss"].isna().all():
        raise ValueError("The history has no validation loss.")
    return history.loc[history["val_loss"].idxmin()]


def best_epoch_scores(runs: list[dict], histories) -> pd.DataFrame:
    """One row per run: its keys (e.g. variant, learning_rate, seed) and the kept epoch's scores.

    Parameters
    ----------
    runs : list of dict
        The keys of each run, in the order of ``histories``.
    histories : list of path-like
        Each run's training history (``history.tsv``).

    Returns
    -------
    DataFrame
        The keys, then best_epoch, val_loss, val_auroc, val_auprc (the epoch whose weights the
        model kept, :func:`best_epoch`) and history (the file read).
    """
    if len(runs) != len(histories):
        raise ValueError(f"{len(runs)} runs but {len(histories)} histories.")
    rows = []
    for keys, path in zip(runs, histories, strict=True):
        best = best_epoch(pd.read_csv(path, sep="\t"))
        rows.append(
            {
                **keys,
                "best_epoch": int(best["epoch"]),
                "val_loss": best["val_loss"],
                "val_auroc": best["val_auroc"],
                "val_auprc": best["val_auprc"],
                "history": str(path),
            }
        )
    return pd.DataFrame(rows)
