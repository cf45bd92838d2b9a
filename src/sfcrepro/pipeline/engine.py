"""The compiled training step: one or more Keras models trained on a split that stays on the device.

:class:`Engine` holds a training split as ``uint8`` codes (``A=0 C=1 G=2 T=3 N=4``, one byte per
base) on the backend's device (the GPU when there is one and the split fits, else host memory)
and trains its models with one compiled step per backend. Each step gathers every model's batch
rows from the device copy, one-hot encodes them (N: all zeros), appends their reverse
complements when asked (reversing positions and channels: A<->T, C<->G), gives each example the
weight of its class, and updates every model's weights:

TensorFlow
    a ``tf.function`` over the models' variables (XLA with ``jit_compile``), with
    ``steps_per_execution`` steps in one ``tf.while_loop``;
JAX
    ``jax.jit`` of the stateless step (Keras' ``stateless_call`` and the optimizer's
    ``stateless_apply``, the state donated); models of one architecture that train together are
    stacked along a leading axis and stepped with ``jax.vmap``, so the device sees one batched
    program; ``steps_per_execution`` > 1 runs the steps in one ``lax.fori_loop``;
PyTorch
    the step of Keras' own PyTorch trainer (forward, ``backward``, optimizer), eagerly or under
    ``torch.compile`` (``jit_compile``).

The loss is what ``model.compile(loss="binary_crossentropy")`` minimises: the binary
cross-entropy averaged over tasks, times the example's class weight, averaged over the batch,
plus the model's regularisation losses (tests/test_engine.py checks loss and gradients against
Keras' own ``compute_loss`` on each backend). Predictions for a split are computed in compiled
chunks that stay on the device until the whole split is done: one transfer per split, not one
per batch.

Models that train *together* are stepped in one compiled program; which models do is the caller's
choice (:mod:`sfcrepro.pipeline.train`).
"""

from __future__ import annotations

import logging

import keras
import numpy as np
from keras import ops

__all__ = ["Engine", "batch_loss", "device_kind", "global_rng_state", "one_hot_batch"]

log = logging.getLogger("sfcrepro.pipeline.engine")
# Predictions are computed in chunks of at least this many sequences.
MIN_PREDICT_CHUNK = 500


def device_kind() -> str:
    """``"gpu"`` when the current Keras backend computes on a GPU, else ``"cpu"``."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
    if backend == "jax":
        import jax

        return "gpu" if jax.default_backend() in ("gpu", "cuda", "rocm") else "cpu"
    if backend == "torch":
        from keras.src.backend.torch.core import get_device

        return "gpu" if str(get_device()).startswith("cuda") else "cpu"
    return "cpu"


def global_rng_state() -> dict | None:
    """The backend's global random state that training draws from, as numpy arrays, or None.

    Keras' PyTorch backend draws dropout masks from PyTorch's global generators when a layer has
    no seed of its own (the paper's models), so a run's masks depend on what else drew from them;
    the engine keeps each model's own copy (taken after the model is built, as training alone
    would find it) and swaps it in around the model's steps. TensorFlow and JAX keep the dropout
    state in the layers' seed variables: None.
    """
    if keras.backend.backend() != "torch":
        return None
    import torch

    state = {"rng_cpu": torch.get_rng_state().numpy().copy()}
    if torch.cuda.is_available():
        state["rng_cuda"] = torch.cuda.get_rng_state().numpy().copy()
    return state


def _set_global_rng_state(state: dict) -> None:
    import torch

    torch.set_rng_state(torch.from_numpy(np.asarray(state["rng_cpu"], np.uint8)))
    if "rng_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(torch.from_numpy(np.asarray(state["rng_cuda"], np.uint8)))


def one_hot_batch(tokens, labels, rows, weight_table=None, reverse_complement=False):
    """One batch as the model sees it, from device-resident codes: ``(x, y, w)``.

    Parameters
    ----------
    tokens : tensor, uint8 (N, L)
        The split's codes.
    labels : tensor, uint8 (N, T)
    rows : tensor, int32 (B,)
        The batch's rows.
    weight_table : tensor (2,), optional
        Weight of class 0 and 1 (single task); None: every example weighs 1.
    reverse_complement : bool
        Append the reverse complements (labels and weights repeated): ``2 B`` examples.

    Returns
    -------
    x : float32 (B', L, 4)
    y : float32 (B', T)
    w : float32 (B',) or None
    """
    x = _one_hot(ops.take(tokens, rows, axis=0))
    y = ops.cast(ops.take(labels, rows, axis=0), "float32")
    if reverse_complement:
        x = ops.concatenate([x, ops.flip(x, axis=(1, 2))], axis=0)
        y = ops.concatenate([y, y], axis=0)
    w = None
    if weight_table is not None:
        w = ops.take(weight_table, ops.cast(y[:, 0], "int32"), axis=0)
    return x, y, w


def _one_hot(codes):
    """``(..., L)`` codes to ``(..., L, 4)`` float32, N (code 4) all zeros: one comparison with
    ``0..3``, which gives a contiguous array (PyTorch's convolutions ran slower on the strided
    slice of a 5-class one-hot)."""
    return ops.cast(ops.expand_dims(ops.cast(codes, "int32"), -1) == ops.arange(4), "float32")


def batch_loss(y, predictions, weights, regularization):
    """The training loss of a batch: mean over examples of (weight x mean over tasks of the
    binary cross-entropy), plus the regularisation losses (a list of scalars)."""
    per_example = keras.losses.binary_crossentropy(y, predictions)
    if weights is not None:
        per_example = per_example * ops.cast(weights, per_example.dtype)
    loss = ops.mean(per_example)
    for term in regularization:
        loss = loss + ops.cast(term, loss.dtype)
    return loss


class Engine:
    """Train compiled Keras models (each with its optimizer) on one device-resident split.

    Parameters
    ----------
    models : list of keras.Model
        Compiled with their optimizer (``model.optimizer``); they map ``(batch, L, 4)`` to
        ``(batch, T)`` probabilities.
    tokens, labels : ndarray of uint8, (N, L) and (N, T)
        The training split (every model's rows index into it).
    class_weights : list of (ndarray of 2 or None)
        Per model, the weights of class 0 and 1 (single task), or None.
    reverse_complement : bool
        Train on each batch and its reverse complements.
    steps_per_execution : int
        Steps per compiled call (TensorFlow and JAX).
    jit_compile : bool
        TensorFlow: XLA; PyTorch: ``torch.compile``. JAX is always compiled.
    device_budget : float
        Keep the split on an accelerator when it takes at most this share of its free memory
        (else it stays in host memory and each call's batches are gathered there and sent).
    on_device : bool, optional
        Force the split onto the device (True) or into host memory (False); default: on the
        device when it fits (``device_budget``).
    rng_states : list of (dict or None), optional
        Per model, its own copy of the backend's global random state (:func:`global_rng_state`),
        updated in place as the model trains (``Engine.rng_states``).
    """

    def __init__(
        self,
        models,
        tokens,
        labels,
        class_weights=None,
        reverse_complement: bool = False,
        steps_per_execution: int = 1,
        jit_compile: bool = False,
        device_budget: float = 0.5,
        on_device: bool | None = None,
        rng_states=None,
    ):
        self.models = list(models)
        self.rng_states = list(rng_states or [None] * len(self.models))
        self.backend = keras.backend.backend()
        self.reverse_complement = bool(reverse_complement)
        self.steps_per_execution = max(1, int(steps_per_execution))
        self.jit_compile = bool(jit_compile)
        class_weights = class_weights or [None] * len(self.models)
        if len(class_weights) != len(self.models):
            raise ValueError(f"{len(class_weights)} class weights for {len(self.models)} models.")
        if len({w is None for w in class_weights}) > 1:
            raise ValueError("Models of one engine are either all class-weighted or none.")
        self._weights = [
            None if w is None else ops.convert_to_tensor(np.asarray(w, np.float32))
            for w in class_weights
        ]
        tokens, labels = np.ascontiguousarray(tokens), np.ascontiguousarray(labels)
        if tokens.dtype != np.uint8 or labels.dtype != np.uint8:
            raise ValueError("tokens and labels must be uint8 arrays.")
        self.kind = device_kind()
        if on_device is None:
            on_device = self.kind == "cpu" or _fits(tokens.nbytes + labels.nbytes, device_budget)
        self.on_device = bool(on_device)
        self._host = (tokens, labels)
        self.tokens = self.labels = None
        if self.on_device:
            self.tokens, self.labels = _to_device(tokens), _to_device(labels)
        else:
            log.info(
                "training split (%.2f GB) kept in host memory: each call's batches are gathered "
                "there and sent to the device",
                (tokens.nbytes + labels.nbytes) / 1e9,
            )
        # JAX: each model's state (trainable, non-trainable, optimizer variables) as arrays.
        self._state = [None] * len(self.models)
        self._same_architecture = len({_architecture(m) for m in self.models}) == 1
        self._compiled = {}
        self._predict_tokens = None  # (the array last predicted, its device copy)

    # -- the training step --------------------------------------------------------------------
    def train(self, members, rows, after_call=None):
        """Run the steps of ``rows`` for the models ``members`` (indices), together.

        Parameters
        ----------
        members : sequence of int
            Indices of the models stepped together (one compiled program).
        rows : ndarray of int, shape (len(members), S, B)
            Per model, ``S`` batches of ``B`` rows of the split, ``steps_per_execution`` of them
            per compiled call. They go to the device at once (with the split in host memory, the
            batches of each call are gathered there and sent instead).
        after_call : callable, optional
            Called with the number of steps done after each compiled call (progress, tests).

        Returns
        -------
        tensor, shape (len(members), S)
            Per model, each step's batch loss, left on the device (read them with
            ``keras.ops.convert_to_numpy`` when needed: reading waits for the device).
        """
        members = tuple(int(m) for m in members)
        rows = np.asarray(rows)
        if rows.ndim != 3 or rows.shape[0] != len(members):
            raise ValueError(f"rows must be (models, steps, batch); got {rows.shape}.")
        steps, per_call = rows.shape[1], self.steps_per_execution
        if self.on_device:
            device_rows = ops.convert_to_tensor(rows.astype(np.int32))
        losses = []
        for start in range(0, steps, per_call):
            if self.on_device:
                tokens, labels = self.tokens, self.labels
                chunk = device_rows[:, start : start + per_call]
            else:
                tokens, labels, local = self._gathered(rows[:, start : start + per_call])
                chunk = ops.convert_to_tensor(local)
            losses.append(
                self._step_function(members, tuple(chunk.shape[1:]))(tokens, labels, chunk)
            )
            if after_call is not None:
                after_call(min(start + per_call, steps))
        return losses[0] if len(losses) == 1 else ops.concatenate(losses, axis=1)

    def _gathered(self, rows):
        """The batches of ``rows`` gathered from the split in host memory and sent to the
        device, with their rows into the sent arrays."""
        tokens, labels = self._host
        flat = rows.reshape(-1)
        local = np.arange(flat.size, dtype=np.int32).reshape(rows.shape)
        return _to_device(tokens[flat]), _to_device(labels[flat]), local

    def _step_function(self, members, shape):
        key = ("train", members, tuple(shape))
        if key not in self._compiled:
            build = {
                "tensorflow": self._tensorflow_step,
                "jax": self._jax_step,
                "torch": self._torch_step,
            }[self.backend]
            self._compiled[key] = build(members)
        return self._compiled[key]

    def _loss(self, model, weights, tokens, labels, rows):
        """Forward pass and loss of ``model`` (stateful call) on one batch."""
        x, y, w = one_hot_batch(tokens, labels, rows, weights, self.reverse_complement)
        predictions = model(x, training=True)
        return batch_loss(y, predictions, w, model.losses)

    def _tensorflow_step(self, members):
        import tensorflow as tf

        models = [self.models[m] for m in members]
        weights = [self._weights[m] for m in members]

        def one_step(tokens, labels, rows):
            losses = []
            for k, model in enumerate(models):
                loss, grads = self._tensorflow_gradients(model, weights[k], tokens, labels, rows[k])
                model.optimizer.apply(grads, model.trainable_variables)
                losses.append(loss)
            return tf.stack(losses)

        def run(tokens, labels, rows):
            steps = tf.shape(rows)[1]
            losses = tf.TensorArray(tf.float32, size=steps)
            for s in tf.range(steps):
                losses = losses.write(s, one_step(tokens, labels, rows[:, s]))
            return tf.transpose(losses.stack())

        return tf.function(run, jit_compile=self.jit_compile, reduce_retracing=True)

    def _tensorflow_gradients(self, model, weights, tokens, labels, rows):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = self._loss(model, weights, tokens, labels, rows)
        return loss, tape.gradient(loss, model.trainable_variables)

    def _torch_step(self, members):
        import torch

        models = [self.models[m] for m in members]
        weights = [self._weights[m] for m in members]

        def one_step(model, weight, tokens, labels, rows):
            loss, grads = self._torch_gradients(model, weight, tokens, labels, rows)
            variables = model.trainable_variables
            with torch.no_grad():
                model.optimizer.apply(grads, variables)
            return loss.detach()

        compiled = torch.compile(one_step) if self.jit_compile else None

        def step(*args):
            nonlocal compiled
            if compiled is not None:
                try:
                    return compiled(*args)
                except Exception as error:  # noqa: BLE001 (a graph torch.compile cannot take)
                    log.warning("torch.compile failed (%s); this job trains eagerly.", error)
                    compiled = None
            return one_step(*args)

        def run(tokens, labels, rows):
            losses = torch.zeros(rows.shape[:2], device=rows.device)
            for s in range(rows.shape[1]):
                for k, model in enumerate(models):
                    own = self.rng_states[members[k]]
                    if own is not None:  # this model's dropout draws, as if trained alone
                        _set_global_rng_state(own)
                    losses[k, s] = step(model, weights[k], tokens, labels, rows[k, s])
                    if own is not None:
                        self.rng_states[members[k]] = global_rng_state()
            return losses

        return run

    def _torch_gradients(self, model, weights, tokens, labels, rows):
        loss = self._loss(model, weights, tokens, labels, rows)
        model.zero_grad()
        loss.backward()
        return loss, [v.value.grad for v in model.trainable_variables]

    # -- JAX: stateless, state held here between calls ----------------------------------------
    def _jax_step(self, members):
        import jax

        templates = [self.models[m] for m in members]
        stacked = len(members) > 1 and self._same_architecture
        if stacked:
            templates = templates[:1]
        reverse = self.reverse_complement

        def one_model(model, state, weights, tokens, labels, rows):
            trainable, non_trainable, optimizer = state
            loss, grads, non_trainable = _jax_gradients(
                model, trainable, non_trainable, weights, tokens, labels, rows, reverse
            )
            trainable, optimizer = model.optimizer.stateless_apply(optimizer, grads, trainable)
            return (trainable, non_trainable, optimizer), loss

        def one_step(states, weights, tokens, labels, rows):
            if stacked:
                return jax.vmap(
                    lambda s, w, r: one_model(templates[0], s, w, tokens, labels, r),
                )(states, weights, rows)
            out = [
                one_model(model, states[k], weights[k], tokens, labels, rows[k])
                for k, model in enumerate(templates)
            ]
            return [s for s, _ in out], ops.stack([loss for _, loss in out])

        def run(states, weights, tokens, labels, rows):
            steps = rows.shape[1]
            if steps == 1:
                states, losses = one_step(states, weights, tokens, labels, rows[:, 0])
                return states, losses[:, None]

            def body(s, carry):
                states, losses = carry
                step_rows = jax.lax.dynamic_index_in_dim(rows, s, axis=1, keepdims=False)
                states, step_losses = one_step(states, weights, tokens, labels, step_rows)
                return states, losses.at[:, s].set(step_losses)

            losses = ops.zeros(rows.shape[:2], "float32")
            return jax.lax.fori_loop(0, steps, body, (states, losses))

        # the state is donated on a GPU (updated in place); CPUs cannot take donations
        compiled = jax.jit(run, donate_argnums=(0,) if self.kind == "gpu" else ())

        def call(tokens, labels, rows):
            states = [self._jax_state(m) for m in members]
            weights = [self._weights[m] for m in members]
            if stacked:
                states = jax.tree_util.tree_map(lambda *xs: ops.stack(xs), *states)
                weights = None if weights[0] is None else ops.stack(weights)
            states, losses = compiled(states, weights, tokens, labels, rows)
            if stacked:
                states = [
                    jax.tree_util.tree_map(lambda x, k=k: x[k], states) for k in range(len(members))
                ]
            for m, state in zip(members, states, strict=True):
                self._state[m] = state
            return losses

        return call

    def _jax_state(self, index):
        """Model ``index``'s state as arrays (copies: the compiled step donates its input)."""
        if self._state[index] is None:
            import jax.numpy as jnp

            model = self.models[index]
            self._state[index] = tuple(
                [jnp.array(v.value, copy=True) for v in variables]
                for variables in (
                    model.trainable_variables,
                    model.non_trainable_variables,
                    model.optimizer.variables,
                )
            )
        return self._state[index]

    def loss_and_gradients(self, member: int, rows):
        """The loss and gradients (numpy) the training step computes for model ``member`` on one
        batch of ``rows``, without updating anything but the model's non-trainable state
        (dropout seeds, batch-norm statistics). For tests against Keras' own step."""
        model, weights = self.models[member], self._weights[member]
        rows = np.asarray(rows, np.int32)
        if self.on_device:
            tokens, labels = self.tokens, self.labels
        else:
            tokens, labels, rows = self._gathered(rows[None, None])
            rows = rows[0, 0]
        rows = ops.convert_to_tensor(rows)
        if self.backend == "jax":
            trainable, non_trainable, _ = self._jax_state(member)
            loss, grads, _ = _jax_gradients(
                model,
                trainable,
                non_trainable,
                weights,
                tokens,
                labels,
                rows,
                self.reverse_complement,
            )
        else:
            gradients = {"tensorflow": self._tensorflow_gradients, "torch": self._torch_gradients}
            loss, grads = gradients[self.backend](model, weights, tokens, labels, rows)
        return float(ops.convert_to_numpy(loss)), [
            np.asarray(ops.convert_to_numpy(g)) for g in grads
        ]

    def sync(self) -> None:
        """Write the state the compiled step holds back into the models' variables (JAX; other
        backends update the variables in place). Call before reading or saving weights; after
        changing them by hand, call :meth:`reload`."""
        for index, state in enumerate(self._state):
            if state is None:
                continue
            model = self.models[index]
            for variables, values in zip(
                (
                    model.trainable_variables,
                    model.non_trainable_variables,
                    model.optimizer.variables,
                ),
                state,
                strict=True,
            ):
                for variable, value in zip(variables, values, strict=True):
                    variable.assign(value)

    def reload(self) -> None:
        """Take the models' variables as the state to train from (after :meth:`sync` and changes
        made to the variables, e.g. restored weights)."""
        self._state = [None] * len(self.models)

    # -- predictions --------------------------------------------------------------------------
    def predict(self, members, tokens, chunk: int) -> list[np.ndarray]:
        """Probabilities of the models ``members`` for uint8 ``tokens`` (N, L).

        The sequences go to the device once; chunks of ``chunk`` sequences (the last one shorter:
        a second shape to compile, and the chunks of :func:`sfcrepro.pipeline.evaluate.predict`, whose
        predictions these equal) are predicted by one compiled call each, and the predictions
        stay on the device until the split is done. The same array object predicted again (the
        validation split after every epoch) is not sent again: do not change it in place between
        calls.
        """
        members = tuple(int(m) for m in members)
        n = len(tokens)
        if n == 0:
            return [
                np.zeros((0, m.output.shape[-1]), np.float32)
                for m in (self.models[k] for k in members)
            ]
        chunk = max(1, int(chunk))
        cached = self._predict_tokens
        if cached is None or cached[0] is not tokens:
            # the same split again (validation after every epoch) is sent once
            self._predict_tokens = cached = (tokens, _to_device(np.asarray(tokens, np.uint8)))
        device_tokens = cached[1]
        function = self._predict_function(members)
        parts = [
            function(
                device_tokens,
                ops.convert_to_tensor(np.arange(s, min(s + chunk, n), dtype=np.int32)),
            )
            for s in range(0, n, chunk)
        ]
        joined = ops.convert_to_numpy(ops.concatenate(parts, axis=1))
        return [np.asarray(joined[k, :n], dtype=np.float32) for k in range(len(members))]

    def _predict_function(self, members):
        key = ("predict", members)
        if key in self._compiled:
            return self._compiled[key]
        models = [self.models[m] for m in members]

        # The chunk is one-hot encoded on the device by its own (uncompiled) ops and then given
        # to the compiled forward pass: TensorFlow computed the forward pass 1 ulp differently
        # when the encoding was part of its graph, and with it apart the predictions equal
        # sfcrepro.pipeline.evaluate.predict's (and so those of the training loop before this engine).
        def one_hot(tokens, rows):
            return _one_hot(ops.take(tokens, rows, axis=0))

        if self.backend == "tensorflow":
            import tensorflow as tf

            # a list out, stacked outside: tf.stack inside the graph changed the forward pass by
            # 1 ulp too
            forward = tf.function(
                lambda x: [ops.cast(m(x, training=False), "float32") for m in models],
                jit_compile=self.jit_compile,
            )

            def function(tokens, rows):
                return ops.stack(forward(one_hot(tokens, rows)))

        elif self.backend == "jax":
            import jax

            def stateless(states, x):
                return ops.stack(
                    [
                        ops.cast(model.stateless_call(s[0], s[1], x, training=False)[0], "float32")
                        for model, s in zip(models, states, strict=True)
                    ]
                )

            compiled = jax.jit(stateless)

            def function(tokens, rows):
                return compiled([self._jax_state(m) for m in members], one_hot(tokens, rows))

        else:
            import torch

            def function(tokens, rows):
                x = one_hot(tokens, rows)
                with torch.no_grad():
                    return torch.stack([ops.cast(m(x, training=False), "float32") for m in models])

        self._compiled[key] = function
        return function


def _jax_gradients(model, trainable, non_trainable, weights, tokens, labels, rows, reverse):
    """JAX: loss, gradients and updated non-trainable state of one batch (stateless)."""
    import jax

    def loss_fn(trainable, non_trainable):
        x, y, w = one_hot_batch(tokens, labels, rows, weights, reverse)
        predictions, non_trainable, losses = model.stateless_call(
            trainable, non_trainable, x, training=True, return_losses=True
        )
        return batch_loss(y, predictions, w, losses), non_trainable

    (loss, non_trainable), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        trainable, non_trainable
    )
    return loss, grads, non_trainable


def _architecture(model) -> str:
    import json

    return json.dumps(model.get_config(), sort_keys=True, default=str)


def _to_device(array: np.ndarray):
    """``array`` as a tensor on the backend's compute device (the GPU when there is one)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.device_put(array)
    if backend == "tensorflow":
        import tensorflow as tf

        device = "/GPU:0" if tf.config.list_logical_devices("GPU") else "/CPU:0"
        with tf.device(device):
            return tf.identity(tf.convert_to_tensor(array))
    return ops.convert_to_tensor(array)


def _fits(nbytes: int, budget: float) -> bool:
    """Whether ``nbytes`` fit within ``budget`` of the accelerator's free memory (True when the
    free memory is not known)."""
    free = None
    backend = keras.backend.backend()
    try:
        if backend == "torch":
            import torch

            free = torch.cuda.mem_get_info()[0]
        elif backend == "jax":
            import jax

            stats = jax.devices()[0].memory_stats() or {}
            if "bytes_limit" in stats:
                free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
    except Exception:  # noqa: BLE001 (no statistics: assume it fits)
        free = None
    return free is None or nbytes <= budget * free
