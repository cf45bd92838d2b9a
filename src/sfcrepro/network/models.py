"""Builders for the paper's three architectures with any registered head (std, sep, symm, gap).

Every builder returns an uncompiled :class:`keras.Model` that maps one-hot DNA
``(batch, length, 4)`` to per-task probabilities ``(batch, tasks)``; the last dense layer is
named ``logits`` (its output is the pre-sigmoid score) and the sigmoid ``output``. The head decides what sits
between the convolutional stack (output ``(batch, L, C)``) and the first dense layer:

``std``
    Flatten, as in the original architecture.
``sep``
    A :class:`~sfcrepro.network.layers.SeparableFC` layer.
``symm``
    A :class:`~sfcrepro.network.layers.SeparableFC` layer with mirrored positional weights.
``gap``
    Global average pooling over positions: the channel means, ``C`` values. This is an SFC layer
    whose positional weights are frozen to ``1/L`` and whose channel weights are the identity
    (``units = C``): positional weights that are not learned (as in bpnet's count head and
    CREsted's dilated CNN).

The heads are the entries of :data:`sfcrepro.network.heads.HEADS`; their builders are below
(:func:`flatten_head`, :func:`sfc_head`, :func:`symmetric_sfc_head`, :func:`gap_head`).

A curvature strength above zero adds a :class:`~sfcrepro.network.layers.CurvatureRegularizer` to the
SFC positional weights (``curvature_norm="l1"``, the paper's, by default; ``"l2"`` squares the
second differences, the default of the authors' code); it needs a ``sep`` or ``symm`` head.
``units`` applies to the SFC heads only (``std`` and ``gap`` have none).

SFC unit count (``units``), the same rule in every builder:

``None`` (default)
    The paper's count for the architecture, :data:`PAPER_UNITS`: 648 (simulated TF binding),
    18 (in vivo TF binding), 1000 (Basset), whatever the head, length or task count.
``"matched"``
    The largest parameter-matched count, :func:`sfc_units` of the convolutional output and the
    width of the dense layer that follows (e.g. 648 / 741 for sep / symm simulated TF binding,
    11 / 18 for in vivo TF binding with one task, 3,439 / 3,468 for Basset at 1000 bp).
an int
    That many units.
"""

from __future__ import annotations

import numbers

import keras
from keras import layers

from sfcrepro.network import heads
from sfcrepro.network.heads import HEADS
from sfcrepro.network.layers import CurvatureRegularizer, SeparableFC, learned_length

__all__ = [
    "ARCHITECTURES",
    "CURVATURE_NORMS",
    "HEADS",
    "MATCHED",
    "PAPER_UNITS",
    "basset",
    "build_model",
    "flatten_head",
    "gap_head",
    "load_model",
    "sfc_head",
    "sfc_macs",
    "sfc_units",
    "simulated_tf",
    "symmetric_sfc_head",
    "tf_binding",
    "training_flops_per_example",
]

CURVATURE_NORMS = ("l1", "l2")
#: ``units`` value asking for the largest parameter-matched SFC unit count (:func:`sfc_units`).
MATCHED = "matched"
#: SFC units the paper used per architecture (``units=None``): 648 for simulated TF binding (the
#: matched count of the non-symmetric layer), 18 for in vivo TF binding (the matched count of the
#: symmetric layer, L' = 24), 1000 for Basset (not parameter-matched; matched would be 3,439).
PAPER_UNITS = {"simulated_tf": 648, "tf_binding": 18, "basset": 1000}


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
        raise ValueError(
            f"sfc_units needs positive sizes, got L={length}, C={channels}, O={outputs}."
        )
    return (outputs * length * channels) // (learned_length(length, symmetric) + channels + outputs)


def _check_head(head: str, curvature: float, curvature_norm: str = "l1") -> None:
    if curvature_norm not in CURVATURE_NORMS:
        raise ValueError(
            f"Unknown curvature_norm {curvature_norm!r}; choose one of {', '.join(CURVATURE_NORMS)}."
        )
    heads.get(head)
    if curvature < 0:
        raise ValueError(f"Curvature strength must be >= 0, got {curvature}.")
    if curvature and not heads.get(head).positional:
        raise ValueError(
            "Curvature regularisation acts on SFC positional weights: use a head with positional "
            f"weights ({', '.join(heads.positional())}), not {head!r}."
        )


def _unit_count(
    units: int | str | None,
    architecture: str,
    length: int,
    channels: int,
    next_width: int,
    symmetric: bool,
) -> int:
    """The SFC unit count that ``units`` stands for (see the module docstring)."""
    if units is None:
        return PAPER_UNITS[architecture]
    if units == MATCHED:
        return sfc_units(length, channels, next_width, symmetric)
    if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
        raise ValueError(
            f"units must be a positive int, None (the paper's count, {PAPER_UNITS[architecture]}) "
            f"or {MATCHED!r} (parameter-matched), got {units!r}."
        )
    return int(units)


def _head(x, head: str, next_width: int, curvature, units, initializer, architecture, norm):
    """Insert the head between the convolutional output ``x`` and a dense layer of ``next_width``."""
    return heads.build(
        x,
        head,
        next_width=next_width,
        curvature=curvature,
        units=units,
        initializer=initializer,
        architecture=architecture,
        curvature_norm=norm,
    )


def flatten_head(x, **options):
    """The ``std`` head: Flatten."""
    return layers.Flatten(name="flatten")(x)


def gap_head(x, **options):
    """The ``gap`` head: global average pooling over positions."""
    return layers.GlobalAveragePooling1D(name="gap")(x)


def sfc_head(
    x,
    *,
    next_width: int,
    curvature: float,
    units: int | str | None,
    initializer: str,
    architecture: str,
    curvature_norm: str = "l1",
    symmetric: bool = False,
):
    """The ``sep`` head: a :class:`~sfcrepro.network.layers.SeparableFC` layer named ``sfc``, its unit
    count from ``units`` (see the module docstring), curvature-regularised when ``curvature``."""
    _, length, channels = x.shape
    units = _unit_count(units, architecture, length, channels, next_width, symmetric)
    regularizer = CurvatureRegularizer(curvature, norm=curvature_norm) if curvature else None
    return SeparableFC(
        units,
        symmetric=symmetric,
        positional_regularizer=regularizer,
        initializer=initializer,
        name="sfc",
    )(x)


def symmetric_sfc_head(x, **options):
    """The ``symm`` head: :func:`sfc_head` with mirrored positional weights."""
    return sfc_head(x, symmetric=True, **options)


def sfc_macs(layer: SeparableFC) -> int:
    """Multiply-adds of one forward pass of an SFC layer: ``L x C x units``."""
    return layer.length * layer.channels * layer.units


def _output(x, tasks: int):
    # Named logits (pre-sigmoid) for gradient x input; float32 keeps the loss stable under a
    # mixed-precision policy.
    logits = layers.Dense(tasks, dtype="float32", name="logits")(x)
    return layers.Activation("sigmoid", dtype="float32", name="output")(logits)


def _conv_bn_relu(x, index: int, filters: int, width: int, padding: str = "valid"):
    """Conv1D -> BatchNorm -> ReLU, the block of the in vivo models, layers named by ``index``."""
    x = layers.Conv1D(filters, width, padding=padding, name=f"conv{index}")(x)
    x = layers.BatchNormalization(name=f"bn{index}")(x)
    return layers.Activation("relu", name=f"relu{index}")(x)


def _build(
    architecture: str,
    trunk,
    top,
    next_width,
    head: str,
    length: int,
    tasks: int,
    curvature: float = 0.0,
    units: int | str | None = None,
    initializer: str = "paper",
    curvature_norm: str = "l1",
    **unknown,
) -> keras.Model:
    """One of the architectures: ``trunk`` (the convolutional stack) -> the head -> ``top`` (the
    layers after the head, ending in the output). ``next_width`` is the width of the dense layer
    that follows the head (an int, or a function of ``tasks``). The head options are those of
    :func:`simulated_tf`.
    """
    if unknown:
        raise TypeError(
            f"{architecture}() got unknown options {', '.join(sorted(unknown))}; the head "
            "options are curvature, units, initializer and curvature_norm."
        )
    _check_head(head, curvature, curvature_norm)
    inputs = keras.Input((length, 4), name="sequence")
    width = next_width(tasks) if callable(next_width) else next_width
    x = _head(
        trunk(inputs), head, width, curvature, units, initializer, architecture, curvature_norm
    )
    return keras.Model(inputs, top(x, tasks), name=f"{architecture}_{head}")


def _simulated_tf_trunk(x):
    x = layers.Conv1D(50, 11, activation="relu", name="conv1")(x)
    x = layers.Conv1D(50, 11, activation="relu", name="conv2")(x)
    return layers.MaxPooling1D(10, strides=5, name="pool")(x)


def _simulated_tf_top(x, tasks):
    x = layers.Dense(50, activation="relu", name="fc")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    return _output(x, tasks)


def simulated_tf(head: str = "std", length: int = 200, tasks: int = 3, **head_options):
    """The simulated TF-binding model of the paper (section 2.4).

    Conv1D(50, 11, relu) -> Conv1D(50, 11, relu) -> MaxPool(10, stride 5) -> [head] ->
    Dense(50, relu) -> Dropout(0.5) -> Dense(tasks, sigmoid). At 200 bp the convolutional
    output is ``(35, 50)``; the SFC heads get the paper's 648 units by default, which is the
    parameter-matched count of the sep head (``units="matched"``: 648 sep, 741 symm).

    Parameters
    ----------
    head : str
        A registered head (:data:`sfcrepro.network.heads.HEADS`: std, sep, symm, gap).
    length : int, default 200
        Input length in bp.
    tasks : int, default 3
    curvature : float, default 0
        Curvature strength on the SFC positional weights.
    units : int, "matched" or None, default None
        SFC unit count: None = the paper's (:data:`PAPER_UNITS`), "matched" = the largest
        parameter-matched count (:func:`sfc_units`), or a positive int.
    initializer : {"paper", "variance_matched"}
        SFC initialisation, see :func:`sfcrepro.network.layers.init_bound`.
    curvature_norm : {"l1", "l2"}, default "l1"
        Penalty on the second differences (:class:`~sfcrepro.network.layers.CurvatureRegularizer`):
        absolute values (the paper) or squares (the authors' code default).
        These four are the head options, given by keyword; any other keyword is a TypeError.
    """
    return _build(
        "simulated_tf",
        _simulated_tf_trunk,
        _simulated_tf_top,
        50,
        head,
        length,
        tasks,
        **head_options,
    )


def _tf_binding_trunk(x):
    for i, width in enumerate((15, 14, 14), start=1):
        x = _conv_bn_relu(x, i, 16, width)
    return layers.MaxPooling1D(40, strides=20, name="pool")(x)


def tf_binding(head: str = "std", length: int = 1000, tasks: int = 1, **head_options):
    """The in vivo TF-binding model (Shrikumar et al. 2017b, section 3.4.2).

    Three blocks of Conv1D(16 filters; widths 15, 14, 14; valid) -> BatchNorm -> ReLU, then
    MaxPool(40, stride 20) (``(47, 16)`` at 1000 bp) -> [head] -> Dense(tasks, sigmoid).
    The SFC heads get the paper's 18 units by default. The dense layer is the output layer, so
    ``units="matched"`` matches against ``tasks`` outputs: with one task 18 for a symmetric head
    (the paper's number) and 11 for a non-symmetric one (18 sep units have 1,152 weights, more
    than the std head's 752). Parameters as in :func:`simulated_tf`.
    """
    return _build(
        "tf_binding",
        _tf_binding_trunk,
        _output,
        lambda tasks: tasks,
        head,
        length,
        tasks,
        **head_options,
    )


def _basset_trunk(x):
    for i, (filters, width, pool) in enumerate(((300, 19, 3), (200, 11, 4), (200, 7, 4)), start=1):
        x = _conv_bn_relu(x, i, filters, width, padding="same")
        x = layers.MaxPooling1D(pool, strides=pool, padding="same", name=f"pool{i}")(x)
    return x


def _basset_top(x, tasks):
    for i in (1, 2):
        x = layers.Dense(1000, name=f"fc{i}")(x)
        x = layers.BatchNormalization(name=f"fc_bn{i}")(x)
        x = layers.Activation("relu", name=f"fc_relu{i}")(x)
        x = layers.Dropout(0.3, name=f"dropout{i}")(x)
    return _output(x, tasks)


def basset(head: str = "std", length: int = 1000, tasks: int = 2, **head_options):
    """Basset (Kelley et al. 2016) at ``length`` bp, as used for the accessibility datasets.

    Conv(300, 19) -> BN -> ReLU -> MaxPool 3; Conv(200, 11) -> BN -> ReLU -> MaxPool 4;
    Conv(200, 7) -> BN -> ReLU -> MaxPool 4 (``same`` padding and ceil pooling: 1000 -> 334 ->
    84 -> 21) -> [head] -> two blocks of Dense(1000) -> BN -> ReLU -> Dropout(0.3) ->
    Dense(tasks, sigmoid). The paper used 1000 SFC units (the default, ``units=None``);
    ``units="matched"`` gives the parameter-matched count instead (3,439 sep, 3,468 symm at
    1000 bp). Other parameters as in :func:`simulated_tf`.
    """
    return _build("basset", _basset_trunk, _basset_top, 1000, head, length, tasks, **head_options)


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

    Importing this module registers :class:`~sfcrepro.network.layers.SeparableFC` and
    :class:`~sfcrepro.network.layers.CurvatureRegularizer`, so no ``custom_objects`` are needed.
    """
    return keras.saving.load_model(path, compile=compile, safe_mode=True)


def training_flops_per_example(model: keras.Model) -> float:
    """Approximate floating-point operations of one training example.

    ``3 x 2 x`` the multiply-adds of the forward pass of every Conv1D and Dense layer and of
    every head layer whose head counts them (:attr:`sfcrepro.network.heads.Head.macs`: SeparableFC) (forward, input gradient and weight gradient each cost about one forward pass; one
    multiply-add is two operations). Pooling, normalisation and activations are left out. A
    forward pass alone (prediction, validation) is a third of this.

    Parameters
    ----------
    model : keras.Model
        A built model (its layers' output shapes are known).

    Returns
    -------
    float
        FLOPs per example: 32,733,900 for the simulated TF-binding ``std`` model at 200 bp (see
        ``tests/test_models.py``).
    """
    macs = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv1D):
            width, channels_in, channels_out = layer.kernel.shape
            macs += layer.output.shape[1] * width * channels_in * channels_out
        elif isinstance(layer, layers.Dense):
            macs += layer.kernel.shape[0] * layer.kernel.shape[1]
        else:
            macs += heads.macs(layer)  # a head's layer (an SFC layer), else 0
    return 3 * 2 * macs
