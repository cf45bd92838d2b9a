"""Ground-truth accuracy of attributions on hand-made cases."""

import numpy as np
import pandas as pd
import pytest

from sfcrepro.explain.ground_truth import accuracy, planted_masks, relevant_motifs


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


def test_region_attribution_maps_the_sampled_rows_to_their_motifs(tmp_path):
    # A split of 12 sequences without A except an inserted "motif" of five A: at 5-9 in even rows,
    # at 20-24 in odd ones; a linear model that scores every A. Each sampled row scored against its
    # own motif gives auROC 1; a row paired with a motif of the other kind gives less.
    import keras

    from sfcrepro.data.datasets import write_dataset
    from sfcrepro.explain.ground_truth import region_attribution

    n, length = 12, 30
    starts = np.where(np.arange(n) % 2, 20, 5)
    codes = np.random.default_rng(0).integers(1, 4, (n, length)).astype(np.uint8)
    for row, start in enumerate(starts):
        codes[row, start : start + 5] = 0
    write_dataset(
        tmp_path / "test.h5",
        codes,
        np.zeros((n, 2), np.uint8),
        ["E116", "E123"],
        tables={
            "motifs": pd.DataFrame(
                {
                    "index": np.arange(n),
                    "tf": "CTCF",
                    "motif": "CTCF_known1",
                    "start": starts,
                    "end": starts + 5,
                    "strand": "+",
                }
            )
        },
    )
    inputs = keras.Input((length, 4))
    logits = keras.layers.Dense(2, name="logits")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, logits)
    kernel = np.zeros((length, 4, 2), np.float32)
    kernel[:, 0] = 1.0
    model.get_layer("logits").set_weights([kernel.reshape(-1, 2), np.zeros(2, np.float32)])
    model.save(tmp_path / "model.keras")
    settings = {
        "task": "E123",
        "sequences": 5,
        "seed": 3,
        "methods": ["gradient_x_input"],
        "references": 2,
        "steps": 2,
        "batch_size": 4,
        "keep": "gradient_x_input",
    }
    sampled, scores, curves, kept = region_attribution(
        tmp_path / "test.h5", settings, [tmp_path / "model.keras"], [0], dataset="d", variant="v"
    )
    assert sampled.shape == (5, length) and kept["scores"].shape == (1, 5, length, 4)
    assert len({tuple(np.flatnonzero(row == 0)) for row in sampled}) == 2  # both kinds sampled
    row = scores.iloc[0]
    assert (row["task"], row["method"], row["n_sequences"]) == ("E123", "gradient_x_input", 5)
    assert row["auroc"] == 1.0 and row["auprc"] == 1.0
    assert len(curves) == 1
    settings["task"] = "K562"
    with pytest.raises(ValueError, match="has tasks E116, E123; attribution asks for 'K562'"):
        region_attribution(tmp_path / "test.h5", settings, [tmp_path / "model.keras"], [0])
