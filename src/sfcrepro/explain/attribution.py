"""Attribution methods: which bases of a sequence drive one task's logit.

Every method explains the pre-sigmoid output (the ``logits`` layer) of one task of a model from
:mod:`sfcrepro.network.models`, for one-hot sequences ``x`` of shape ``(N, L, 4)``, batch by batch, under
the TensorFlow, torch and JAX backends. Each returns an :class:`Attributions`: per-base
``scores`` (the contribution of the observed base; zero at the other three) and, where the
method defines them, ``hypothetical`` scores (what each of the four bases would contribute at a
position, the input TF-MoDISco needs).

``gradient_x_input``
    Gradient times input (Shrikumar et al. 2017a); hypothetical: the gradient.
``integrated_gradients``
    Integrated gradients (Sundararajan et al. 2017) from dinucleotide-shuffled references,
    midpoint Riemann sum over ``steps`` points of each straight path, averaged over references.
``deeplift_shap``
    DeepLIFT with the rescale rule (Shrikumar et al. 2017a) averaged over dinucleotide-shuffled
    references (DeepSHAP, Lundberg & Lee 2017). Exact: the scores of a sequence sum to its logit
    minus the mean logit of its references (:func:`completeness_gap` checks it).
``in_silico_mutagenesis``
    Every position x base changed, the change of the logit, mean-centred per position as
    tangermeme does (:mod:`sfcrepro.explain.ism` computes it, fast).

DeepLIFT is computed by linearising the network around each (sequence, reference) pair: every
nonlinearity ``y = f(z)`` is replaced by ``f(z_ref) + m * (z - z_ref)`` with the multiplier
``m = (f(z) - f(z_ref)) / (z - z_ref)`` held constant (``stop_gradient``). The linearised network
gives the same value as the model at the sequence and at the reference, and is affine in between,
so its input gradient times ``x - reference`` sums exactly to the difference of the two logits.
Max pooling uses the rule of DeepSHAP's reference implementation (shap's ``maxpool`` handler):
``max(y, y_ref) - y_ref`` is given to the sequence's argmax and ``y - max(y, y_ref)`` to the
reference's. The layers our builders use are covered (Conv1D, Dense and Activation with ReLU or
no activation, BatchNormalization, MaxPooling1D, Dropout, and the layers of every registered head:
Flatten, GlobalAveragePooling1D, SeparableFC; :data:`sfcrepro.network.heads.HEADS`); any other layer
raises an error naming it.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import keras
import numpy as np
from keras import ops

from sfcrepro.data.sequences import dinucleotide_shuffle
from sfcrepro.network.heads import layer_types as head_layer_types

__all__ = [
    "METHODS",
    "Attributions",
    "attribute",
    "completeness_gap",
    "deeplift_shap",
    "gradient_x_input",
    "gradients",
    "integrated_gradients",
    "in_silico_mutagenesis",
    "logit_model",
    "shuffled_references",
]

log = logging.getLogger("sfcrepro.explain.attribution")

METHODS = ("gradient_x_input", "integrated_gradients", "deeplift_shap", "in_silico_mutagenesis")
# Below this |z - z_ref|, a nonlinearity's multiplier is its gradient (the difference it passes
# on is negligible), as in DeepLIFT's implementations.
_EPS = 1e-6


@dataclasses.dataclass
class Attributions:
    """Per-base attributions of ``N`` sequences of length ``L`` for one task.

    Attributes
    ----------
    scores : ndarray of float32, shape (N, L, 4)
        Contribution of the observed base at each position (zero in the other three columns).
    hypothetical : ndarray of float32, shape (N, L, 4), or None
        Contribution each base would make at each position, where the method defines it.
    method : str
        One of :data:`METHODS`.
    """

    scores: np.ndarray
    hypothetical: np.ndarray | None
    method: str

    def per_position(self) -> np.ndarray:
        """``(N, L)``: the scores summed over the four bases."""
        return self.scores.sum(axis=-1)


def logit_model(model: keras.Model) -> keras.Model:
    """A model with the same input whose output is the ``logits`` layer (pre-sigmoid scores)."""
    if model.layers[-1].name == "logits":
        return model
    try:
        logits = model.get_layer("logits").output
    except ValueError:
        raise ValueError(
            f"Model {model.name!r} has no layer named 'logits'; build it with sfcrepro.network.models."
        ) from None
    return keras.Model(model.inputs[0], logits, name=f"{model.name}_logits")


def gradients(fn, x: np.ndarray) -> np.ndarray:
    """Gradient of ``sum(fn(x))`` with respect to ``x``, as numpy float32, on any Keras backend.

    ``fn`` maps a backend tensor of the shape of ``x`` to a tensor (built from Keras layers and
    :mod:`keras.ops`); its sum is differentiated.
    """
    backend = keras.backend.backend()
    x = np.asarray(x, dtype=np.float32)
    if backend == "tensorflow":
        import tensorflow as tf

        t = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            out = tf.reduce_sum(fn(t))
        return tape.gradient(out, t).numpy()
    if backend == "torch":
        import torch
        from keras.src.backend.torch.core import get_device

        t = torch.tensor(x, requires_grad=True, device=get_device())
        fn(t).sum().backward()
        return t.grad.detach().cpu().numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda t: jnp.sum(fn(t)))(jnp.asarray(x)))
    raise NotImplementedError(f"Gradients are not implemented for the {backend!r} backend.")


def _check(model: keras.Model, x: np.ndarray, task: int) -> tuple[keras.Model, np.ndarray]:
    logits = logit_model(model)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise ValueError(f"x must be one-hot sequences of shape (N, L, 4), got {x.shape}.")
    expected = tuple(logits.inputs[0].shape[1:])
    if x.shape[1:] != expected:
        raise ValueError(f"x has shape {x.shape[1:]} per sequence; the model takes {expected}.")
    n_tasks = logits.outputs[0].shape[-1]
    if not 0 <= task < n_tasks:
        raise ValueError(f"Task index {task} is out of range for {n_tasks} tasks.")
    return logits, x


def gradient_x_input(model: keras.Model, x: np.ndarray, task: int, batch_size: int = 500):
    """Gradient x input of one task's logit.

    Parameters
    ----------
    model : keras.Model
        A model from :mod:`sfcrepro.network.models`.
    x : ndarray, shape (N, L, 4)
        One-hot sequences.
    task : int
        Output column.
    batch_size : int
        Sequences per gradient batch.

    Returns
    -------
    Attributions
        ``scores = grad * x``, ``hypothetical = grad``.
    """
    logits, x = _check(model, x, task)
    grad = (
        np.concatenate(
            [
                gradients(lambda t: logits(t, training=False)[:, task], x[i : i + batch_size])
                for i in range(0, len(x), batch_size)
            ]
        )
        if len(x)
        else np.zeros_like(x)
    )
    return Attributions(grad * x, grad, "gradient_x_input")


def shuffled_references(x: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` dinucleotide-shuffled copies of each one-hot sequence: shape ``(N, n, L, 4)``.

    Positions without a base (all-zero rows, N) are shuffled with the rest (the dinucleotide counts
    include N), so each reference has as many N as its sequence. Reference ``j`` of sequence ``i``
    depends only on the sequence, ``seed``, ``i`` and ``j``.
    """
    x = np.asarray(x)
    if n < 1:
        raise ValueError(f"Need at least one reference per sequence, got {n}.")
    codes = np.where(x.sum(-1) > 0, x.argmax(-1), 4).astype(np.uint8)
    seeds = np.random.SeedSequence(seed).generate_state(len(x) * n, dtype=np.uint64)
    shuffled = dinucleotide_shuffle(np.repeat(codes, n, axis=0), seeds=seeds)
    refs = np.eye(5, 4, dtype=np.float32)[shuffled]
    return refs.reshape(len(x), n, *x.shape[1:])


def _references(x, references, n_references, seed):
    if references is None:
        return shuffled_references(x, n_references, seed)
    references = np.asarray(references, dtype=np.float32)
    if references.ndim == 3:
        references = references[:, None]
    if references.shape[0] != len(x) or references.shape[2:] != x.shape[1:]:
        raise ValueError(
            f"references must have shape (N, R, L, 4) with N, L of x {x.shape}, "
            f"got {references.shape}."
        )
    return references


def integrated_gradients(
    model: keras.Model,
    x: np.ndarray,
    task: int,
    references: np.ndarray | None = None,
    n_references: int = 10,
    steps: int = 20,
    seed: int = 0,
    batch_size: int = 500,
):
    """Integrated gradients of one task's logit from shuffled references.

    For each reference ``r``, the gradient is averaged over ``steps`` points
    ``r + (k + 1/2)/steps * (x - r)`` (midpoint rule) and multiplied by ``x - r``; scores are the
    average over references. Exact for a model linear in its input.

    Parameters
    ----------
    references : ndarray, shape (N, R, L, 4), optional
        Reference sequences; by default ``n_references`` dinucleotide shuffles of each sequence
        (:func:`shuffled_references` with ``seed``).
    steps : int
        Points per path.
    batch_size : int
        Path points per gradient batch.

    Returns
    -------
    Attributions
        ``scores`` per observed base (the sum over bases of each position's attribution, placed at
        the observed base) and ``hypothetical``: the path-averaged gradient times ``b - r`` for each
        base ``b``, averaged over references.
    """
    logits, x = _check(model, x, task)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    refs = _references(x, references, n_references, seed)
    n, r = refs.shape[:2]
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    # All (sequence, reference, step) points, in batches.
    diff = x[:, None] - refs  # (N, R, L, 4)
    points = refs[:, :, None] + alphas[None, None, :, None, None] * diff[:, :, None]
    points = points.reshape(-1, *x.shape[1:])
    grad = np.concatenate(
        [
            gradients(lambda t: logits(t, training=False)[:, task], points[i : i + batch_size])
            for i in range(0, len(points), batch_size)
        ]
    ).reshape(n, r, steps, *x.shape[1:])
    mean_grad = grad.mean(axis=2)  # (N, R, L, 4)
    contribution = (mean_grad * diff).sum(-1)  # (N, R, L)
    scores = (contribution.mean(axis=1))[..., None] * x
    hypothetical = _hypothetical(mean_grad, refs)
    return Attributions(scores.astype(np.float32), hypothetical, "integrated_gradients")


def _hypothetical(multipliers: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """``mean_r sum_c m[c] (e_b[c] - r[c])`` for each base ``b``: ``(N, L, 4)``."""
    hyp = multipliers - (multipliers * refs).sum(-1, keepdims=True)
    return hyp.mean(axis=1).astype(np.float32)


def _rescale(z, z_ref, f):
    """The rescale rule on a paired batch: value ``f(z)``, gradient the DeepLIFT multiplier."""
    fz, f_ref = f(z), f(z_ref)
    delta = z - z_ref
    safe = ops.where(ops.abs(delta) > _EPS, delta, ops.ones_like(delta))
    slope = ops.where(
        ops.abs(delta) > _EPS,
        (fz - f_ref) / safe,
        ops.cast(z > 0, keras.backend.standardize_dtype(z.dtype)),
    )  # ReLU's gradient where the pair barely differs
    return f_ref + ops.stop_gradient(slope) * delta


def _pool_windows(layer, length: int) -> np.ndarray:
    """Input positions of each MaxPooling1D window, ``(outputs, pool)``, as Keras pads them.

    ``same`` padding follows TensorFlow: total padding ``max((out - 1) * stride + pool - L, 0)``,
    the smaller half first. Padded positions repeat the nearest edge position, which leaves
    every window's maximum unchanged.
    """
    (pool,), (stride,) = layer.pool_size, layer.strides
    if layer.padding == "valid":
        out, before = (length - pool) // stride + 1, 0
    else:
        out = math.ceil(length / stride)
        before = max((out - 1) * stride + pool - length, 0) // 2
    starts = np.arange(out) * stride - before
    return np.clip(starts[:, None] + np.arange(pool)[None, :], 0, length - 1)


def _maxpool(layer, h, h_ref):
    """DeepSHAP's max-pooling rule on a paired batch (value: the max of each window).

    Only the argmax positions of each window carry a difference: ``max(y, y_ref) - y_ref`` through
    the sequence's argmax, ``y - max(y, y_ref)`` through the reference's (where both are the same
    position, it carries their sum, ``y - y_ref``).
    """
    windows = _pool_windows(layer, h.shape[1])
    shape = (-1, *windows.shape, h.shape[-1])  # (B, J, k, C)
    hw = ops.reshape(ops.take(h, windows.reshape(-1), axis=1), shape)
    rw = ops.reshape(ops.take(h_ref, windows.reshape(-1), axis=1), shape)
    at_x = ops.expand_dims(ops.argmax(hw, axis=2), 2)
    at_r = ops.expand_dims(ops.argmax(rw, axis=2), 2)
    y = ops.take_along_axis(hw, at_x, axis=2)[:, :, 0]
    y_ref = ops.take_along_axis(rw, at_r, axis=2)[:, :, 0]
    delta_x = y - ops.take_along_axis(rw, at_x, axis=2)[:, :, 0]
    delta_r = ops.take_along_axis(hw, at_r, axis=2)[:, :, 0] - y_ref
    cross = ops.maximum(y, y_ref)
    total = y_ref
    for delta, share in ((delta_x, cross - y_ref), (delta_r, y - cross)):
        big = ops.abs(delta) > _EPS
        slope = ops.where(big, share / ops.where(big, delta, ops.ones_like(delta)), 0.0)
        total = total + ops.stop_gradient(slope) * delta
    return total


def _activation(fn, layer):
    if fn is keras.activations.linear:
        return None
    if fn is keras.activations.relu:
        return keras.activations.relu
    raise ValueError(
        f"deeplift_shap has no rule for activation {getattr(fn, '__name__', fn)!r} of layer "
        f"{layer.name!r}; supported: ReLU and linear."
    )


def _affine(layer, t):
    """The pre-activation output of a Conv1D or Dense layer."""
    if isinstance(layer, keras.layers.Conv1D):
        z = layer.convolution_op(t, layer.kernel)
    else:
        z = ops.matmul(t, layer.kernel)
    return z + layer.bias if layer.use_bias else z


# Layers that are affine at inference: applied as they are to the sequence and the reference
# (with every layer a registered head inserts: Flatten, GlobalAveragePooling1D, SeparableFC).
_AFFINE_LAYERS = (
    keras.layers.BatchNormalization,
    keras.layers.Dropout,
    keras.layers.Reshape,
)


def _linearised(logits: keras.Model, x, x_ref):
    """Linearised logits on ``x`` (input gradient: DeepLIFT multipliers) and logits on ``x_ref``."""
    affine = (*_AFFINE_LAYERS, *head_layer_types())
    h, h_ref = x, x_ref
    previous = logits.inputs[0]
    for layer in logits.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if layer.input is not previous:
            raise ValueError(
                f"deeplift_shap needs a chain of layers; layer {layer.name!r} does not take the "
                "output of the layer before it."
            )
        previous = layer.output
        if isinstance(layer, keras.layers.MaxPooling1D):
            h, h_ref = _maxpool(layer, h, h_ref), layer(h_ref)
        elif isinstance(layer, keras.layers.Conv1D | keras.layers.Dense):
            h, h_ref = _affine(layer, h), _affine(layer, h_ref)
            f = _activation(layer.activation, layer)
            if f is not None:
                h, h_ref = _rescale(h, h_ref, f), f(h_ref)
        elif isinstance(layer, keras.layers.Activation):
            f = _activation(layer.activation, layer)
            if f is not None:
                h, h_ref = _rescale(h, h_ref, f), f(h_ref)
        elif isinstance(layer, affine):
            h, h_ref = layer(h, training=False), layer(h_ref, training=False)
        else:
            raise ValueError(
                f"deeplift_shap has no rule for layer {layer.name!r} ({type(layer).__name__}); "
                "it covers Conv1D, Dense, Activation (ReLU or linear), MaxPooling1D, "
                f"{', '.join(cls.__name__ for cls in affine)}."
            )
    return h, h_ref


def deeplift_shap(
    model: keras.Model,
    x: np.ndarray,
    task: int,
    references: np.ndarray | None = None,
    n_references: int = 10,
    seed: int = 0,
    batch_size: int = 500,
):
    """DeepLIFT (rescale rule) of one task's logit, averaged over shuffled references.

    Parameters
    ----------
    references : ndarray, shape (N, R, L, 4), optional
        Reference sequences; by default ``n_references`` dinucleotide shuffles of each sequence
        (:func:`shuffled_references` with ``seed``).
    batch_size : int
        (sequence, reference) pairs per batch.

    Returns
    -------
    Attributions
        ``scores``: per position, the mean over references of ``sum_c m[c] (x[c] - r[c])``, at the
        observed base; they sum to ``logit(x) - mean logit(references)`` (see
        :func:`completeness_gap`). ``hypothetical``: ``mean_r sum_c m[c] (e_b[c] - r[c])`` for
        each base ``b``, as DeepSHAP computes them for TF-MoDISco.
    """
    logits, x = _check(model, x, task)
    refs = _references(x, references, n_references, seed)
    n, r = refs.shape[:2]
    pairs_x = np.repeat(x, r, axis=0)
    pairs_r = refs.reshape(-1, *x.shape[1:])
    multipliers = np.concatenate(
        [
            gradients(
                lambda t, ref=pairs_r[i : i + batch_size]: _linearised(
                    logits, t, ops.convert_to_tensor(ref)
                )[0][:, task],
                pairs_x[i : i + batch_size],
            )
            for i in range(0, len(pairs_x), batch_size)
        ]
    ).reshape(n, r, *x.shape[1:])
    contribution = (multipliers * (x[:, None] - refs)).sum(-1).mean(axis=1)  # (N, L)
    scores = (contribution[..., None] * x).astype(np.float32)
    return Attributions(scores, _hypothetical(multipliers, refs), "deeplift_shap")


def completeness_gap(
    model: keras.Model, x: np.ndarray, task: int, scores: np.ndarray, references: np.ndarray
) -> np.ndarray:
    """Per sequence: ``sum(scores) - (logit(x) - mean logit(references))``; zero for an exact method.

    ``references`` ``(N, R, L, 4)`` are those the scores were computed from.
    """
    logits, x = _check(model, x, task)
    refs = _references(x, references, 1, 0)
    n, r = refs.shape[:2]
    out_x = ops.convert_to_numpy(logits(x, training=False))[:, task]
    out_r = ops.convert_to_numpy(logits(refs.reshape(-1, *x.shape[1:]), training=False))[:, task]
    expected = out_x - out_r.reshape(n, r).mean(axis=1)
    return np.asarray(scores, dtype=np.float64).sum(axis=(1, 2)) - expected


def in_silico_mutagenesis(model: keras.Model, x: np.ndarray, task: int, batch_size: int = 256):
    """In silico mutagenesis of one task's logit (:func:`sfcrepro.explain.ism.ism`, the fast path).

    Returns
    -------
    Attributions
        ``hypothetical``: the change of the logit for each base at each position, mean-centred per
        position over the four bases (as tangermeme does); ``scores``: those at the observed base.
    """
    from sfcrepro.explain.ism import ism, ism_attributions

    _, x = _check(model, x, task)
    centred, scores = ism_attributions(ism(model, x, task, batch_size=batch_size), x)
    return Attributions(
        np.asarray(scores, np.float32), np.asarray(centred, np.float32), "in_silico_mutagenesis"
    )


def attribute(method: str, model: keras.Model, x: np.ndarray, task: int, **options):
    """Run one of :data:`METHODS` by name; ``options`` go to its function."""
    functions = {
        "gradient_x_input": gradient_x_input,
        "integrated_gradients": integrated_gradients,
        "deeplift_shap": deeplift_shap,
        "in_silico_mutagenesis": in_silico_mutagenesis,
    }
    try:
        function = functions[method]
    except KeyError:
        raise ValueError(
            f"Unknown attribution method {method!r}; choose one of {', '.join(METHODS)}."
        ) from None
    return function(model, x, task, **options)
