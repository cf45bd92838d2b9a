"""Run under a chosen KERAS_BACKEND by tests/test_engine.py (a fresh process per backend).

The compiled training step of sfcrepro.pipeline.engine against Keras' own step, on the same batch and
weights: the loss and every gradient against Keras' ``compute_loss`` (differentiated as Keras'
trainer of that backend does), and one full step (gradients and Adam) against ``train_on_batch``.
The model has everything the step must get right: dropout (its random state restored between
the two computations), a curvature regulariser (a loss term), class weights, reverse complements
and N bases.
"""

import os
import sys

import keras
import numpy as np

from sfcrepro.data.sequences import one_hot, reverse_complement
from sfcrepro.network.models import simulated_tf
from sfcrepro.pipeline.engine import Engine, global_rng_state

backend = os.environ["KERAS_BACKEND"]
assert keras.backend.backend() == backend
# ENGINE_CHECK_JIT=1: the engine's compiled step (PyTorch: torch.compile), with deterministic
# algorithms on as a CPU job has them (the compiled step then draws the eager dropout masks).
JIT = os.environ.get("ENGINE_CHECK_JIT") == "1"
if JIT and backend == "torch":
    import torch

    torch.use_deterministic_algorithms(True, warn_only=True)
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

tokens = rng.integers(0, 5, size=(64, 60), dtype=np.uint8)  # code 4: N
labels = rng.integers(0, 2, size=(64, 1), dtype=np.uint8)
class_weight = np.array([0.5, 2.0], np.float32)
rows = np.sort(rng.choice(64, size=16, replace=False)).astype(np.int32)

model = simulated_tf("symm", length=60, tasks=1, units=16, curvature=1.0)
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
model.optimizer.build(model.trainable_variables)
engine = Engine(
    [model],
    tokens,
    labels,
    class_weights=[class_weight],
    reverse_complement=True,
    rng_states=[global_rng_state()],
    jit_compile=JIT,
)

# The batch as Keras would be given it.
x = one_hot(np.concatenate([tokens[rows], reverse_complement(tokens[rows])]))
y = np.concatenate([labels[rows], labels[rows]]).astype(np.float32)
w = class_weight[y[:, 0].astype(int)]

saved = [keras.ops.convert_to_numpy(v) for v in model.variables]
saved_optimizer = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
saved_rng = global_rng_state()
saved_weights = model.get_weights()


def restore():
    for variable, value in zip(model.variables, saved, strict=True):
        variable.assign(value)
    for variable, value in zip(model.optimizer.variables, saved_optimizer, strict=True):
        variable.assign(value)
    if saved_rng is not None:
        import torch

        torch.set_rng_state(torch.from_numpy(saved_rng["rng_cpu"]))


def keras_loss_and_gradients():
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=w, training=True)
        grads = tape.gradient(loss, model.trainable_variables)
    elif backend == "torch":
        y_pred = model(keras.ops.convert_to_tensor(x), training=True)
        model.zero_grad()
        loss = model.compute_loss(
            x=x,
            y=keras.ops.convert_to_tensor(y),
            y_pred=y_pred,
            sample_weight=keras.ops.convert_to_tensor(w),
            training=True,
        )
        loss.backward()
        grads = [v.value.grad for v in model.trainable_variables]
    else:
        import jax

        def loss_fn(trainable):
            loss, aux = model.compute_loss_and_updates(
                trainable,
                [v.value for v in model.non_trainable_variables],
                [v.value for v in model.metrics_variables],
                x,
                y,
                w,
                training=True,
                optimizer_variables=[v.value for v in model.optimizer.variables],
            )
            return loss, aux

        (loss, _), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            [v.value for v in model.trainable_variables]
        )
    return float(keras.ops.convert_to_numpy(loss)), [keras.ops.convert_to_numpy(g) for g in grads]


loss, grads = engine.loss_and_gradients(0, rows)
restore()
ref_loss, ref_grads = keras_loss_and_gradients()
assert np.isfinite(loss) and loss > 0
np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
assert len(grads) == len(ref_grads) == len(model.trainable_variables)
for variable, got, want in zip(model.trainable_variables, grads, ref_grads, strict=True):
    assert np.abs(want).max() > 0, f"{variable.path}: Keras' gradient is zero"
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=variable.path)
print(f"loss {loss:.6f} = Keras {ref_loss:.6f}; {len(grads)} gradients equal")

# One whole step (gradients, then Adam) against Keras' train_on_batch from the same state.
restore()
engine.reload()
step_loss = engine.train([0], rows[None, None])[0]
engine.sync()
ours = model.get_weights()
restore()
ref_step_loss = float(np.asarray(model.train_on_batch(x, y, sample_weight=w)).ravel()[0])
np.testing.assert_allclose(step_loss, ref_step_loss, rtol=1e-5)
moved = 0
for a, b, before in zip(ours, model.get_weights(), saved_weights, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved += not np.array_equal(a, before)
assert moved >= 4, "the step left the weights where they were"
print(f"backend {backend}: engine step = Keras step")

# A group of two models, the second frozen (a seed that stopped early): the first takes the step
# it takes alone, the second keeps its weights, optimizer state and random state.
restore()
keras.utils.set_random_seed(1)
other = simulated_tf("symm", length=60, tasks=1, units=16, curvature=1.0)
other.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
other.optimizer.build(other.trainable_variables)
other_before = [
    keras.ops.convert_to_numpy(v) for v in (*other.variables, *other.optimizer.variables)
]
pair = Engine(
    [model, other],
    tokens,
    labels,
    class_weights=[class_weight, class_weight],
    reverse_complement=True,
    rng_states=[saved_rng, global_rng_state()],
    jit_compile=JIT,
)
pair.train([0, 1], np.stack([rows[None], rows[None]]), active=[True, False])
pair.sync()
for a, b in zip(model.get_weights(), ours, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
other_after = [
    keras.ops.convert_to_numpy(v) for v in (*other.variables, *other.optimizer.variables)
]
for a, b in zip(other_before, other_after, strict=True):
    np.testing.assert_array_equal(a, b)
print(f"backend {backend}: a frozen member keeps its state")
sys.exit(0)
