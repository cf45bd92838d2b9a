"""Ground-truth accuracy of attributions on hand-made cases."""

import numpy as np
import pandas as pd
import pytest

from sfcrepro.ground_truth import accuracy, planted_masks, relevant_motifs


def test_relevant_motifs_of_a_motif_task_and_the_joint_task():
    names = ["TAL1_known1", "GATA_disc1"]
    assert relevant_motifs("TAL1_known1", names) == {"TAL1_known1"}
    assert relevant_motifs("both", names) == set(names)


def test_masks_from_starts_and_widths_or_ends():
    table = pd.DataFrame({"index": [0, 0, 1], "motif": ["A", "B", "B"], "start": [1, 6, 0]})
    positive, excluded = planted_masks(table, 2, 10, {"A"}, widths={"A": 3, "B": 2})
    assert positive[0].tolist() == [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert excluded[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 0, 0]
    assert excluded[1].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0] and not positive[1].any()
    with_end = table.assign(end=[4, 8, 2])
    again = planted_masks(with_end, 2, 10, {"A"})
    np.testing.assert_array_equal(again[0], positive)
    np.testing.assert_array_equal(again[1], excluded)
    with pytest.raises(ValueError, match="no end in the table and no width"):
        planted_masks(table, 2, 10, {"A"}, widths={"A": 3})
    with pytest.raises(ValueError, match="lies outside 2 sequences of 10 bp"):
        planted_masks(table, 2, 10, {"A"}, widths={"A": 3, "B": 5})


def test_accuracy_by_hand():
    positive = np.zeros((3, 6), dtype=bool)
    positive[0, 1:3] = True  # sequence 0: motif at 1-2
    positive[1, 4] = True  # sequence 1: motif at 4
    excluded = np.zeros_like(positive)
    excluded[0, 5] = True  # another motif, left out although it scores highest
    scores = np.array(
        [
            [0.1, -0.9, 0.8, 0.2, 0.0, 5.0],  # |scores| rank both positives first: auROC 1, auPRC 1
            [0.5, 0.4, 0.3, 0.2, 0.45, 0.1],  # positive 0.45 beats 4 of 5 background: auROC 0.8
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],  # no relevant motif: not scored
        ]
    )
    result = accuracy(scores, positive, excluded)
    assert result["n_sequences"] == 2
    assert result["auroc"] == pytest.approx((1.0 + 0.8) / 2)
    # Sequence 1: the positive is ranked second of six: precision 1/2 at its recall.
    assert result["auprc"] == pytest.approx((1.0 + 0.5) / 2)
    # Per-base scores are summed over bases first.
    per_base = np.zeros((3, 6, 4))
    per_base[..., 2] = scores
    assert accuracy(per_base, positive, excluded) == result
    # A sign-blind ranking: negating the scores changes nothing.
    assert accuracy(-scores, positive, excluded) == result


def test_accuracy_without_scorable_sequences_and_bad_shapes():
    empty = np.zeros((2, 5), dtype=bool)
    result = accuracy(np.ones((2, 5)), empty, empty)
    assert result["n_sequences"] == 0 and np.isnan(result["auroc"])
    with pytest.raises(ValueError, match="same"):
        accuracy(np.ones((2, 4)), empty, empty)
