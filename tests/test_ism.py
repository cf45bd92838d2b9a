"""In-silico mutagenesis (sfcrepro.explain.ism): the naive loop against a closed form, the fast (windowed)
path against the naive one for every architecture and head, N bases, errors, the attribution
convention, and fast == naive under the torch (and, when installed, JAX) backend."""

import importlib.util
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from sfcrepro.explain.ism import ism, ism_attributions, mutations  # noqa: E402
from sfcrepro.network.models import build_model  # noqa: E402


def one_hot(rng, n, length, n_bases=()):
    """Random one-hot sequences; ``(sequence, position)`` pairs in ``n_bases`` become N rows."""
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))]
    for s, p in n_bases:
        x[s, p] = 0.0
    return x


def assert_close(fast, naive):
    """Equal to float32 rounding, relative to the scale of the scores."""
    scale = max(float(np.abs(naive).max()), 1e-6)
    np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-4 * scale)
    assert np.abs(naive).max() > 0


def linear_model(length, tasks=2, output=True):
    """One-hot -> Flatten -> Dense named logits (-> sigmoid): logits linear in the input."""
    inputs = keras.Input((length, 4))
    x = keras.layers.Flatten()(inputs)
    logits = keras.layers.Dense(tasks, name="logits")(x)
    out = keras.layers.Activation("sigmoid", name="output")(logits) if output else logits
    return keras.Model(inputs, out)


@pytest.mark.parametrize("output", [True, False])
def test_naive_equals_closed_form_of_a_linear_model(output, caplog):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    length, task = 12, 1
    model = linear_model(length, output=output)
    kernel, bias = model.get_layer("logits").get_weights()
    kernel += rng.normal(size=kernel.shape).astype(np.float32)  # no zero weights
    model.get_layer("logits").set_weights([kernel, bias])
    w = kernel.reshape(length, 4, -1)[:, :, task]
    x = one_hot(rng, 3, length, n_bases=[(0, 4), (2, 0), (2, 11)])
    observed = (w[None] * x).sum(axis=-1, keepdims=True)  # w[i, observed] (0 at N)
    expected = np.where(x == 1, 0.0, w[None] - observed)
    got = ism(model, x, task, batch_size=7, method="naive")
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # Nothing local before the head: the fast path falls back to naive and says so.
    with caplog.at_level(logging.WARNING, logger="sfcrepro.explain.ism"):
        fast = ism(model, x, task, batch_size=7)
    assert "falling back to naive" in caplog.text
    np.testing.assert_allclose(fast, expected, rtol=1e-5, atol=1e-5)


def test_mutations_lists_three_bases_per_position_and_four_at_n():
    x = one_hot(np.random.default_rng(1), 2, 5, n_bases=[(1, 3)])
    seq, pos, base = mutations(x)
    assert len(seq) == 3 * 10 + 1
    assert (x[seq, pos, base] == 0).all()
    assert sorted(base[(seq == 1) & (pos == 3)]) == [0, 1, 2, 3]


CASES = [
    ("simulated_tf", 200, 2, 3),
    ("tf_binding", 300, 2, 1),
    ("basset", 300, 1, 2),
]


@pytest.mark.parametrize("head", ["std", "sep", "symm", "gap"])
@pytest.mark.parametrize("architecture,length,n,tasks", CASES)
def test_fast_equals_naive(architecture, length, n, tasks, head, caplog):
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    units = 16 if head in ("sep", "symm") and architecture != "tf_binding" else None
    model = build_model(architecture, head=head, length=length, tasks=tasks, units=units)
    x = one_hot(rng, n, length, n_bases=[(0, 0), (n - 1, length // 2), (n - 1, length - 1)])
    task = tasks - 1
    naive = ism(model, x, task, method="naive", batch_size=256)
    with caplog.at_level(logging.WARNING, logger="sfcrepro.explain.ism"):
        fast = ism(model, x, task, method="fast", batch_size=256)
    assert "falling back" not in caplog.text
    assert fast.dtype == np.float32 and fast.shape == x.shape
    assert (fast[x == 1] == 0).all()
    assert_close(fast, naive)


def edge_model(length):
    """Strides, dilation, causal and same padding, pools with stride > size and stride < size."""
    inputs = keras.Input((length, 4))
    x = keras.layers.Conv1D(6, 5, strides=2, padding="same", activation="tanh")(inputs)
    x = keras.layers.MaxPooling1D(3, strides=2, padding="same")(x)
    x = keras.layers.Conv1D(5, 3, dilation_rate=2, padding="causal")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv1D(4, 4, padding="same")(x)
    x = keras.layers.LeakyReLU()(x)
    x = keras.layers.MaxPooling1D(2, strides=3)(x)  # some positions reach no output
    x = keras.layers.Conv1D(3, 2, padding="valid")(x)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(2, name="logits")(x)
    return keras.Model(inputs, logits)


@pytest.mark.parametrize("length", [37, 40])
def test_fast_equals_naive_on_strides_dilation_and_padding(length, caplog):
    keras.utils.set_random_seed(2)
    model = edge_model(length)
    bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)][0]
    rng = np.random.default_rng(2)
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights(
        [gamma + 0.3, beta + 0.1, rng.normal(size=mean.shape), 1 + rng.random(var.shape)]
    )
    x = one_hot(rng, 3, length, n_bases=[(1, 0), (1, length - 1)])
    with caplog.at_level(logging.INFO, logger="sfcrepro.explain.ism"):
        fast = ism(model, x, 1, batch_size=50)
    assert not caplog.text  # every layer before Flatten is recomputed in windows
    assert_close(fast, ism(model, x, 1, batch_size=50, method="naive"))


def test_results_do_not_depend_on_the_batch_size():
    """Batches that split sequences, span several and a padded last batch give the same scores."""
    keras.utils.set_random_seed(5)
    model = edge_model(37)
    x = one_hot(np.random.default_rng(5), 3, 37, n_bases=[(2, 36)])
    expected = ism(model, x, 0, batch_size=10_000, method="naive")
    assert_close(ism(model, x, 0, batch_size=150, method="naive"), expected)
    for batch_size in (13, 150, 10_000):
        assert_close(ism(model, x, 0, batch_size=batch_size), expected)


def test_fast_falls_back_for_a_stack_that_is_not_a_chain(caplog):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((20, 4))
    a = keras.layers.Conv1D(3, 3, padding="same")(inputs)
    b = keras.layers.Conv1D(3, 3, padding="same")(a)
    x = keras.layers.Flatten()(keras.layers.Add()([a, b]))
    model = keras.Model(inputs, keras.layers.Dense(1, name="logits")(x))
    x = one_hot(np.random.default_rng(3), 2, 20)
    with caplog.at_level(logging.WARNING, logger="sfcrepro.explain.ism"):
        fast = ism(model, x, 0)
    assert "falling back to naive" in caplog.text
    np.testing.assert_array_equal(fast, ism(model, x, 0, method="naive"))


def test_n_positions_are_mutated_to_every_base():
    keras.utils.set_random_seed(4)
    length = 60
    model = build_model("simulated_tf", length=length)
    x = one_hot(np.random.default_rng(4), 1, length, n_bases=[(0, 7)])
    scores = ism(model, x, 2)
    assert (scores[0, 7] != 0).all()
    assert ((scores[0] != 0).sum(axis=-1) == np.where(np.arange(length) == 7, 4, 3)).all()
    logits = keras.Model(model.inputs, model.get_layer("logits").output)
    mutated = np.repeat(x, 4, axis=0)
    mutated[np.arange(4), 7] = np.eye(4)
    direct = logits.predict(np.concatenate([x, mutated]), verbose=0)[:, 2]
    np.testing.assert_allclose(scores[0, 7], direct[1:] - direct[0], atol=1e-5)


def test_errors():
    model = linear_model(10)
    x = one_hot(np.random.default_rng(5), 2, 10)
    with pytest.raises(ValueError, match="Unknown ISM method 'slow'"):
        ism(model, x, 0, method="slow")
    with pytest.raises(ValueError, match=r"shape \(N, L, 4\), got shape \(10, 4\)"):
        ism(model, x[0], 0)
    with pytest.raises(ValueError, match=r"shape \(N, L, 4\)"):
        ism(model, np.zeros((2, 10, 5), np.float32), 0)
    with pytest.raises(ValueError, match="length 9 but the model expects sequences of 10 bp"):
        ism(model, x[:, :9], 0)
    with pytest.raises(ValueError, match="Task index 2 is out of range for 2 tasks"):
        ism(model, x, 2)
    with pytest.raises(ValueError, match="Task index -1"):
        ism(model, x, -1)
    with pytest.raises(ValueError, match="task must be an int"):
        ism(model, x, 0.5)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        ism(model, x, 0, batch_size=0)
    with pytest.raises(ValueError, match="must be one-hot"):
        ism(model, x * 0.5, 0)
    with pytest.raises(ValueError, match="must be one-hot"):
        ism(model, np.ones((2, 10, 4), np.float32), 0)
    inputs = keras.Input((10, 4))
    unnamed = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="no layer named 'logits'"):
        ism(unnamed, x, 0)


def test_ism_attributions_centre_over_bases():
    rng = np.random.default_rng(6)
    x = one_hot(rng, 2, 8, n_bases=[(0, 3)])
    scores = np.where(x == 1, 0.0, rng.normal(size=x.shape)).astype(np.float32)
    centred, attribution = ism_attributions(scores, x)
    np.testing.assert_allclose(centred.sum(axis=-1), 0.0, atol=1e-6)
    np.testing.assert_allclose(centred, scores - scores.mean(axis=-1, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(attribution, centred * x)
    # The observed base: minus the mean effect of mutating it away; N rows: no attribution.
    observed = attribution.sum(axis=-1)
    np.testing.assert_allclose(observed[1], -scores[1].sum(axis=-1) / 4, atol=1e-6)
    assert (attribution[0, 3] == 0).all()
    with pytest.raises(ValueError, match="same shape"):
        ism_attributions(scores[:, :4], x)


BACKEND_CHECK = textwrap.dedent(
    """
    import os
    import keras
    import numpy as np
    from sfcrepro.explain.ism import ism
    from sfcrepro.network.models import build_model

    assert keras.backend.backend() == os.environ["KERAS_BACKEND"]
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    for architecture, head, length in (("basset", "sep", 200), ("simulated_tf", "std", 100)):
        model = build_model(architecture, head=head, length=length, units=16)
        x = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(1, length))]
        x[0, 3] = 0.0
        naive = ism(model, x, 1, method="naive")
        fast = ism(model, x, 1, method="fast")
        scale = np.abs(naive).max()
        assert scale > 0 and fast.shape == x.shape, scale
        np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-4 * scale)
    print("ism backend", keras.backend.backend(), "ok")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_fast_equals_naive_under_other_backends(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    env = {**os.environ, "KERAS_BACKEND": backend}
    proc = subprocess.run(
        [sys.executable, "-c", BACKEND_CHECK], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert f"ism backend {backend} ok" in proc.stdout
