"""Tests of sfcrepro.explain.importance: gradient x input against an analytic answer."""

import keras
import numpy as np
import pytest

from sfcrepro.data.sequences import one_hot
from sfcrepro.explain.importance import (
    gradient_x_input,
    importance_table,
    logit_model,
    symmetry_score,
)


def linear_model(weights):
    """logit = sum_l,c w[l, c] x[l, c]; output = sigmoid(logit), with the layer names of sfcrepro.network.models."""
    length = weights.shape[0]
    inputs = keras.Input((length, 4))
    flat = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(2, use_bias=True, name="logits")
    logits = dense(flat)
    model = keras.Model(inputs, keras.layers.Activation("sigmoid", name="output")(logits))
    kernel = np.stack([weights.reshape(-1), -weights.reshape(-1)], axis=1)
    dense.set_weights([kernel.astype("float32"), np.array([0.5, -0.5], "float32")])
    return model


def test_gradient_x_input_of_a_linear_model_is_the_weight_of_each_base():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(6, 4))
    tokens = rng.integers(0, 5, size=(7, 6)).astype(np.uint8)  # includes N (code 4)
    model = linear_model(weights)
    expected = (one_hot(tokens) * weights[None]).sum(axis=(0, 2))  # N contributes 0
    np.testing.assert_allclose(
        gradient_x_input(model, tokens, task=0, batch_size=3), expected, rtol=1e-5
    )
    np.testing.assert_allclose(
        gradient_x_input(model, tokens, task=1, batch_size=3), -expected, rtol=1e-5
    )


def test_uses_logits_not_probabilities():
    weights = np.full((4, 4), 5.0)  # saturates the sigmoid: gradients of probabilities would vanish
    model = linear_model(weights)
    tokens = np.zeros((2, 4), dtype=np.uint8)
    assert gradient_x_input(model, tokens, 0).sum() == pytest.approx(2 * 4 * 5.0, rel=1e-5)


def test_errors_name_the_problem():
    inputs = keras.Input((3, 4))
    plain = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="no layer named 'logits'"):
        logit_model(plain)
    with pytest.raises(ValueError, match="out of range"):
        gradient_x_input(linear_model(np.ones((3, 4))), np.zeros((1, 3), np.uint8), task=5)


def test_symmetry_score_and_table():
    assert symmetry_score(np.array([1.0, 3.0, 2.0, 3.0, 1.0])) == pytest.approx(1.0)
    assert symmetry_score(np.arange(5.0)) == pytest.approx(-1.0)
    table = importance_table(np.array([2.0, 4.0]), 2, variant="sep", seed=3)
    assert list(table.columns) == [
        "variant",
        "seed",
        "position",
        "importance_sum",
        "importance_mean",
        "n_sequences",
    ]
    assert table["importance_mean"].tolist() == [1.0, 2.0]


def test_smoothness_sampling_and_score_table():
    import pandas as pd

    from sfcrepro.explain.importance import importance_scores, sample_rows, smoothness_score

    assert smoothness_score(np.arange(10.0)) == 0.0  # a straight line
    assert smoothness_score(np.array([0.0, 1.0, 0.0, 1.0])) == pytest.approx(2.0)  # |-2|, |2|
    assert np.isnan(smoothness_score(np.array([1.0, 2.0])))
    rows = sample_rows(100, 10, seed=3)
    assert len(rows) == 10 and np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(rows, sample_rows(100, 10, seed=3))
    assert not np.array_equal(rows, sample_rows(100, 10, seed=4))
    np.testing.assert_array_equal(sample_rows(5, None, 0), np.arange(5))
    np.testing.assert_array_equal(sample_rows(5, 50, 0), np.arange(5))
    curve = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    table = importance_table(curve, 4, seed=2, task="CTCF")
    scores = importance_scores({"symm": table})
    assert scores.to_dict("records") == [
        {
            "variant": "symm",
            "seed": 2,
            "task": "CTCF",
            "n_sequences": 4,
            "symmetry": pytest.approx(1.0),
            "smoothness": pytest.approx(0.25 * 2 / 3),
        }
    ]
    assert isinstance(scores, pd.DataFrame)
