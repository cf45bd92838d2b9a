"""Tests of sfcrepro.network.layers against plain numpy computations of the paper's formulas."""

import keras
import numpy as np
import pytest

from sfcrepro.network.layers import CurvatureRegularizer, SeparableFC, init_bound, learned_length


def numpy_sfc(x, pos, chan):
    """out[n, o] = sum_l sum_c x[n, l, c] * pos[o, l] * chan[o, c]."""
    return np.einsum("nlc,ol,oc->no", x, pos, chan)


def numpy_mirror(half, length):
    return np.concatenate([half, half[:, : length // 2][:, ::-1]], axis=1)


def numpy_curvature(w, strength, norm="l1"):
    d2 = w[:, 2:] - 2 * w[:, 1:-1] + w[:, :-2]
    return strength * (np.abs(d2) if norm == "l1" else d2**2).mean()


def built_layer(length, channels, units=4, **kwargs):
    layer = SeparableFC(units, **kwargs)
    layer.build((None, length, channels))
    return layer


@pytest.mark.parametrize("length", [7, 8])
@pytest.mark.parametrize("symmetric", [False, True])
def test_output_matches_numpy_formula(length, symmetric):
    rng = np.random.default_rng(0)
    layer = built_layer(length, 5, units=3, symmetric=symmetric)
    half = rng.normal(size=(3, learned_length(length, symmetric))).astype("float32")
    chan = rng.normal(size=(3, 5)).astype("float32")
    layer.set_weights([half, chan])
    x = rng.normal(size=(6, length, 5)).astype("float32")

    pos = numpy_mirror(half, length) if symmetric else half
    np.testing.assert_allclose(np.asarray(layer(x)), numpy_sfc(x, pos, chan), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.full_positional_kernel()), pos)


@pytest.mark.parametrize(
    ("length", "expected"),
    [(5, [0, 1, 2, 1, 0]), (4, [0, 1, 1, 0]), (1, [0]), (2, [0, 0])],
)
def test_symmetric_mirror_layout(length, expected):
    layer = built_layer(length, 2, units=1, symmetric=True)
    half = np.arange(learned_length(length, True), dtype="float32")[None, :]
    layer.set_weights([half, np.ones((1, 2), "float32")])
    assert keras.ops.convert_to_numpy(layer.full_positional_kernel())[0].tolist() == expected


def test_weights_order_names_and_shapes():
    layer = built_layer(9, 6, units=4, symmetric=True)
    assert [w.shape for w in layer.get_weights()] == [(4, 5), (4, 6)]
    assert [w.name for w in layer.weights] == ["positional_kernel", "channel_kernel"]
    assert layer.compute_output_shape((None, 9, 6)) == (None, 4)


def test_gradient_reaches_both_kernels():
    tf = pytest.importorskip("tensorflow")
    layer = built_layer(6, 3, units=2, symmetric=True)
    x = np.random.default_rng(1).normal(size=(4, 6, 3)).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert len(grads) == 2
    for grad in grads:
        assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_curvature_regularizer_value(norm):
    w = np.random.default_rng(2).normal(size=(5, 9)).astype("float32")
    value = float(CurvatureRegularizer(3.0, norm=norm)(keras.ops.convert_to_tensor(w)))
    assert value == pytest.approx(numpy_curvature(w, 3.0, norm), rel=1e-5)


def test_curvature_regularizer_is_zero_on_lines_and_short_kernels():
    line = np.tile(np.linspace(-1, 1, 10, dtype="float32"), (3, 1))
    assert float(CurvatureRegularizer(5.0)(keras.ops.convert_to_tensor(line))) == pytest.approx(
        0, abs=1e-6
    )
    assert float(CurvatureRegularizer(5.0)(keras.ops.ones((3, 2)))) == 0


def test_curvature_applies_to_learned_half_when_symmetric():
    reg = CurvatureRegularizer(2.0)
    layer = built_layer(9, 3, units=2, symmetric=True, positional_regularizer=reg)
    half = np.random.default_rng(3).normal(size=(2, 5)).astype("float32")
    layer.set_weights([half, np.ones((2, 3), "float32")])
    (loss,) = layer.losses
    assert float(loss) == pytest.approx(numpy_curvature(half, 2.0), rel=1e-5)
    # The mirrored kernel has a kink at the centre that the half does not see.
    assert numpy_curvature(numpy_mirror(half, 9), 2.0) != pytest.approx(float(loss), rel=1e-3)


def test_regularizer_argument_validation():
    with pytest.raises(ValueError, match="norm"):
        CurvatureRegularizer(1.0, norm="l3")
    with pytest.raises(ValueError, match=">= 0"):
        CurvatureRegularizer(-1.0)


@pytest.mark.parametrize("symmetric", [False, True])
def test_paper_initialisation_bound(symmetric):
    length, channels, units = 35, 50, 64
    layer = built_layer(length, channels, units=units, symmetric=symmetric)
    bound = (2 / (learned_length(length, symmetric) * channels + units)) ** 0.25
    assert init_bound("paper", length, channels, units, symmetric) == pytest.approx(bound)
    for w in layer.get_weights():
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.9 * bound  # uses the whole range, not a narrower one


def test_variance_matched_initialisation_gives_glorot_variance():
    length, channels, units = 40, 30, 500
    keras.utils.set_random_seed(4)
    layer = built_layer(length, channels, units=units, initializer="variance_matched")
    product = keras.ops.convert_to_numpy(layer.weight_matrix())
    glorot = 2 / (length * channels + units)
    assert product.shape == (length * channels, units)
    assert product.var() == pytest.approx(glorot, rel=0.05)
    paper = built_layer(length, channels, units=units, initializer="paper")
    assert keras.ops.convert_to_numpy(paper.weight_matrix()).var() == pytest.approx(
        glorot / 9, rel=0.05
    )


def test_invalid_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="positive integer"):
        SeparableFC(0)
    with pytest.raises(ValueError, match="paper, variance_matched"):
        SeparableFC(4, initializer="glorot")
    with pytest.raises(ValueError, match="fixed input length"):
        SeparableFC(4).build((None, None, 4))


def test_seeded_initialisation_is_reproducible():
    keras.utils.set_random_seed(11)
    a = built_layer(10, 4).get_weights()
    keras.utils.set_random_seed(11)
    b = built_layer(10, 4).get_weights()
    for x, y in zip(a, b, strict=False):
        np.testing.assert_array_equal(x, y)


def test_get_config_round_trip():
    layer = SeparableFC(
        7,
        symmetric=True,
        positional_regularizer=CurvatureRegularizer(10.0, "l2"),
        initializer="variance_matched",
        name="s",
    )
    clone = SeparableFC.from_config(layer.get_config())
    assert (clone.units, clone.symmetric, clone.initializer, clone.name) == (
        7,
        True,
        "variance_matched",
        "s",
    )
    assert isinstance(clone.positional_regularizer, CurvatureRegularizer)
    assert clone.positional_regularizer.get_config() == {"strength": 10.0, "norm": "l2"}


def test_model_saves_and_loads_with_identical_outputs(tmp_path):
    inputs = keras.Input((12, 4))
    x = keras.layers.Conv1D(3, 3)(inputs)
    x = SeparableFC(5, symmetric=True, positional_regularizer=CurvatureRegularizer(1.0))(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    x_in = np.random.default_rng(5).normal(size=(3, 12, 4)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)  # no custom_objects needed
    np.testing.assert_array_equal(np.asarray(model(x_in)), np.asarray(loaded(x_in)))
    sfc = [layer for layer in loaded.layers if isinstance(layer, SeparableFC)][0]
    assert sfc.symmetric and isinstance(sfc.positional_regularizer, CurvatureRegularizer)
    assert len(loaded.losses) == 1
