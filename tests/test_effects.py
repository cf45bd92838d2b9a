"""Tests of sfcrepro.pipeline.effects: the paired median difference and its bootstrap interval on
hand-made scores, and the forest plot's rows."""

import numpy as np
import pandas as pd
import pytest

from sfcrepro.pipeline.effects import (
    EFFECT_COLUMNS,
    FOREST_COLUMNS,
    Bootstrap,
    forest_rows,
    paired_difference,
)

BOOTSTRAP = Bootstrap(resamples=5000, confidence=0.95, seed=7)
BASE = np.array([0.980, 0.982, 0.985, 0.979, 0.983, 0.981, 0.984, 0.986, 0.980, 0.982])
# Every seed gains 0.008-0.013: the interval must exclude zero.
GAIN = np.array([0.010, 0.012, 0.008, 0.011, 0.009, 0.013, 0.010, 0.012, 0.011, 0.009])
# Differences scattered on both sides of zero (5 up, 5 down): the interval must include zero.
NOISE = np.array([-0.020, 0.015, -0.010, 0.012, -0.005, 0.004, 0.020, -0.018, 0.001, -0.002])


def test_an_effect_every_seed_shows_has_an_interval_excluding_zero():
    found = paired_difference(BASE + GAIN, BASE, BOOTSTRAP)
    assert found["median_difference"] == pytest.approx(np.median(GAIN))
    assert found["n_pairs"] == 10
    assert 0 < found["ci_low"] <= found["median_difference"] <= found["ci_high"]
    # a percentile interval of medians lies within the differences' range
    assert GAIN.min() <= found["ci_low"] and found["ci_high"] <= GAIN.max()


def test_differences_on_both_sides_give_an_interval_including_zero():
    found = paired_difference(BASE + NOISE, BASE, BOOTSTRAP)
    assert found["median_difference"] == pytest.approx(np.median(NOISE))
    assert found["ci_low"] < 0 < found["ci_high"]


def test_the_sign_is_variant_minus_baseline():
    worse = paired_difference(BASE, BASE + GAIN, BOOTSTRAP)
    better = paired_difference(BASE + GAIN, BASE, BOOTSTRAP)
    assert worse["median_difference"] == pytest.approx(-better["median_difference"])
    assert worse["ci_high"] < 0


def test_a_fixed_seed_gives_the_same_interval_and_the_level_widens_it():
    first = paired_difference(BASE + NOISE, BASE, BOOTSTRAP)
    again = paired_difference(BASE + NOISE, BASE, BOOTSTRAP)
    assert first == again
    other_seeds = {
        (found["ci_low"], found["ci_high"])
        for seed in range(8)
        for found in [paired_difference(BASE + NOISE, BASE, Bootstrap(200, 0.95, seed))]
    }
    assert len(other_seeds) > 1  # the seed is used (200 resamples vary between seeds)
    wide = paired_difference(BASE + NOISE, BASE, Bootstrap(5000, 0.99, 7))
    narrow = paired_difference(BASE + NOISE, BASE, Bootstrap(5000, 0.5, 7))
    assert wide["ci_low"] <= first["ci_low"] <= narrow["ci_low"]
    assert narrow["ci_high"] <= first["ci_high"] <= wide["ci_high"]
    assert narrow["ci_high"] - narrow["ci_low"] < wide["ci_high"] - wide["ci_low"]


def test_series_pair_by_seed_and_missing_scores_drop_their_pair():
    seeds = np.arange(10)
    variant = pd.Series(BASE + GAIN, index=seeds)
    base = pd.Series(BASE, index=seeds)[::-1]  # another order: paired by seed, not by position
    assert paired_difference(variant, base, BOOTSTRAP) == paired_difference(
        BASE + GAIN, BASE, BOOTSTRAP
    )
    variant.loc[3] = np.nan
    found = paired_difference(variant, base.drop(index=5), BOOTSTRAP)
    assert found["n_pairs"] == 8
    assert found["median_difference"] == pytest.approx(np.median(np.delete(GAIN, [3, 5])))


def test_no_pair_one_pair_and_equal_differences():
    empty = paired_difference(pd.Series([0.9], index=[1]), pd.Series([0.8], index=[2]), BOOTSTRAP)
    assert empty["n_pairs"] == 0 and all(np.isnan(empty[key]) for key in EFFECT_COLUMNS)
    one = paired_difference([0.9], [0.8], BOOTSTRAP)
    assert one["median_difference"] == one["ci_low"] == one["ci_high"] == pytest.approx(0.1)
    same = paired_difference(BASE + 0.01, BASE, BOOTSTRAP)
    assert same["ci_low"] == pytest.approx(0.01) and same["ci_high"] == pytest.approx(0.01)
    with pytest.raises(ValueError, match="same number of seeds"):
        paired_difference([0.9, 0.8], [0.8], BOOTSTRAP)


@pytest.mark.parametrize(
    ("settings", "message"),
    [((0, 0.95, 0), "resamples"), ((100, 1.0, 0), "confidence"), ((100, 0, 0), "confidence")],
)
def test_bad_bootstrap_settings_name_the_key(settings, message):
    with pytest.raises(ValueError, match=f"effect_sizes.{message}"):
        Bootstrap(*settings)


def test_forest_rows_hold_every_comparison_but_the_baseline():
    effect = {"median_difference": 0.01, "ci_low": 0.0, "ci_high": 0.02, "wilcoxon_p": 0.1}
    summary = pd.DataFrame(
        [
            {"dataset": "ds", "split": split, "metric": metric, "variant": variant}
            | {"baseline": "std", "n_seeds": 10}
            | (dict.fromkeys(effect, np.nan) if variant == "std" else effect)
            for split in ("valid", "test")
            for metric in ("auroc", "auprc")
            for variant in ("std", "sep")
        ]
    )
    attribution = pd.DataFrame(
        [
            {"task": "t", "method": "deeplift_shap", "metric": "auroc", "variant": variant}
            | {"dataset": "ds", "baseline": "std", "n_seeds": 10}
            | (dict.fromkeys(effect, np.nan) if variant == "std" else effect)
            for variant in ("std", "sep")
        ]
    )
    rows = forest_rows(summary, {"ds": attribution})
    assert set(rows["variant"]) == {"sep"}
    assert list(rows["measure"]) == [
        "valid auROC",
        "valid auPRC",
        "test auROC",
        "test auPRC",
        "deeplift_shap auROC",
    ]
    assert list(rows["group"]) == ["performance"] * 4 + ["attribution"]
    assert forest_rows(summary).shape[0] == 4


def test_forest_plot_fills_the_intervals_that_exclude_zero():
    from sfcrepro.pipeline.figures import effect_sizes

    rows = pd.DataFrame(
        [
            ["ds", "performance", "valid auROC", "sep", "std", 0.01, 0.005, 0.02, 10, 0.01],
            ["ds", "performance", "valid auROC", "symm", "std", 0.01, -0.005, 0.02, 10, 0.2],
            ["ds", "attribution", "ism auROC", "sep", "std", -0.03, -0.05, -0.01, 10, 0.01],
        ],
        columns=FOREST_COLUMNS,
    )
    fig = effect_sizes(rows)
    markers = {
        (ax.get_title(), line.get_label()): line.get_markerfacecolor()
        for ax in fig.axes
        for line in ax.get_lines()
        if line.get_marker() == "o"
    }
    assert markers[("performance", "symm - std")] == "white"  # interval includes 0
    assert markers[("performance", "sep - std")] != "white"
    assert markers[("attribution", "sep - std")] != "white"
    assert [ax.get_title() for ax in fig.axes] == ["performance", "attribution"]
