"""Tests of sfcrepro.pipeline.evaluate on inputs with known answers."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from sfcrepro.pipeline.effects import Bootstrap
from sfcrepro.pipeline.evaluate import (
    METRIC_COLUMNS,
    best_seed,
    binary_crossentropy,
    summarize,
    task_metrics,
)


def test_task_metrics_known_values():
    labels = np.array([[1, 0], [1, 1], [0, 0], [0, 1]])
    scores = np.array([[0.9, 0.2], [0.8, 0.1], [0.1, 0.8], [0.3, 0.4]])
    auroc, auprc = task_metrics(labels, scores)
    # task 0 ranks both positives first; task 1: pairs (pos 0.1, 0.4) vs (neg 0.2, 0.8) -> 1 of 4 right.
    np.testing.assert_allclose(auroc, [1.0, 0.25])
    # task 1 precision at the positives' ranks: 0.4 is 2nd (1/2), 0.1 is 4th (2/4) -> AP = (0.5 + 0.5) / 2.
    np.testing.assert_allclose(auprc, [1.0, 0.5])


def test_single_class_task_is_nan_with_warning():
    with pytest.warns(UserWarning, match="only one class"):
        auroc, auprc = task_metrics(np.array([[1], [1]]), np.array([[0.2], [0.9]]))
    assert np.isnan(auroc[0]) and np.isnan(auprc[0])


def test_binary_crossentropy_formula():
    y, p = np.array([[1, 0]]), np.array([[0.8, 0.3]])
    assert binary_crossentropy(y, p) == pytest.approx(-(np.log(0.8) + np.log(0.7)) / 2)


BOOTSTRAP = Bootstrap(resamples=2000, confidence=0.95, seed=0)


def metrics_table(values):
    """values: variant -> list of per-seed task-averaged auROC (two tasks with +-0.01 around it)."""
    rows = []
    for variant, per_seed in values.items():
        for seed, value in enumerate(per_seed):
            for task, delta in (("a", -0.01), ("b", 0.01)):
                rows.append(["ds", variant, seed, "valid", task, value + delta, value / 2 + delta])
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def test_summarize_median_min_max_and_wilcoxon():
    std = [0.80, 0.82, 0.79, 0.85, 0.81, 0.83]
    sep = [0.86, 0.84, 0.88, 0.87, 0.83, 0.89]
    summary = summarize(
        metrics_table({"std": std, "sep": sep}),
        baseline={"ds": "std"},
        failed_below=0.6,
        bootstrap=BOOTSTRAP,
    )
    row = summary.query("variant == 'sep' and metric == 'auroc'").iloc[0]
    assert row["median"] == pytest.approx(np.median(sep))
    assert (row["min"], row["max"]) == (pytest.approx(min(sep)), pytest.approx(max(sep)))
    assert row["n_seeds"] == 6 and row["baseline"] == "std"
    assert row["wilcoxon_p"] == pytest.approx(wilcoxon(sep, std).pvalue)
    # the effect: median of the seed-for-seed differences, its interval beside the p-value
    assert row["median_difference"] == pytest.approx(np.median(np.subtract(sep, std)))
    assert 0 < row["ci_low"] <= row["median_difference"] <= row["ci_high"]
    columns = list(summary.columns)
    assert columns.index("ci_high") + 1 == columns.index("wilcoxon_p")
    assert summary.query("variant == 'std'")[["median_difference", "ci_low"]].isna().all().all()
    assert np.isnan(summary.query("variant == 'std' and metric == 'auroc'")["wilcoxon_p"].iloc[0])
    auprc = summary.query("variant == 'sep' and metric == 'auprc'").iloc[0]
    assert auprc["median"] == pytest.approx(np.median(sep) / 2)


def test_spread_failed_seeds_and_brown_forsythe_on_hand_made_scores():
    from scipy.stats import levene

    steady = [0.90, 0.91, 0.89, 0.90, 0.92, 0.91]
    shaky = [0.95, 0.55, 0.93, 0.50, 0.94, 0.58]  # three seeds below 0.6: failed to learn
    summary = summarize(
        metrics_table({"std": shaky, "sep": steady}),
        baseline={"ds": "std"},
        failed_below=0.6,
        bootstrap=BOOTSTRAP,
    )
    auroc = summary.query("metric == 'auroc'").set_index("variant")
    assert auroc.loc["std", "failed_seeds"] == 3 and auroc.loc["sep", "failed_seeds"] == 0
    assert auroc.loc["sep", "iqr"] == pytest.approx(np.subtract(*np.percentile(steady, [75, 25])))
    assert auroc.loc["std", "iqr"] > 10 * auroc.loc["sep", "iqr"]
    p = auroc.loc["sep", "brown_forsythe_p"]
    assert p == pytest.approx(levene(steady, shaky, center="median").pvalue) and p < 0.05
    assert np.isnan(auroc.loc["std", "brown_forsythe_p"])  # the baseline itself
    # the failed count is the variant's, on each of its rows; a lower threshold counts fewer
    assert set(summary.query("variant == 'std'")["failed_seeds"]) == {3}
    lenient = summarize(
        metrics_table({"std": shaky}), {"ds": "std"}, failed_below=0.52, bootstrap=BOOTSTRAP
    )
    assert set(lenient["failed_seeds"]) == {1}


def test_spread_test_needs_three_values_and_varying_deviations():
    from scipy.stats import levene

    from sfcrepro.pipeline.evaluate import spread_test

    assert np.isnan(spread_test([0.8], [0.7, 0.9]))
    assert np.isnan(spread_test([0.8, 0.8, 0.8], [0.7, 0.7, 0.7]))
    # two seeds each (make reproduce's size sweep): scipy's levene calls nearly equal spreads
    # different (both deviations of a pair are equal, so the F test divides by zero)
    pair, other = [0.986906, 0.987016], [0.98565, 0.987251]
    with np.errstate(divide="ignore"):  # the division by zero spread_test's docstring describes
        assert levene(pair, other, center="median").pvalue < 1e-6
    assert np.isnan(spread_test(pair, other))
    assert spread_test([0.8, 0.8, 0.8], [0.5, 0.9, 0.7]) < 1
    assert spread_test([0.80, 0.81, 0.82], [0.5, 0.9, 0.7]) == pytest.approx(
        levene([0.80, 0.81, 0.82], [0.5, 0.9, 0.7], center="median").pvalue
    )


def test_summarize_ties_and_custom_baseline():
    summary = summarize(
        metrics_table({"slow": [0.8, 0.9], "fast": [0.8, 0.9]}),
        baseline={"ds": "slow"},
        failed_below=0.6,
        bootstrap=BOOTSTRAP,
    )
    fast = summary.query("variant == 'fast' and metric == 'auroc'").iloc[0]
    assert fast["baseline"] == "slow" and np.isnan(fast["wilcoxon_p"])  # every pair tied
    assert fast["median_difference"] == fast["ci_low"] == fast["ci_high"] == 0


def test_best_seed_uses_validation_mean():
    table = metrics_table({"sep": [0.7, 0.9, 0.9, 0.8]})
    assert best_seed(table) == 1  # tie between seeds 1 and 2: the lower seed
    with pytest.raises(ValueError, match="split 'test'"):
        best_seed(table, split="test")


def test_best_epoch_is_the_lowest_validation_loss():
    from sfcrepro.pipeline.evaluate import best_epoch

    history = pd.DataFrame(
        {"epoch": [1, 2, 3, 4], "val_loss": [0.5, 0.3, 0.3, 0.4], "val_auroc": [0.6, 0.8, 0.9, 0.7]}
    )
    assert best_epoch(history)["epoch"] == 2  # ties: the earliest, as early stopping restores
    with pytest.raises(ValueError, match="no validation loss"):
        best_epoch(history.assign(val_loss=np.nan))


def test_summarize_runs_per_setting_on_hand_made_scores(tmp_path):
    from sfcrepro.pipeline.evaluate import best_epoch_scores, summarize_runs

    # Two sizes; at 100 per class std fails on two of five seeds and symm never does.
    std_small = [0.52, 0.81, 0.55, 0.80, 0.79]
    symm_small = [0.85, 0.86, 0.84, 0.88, 0.87]
    rows = []
    for seed in range(5):
        for variant, small, large in (("std", std_small, 0.95), ("symm", symm_small, 0.96)):
            for per_class, auroc in ((100, small[seed]), (1600, large + seed / 1000)):
                rows.append(
                    {
                        "dataset": "ds",
                        "variant": variant,
                        "seed": seed,
                        "per_class": per_class,
                        "val_auroc": auroc,
                        "val_auprc": auroc - 0.1,
                    }
                )
    summary = summarize_runs(
        pd.DataFrame(rows), "per_class", {"ds": "std"}, failed_below=0.6, bootstrap=BOOTSTRAP
    )
    assert list(summary.columns[:4]) == ["dataset", "per_class", "variant", "metric"]
    assert len(summary) == 2 * 2 * 2
    small = summary.query("per_class == 100 and metric == 'auroc'").set_index("variant")
    assert small.loc["std", "failed_seeds"] == 2 and small.loc["symm", "failed_seeds"] == 0
    assert small.loc["std", "min"] == 0.52 and small.loc["symm", "median"] == 0.86
    assert small.loc["symm", "wilcoxon_p"] == pytest.approx(wilcoxon(symm_small, std_small).pvalue)
    assert np.isnan(small.loc["std", "wilcoxon_p"])
    assert small.loc["symm", "median_difference"] == pytest.approx(
        np.median(np.subtract(symm_small, std_small))
    )
    large = summary.query("per_class == 1600 and metric == 'auprc'").set_index("variant")
    assert large.loc["symm", "median"] == pytest.approx(0.862)
    assert (summary.query("per_class == 1600")["failed_seeds"] == 0).all()

    # best_epoch_scores: the kept epoch is the lowest validation loss, as training restores.
    history = tmp_path / "history.tsv"
    pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [0.7, 0.5, 0.4],
            "val_loss": [0.6, 0.4, 0.45],
            "val_auroc": [0.7, 0.8, 0.85],
            "val_auprc": [0.6, 0.7, 0.75],
        }
    ).to_csv(history, sep="\t", index=False)
    scores = best_epoch_scores([{"variant": "sep", "per_class": 100, "seed": 0}], [history])
    assert scores.iloc[0][["best_epoch", "val_auroc", "val_auprc"]].tolist() == [2, 0.8, 0.7]
    with pytest.raises(ValueError, match="1 runs but 2 histories"):
        best_epoch_scores([{"seed": 0}], [history, history])
