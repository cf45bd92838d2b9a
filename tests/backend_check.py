"""Run under a chosen KERAS_BACKEND by tests/test_backends.py (a fresh process per backend).

Checks that the SFC layer computes the paper's formula, that a small SFC model trains one step
(both kernels move), that a saved model loads back with identical outputs, and that input
gradients (gradient x input importance) are right: exactly the layer's weights for a linear model.
"""

import os
import sys
import tempfile

import keras
import numpy as np

from sfcrepro.explain.importance import gradient_x_input, input_gradients
from sfcrepro.network.layers import SeparableFC
from sfcrepro.network.models import simulated_tf

expected = os.environ["KERAS_BACKEND"]
assert keras.backend.backend() == expected, (keras.backend.backend(), expected)
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

layer = SeparableFC(3, symmetric=True)
layer.build((None, 7, 5))
half, chan = rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 5)).astype("float32")
layer.set_weights([half, chan])
x = rng.normal(size=(4, 7, 5)).astype("float32")
pos = np.concatenate([half, half[:, :3][:, ::-1]], axis=1)
got = keras.ops.convert_to_numpy(layer(x))
np.testing.assert_allclose(got, np.einsum("nlc,ol,oc->no", x, pos, chan), rtol=1e-5, atol=1e-5)

model = simulated_tf("symm", length=60, units=16, curvature=1.0)
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
seqs = np.eye(4, dtype="float32")[rng.integers(0, 4, size=(32, 60))]
labels = rng.integers(0, 2, size=(32, 3)).astype("float32")
before = [w.copy() for w in model.get_layer("sfc").get_weights()]
history = model.fit(seqs, labels, batch_size=32, epochs=1, verbose=0)
assert np.isfinite(history.history["loss"][0])
after = model.get_layer("sfc").get_weights()
for b, a in zip(before, after, strict=False):
    assert np.abs(a - b).max() > 0, "an SFC kernel did not move after one training step"

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(seqs[:4])),
        keras.ops.convert_to_numpy(loaded(seqs[:4])),
        rtol=1e-6,
    )
# d sum_n out[n, o] / d x[n, l, c] = pos[o, l] * chan[o, c] for every sequence n.
inputs = keras.Input((7, 5))
linear = keras.Model(inputs, layer(inputs))
for task in range(3):
    grad = input_gradients(linear, x, task)
    np.testing.assert_allclose(
        grad, np.broadcast_to(np.outer(pos[task], chan[task]), x.shape), rtol=1e-5, atol=1e-6
    )
curve = gradient_x_input(
    model, rng.integers(0, 4, size=(10, 60)).astype("uint8"), task=1, batch_size=4
)
assert curve.shape == (60,) and np.isfinite(curve).all() and np.abs(curve).sum() > 0
print(f"backend {expected}: ok")
sys.exit(0)
