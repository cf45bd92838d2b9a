"""The compiled training step: one or more Keras models trained on a split that stays on the device.

:class:`Engine` holds a training split as ``uint8`` codes (``A=0 C=1 G=2 T=3 N=4``, one byte per
base) on the backend's device (the GPU when there is one and the split fits, else host memory)
and trains its models with one compiled step per backend. Each step gathers every model's batch
rows from the device copy, one-hot encodes them (N: all zeros), appends their reverse
complements when asked (reversing positions and channels: A<->T, C<->G), gives each example the
weight of its class, and updates every model's weights. One module per backend holds its step,
behind the interface of :class:`Engine`:

TensorFlow (:mod:`sfcrepro.pipeline._engine_tf`)
    a ``tf.function`` over the models' variables (XLA with ``jit_compile``), with
    ``steps_per_execution`` steps in one ``tf.while_loop``;
JAX (:mod:`sfcrepro.pipeline._engine_jax`)
    ``jax.jit`` of the stateless step of one *template* model per architecture, the weights and
    optimizer state passed in: one compiled program serves every seed of a job, whether they
    train one after another or together (then stacked along a leading axis and stepped with
    ``jax.vmap``; the stack stays on the device between calls);
PyTorch (:mod:`sfcrepro.pipeline._engine_torch`)
    the step of a template model as a function of tensors (Keras' ``stateless_call``, the loss in
    torch ops, the gradients and Keras' Adam), updating the models' variables in place: eagerly,
    or with ``jit_compile`` one ``torch.compile`` graph of forward, backward and optimizer,
    compiled once per shape for every seed (a compile failure is an error); the models of a
    group are stepped one after another.

**What the compiled programs are keyed by.** The models that train together form a *group* of
fixed width: a model of the group that stops early is frozen (its update masked out), not
removed, so the programs are keyed by what changes them (architecture, shapes, precision), not by
which seeds are still training. ``steps_per_execution`` steps run in one compiled call (None:
all the steps given, a whole epoch), and the per-step losses stay on the device.

The loss is what ``model.compile(loss="binary_crossentropy")`` minimises: the binary
cross-entropy averaged over tasks, times the example's class weight, averaged over the batch,
plus the model's regularisation losses (tests/test_engine.py checks loss and gradients against
Keras' own ``compute_loss`` on each backend). Predictions for a split are computed in compiled
chunks that stay on the device until the whole split is done: one transfer per split, not one
per batch.

Which models train together is the caller's choice (:mod:`sfcrepro.pipeline.train`).
"""

from __future__ import annotations

import json
import logging

import keras
import numpy as np
from keras import ops

__all__ = [
    "Engine",
    "architecture_key",
    "batch_loss",
    "device_kind",
    "global_rng_state",
    "one_hot",
    "one_hot_batch",
]

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
    x = one_hot(ops.take(tokens, rows, axis=0))
    y = ops.cast(ops.take(labels, rows, axis=0), "float32")
    if reverse_complement:
        x = ops.concatenate([x, ops.flip(x, axis=(1, 2))], axis=0)
        y = ops.concatenate([y, y], axis=0)
    w = None
    if weight_table is not None:
        w = ops.take(weight_table, ops.cast(y[:, 0], "int32"), axis=0)
    return x, y, w


def one_hot(codes):
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


def architecture_key(model) -> str:
    """What makes two models one compiled program: their configuration (layers, shapes, dtype
    policy), not their weights."""
    return json.dumps(model.get_config(), sort_keys=True, default=str)


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
    steps_per_execution : int or None
        Steps per compiled call (TensorFlow, JAX); None: all the steps of a :meth:`train` call
        (a whole epoch) in one.
    jit_compile : bool
        TensorFlow: XLA; PyTorch: ``torch.compile``. JAX is always compiled.
    device_budget : float
        Keep the split on an accelerator when it takes at most this share of its free memory
        (else it stays in host memory and each call's batches are gathered there and sent).
    on_device : bool, optional
        Force the split onto the device (True) or into host memory (False); default: on the
        device when it fits (``device_budget``).
    rng_states : list of (dict or None), optional
        Per model, its own copy of the backend's global random state
        (:func:`global_rng_state`, PyTorch only), updated in
        place as the model trains (``Engine.rng_states``).
    """

    def __init__(
        self,
        models,
        tokens,
        labels,
        class_weights=None,
        reverse_complement: bool = False,
        steps_per_execution: int | None = 1,
        jit_compile: bool = False,
        device_budget: float = 0.5,
        on_device: bool | None = None,
        rng_states=None,
    ):
        self.models = list(models)
        self.rng_states = list(rng_states or [None] * len(self.models))
        self.backend = keras.backend.backend()
        self.reverse_complement = bool(reverse_complement)
        self.steps_per_execution = (
            None if steps_per_execution is None else max(1, int(steps_per_execution))
        )
        self.jit_compile = bool(jit_compile)
        class_weights = class_weights or [None] * len(self.models)
        if len(class_weights) != len(self.models):
            raise ValueError(f"{len(class_weights)} class weights for {len(self.models)} models.")
        if len({w is None for w in class_weights}) > 1:
            raise ValueError("Models of one engine are either all class-weighted or none.")
        self.class_weights = [
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
        # One template (so one compiled program) per architecture: model index -> template index.
        keys = {}
        self.template = [keys.setdefault(architecture_key(m), i) for i, m in enumerate(self.models)]
        self.steps = _backend_steps(self.backend)(self)
        self._predict_tokens = None  # (the array last predicted, its device copy)

    # -- the training step --------------------------------------------------------------------
    def train(self, members, rows, after_call=None, active=None):
        """Run the steps of ``rows`` for the group of models ``members`` (indices), together.

        Parameters
        ----------
        members : sequence of int
            Indices of the models stepped together (one compiled program per group width). A
            group keeps its members while it trains: pass the same ones every call, and freeze
            those that have stopped with ``active``.
        rows : ndarray of int, shape (len(members), S, B)
            Per model, ``S`` batches of ``B`` rows of the split, ``steps_per_execution`` of them
            per compiled call. They go to the device at once (with the split in host memory, the
            batches of each call are gathered there and sent instead). A frozen model's rows are
            computed and thrown away: any valid rows do.
        after_call : callable, optional
            Called with the number of steps done after each compiled call (progress, tests).
        active : sequence of bool, optional
            Per member, whether it trains; a frozen member's weights, optimizer and random
            state stay as they are. Default: all train.

        Returns
        -------
        tensor, shape (len(members), S)
            Per model, each step's batch loss, left on the device (read them with
            ``keras.ops.convert_to_numpy`` when needed: reading waits for the device). A frozen
            member's losses are meaningless.
        """
        members = tuple(int(m) for m in members)
        rows = np.asarray(rows)
        if rows.ndim != 3 or rows.shape[0] != len(members):
            raise ValueError(f"rows must be (models, steps, batch); got {rows.shape}.")
        active = np.ones(len(members), bool) if active is None else np.asarray(active, bool)
        if active.shape != (len(members),) or not active.any():
            raise ValueError(f"active must flag each of the {len(members)} members, one at least.")
        if len(members) > 1 and len({self.template[m] for m in members}) > 1:
            raise ValueError("Models stepped together must share one architecture.")
        steps = rows.shape[1]
        per_call = self.steps_per_execution or steps
        if self.on_device:
            device_rows = ops.convert_to_tensor(rows.astype(np.int32))
        losses = []
        for start in range(0, steps, per_call):
            if self.on_device:
                tokens, labels = self.tokens, self.labels
                chunk = (
                    device_rows if per_call >= steps else device_rows[:, start : start + per_call]
                )
            else:
                tokens, labels, local = self._gathered(rows[:, start : start + per_call])
                chunk = ops.convert_to_tensor(local)
            losses.append(self.steps.train(members, active, tokens, labels, chunk))
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

    def loss_and_gradients(self, member: int, rows):
        """The loss and gradients (numpy) the training step computes for model ``member`` on one
        batch of ``rows``, without updating anything but the model's non-trainable state
        (dropout seeds, batch-norm statistics). For tests against Keras' own step."""
        rows = np.asarray(rows, np.int32)
        if self.on_device:
            tokens, labels = self.tokens, self.labels
        else:
            tokens, labels, rows = self._gathered(rows[None, None])
            rows = rows[0, 0]
        loss, grads = self.steps.loss_and_gradients(
            int(member), tokens, labels, ops.convert_to_tensor(rows)
        )
        return float(ops.convert_to_numpy(loss)), [
            np.asarray(ops.convert_to_numpy(g)) for g in grads
        ]

    def sync(self, members=None) -> None:
        """Write the state the compiled step holds back into the models' variables (JAX;
        PyTorch's step updates them in place): of every model, or of the models ``members``
        (indices).
        Call before reading or saving weights; after changing them by hand, call
        :meth:`reload`."""
        self.steps.sync(None if members is None else {int(m) for m in members})

    def reload(self) -> None:
        """Take the models' variables as the state to train from (after :meth:`sync` and changes
        made to the variables, e.g. restored weights)."""
        self.steps.reload()

    # -- predictions --------------------------------------------------------------------------
    def predict(self, members, tokens, chunk: int) -> list[np.ndarray]:
        """Probabilities of the models ``members`` for uint8 ``tokens`` (N, L).

        The sequences go to the device once; chunks of ``chunk`` sequences are predicted by one
        compiled call each, and the predictions stay on the device until the split is done. A
        backend that compiles per shape (JAX, PyTorch with ``jit_compile``) gets every chunk at
        one size (the last one padded); the others get the last chunk shorter, as
        :func:`sfcrepro.pipeline.evaluate.predict` has it. The same array object predicted again
        (the validation split after every epoch) is not sent again: do not change it in place
        between calls.
        """
        members = tuple(int(m) for m in members)
        n = len(tokens)
        if n == 0:
            return [
                np.zeros((0, m.output.shape[-1]), np.float32)
                for m in (self.models[k] for k in members)
            ]
        chunk = min(max(1, int(chunk)), n)
        cached = self._predict_tokens
        if cached is None or cached[0] is not tokens:
            # the same split again (validation after every epoch) is sent once
            self._predict_tokens = cached = (tokens, _to_device(np.asarray(tokens, np.uint8)))
        device_tokens = cached[1]
        parts = []
        for start in range(0, n, chunk):
            rows = np.arange(start, min(start + chunk, n), dtype=np.int32)
            if self.steps.pad_chunks and len(rows) < chunk:
                rows = np.concatenate([rows, np.zeros(chunk - len(rows), np.int32)])
            # One-hot encoded on the device by its own (uncompiled) ops, then given to the
            # compiled forward pass: TensorFlow computed the forward pass 1 ulp differently when
            # the encoding was part of its graph, and with it apart the predictions equal
            # sfcrepro.pipeline.evaluate.predict's.
            x = one_hot(ops.take(device_tokens, ops.convert_to_tensor(rows), axis=0))
            parts.append(self.steps.predict(members, x))
        joined = ops.convert_to_numpy(ops.concatenate(parts, axis=1))
        return [np.asarray(joined[k, :n], dtype=np.float32) for k in range(len(members))]


def _backend_steps(backend: str):
    """The step class of a Keras backend (its module is imported only when used)."""
    if backend == "tensorflow":
        from sfcrepro.pipeline._engine_tf import TensorFlowSteps

        return TensorFlowSteps
    if backend == "jax":
        from sfcrepro.pipeline._engine_jax import JaxSteps

        return JaxSteps
    if backend == "torch":
        from sfcrepro.pipeline._engine_torch import TorchSteps

        return TorchSteps
    raise ValueError(f"No training step for the Keras backend {backend!r}.")


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
