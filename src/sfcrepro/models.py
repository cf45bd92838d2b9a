"""Builders for the paper's three architectures with a std, sep or symm head.

Every builder returns an uncompiled :class:`keras.Model` that maps one-hot DNA
``(batch, length, 4)`` to per-task probabilities ``(batch, tasks)``; the last dense layer is
named ``logits`` (its output is the pre-sigmoid score) and the sigmoid ``output``. The head decides what sits
between the convolutional stack (output ``(batch, L, C)``) and the first dense layer:

``std``
    Flatten, as in the original architecture.
``sep``
    A :class:`~sfcrepro.layers.SeparableFC` layer.
``symm``
    A :class:`~sfcrepro.layers.SeparableFC` layer with mirrored positional weights.

A curvature strength above zero adds a :class:`~sfcrepro.layers.CurvatureRegularizer` (L1) to
the SFC positional weights; it needs a ``sep`` or ``symm`` head.
"""

from __future__ import annotations

import keras
from keras import layers

from sfcrepro.layers import CurvatureRegularizer, SeparableFC, learned_length

__all__ = [
    "ARCHITECTURES", "HEADS", "basset", "build_model", "load_model", "sfc_units", "simulated_tf", "tf_binding",
]

HEADS = ("std", "sep", "symm")


def sfc_units(length: int, channels: int, outputs: int, symmetric: bool = False) -> int:
    """Largest SFC unit count whose parameters do not exceed the dense layer's.

    A dense layer on the flattened ``(L, C)`` input with ``O`` outputs has ``O * L * C``
    weights; an SFC layer of ``n`` units followed by that dense layer has
    ``n * (L' + C + O)``, with ``L'`` the learned length (``ceil(L / 2)`` when symmetric).

    Parameters
    ----------
    length, channels : int
        Shape ``(L, C)`` of the convolutional stack's output.
    outputs : int
        Width ``O`` of the dense layer that follows.
    symmetric : bool, default False
        Whether the SFC layer is symmetric.

    Returns
    -------
    int
        ``floor(O * L * C / (L' + C + O))``: 648 for the simulated TF model
        (``L=35, C=50, O=50``) and 18 for the symmetric in vivo TF model (``L=47, C=16, O=1``).
    """
    if min(length, channels, outputs) < 1:
        raise ValueError(f"sfc_units needs positive sizes, got L={length}, C={channels}, O={outputs}.")
    return (outputs * length * channels) // (learned_length(length, symmetric) + channels + outputs)


def _check_head(head: str, curvature: float) -> None:
    if head not in HEADS:
        raise ValueError(f"Unknown head {head!r}; choose one of {', '.join(HEADS)}.")
    if curvature < 0:
        raise ValueError(f"Curvature strength must be >= 0, got {curvature}.")
    if curvature and head == "std":
        raise ValueError("Curvature regularisation acts on SFC positional weights: use head 'sep' or 'symm'.")


def _head(x, head: str, next_width: int, curvature: float, units: int | None, initializer: str):
    """Insert the head between the convolutional output ``x`` and a dense layer of ``next_width``."""
    if head == "std":
        return layers.Flatten(name="flatten")(x)
    symmetric = head == "symm"
    _, length, channels = x.shape
    if units is None:
        units = sfc_units(length, channels, next_width, symmetric)
    regularizer = CurvatureRegularizer(curvature) if curvature else None
    return SeparableFC(
        units,
        symmetric=symmetric,
        positional_regularizer=regularizer,
        initializer=initializer,
        name="sfc",
    )(x)


def _output(x, tasks: int):
    # Named logits (pre-sigmoid) for gradient x input; float32 keeps the loss stable under a
    # mixed-precision policy.
    logits = layers.Dense(tasks, dtype="float32", name="logits")(x)
    return layers.Activation("sigmoid", dtype="float32", name="output")(logits)


def simulated_tf(
    head: str = "std",
    length: int = 200,
    tasks: int = 3,
    curvature: float = 0.0,
    units: int | None = None,
    initializer: str = "paper",
) -> keras.Model:
    """The simulated TF-binding model of the paper (section 2.4).

    Conv1D(50, 11, relu) -> Conv1D(50, 11, relu) -> MaxPool(10, stride 5) -> [head] ->
    Dense(50, relu) -> Dropout(0.5) -> Dense(tasks, sigmoid). At 200 bp the convolutional
    output is ``(35, 50)``, so the SFC heads get 648 units (sep) or 741 (symm) by default.

    Parameters
    ----------
    head : {"std", "sep", "symm"}
    length : int, default 200
        Input length in bp.
    tasks : int, default 3
    curvature : float, default 0
        L1 curvature strength on the SFC positional weights.
    units : int, optional
        SFC unit count; by default the parameter-matched :func:`sfc_units`.
    initializer : {"paper", "variance_matched"}
        SFC initialisation, see :func:`sfcrepro.layers.init_bound`.
    """
    _check_head(head, curvature)
    inputs = keras.Input((length, 4), name="sequence")
    x = layers.Conv1D(50, 11, activation="relu", name="conv1")(inputs)
    x = layers.Conv1D(50, 11, activation="relu", name="conv2")(x)
    x = layers.MaxPooling1D(10, strides=5, name="pool")(x)
    x = _head(x, head, 50, curvature, units, initializer)
    x = layers.Dense(50, activation="relu", name="fc")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    return keras.Model(inputs, _output(x, tasks), name=f"simulated_tf_{head}")


def tf_binding(
    head: str = "std",
    length: int = 1000,
    tasks: int = 1,
    curvature: float = 0.0,
    units: int | None = None,
    initializer: str = "paper",
) -> keras.Model:
    """The in vivo TF-binding model (Shrikumar et al. 2017b, section 3.4.2).

    Three blocks of Conv1D(16 filters; widths 15, 14, 14; valid) -> BatchNorm -> ReLU, then
    MaxPool(40, stride 20) (``(47, 16)`` at 1000 bp) -> [head] -> Dense(tasks, sigmoid).
    The dense layer is the output layer, so SFC units are matched against ``tasks`` outputs:
    18 for a symmetric head and one task. Parameters as in :func:`simulated_tf`.
    """
    _check_head(head, curvature)
    inputs = keras.Input((length, 4), name="sequence")
    x = inputs
    for i, width in enumerate((15, 14, 14), start=1):
        x = layers.Conv1D(16, width, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
    x = layers.MaxPooling1D(40, strides=20, name="pool")(x)
    x = _head(x, head, tasks, curvature, units, initializer)
    return keras.Model(inputs, _output(x, tasks), name=f"tf_binding_{head}")


def basset(
    head: str = "std",
    length: int = 1000,
    tasks: int = 2,
    curvature: float = 0.0,
    units: int | None = 1000,
    initializer: str = "paper",
) -> keras.Model:
    """Basset (Kelley et al. 2016) at ``length`` bp, as used for the accessibility datasets.

    Conv(300, 19) -> BN -> ReLU -> MaxPool 3; Conv(200, 11) -> BN -> ReLU -> MaxPool 4;
    Conv(200, 7) -> BN -> ReLU -> MaxPool 4 (``same`` padding and ceil pooling: 1000 -> 334 ->
    84 -> 21) -> [head] -> two blocks of Dense(1000) -> BN -> ReLU -> Dropout(0.3) ->
    Dense(tasks, sigmoid). The paper used 1000 SFC units (the default here); ``units=None``
    gives the parameter-matched count instead. Other parameters as in :func:`simulated_tf`.
    """
    _check_head(head, curvature)
    inputs = keras.Input((length, 4), name="sequence")
    x = inputs
    for i, (filters, width, pool) in enumerate(((300, 19, 3), (200, 11, 4), (200, 7, 4)), start=1):
        x = layers.Conv1D(filters, width, padding="same", name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        x = layers.MaxPooling1D(pool, strides=pool, padding="same", name=f"pool{i}")(x)
    x = _head(x, head, 1000, curvature, units, initializer)
    for i in (1, 2):
        x = layers.Dense(1000, name=f"fc{i}")(x)
        x = layers.BatchNormalization(name=f"fc_bn{i}")(x)
        x = layers.Activation("relu", name=f"fc_relu{i}")(x)
        x = layers.Dropout(0.3, name=f"dropout{i}")(x)
    return keras.Model(inputs, _output(x, tasks), name=f"basset_{head}")


ARCHITECTURES = {"simulated_tf": simulated_tf, "tf_binding": tf_binding, "basset": basset}


def build_model(architecture: str, **kwargs) -> keras.Model:
    """Build one of :data:`ARCHITECTURES` by name; ``kwargs`` go to its builder."""
    try:
        builder = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(
            f"Unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}."
        ) from None
    return builder(**kwargs)


def load_model(path, compile: bool = True) -> keras.Model:
    """Load a saved ``.keras`` model in Keras safe mode (no arbitrary code is deserialised).

    Importing this module registers :class:`~sfcrepro.layers.SeparableFC` and
    :class:`~sfcrepro.layers.CurvatureRegularizer`, so no ``custom_objects`` are needed.
    """
    return keras.saving.load_model(path, compile=compile, safe_mode=True)
