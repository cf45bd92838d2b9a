"""sfcrepro.data.negatives: each rule of choosing negatives, on hand-made inputs."""

import logging

import numpy as np
import pandas as pd
import pytest

from sfcrepro.data.negatives import (
    count_bases,
    count_gc_and_n,
    covered_labels,
    free_of,
    gc_bins_of,
    gc_fraction,
    gc_matched_background,
    gc_matched_sample,
)
from sfcrepro.data.sequences import encode

# --- GC-matched background (peaks datasets) ------------------------------------------------------


def test_count_bases_does_not_depend_on_the_block_size():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 5, size=5_000).astype(np.uint8)
    starts = rng.integers(0, 5_000 - 37, size=300)
    brute = np.array([np.isin(codes[s : s + 37], (1, 2)).sum() for s in starts])
    for block in (1, 7, 100, 1 << 23):
        assert count_bases(codes, starts, 37, block=block).tolist() == brute.tolist()
    n_brute = [int((codes[s : s + 37] == 4).sum()) for s in starts]
    assert count_bases(codes, starts, 37, (4,), block=64).tolist() == n_brute
    with pytest.raises(ValueError, match="inside the sequence"):
        count_bases(codes, [4_990], 37)
    for block in (5, 64, 1 << 22):
        gc, n = count_gc_and_n(codes, starts, 37, block=block)
        assert gc.tolist() == brute.tolist() and n.tolist() == n_brute
    # Windows long enough for the packed counts to wrap around in the uint32 cumulative sums.
    # (N counts 65,536 in the high half: 200,000 bases with 133,333 N pass 2**32).
    n_rich = np.full(200_000, 4, dtype=np.uint8)
    n_rich[::3] = 2
    gc, n = count_gc_and_n(n_rich, [0, 1, 100_000, 140_000], 60_000)
    assert gc.tolist() == [20_000] * 4 and n.tolist() == [40_000] * 4


def test_gc_fraction_and_bins():
    assert gc_fraction(encode("GGCCNNAT")) == 0.5  # N counts in the length
    assert gc_fraction(encode("GCAT\nAAAA".replace("\n", ""))) == 0.25
    assert gc_fraction(np.array([[1, 2], [0, 3]])).tolist() == [1.0, 0.0]
    # 10 bins on [0, 1]: 0.1 goes up, 1.0 into the last bin.
    assert gc_bins_of([0, 9, 10, 55, 100], 100, 10).tolist() == [0, 0, 1, 5, 9]


def test_gc_matched_sample_quotas():
    rng = np.random.default_rng(0)
    target = np.array([0, 0, 1, 1, 1, 3])
    candidates = np.repeat([0, 1, 2, 3], 10)
    chosen, quota, available = gc_matched_sample(target, candidates, 1.5, 4, rng)
    assert quota.sum() == 9 and quota.tolist() == [3, 5, 0, 1]  # 3, 4.5, 0, 1.5 rounded to 9
    assert np.bincount(candidates[chosen], minlength=4).tolist() == quota.tolist()
    assert len(set(chosen.tolist())) == len(chosen)
    chosen, quota, available = gc_matched_sample(target, candidates[:12], 2, 4, rng)
    assert available.tolist() == [10, 2, 0, 0]
    assert np.bincount(candidates[chosen], minlength=4).tolist() == [4, 2, 0, 0]  # short bins


def test_gc_matched_background_per_split_with_its_own_draws(caplog):
    # Positives: train GC counts 10, 10, 30 (bins 0, 0, 1 of 2 at length 40); valid 30; test none.
    positive_gc = np.array([10, 10, 30, 30])
    positive_split = np.array(["train", "train", "train", "valid"])
    candidates = {
        "gc": np.array([5, 8, 12, 25, 35, 6, 33, 38]),
        "start": np.arange(8) * 100,
    }
    candidate_split = np.array(["train"] * 5 + ["valid"] * 2 + ["test"])
    with caplog.at_level(logging.INFO, logger="sfcrepro.data.negatives"):
        chosen = gc_matched_background(
            positive_gc, positive_split, candidates, candidate_split, 1.0, 2, 7, 40
        )
    train, valid, test = chosen
    assert sorted(train["gc"] < 20) == [False, True, True]  # two low-GC, one high-GC
    assert valid["gc"].tolist() == [33]  # the valid split's high-GC candidate only
    assert len(test["gc"]) == 0
    assert set(train["start"]) <= set(candidates["start"][:5])
    again = gc_matched_background(
        positive_gc, positive_split, candidates, candidate_split, 1.0, 2, 7, 40
    )
    assert again[0]["start"].tolist() == train["start"].tolist()  # seeded
    assert "train: 3 positives (mean GC 0.417), 3 negatives" in caplog.text
    # Too few candidates in a bin: what there is, and a warning naming the shortfall.
    with caplog.at_level(logging.WARNING, logger="sfcrepro.data.negatives"):
        short = gc_matched_background(
            positive_gc, positive_split, candidates, candidate_split, 3.0, 2, 7, 40
        )
    assert len(short[1]["gc"]) == 1
    assert "valid: 1 GC bins have too few background candidates; drew 1 negatives instead of 3" in (
        caplog.text
    )
    assert (
        gc_matched_background(
            positive_gc, positive_split, candidates, candidate_split, 0.0, 2, 7, 40
        )
        == []
    )


# --- DNase peaks free of the TF (in vivo TF binding) ---------------------------------------------


def test_free_of_keeps_the_regions_overlapping_nothing_in_their_order():
    regions = pd.DataFrame(
        {
            "chrom": ["chr2", "chr1", "chr1", "chr1", "chr3"],
            "start": [50, 100, 300, 199, 0],
            "end": [80, 200, 400, 250, 10],
            "summit": [1, 2, 3, 4, 5],
        }
    )
    excluded = pd.DataFrame({"chrom": ["chr1", "chr2"], "start": [200, 80], "end": [300, 90]})
    # [100, 200) and [300, 400) touch [200, 300) without overlapping (half-open); [199, 250)
    # overlaps it; chr2 [50, 80) touches [80, 90).
    assert free_of(regions, excluded).tolist() == [0, 1, 2, 4]
    assert free_of(regions, excluded.iloc[:0]).tolist() == [0, 1, 2, 3, 4]


# --- Window labels (accessibility tiles) ---------------------------------------------------------


def test_covered_labels_at_the_overlap_threshold():
    labels = covered_labels([0.0, 0.49, 0.5, 1.0], 0.5)
    assert labels.tolist() == [0, 0, 1, 1] and labels.dtype == np.uint8
