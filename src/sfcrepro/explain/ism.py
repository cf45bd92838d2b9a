"""In-silico mutagenesis (ISM): the change of a task's logit under every single-base substitution.

For a one-hot sequence ``x`` of length ``L``, ISM scores every position ``i`` and base ``b`` with
``logit(x with position i set to b) - logit(x)`` (0 at the observed base), i.e. ``3 L`` forward
passes per sequence (``4`` at a position with no observed base, an all-zero ``N`` row). Two ways
to compute the same numbers:

``naive``
    Build the mutated sequences and run the whole model on them, ``batch_size`` at a time.
``fast``
    Exploit locality as fastISM does (Nair et al. 2022): a single-base change alters only a
    window of each convolution / pooling output. The unmutated activations of the convolutional
    stack are computed once per sequence; for each mutation only the affected slice of every
    layer is recomputed (from the slice of its input it needs, with the input's reference values
    outside the previous layer's window and the layer's own padding outside the sequence) and
    spliced into the reference activations, which then go through the rest of the model (head and
    dense layers) in full. Supported before the first non-local layer: ``InputLayer``,
    ``Conv1D`` (``valid``, ``same``, ``causal``; strides, dilation, any activation),
    ``BatchNormalization`` (inference), ``Activation``, ``Dropout`` (identity at inference) and
    ``MaxPooling1D`` (``valid`` or ``same``, any pool size and stride), all ``channels_last``.
    ``same`` padding follows TensorFlow's convention, which Keras uses on every backend: total
    ``max((out - 1) * stride + k - L, 0)``, ``total // 2`` before. The local stack ends at the
    first other layer: the head (a Dense layer or the layers of a registered head: Flatten,
    GlobalAveragePooling1D, SeparableFC; :data:`sfcrepro.network.heads.HEADS`) or a
    layer the fast path does not know, which is logged and run in full like the head, so the
    result stays exact. The fast path falls back to ``naive``, with a logged warning, when nothing local precedes that
    layer or when the stack is not a single chain whose last output alone feeds the rest (skip
    connections, several inputs).

Both give the same scores to float32 rounding; ``fast`` is several times quicker on Basset
(``benchmarks/ism_speed.py``). Everything is written with ``keras.ops``, so it runs under the
TensorFlow, torch and JAX backends.

References
----------
Nair, Shrikumar, Schreiber & Kundaje, "fastISM: performant in silico saturation mutagenesis for
convolutional neural networks", Bioinformatics 38 (2022).
Schreiber, tangermeme (``tangermeme.ism.saturation_mutagenesis``) for the attribution convention
of :func:`ism_attributions`.
"""

from __future__ import annotations

import contextlib
import logging
import numbers
import weakref
from dataclasses import dataclass, field

import keras
import numpy as np
from keras import ops

from sfcrepro.network.heads import layer_types as head_layer_types

__all__ = ["METHODS", "ism", "ism_attributions", "mutations"]

log = logging.getLogger("sfcrepro.explain.ism")

METHODS = ("fast", "naive")


# -- inputs and mutations ----------------------------------------------------------------------


# Per model: its logit model and fast plan (or the reason it has none), so that repeated calls
# reuse the compiled predict functions of both.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _entry(model: keras.Model) -> dict:
    """The cache entry of ``model`` (a fresh dict when it cannot be cached)."""
    try:
        return _CACHE.setdefault(model, {})
    except TypeError:  # not weak-referenceable
        return {}


def _logit_model(model: keras.Model) -> keras.Model:
    """``model`` itself when its last layer is ``logits``, else a model with the same input whose
    output is the ``logits`` layer (as ``sfcrepro.explain.importance.logit_model``; cached)."""
    entry = _entry(model)
    if "logits" not in entry:
        try:
            layer = model.get_layer("logits")
        except ValueError:
            raise ValueError(
                f"Model {model.name!r} has no layer named 'logits'; build it with sfcrepro.network.models."
            ) from None
        # None stands for the model itself: a value must not refer to its weak key.
        if model.layers[-1] is layer:
            entry["logits"] = None
        else:
            entry["logits"] = keras.Model(model.inputs, layer.output, name=f"{model.name}_logits")
    return model if entry["logits"] is None else entry["logits"]


def _check_inputs(model, x, task, batch_size, method) -> tuple[keras.Model, np.ndarray]:
    """Validate the arguments of :func:`ism`; return the logit model and ``x`` as float32."""
    if method not in METHODS:
        raise ValueError(f"Unknown ISM method {method!r}; choose one of {', '.join(METHODS)}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
    if len(model.inputs) != 1:
        raise ValueError(
            f"ISM needs a model with one input, {model.name!r} has {len(model.inputs)}."
        )
    logits = _logit_model(model)
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise ValueError(f"x must be one-hot DNA of shape (N, L, 4), got shape {x.shape}.")
    expected = tuple(logits.inputs[0].shape[1:])
    if len(expected) != 2 or expected[1] != 4:
        raise ValueError(f"The model's input shape {expected} is not (L, 4) one-hot DNA.")
    if expected[0] is not None and expected[0] != x.shape[1]:
        raise ValueError(
            f"x has length {x.shape[1]} but the model expects sequences of {expected[0]} bp."
        )
    x = x.astype(np.float32, copy=False)
    if not np.isin(x, (0.0, 1.0)).all() or (x.sum(axis=-1) > 1).any():
        raise ValueError(
            "x must be one-hot: 0/1 values with at most one 1 per position "
            "(a position with no observed base, N, is an all-zero row)."
        )
    tasks = logits.outputs[0].shape[-1]
    if isinstance(task, bool) or not isinstance(task, numbers.Integral):
        raise ValueError(f"task must be an int output column, got {task!r}.")
    if not 0 <= task < tasks:
        raise ValueError(f"Task index {task} is out of range for {tasks} tasks.")
    return logits, x


def mutations(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every single-base substitution of one-hot sequences, sequence by sequence.

    Parameters
    ----------
    x : ndarray, shape (N, L, 4)
        One-hot sequences; an all-zero row (N) can be mutated to any of the four bases.

    Returns
    -------
    seq, pos, base : ndarray of int64, shape (M,)
        Sequence index, position and new base of each mutation, ordered by sequence, then
        position, then base; ``M = 3 N L`` plus one per N position.
    """
    seq, pos, base = np.nonzero(np.asarray(x) == 0)
    return seq.astype(np.int64), pos.astype(np.int64), base.astype(np.int64)


def _work_list(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`mutations` with one reference entry (base -1, position 0) before each sequence's.

    The reference entries go through the same batches as the mutations, so that the reference
    logit of a sequence is computed exactly as its mutants' are.
    """
    seq, pos, base = mutations(x)
    n = len(x)
    seq = np.concatenate([np.arange(n), seq])
    pos = np.concatenate([np.zeros(n, dtype=np.int64), pos])
    base = np.concatenate([np.full(n, -1, dtype=np.int64), base])
    order = np.argsort(seq, kind="stable")
    return seq[order], pos[order], base[order]


def _batches(total: int, batch_size: int):
    """Index arrays of ``batch_size`` entries (fewer only when ``total`` is); the last batch is
    padded by repeating its last entry, so that every forward pass has the same shape (one trace
    of a compiled predict function). Yields ``(indices, n_real)``."""
    size = min(batch_size, total)
    for start in range(0, total, size):
        index = np.arange(start, min(start + size, total))
        yield np.pad(index, (0, size - len(index)), mode="edge"), len(index)


def _scatter(scores, reference, seq, pos, base, logit):
    """Store the logits of one batch: reference entries first, then mutations minus reference."""
    is_reference = base < 0
    reference[seq[is_reference]] = logit[is_reference]
    mutant = ~is_reference
    scores[seq[mutant], pos[mutant], base[mutant]] = logit[mutant] - reference[seq[mutant]]


def _to_numpy(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float32)


# -- naive -------------------------------------------------------------------------------------


def _naive(logits: keras.Model, x: np.ndarray, task: int, batch_size: int) -> np.ndarray:
    scores = np.zeros(x.shape, dtype=np.float32)
    reference = np.zeros(len(x), dtype=np.float32)
    work = _work_list(x)
    for index, n_real in _batches(len(work[0]), batch_size):
        s, p, b = (a[index] for a in work)
        mutated = x[s].copy()
        rows = np.arange(len(s))[b >= 0]
        mutated[rows, p[rows]] = 0.0
        mutated[rows, p[rows], b[rows]] = 1.0
        logit = _to_numpy(logits.predict_on_batch(mutated))[:, task]
        _scatter(scores, reference, *(a[:n_real] for a in (s, p, b)), logit[:n_real])
    return scores


# -- fast: the plan of the local (convolutional) stack -----------------------------------------


@dataclass
class _Step:
    """One layer of the local stack and the windows its output is recomputed in.

    ``kind`` is ``"pointwise"`` (the window of its input), ``"conv"`` or ``"pool"`` (a sliding
    window of ``size`` with ``stride`` and ``dilation``, ``pad`` positions of padding before the
    input). ``start[i]`` is the first recomputed output position for a mutation at input position
    ``i``, ``width`` the number of recomputed positions, ``length`` the output length.
    """

    layer: keras.layers.Layer
    kind: str
    size: int = 1
    stride: int = 1
    dilation: int = 1
    pad: int = 0
    length: int = 0
    width: int = 1
    start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _same_padding(length: int, size: int, stride: int, dilation: int = 1) -> int:
    """Padding before the input for ``same`` (TensorFlow's convention, used by every backend)."""
    effective = (size - 1) * dilation + 1
    out = -(-length // stride)
    return max((out - 1) * stride + effective - length, 0) // 2


def _window_step(layer, kind, size, stride, dilation, padding, length_in) -> _Step:
    effective = (size - 1) * dilation + 1
    if padding == "valid":
        pad, length = 0, (length_in - effective) // stride + 1
    elif padding == "same":
        pad, length = _same_padding(length_in, size, stride, dilation), -(-length_in // stride)
    elif padding == "causal" and kind == "conv":
        pad, length = effective - 1, -(-length_in // stride)
    else:
        raise NotImplementedError(f"padding {padding!r}")
    if length < 1:
        raise NotImplementedError("an empty output")
    return _Step(layer, kind, size, stride, dilation, pad, length)


_POINTWISE = (
    keras.layers.Activation,
    keras.layers.Dropout,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.ELU,
)


def _local_step(layer, length_in: int) -> _Step | None:
    """The :class:`_Step` of a layer the fast path recomputes in windows, or None.

    None marks the first layer that is run in full on the spliced activations: the head
    (Dense or a registered head's layer) or any layer the fast path does not
    know.
    """
    if isinstance(layer, keras.layers.BatchNormalization) and layer.axis in (-1, 2):
        return _Step(layer, "pointwise", length=length_in)
    if isinstance(layer, _POINTWISE):
        return _Step(layer, "pointwise", length=length_in)
    if type(layer) is keras.layers.Conv1D and layer.data_format == "channels_last":
        (size,), (stride,), (dilation,) = layer.kernel_size, layer.strides, layer.dilation_rate
        return _window_step(layer, "conv", size, stride, dilation, layer.padding, length_in)
    if type(layer) is keras.layers.MaxPooling1D and layer.data_format == "channels_last":
        (size,), (stride,) = layer.pool_size, layer.strides
        return _window_step(layer, "pool", size, stride, 1, layer.padding, length_in)
    if not isinstance(layer, (keras.layers.Dense, *head_layer_types())):
        log.info(
            "fast ISM recomputes layer %r (%s) and all after it in full",
            layer.name,
            type(layer).__name__,
        )
    return None


def _affected(step: _Step, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output positions ``[lo', hi']`` a change of input positions ``[lo, hi]`` can reach."""
    if step.kind == "pointwise":
        return lo, hi
    reach = (step.size - 1) * step.dilation
    new_lo = np.maximum(-((reach - lo - step.pad) // step.stride), 0)  # ceil((lo+pad-reach)/s)
    new_hi = np.minimum((hi + step.pad) // step.stride, step.length - 1)
    empty = lo > hi
    new_lo[empty], new_hi[empty] = 1, 0
    return new_lo, new_hi


@dataclass
class _Plan:
    """The local stack of a model, the windows of each of its layers and the rest of the model."""

    steps: list[_Step]
    rest: keras.Model
    length: int


def _fast_plan(logits: keras.Model, length: int) -> _Plan:
    """Analyse the local stack of ``logits``; NotImplementedError when the fast path can't."""
    if length is None:
        raise NotImplementedError("an unknown input length")
    tensor = logits.inputs[0]
    steps: list[_Step] = []
    length_in = length
    for layer in logits.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        step = _local_step(layer, length_in)
        if step is None:
            break
        try:
            consumed = layer.input
        except (AttributeError, ValueError):
            consumed = None
        if consumed is not tensor or len(getattr(layer, "_inbound_nodes", ())) != 1:
            raise NotImplementedError(f"layer {layer.name!r} outside a single chain")
        steps.append(step)
        tensor, length_in = layer.output, step.length
        if tuple(tensor.shape[1:2]) != (step.length,):
            raise NotImplementedError(f"layer {layer.name!r}: unexpected output {tensor.shape}")
    if not steps:
        raise NotImplementedError("no convolutional layer before the head")
    try:
        rest = keras.Model(tensor, logits.outputs[0], name=f"{logits.name}_rest")
    except ValueError as error:  # the head reads more than the stack's output
        raise NotImplementedError(f"a head that is not a chain ({error})") from None
    lo = hi = np.arange(length)
    for step in steps:
        lo, hi = _affected(step, lo, hi)
        step.width = int(max((hi - lo + 1).max(), 1))
        step.start = np.clip(lo, 0, step.length - step.width)
    return _Plan(steps, rest, length)


# -- fast: the computation ---------------------------------------------------------------------


def _gather_input(reference, window, plan_start, plan_width, length, step, seq, pos, pad_value):
    """The input slice each mutation's output window needs, as one gather.

    ``reference`` is ``(G, length, C)``: the group's unmutated input of the layer; ``window``
    ``(B, plan_width, C)`` its recomputed values from ``plan_start[pos]`` on; positions outside
    ``[0, length)`` take ``pad_value``.
    """
    groups, _, channels = reference.shape
    batch = len(seq)
    need = (step.width - 1) * step.stride + (step.size - 1) * step.dilation + 1
    q = (step.start[pos] * step.stride - step.pad)[:, None] + np.arange(need)[None, :]
    prev = plan_start[pos][:, None]
    in_window = (q >= prev) & (q < prev + plan_width)
    index = np.where(
        in_window,
        groups * length + np.arange(batch)[:, None] * plan_width + (q - prev),
        seq[:, None] * length + np.clip(q, 0, length - 1),
    )
    index = np.where((q < 0) | (q >= length), groups * length + batch * plan_width, index)
    table = ops.concatenate(
        [
            ops.reshape(reference, (groups * length, channels)),
            ops.reshape(ops.cast(window, reference.dtype), (batch * plan_width, channels)),
            ops.full((1, channels), pad_value, dtype=reference.dtype),
        ],
        axis=0,
    )
    return ops.take(table, ops.convert_to_tensor(index.astype(np.int32)), axis=0)


def _apply(step: _Step, inputs):
    """The layer of ``step`` on an already padded input slice (``valid`` windows)."""
    layer = step.layer
    if step.kind == "pointwise":
        return layer(inputs, training=False)
    if step.kind == "pool":
        return ops.max_pool(inputs, step.size, step.stride, padding="valid")
    dtype = layer.compute_dtype
    out = ops.conv(
        ops.cast(inputs, dtype),
        ops.cast(layer.kernel, dtype),
        strides=step.stride,
        padding="valid",
        dilation_rate=step.dilation,
    )
    if layer.use_bias:
        out = out + ops.cast(layer.bias, dtype)
    return layer.activation(out) if layer.activation is not None else out


def _splice(reference, window, start, width, seq):
    """Full ``(B, L, C)`` tensors: ``reference`` of each mutation's sequence, window spliced in."""
    groups, length, channels = reference.shape
    batch = len(seq)
    q = np.arange(length)[None, :]
    first = start[:, None]
    index = np.where(
        (q >= first) & (q < first + width),
        groups * length + np.arange(batch)[:, None] * width + (q - first),
        seq[:, None] * length + q,
    )
    table = ops.concatenate(
        [
            ops.reshape(reference, (groups * length, channels)),
            ops.reshape(ops.cast(window, reference.dtype), (batch * width, channels)),
        ],
        axis=0,
    )
    return ops.take(table, ops.convert_to_tensor(index.astype(np.int32)), axis=0)


def _no_grad():
    """Under torch, no autograd graph for the eager layer calls of the fast path."""
    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


def _fast(plan: _Plan, x: np.ndarray, task: int, batch_size: int) -> np.ndarray:
    with _no_grad():
        return _fast_scores(plan, x, task, batch_size)


class _References:
    """Unmutated activations of the local stack, per sequence, computed once and dropped when no
    later batch needs them (batches run through the sequences in order)."""

    def __init__(self, plan: _Plan, x: np.ndarray):
        self.plan, self.x, self.cache = plan, x, {}

    def get(self, first: int, last: int) -> list:
        """Per layer (the input first): ``(last - first + 1, L, C)`` for sequences first..last."""
        for key in [key for key in self.cache if key < first]:
            del self.cache[key]
        missing = [n for n in range(first, last + 1) if n not in self.cache]
        if missing:
            outputs = [ops.convert_to_tensor(self.x[missing])]
            for step in self.plan.steps:
                outputs.append(step.layer(outputs[-1], training=False))
            for i, n in enumerate(missing):
                self.cache[n] = [out[i : i + 1] for out in outputs]
        per_layer = zip(*(self.cache[n] for n in range(first, last + 1)), strict=True)
        return [
            parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=0) for parts in per_layer
        ]


def _fast_scores(plan: _Plan, x: np.ndarray, task: int, batch_size: int) -> np.ndarray:
    scores = np.zeros(x.shape, dtype=np.float32)
    reference_logit = np.zeros(len(x), dtype=np.float32)
    work = _work_list(x)
    references = _References(plan, x)
    input_start = np.arange(plan.length)
    bases = np.eye(4, dtype=np.float32)
    for index, n_real in _batches(len(work[0]), batch_size):
        s, p, b = (a[index] for a in work)
        first = int(s[0])
        reference = references.get(first, int(s[-1]))
        local = s - first
        # The new base at the mutated position; the observed row for a reference entry.
        window = np.where((b >= 0)[:, None], bases[np.maximum(b, 0)], x[s, p])
        window = ops.convert_to_tensor(window[:, None, :])
        window_start, width, length = input_start, 1, plan.length
        for step, inputs in zip(plan.steps, reference[:-1], strict=True):
            if step.kind != "pointwise":
                pad_value = 0.0 if step.kind == "conv" else float("-inf")
                window = _gather_input(
                    inputs, window, window_start, width, length, step, local, p, pad_value
                )
            window = _apply(step, window)
            window_start, width, length = step.start, step.width, step.length
        full = _splice(reference[-1], window, window_start[p], width, local)
        logit = _to_numpy(plan.rest.predict_on_batch(full))[:, task]
        _scatter(scores, reference_logit, *(a[:n_real] for a in (s, p, b)), logit[:n_real])
    return scores


# -- public API --------------------------------------------------------------------------------


def ism(
    model: keras.Model, x, task: int, batch_size: int = 256, method: str = "fast"
) -> np.ndarray:
    """In-silico saturation mutagenesis of one task's logit.

    Parameters
    ----------
    model : keras.Model
        A model from :mod:`sfcrepro.network.models` (its ``logits`` layer, the pre-sigmoid score, is
        used), or any single-input model with a layer named ``logits`` (e.g. one whose last
        layer is ``logits``).
    x : array-like, shape (N, L, 4)
        One-hot sequences (float32 0/1); a position with no observed base (N) is an all-zero
        row and is mutated to each of the four bases.
    task : int
        Output column of ``logits``.
    batch_size : int, default 256
        Mutated sequences (``naive``) or mutations (``fast``) per forward pass; every pass has
        this size (the last is padded), so that the compiled predict function traces once.
    method : {"fast", "naive"}, default "fast"
        ``naive``: the whole model on every mutated sequence. ``fast``: recompute only the
        windows of the convolutional stack a mutation changes (see the module docstring); falls
        back to ``naive``, with a logged warning, for a stack it does not understand.

    Returns
    -------
    ndarray of float32, shape (N, L, 4)
        ``logit_task(x[n] with position i set to base b) - logit_task(x[n])``; 0 at the observed
        base.

    Raises
    ------
    ValueError
        For an unknown method, a non-positive batch size, ``x`` that is not one-hot
        ``(N, L, 4)`` of the model's length, a task out of range or a model without ``logits``.
    """
    logits, x = _check_inputs(model, x, task, batch_size, method)
    if len(x) == 0 or x.shape[1] == 0:
        return np.zeros(x.shape, dtype=np.float32)
    if method == "fast":
        entry = _entry(model)
        key = ("plan", x.shape[1])
        if key not in entry:
            try:
                entry[key] = _fast_plan(logits, x.shape[1])
            except NotImplementedError as reason:
                entry[key] = f"fast ISM does not support {reason}; falling back to naive ISM"
        plan = entry[key]
        if isinstance(plan, str):
            log.warning(plan)
        else:
            return _fast(plan, x, int(task), int(batch_size))
    return _naive(logits, x, int(task), int(batch_size))


def ism_attributions(hypothetical, x) -> tuple[np.ndarray, np.ndarray]:
    """Attributions from ISM scores, in tangermeme's convention.

    The ISM scores of each position are mean-centred over the four bases, ``scores -
    scores.mean(axis=-1, keepdims=True)``, which makes the observed base's score the (negated)
    mean effect of mutating it away, and the hypothetical score of base ``b`` its effect relative
    to the average base; the attribution of a sequence is the centred score of its observed base
    (0 at N positions).

    Parameters
    ----------
    hypothetical : array-like, shape (N, L, 4)
        Scores from :func:`ism`.
    x : array-like, shape (N, L, 4)
        The one-hot sequences they were computed on.

    Returns
    -------
    centred : ndarray of float32, shape (N, L, 4)
        Mean-centred hypothetical scores (each position sums to 0 over the bases).
    attribution : ndarray of float32, shape (N, L, 4)
        ``centred * x``: nonzero only at the observed base.
    """
    hypothetical = np.asarray(hypothetical, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    if hypothetical.shape != x.shape or x.ndim != 3 or x.shape[-1] != 4:
        raise ValueError(
            f"hypothetical scores {hypothetical.shape} and sequences {x.shape} must have the "
            "same shape (N, L, 4)."
        )
    centred = hypothetical - hypothetical.mean(axis=-1, keepdims=True)
    return centred, centred * x
