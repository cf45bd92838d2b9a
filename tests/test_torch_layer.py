"""Tests of sfcrepro.network.torch: the PyTorch SFC module against the Keras layer (outputs, weights,
initial bound, curvature), closed-form gradients, weight conversion both ways, import isolation
from Keras, training next to nn.Conv1d, and DeepLIFT/SHAP completeness with tangermeme."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from sfcrepro.network import _sfc_math
from sfcrepro.network.torch import SeparableFC, copy_to_keras, from_keras, to_keras_weights


@pytest.fixture(scope="module")
def keras_sfc(keras_runtime):
    """``(keras, sfcrepro.network.layers)``, imported after the suite's Keras set-up."""
    import keras

    from sfcrepro.network import layers

    return keras, layers


def keras_layer(layers, length, channels, units, **kwargs):
    layer = layers.SeparableFC(units, **kwargs)
    layer.build((None, length, channels))
    return layer


def torch_input(x, channels_first):
    """``x`` (batch, L, C) as a torch tensor in the module's layout."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1) if channels_first else x))


def from_torch_layout(g, channels_first):
    g = g.detach().numpy()
    return g.transpose(0, 2, 1) if channels_first else g


def mirror_index(length, symmetric):
    """For each full position, the learned position that holds its weight."""
    half = _sfc_math.learned_length(length, symmetric)
    if not symmetric:
        return np.arange(length)
    return np.concatenate([np.arange(half), np.arange(length // 2)[::-1]])


def numpy_curvature(w, strength, norm):
    d2 = w[:, 2:] - 2 * w[:, 1:-1] + w[:, :-2]
    return strength * (np.abs(d2) if norm == "l1" else d2**2).mean()


TOL = {"rtol": 1e-5, "atol": 1e-6}  # float32 results against float64 closed forms

LAYOUTS = pytest.mark.parametrize(
    "length, symmetric, channels_first",
    [
        (length, symmetric, channels_first)
        for length in (7, 8)
        for symmetric in (False, True)
        for channels_first in (False, True)
    ],
)


@LAYOUTS
def test_output_equals_keras_layer(keras_sfc, length, symmetric, channels_first):
    keras, layers = keras_sfc
    layer = keras_layer(layers, length, 5, 3, symmetric=symmetric)
    module = from_keras(layer, channels_first=channels_first)
    x = np.random.default_rng(0).normal(size=(6, length, 5)).astype("float32")

    expected = keras.ops.convert_to_numpy(layer(x))
    out = module(torch_input(x, channels_first)).detach().numpy()
    assert out.shape == (6, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    for ours, theirs in [
        (module.full_positional_kernel(), layer.full_positional_kernel()),
        (module.weight_matrix(), layer.weight_matrix()),
    ]:
        np.testing.assert_allclose(
            ours.detach().numpy(), keras.ops.convert_to_numpy(theirs), rtol=1e-6
        )


@LAYOUTS
def test_gradients_match_closed_form_of_keras_weights(keras_sfc, length, symmetric, channels_first):
    """loss = sum(out * g): the input and kernel gradients are sums over the other factors."""
    keras, layers = keras_sfc
    channels, units = 5, 3
    layer = keras_layer(layers, length, channels, units, symmetric=symmetric)
    module = from_keras(layer, channels_first=channels_first)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, length, channels)).astype("float32")
    g = rng.normal(size=(4, units)).astype("float32")

    xt = torch_input(x, channels_first).requires_grad_()
    (module(xt) * torch.from_numpy(g)).sum().backward()

    half, chan = (w.astype("float64") for w in layer.get_weights())  # float64 closed forms
    pos = keras.ops.convert_to_numpy(layer.full_positional_kernel()).astype("float64")
    x, g = x.astype("float64"), g.astype("float64")
    grad_x = np.einsum("no,ol,oc->nlc", g, pos, chan)
    grad_chan = np.einsum("no,nlc,ol->oc", g, x, pos)
    grad_pos_full = np.einsum("no,nlc,oc->ol", g, x, chan)
    grad_half = np.zeros_like(half)
    np.add.at(grad_half.T, mirror_index(length, symmetric), grad_pos_full.T)

    np.testing.assert_allclose(from_torch_layout(xt.grad, channels_first), grad_x, **TOL)
    np.testing.assert_allclose(module.channel_kernel.grad.numpy(), grad_chan, **TOL)
    np.testing.assert_allclose(module.positional_kernel.grad.numpy(), grad_half, **TOL)
    if keras.backend.backend() == "tensorflow":  # and Keras' own gradients, where cheap to get
        import tensorflow as tf

        xv = tf.constant(x, dtype="float32")
        with tf.GradientTape() as tape:
            tape.watch(xv)
            loss = tf.reduce_sum(layer(xv) * g.astype("float32"))
        keras_grads = tape.gradient(loss, [xv, *layer.trainable_weights])
        np.testing.assert_allclose(keras_grads[0].numpy(), grad_x, **TOL)
        np.testing.assert_allclose(keras_grads[1].numpy(), grad_half, **TOL)
        np.testing.assert_allclose(keras_grads[2].numpy(), grad_chan, **TOL)


@pytest.mark.parametrize("symmetric", [False, True])
def test_round_trip_torch_keras_torch(keras_sfc, symmetric):
    keras, layers = keras_sfc
    torch.manual_seed(0)
    module = SeparableFC(9, 4, 3, symmetric=symmetric, initializer="variance_matched")
    layer = layers.SeparableFC(3, symmetric=symmetric)  # not built: copy_to_keras builds it
    copy_to_keras(module, layer)
    weights = to_keras_weights(module)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights]
    for ours, theirs in zip(weights, layer.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)

    back = from_keras(layer)
    assert (back.length, back.channels, back.units, back.symmetric) == (9, 4, 3, symmetric)
    assert back.initializer == "paper"  # the Keras layer's, which was not part of the weights
    for name in ("positional_kernel", "channel_kernel"):
        torch.testing.assert_close(getattr(back, name), getattr(module, name), rtol=0, atol=0)
    x = np.random.default_rng(2).normal(size=(5, 9, 4)).astype("float32")
    np.testing.assert_allclose(
        back(torch.from_numpy(x)).detach().numpy(),
        keras.ops.convert_to_numpy(layer(x)),
        rtol=1e-5,
        atol=1e-6,
    )


def test_conversion_refuses_mismatches(keras_sfc):
    _, layers = keras_sfc
    with pytest.raises(ValueError, match="built"):
        from_keras(layers.SeparableFC(3))
    module = SeparableFC(6, 4, 3, symmetric=True)
    with pytest.raises(ValueError, match="does not match"):
        copy_to_keras(module, layers.SeparableFC(3, symmetric=False))
    with pytest.raises(ValueError, match=r"\(L, C\) = \(7, 4\)"):
        copy_to_keras(module, keras_layer(layers, 7, 4, 3, symmetric=True))


@pytest.mark.parametrize(
    ("length", "expected"), [(5, [0, 1, 2, 1, 0]), (4, [0, 1, 1, 0]), (1, [0]), (2, [0, 0])]
)
def test_symmetric_mirror_layout(length, expected):
    module = SeparableFC(length, 2, 1, symmetric=True)
    with torch.no_grad():
        module.positional_kernel.copy_(torch.arange(float((length + 1) // 2))[None, :])
    assert module.full_positional_kernel()[0].tolist() == expected


@pytest.mark.parametrize("initializer", ["paper", "variance_matched"])
@pytest.mark.parametrize("symmetric", [False, True])
def test_initial_bound_is_the_keras_layers(keras_sfc, initializer, symmetric):
    _, layers = keras_sfc
    length, channels, units = 35, 50, 64
    torch.manual_seed(3)
    module = SeparableFC(length, channels, units, symmetric=symmetric, initializer=initializer)
    bound = layers.init_bound(initializer, length, channels, units, symmetric)
    assert module.init_bound() == bound
    assert module.positional_kernel.shape == (units, layers.learned_length(length, symmetric))
    assert module.channel_kernel.shape == (units, channels)
    for w in (module.positional_kernel, module.channel_kernel):
        assert w.abs().max().item() <= bound
        assert w.abs().max().item() > 0.9 * bound  # the whole range, not a narrower one
    keras_weights = keras_layer(
        layers, length, channels, units, symmetric=symmetric, initializer=initializer
    ).get_weights()
    assert max(np.abs(w).max() for w in keras_weights) <= bound


def test_one_implementation_of_the_shared_formulas(keras_sfc):
    _, layers = keras_sfc
    assert layers.init_bound is _sfc_math.init_bound
    assert layers.learned_length is _sfc_math.learned_length
    assert "init_bound" in layers.__all__ and "learned_length" in layers.__all__


def test_variance_matched_product_has_glorot_variance():
    length, channels, units = 40, 30, 500
    torch.manual_seed(4)
    glorot = 2 / (length * channels + units)
    matched = SeparableFC(length, channels, units, initializer="variance_matched")
    paper = SeparableFC(length, channels, units, initializer="paper")
    assert matched.weight_matrix().var().item() == pytest.approx(glorot, rel=0.05)
    assert paper.weight_matrix().var().item() == pytest.approx(glorot / 9, rel=0.05)


def test_seeded_initialisation_is_reproducible():
    torch.manual_seed(11)
    a = SeparableFC(10, 4, 3)
    torch.manual_seed(11)
    b = SeparableFC(10, 4, 3)
    torch.testing.assert_close(a.state_dict(), b.state_dict(), rtol=0, atol=0)
    assert list(a.state_dict()) == ["positional_kernel", "channel_kernel"]


@pytest.mark.parametrize("norm", ["l1", "l2"])
@pytest.mark.parametrize("symmetric", [False, True])
def test_curvature_penalty_equals_keras_regularizer(keras_sfc, norm, symmetric):
    keras, layers = keras_sfc
    reg = layers.CurvatureRegularizer(3.0, norm=norm)
    layer = keras_layer(layers, 11, 3, 4, symmetric=symmetric, positional_regularizer=reg)
    half = np.random.default_rng(5).normal(size=layer.get_weights()[0].shape).astype("float32")
    layer.set_weights([half, np.ones((4, 3), "float32")])
    module = from_keras(layer)

    penalty = module.curvature_penalty(3.0, norm=norm)
    (keras_loss,) = layer.losses  # the regulariser on the layer's positional kernel
    assert penalty.item() == pytest.approx(float(keras_loss), rel=1e-5)
    assert penalty.item() == pytest.approx(float(reg(keras.ops.convert_to_tensor(half))), rel=1e-5)
    assert penalty.item() == pytest.approx(numpy_curvature(half, 3.0, norm), rel=1e-5)
    penalty.backward()
    assert module.positional_kernel.grad.abs().max() > 0
    assert module.channel_kernel.grad is None


@pytest.mark.parametrize(("length", "symmetric"), [(1, False), (2, False), (4, True)])
def test_curvature_penalty_is_zero_below_three_positions(length, symmetric):
    module = SeparableFC(length, 3, 2, symmetric=symmetric)
    assert module.positional_kernel.shape[1] < 3
    for norm in ("l1", "l2"):
        assert module.curvature_penalty(10.0, norm).item() == 0
    assert SeparableFC(5, 3, 2, symmetric=True).curvature_penalty(10.0).item() > 0  # L' = 3


def test_invalid_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="positive integer"):
        SeparableFC(10, 4, 0)
    with pytest.raises(ValueError, match="paper, variance_matched"):
        SeparableFC(10, 4, 2, initializer="glorot")
    module = SeparableFC(10, 4, 2)
    with pytest.raises(ValueError, match="norm"):
        module.curvature_penalty(1.0, norm="l3")
    with pytest.raises(ValueError, match=">= 0"):
        module.curvature_penalty(-1.0)
    with pytest.raises(
        ValueError, match=r"\(batch, L, C\) = \(batch, 10, 4\).*channels_first=True"
    ):
        module(torch.zeros(2, 4, 10))


ISOLATED = """
import sys
sys.modules["keras"] = None
sys.modules["tensorflow"] = None
import torch
from sfcrepro.network.torch import SeparableFC
module = SeparableFC(7, 3, 2, symmetric=True, channels_first=True)
out = module(torch.ones(4, 3, 7))
loss = out.sum() + module.curvature_penalty(1.0)
loss.backward()
assert out.shape == (4, 2), out.shape
print("ok")
"""


def test_works_when_keras_cannot_be_imported():
    proc = subprocess.run(
        [sys.executable, "-c", ISOLATED], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"


def test_import_loads_neither_keras_nor_tensorflow():
    code = (
        "import sys, sfcrepro.network.torch; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[]"


def planted_task(n=256, length=40, seed=0):
    """One-hot ``(n, 4, length)`` DNA; half of it has GATA planted at position 18 (label 1)."""
    rng = np.random.default_rng(seed)
    bases = rng.integers(0, 4, size=(n, length))
    y = np.arange(n) % 2
    bases[y == 1, 18:22] = [2, 0, 3, 0]  # G A T A
    x = np.eye(4, dtype="float32")[bases].transpose(0, 2, 1)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y[:, None].astype("float32"))


def test_trains_after_conv1d_with_curvature_penalty():
    torch.manual_seed(0)
    x, y = planted_task()
    sfc = SeparableFC(36, 8, 4, symmetric=True, channels_first=True)
    model = nn.Sequential(nn.Conv1d(4, 8, 5), nn.ReLU(), sfc, nn.Linear(4, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.BCEWithLogitsLoss()
    with torch.no_grad():
        start = loss_fn(model(x), y).item()
    for _ in range(60):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y) + sfc.curvature_penalty(1.0)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        end = loss_fn(model(x), y).item()
        accuracy = ((model(x) > 0).float() == y).float().mean().item()
    assert end < 0.5 * start, (start, end)
    assert accuracy > 0.9


def test_deep_lift_shap_attributions_are_complete():
    """tangermeme's DeepLIFT/SHAP: per example, the attributions sum to f(x) - mean f(refs)."""
    pytest.importorskip("tangermeme")
    from tangermeme.deep_lift_shap import deep_lift_shap

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(4, 8, 7),
        nn.ReLU(),
        SeparableFC(44, 8, 6, symmetric=True, channels_first=True),
        nn.ReLU(),
        nn.Linear(6, 1),
    ).eval()
    x, _ = planted_task(n=6, length=50, seed=1)
    # tangermeme warns when a convergence delta exceeds warning_threshold (default 1e-3); with
    # this model the deltas were at most 3e-8 and the output differences up to 0.08.
    threshold = 1e-5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attributions, references = deep_lift_shap(
            model,
            x,
            n_shuffles=4,
            random_state=0,
            return_references=True,
            warning_threshold=threshold,
            device="cpu",
        )
    assert not [w for w in caught if "Convergence deltas" in str(w.message)]
    assert attributions.shape == x.shape and references.shape == (6, 4, 4, 50)

    with torch.no_grad():
        fx = model(x)[:, 0]
        fref = model(references.reshape(-1, 4, 50)).reshape(6, 4).mean(dim=1)
    delta = fx - fref
    assert delta.abs().max() > 1000 * threshold  # so that the check below could fail
    torch.testing.assert_close(attributions.sum(dim=(1, 2)), delta, rtol=0, atol=threshold)
    # attributions only where a base is present (hypothetical=False)
    assert torch.all(attributions[x == 0] == 0)
