"""Attribution methods against closed forms and the DeepLIFT completeness property."""

import keras
import numpy as np
import pytest

from sfcrepro.data.sequences import one_hot
from sfcrepro.explain.attribution import (
    METHODS,
    attribute,
    completeness_gap,
    deeplift_shap,
    gradient_x_input,
    integrated_gradients,
    shuffled_references,
)
from sfcrepro.network import models


def _sequences(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return one_hot(rng.integers(0, 4, (n, length)).astype(np.uint8))


def _linear_model(length, tasks=2, seed=0):
    """logit = sum(w * x) + b: gradient x input, integrated gradients and DeepLIFT are exact."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((length, 4), name="sequence")
    logits = keras.layers.Dense(tasks, name="logits")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, logits)
    w = np.asarray(model.get_layer("logits").kernel).reshape(length, 4, tasks)
    return model, w


def _with_batchnorm_statistics(model, seed=0):
    """Random moving statistics, so that BatchNormalization is not the identity."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.2, layer.moving_mean.shape).astype("f4"))
            layer.moving_variance.assign(
                rng.uniform(0.5, 2, layer.moving_variance.shape).astype("f4")
            )
    return model


def test_gradient_x_input_is_exact_on_a_linear_model():
    model, w = _linear_model(30)
    x = _sequences(5, 30)
    a = gradient_x_input(model, x, task=1, batch_size=2)
    np.testing.assert_allclose(a.hypothetical, np.broadcast_to(w[..., 1], x.shape), atol=1e-6)
    np.testing.assert_allclose(a.scores, w[..., 1] * x, atol=1e-6)


def test_integrated_gradients_and_deeplift_are_exact_on_a_linear_model():
    model, w = _linear_model(30)
    x = _sequences(4, 30)
    refs = shuffled_references(x, 3, seed=2)
    expected = ((w[..., 0] * (x[:, None] - refs)).sum(-1)).mean(1)  # (N, L)
    for method in (integrated_gradients, deeplift_shap):
        a = method(model, x, 0, references=refs)
        np.testing.assert_allclose(a.per_position(), expected, atol=1e-5)
        # Only the observed base carries a score, and it is the hypothetical score of that base.
        np.testing.assert_allclose(a.scores, a.hypothetical * x, atol=1e-5)
        np.testing.assert_allclose(completeness_gap(model, x, 0, a.scores, refs), 0, atol=1e-4)


@pytest.mark.parametrize(
    "architecture, length, head",
    [
        ("simulated_tf", 200, "std"),
        ("simulated_tf", 200, "sep"),
        ("simulated_tf", 200, "symm"),
        ("simulated_tf", 200, "gap"),
        ("tf_binding", 300, "std"),
        ("tf_binding", 300, "symm"),
        ("basset", 250, "sep"),
    ],
)
def test_deeplift_shap_is_complete_on_the_paper_models(architecture, length, head):
    # Overlapping max pools (simulated_tf 10/5, tf_binding 40/20), same-padded ones (Basset),
    # ReLU inside Conv1D/Dense and as Activation layers, BatchNorm, SFC: the scores of each
    # sequence sum to its logit minus the mean logit of its references.
    keras.utils.set_random_seed(1)
    model = _with_batchnorm_statistics(models.build_model(architecture, head=head, length=length))
    x = _sequences(4, length, seed=3)
    refs = shuffled_references(x, 5, seed=4)
    a = deeplift_shap(model, x, 0, references=refs, batch_size=7)
    gap = completeness_gap(model, x, 0, a.scores, refs)
    scale = np.abs(a.per_position()).sum(axis=1).max()
    assert scale > 1e-3
    np.testing.assert_allclose(gap, 0, atol=1e-5 * max(scale, 1))
    # Gradient x input is not complete: the check can fail.
    g = gradient_x_input(model, x, 0)
    assert np.abs(completeness_gap(model, x, 0, g.scores, refs)).max() > 1e-4


def test_integrated_gradients_converge_to_completeness():
    keras.utils.set_random_seed(2)
    model = models.build_model("simulated_tf", head="sep")
    x = _sequences(3, 200, seed=5)
    refs = shuffled_references(x, 2, seed=6)
    coarse = np.abs(
        completeness_gap(model, x, 0, integrated_gradients(model, x, 0, refs, steps=1).scores, refs)
    )
    fine = np.abs(
        completeness_gap(
            model, x, 0, integrated_gradients(model, x, 0, refs, steps=50).scores, refs
        )
    )
    assert fine.mean() < coarse.mean()


def test_shuffled_references_keep_dinucleotides_and_are_reproducible():
    x = _sequences(3, 50, seed=7)
    x[0, 10] = 0  # an N
    refs = shuffled_references(x, 4, seed=1)
    assert refs.shape == (3, 4, 50, 4)
    np.testing.assert_array_equal(refs, shuffled_references(x, 4, seed=1))
    assert not np.array_equal(refs, shuffled_references(x, 4, seed=2))
    codes = np.where(x.sum(-1) > 0, x.argmax(-1), 4)
    for i in range(3):
        for j in range(4):
            ref = np.where(refs[i, j].sum(-1) > 0, refs[i, j].argmax(-1), 4)
            pairs = lambda c: sorted(zip(c[:-1].tolist(), c[1:].tolist(), strict=True))  # noqa: E731
            assert pairs(ref) == pairs(codes[i])
    assert ((refs[0].sum(-1) == 0).sum(axis=1) == 1).all()  # the N moves, still one per reference


def test_errors_name_the_problem():
    model, _ = _linear_model(20)
    x = _sequences(2, 20)
    with pytest.raises(ValueError, match="out of range for 2 tasks"):
        gradient_x_input(model, x, task=2)
    with pytest.raises(ValueError, match=r"shape \(N, L, 4\)"):
        gradient_x_input(model, x[..., :3], task=0)
    with pytest.raises(ValueError, match="the model takes"):
        gradient_x_input(model, _sequences(2, 21), task=0)
    with pytest.raises(ValueError, match="Unknown attribution method 'saliency'"):
        attribute("saliency", model, x, 0)
    inputs = keras.Input((20, 4))
    hidden = keras.layers.Dense(3, activation="tanh", name="odd")(keras.layers.Flatten()(inputs))
    odd = keras.Model(inputs, keras.layers.Dense(1, name="logits")(hidden))
    with pytest.raises(ValueError, match="no rule for activation 'tanh' of layer 'odd'"):
        deeplift_shap(odd, x, 0, n_references=2)


def test_every_method_runs_by_name():
    keras.utils.set_random_seed(3)
    model = models.build_model("simulated_tf", head="symm")
    x = _sequences(2, 200, seed=8)
    for method in METHODS:
        options = (
            {} if method in ("gradient_x_input", "in_silico_mutagenesis") else {"n_references": 2}
        )
        a = attribute(method, model, x, 1, **options)
        assert a.method == method and a.scores.shape == x.shape
        assert np.isfinite(a.scores).all() and np.abs(a.scores).sum() > 0
        assert (a.scores * (1 - x) == 0).all()  # only observed bases score
