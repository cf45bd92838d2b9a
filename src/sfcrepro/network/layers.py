"""The separable fully connected (SFC) layer and its curvature regulariser.

Both are written with ``keras.ops`` only, so they run under the TensorFlow (default),
PyTorch and JAX backends of Keras 3, and both are registered as Keras serializables:
a model that contains them saves to ``.keras`` and loads back without ``custom_objects``.

References
----------
Alexandari, Shrikumar & Kundaje, "Separable Fully Connected Layers Improve Deep Learning
Models for Genomics" (2017), sections 2.1 and 2.2.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from sfcrepro.network._sfc_math import INITIALIZERS, init_bound, learned_length

__all__ = [
    "CurvatureRegularizer",
    "SeparableFC",
    "init_bound",
    "learned_length",
    "mirror_positions",
]

_PACKAGE = "sfcrepro"


def mirror_positions(half, length: int):
    """Expand learned positional weights ``(units, ceil(L/2))`` to the full ``(units, L)``.

    The full vector is the learned half followed by its mirror image; for odd ``L`` the middle
    weight appears once: ``L=5 -> [w0 w1 w2 w1 w0]``, ``L=4 -> [w0 w1 w1 w0]``.
    """
    return ops.concatenate([half, ops.flip(half[:, : length // 2], axis=1)], axis=1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CurvatureRegularizer(keras.regularizers.Regularizer):
    """Penalty on the curvature (second differences along axis 1) of a positional kernel.

    ``penalty = strength * mean(|w[:, 2:] - 2 w[:, 1:-1] + w[:, :-2]|)`` for ``norm="l1"``
    (the paper's choice), or the mean of the squared second differences for ``norm="l2"``
    (the default of the authors' code). The mean runs over all ``units * (L' - 2)`` entries.
    A kernel with fewer than three positions has no curvature and costs 0.

    Parameters
    ----------
    strength : float
        Multiplier ``lambda``; the paper used 1.0 (``low_reg``) and 10.0 (``high_reg``).
    norm : {"l1", "l2"}
        Absolute or squared second differences.

    Examples
    --------
    >>> from sfcrepro.network.layers import CurvatureRegularizer, SeparableFC
    >>> sfc = SeparableFC(64, symmetric=True,
    ...                   positional_regularizer=CurvatureRegularizer(1.0))
    """

    def __init__(self, strength: float = 1.0, norm: str = "l1"):
        if norm not in ("l1", "l2"):
            raise ValueError(f"CurvatureRegularizer norm must be 'l1' or 'l2', got {norm!r}.")
        strength = float(strength)
        if not math.isfinite(strength) or strength < 0:
            raise ValueError(f"CurvatureRegularizer strength must be >= 0, got {strength!r}.")
        self.strength = strength
        self.norm = norm

    def __call__(self, x):
        if x.shape[1] is not None and x.shape[1] < 3:
            return ops.zeros((), dtype=x.dtype)
        d2 = x[:, 2:] - 2.0 * x[:, 1:-1] + x[:, :-2]
        d2 = ops.abs(d2) if self.norm == "l1" else ops.square(d2)
        return self.strength * ops.mean(d2)

    def get_config(self):
        return {"strength": self.strength, "norm": self.norm}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class SeparableFC(keras.layers.Layer):
    """Separable fully connected layer: positional weights times channel weights.

    Maps ``(batch, L, C)`` (the output of a convolutional stack) to ``(batch, units)`` with
    ``out[n, o] = sum_l sum_c x[n, l, c] * W_pos[o, l] * W_chan[o, c]``; no bias, no
    activation (it feeds straight into the next dense layer).

    The forward pass builds the rank-``units`` product matrix ``W_out`` of shape
    ``(L * C, units)`` once per call and does one matmul with the flattened input, at about the
    cost of the dense layer it replaces (see docs/benchmarks.md).

    Parameters
    ----------
    units : int
        Number of output units ``O``.
    symmetric : bool, default False
        Learn ``ceil(L / 2)`` positional weights per unit and mirror them around the centre.
    positional_regularizer : keras.regularizers.Regularizer, optional
        Applied to ``positional_kernel`` (the learned half when symmetric), e.g.
        :class:`CurvatureRegularizer`.
    initializer : {"paper", "variance_matched"}, default "paper"
        Uniform bound of both kernels, see :func:`init_bound`.
    **kwargs
        Passed to :class:`keras.layers.Layer` (``name``, ``dtype``, ...).

    Attributes
    ----------
    positional_kernel : keras.Variable
        Shape ``(units, L')`` with ``L' = L`` or ``ceil(L / 2)`` when symmetric.
    channel_kernel : keras.Variable
        Shape ``(units, C)``.

    Examples
    --------
    >>> import keras
    >>> from sfcrepro.network.layers import SeparableFC
    >>> inputs = keras.Input((200, 4))
    >>> x = keras.layers.Conv1D(50, 11, activation="relu")(inputs)
    >>> x = SeparableFC(64, symmetric=True)(x)
    >>> outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    >>> model = keras.Model(inputs, outputs)
    """

    def __init__(
        self,
        units: int,
        symmetric: bool = False,
        positional_regularizer=None,
        initializer: str = "paper",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) != units or units < 1:
            raise ValueError(f"SeparableFC units must be a positive integer, got {units!r}.")
        if initializer not in INITIALIZERS:
            raise ValueError(
                f"Unknown SFC initializer {initializer!r}; choose one of {', '.join(INITIALIZERS)}."
            )
        self.units = int(units)
        self.symmetric = bool(symmetric)
        self.positional_regularizer = keras.regularizers.get(positional_regularizer)
        self.initializer = initializer
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        _, length, channels = input_shape
        if length is None or channels is None:
            raise ValueError(
                "SeparableFC needs a known length and channel count; got input shape "
                f"{tuple(input_shape)}. Give the model a fixed input length."
            )
        self.length, self.channels = int(length), int(channels)
        bound = init_bound(self.initializer, self.length, self.channels, self.units, self.symmetric)
        self.positional_kernel = self.add_weight(
            name="positional_kernel",
            shape=(self.units, learned_length(self.length, self.symmetric)),
            initializer=keras.initializers.RandomUniform(-bound, bound),
            regularizer=self.positional_regularizer,
        )
        self.channel_kernel = self.add_weight(
            name="channel_kernel",
            shape=(self.units, self.channels),
            initializer=keras.initializers.RandomUniform(-bound, bound),
        )
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={1: self.length, 2: self.channels})

    def full_positional_kernel(self):
        """The ``(units, L)`` positional weights, with the mirror applied when symmetric."""
        if self.symmetric:
            return mirror_positions(self.positional_kernel, self.length)
        return ops.convert_to_tensor(self.positional_kernel)

    def weight_matrix(self):
        """The product matrix ``W_out`` as ``(L * C, units)``, position-major, channel-minor."""
        pos = ops.transpose(self.full_positional_kernel())  # (L, O)
        chan = ops.transpose(self.channel_kernel)  # (C, O)
        return ops.reshape(
            pos[:, None, :] * chan[None, :, :], (self.length * self.channels, self.units)
        )

    def call(self, inputs):
        flat = ops.reshape(inputs, (-1, self.length * self.channels))
        return ops.matmul(flat, self.weight_matrix())

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "symmetric": self.symmetric,
                "positional_regularizer": keras.regularizers.serialize(self.positional_regularizer),
                "initializer": self.initializer,
            }
        )
        return config
