"""The separable fully connected (SFC) layer as a PyTorch module.

:class:`SeparableFC` computes what :class:`sfcrepro.network.layers.SeparableFC` computes, with the same
weights, the same symmetric mirror and the same initial bound, for PyTorch models; the
curvature penalty of :class:`sfcrepro.network.layers.CurvatureRegularizer` is a method to add to the
loss. :func:`from_keras`, :func:`to_keras_weights` and :func:`copy_to_keras` move the weights
between the two.

This module imports NumPy and PyTorch only: importing it loads neither Keras nor TensorFlow.
The conversion functions take a Keras layer but use only its attributes and
``get_weights``/``set_weights``.

References
----------
Alexandari, Shrikumar & Kundaje, "Separable Fully Connected Layers Improve Deep Learning
Models for Genomics" (2017), sections 2.1 and 2.2.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from sfcrepro.network._sfc_math import INITIALIZERS, init_bound, learned_length

__all__ = ["SeparableFC", "copy_to_keras", "from_keras", "to_keras_weights"]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"SeparableFC {name} must be a positive integer, got {value!r}.")
    return int(value)


class SeparableFC(nn.Module):
    """Separable fully connected layer: positional weights times channel weights.

    Maps ``(batch, L, C)`` to ``(batch, units)`` with
    ``out[n, o] = sum_l sum_c x[n, l, c] * W_pos[o, l] * W_chan[o, c]``; no bias, no
    activation. With ``channels_first=True`` it takes ``(batch, C, L)``, the output of
    :class:`torch.nn.Conv1d`, and computes the same sum.

    The forward pass builds the rank-``units`` product matrix of shape ``(L * C, units)`` and
    does one matmul with the flattened input, as the Keras layer does.

    Parameters
    ----------
    length : int
        Length ``L`` of the input (positions).
    channels : int
        Channels ``C`` of the input.
    units : int
        Number of outputs ``O``.
    symmetric : bool, default False
        Learn ``ceil(L / 2)`` positional weights per unit and mirror them around the centre:
        ``L=5`` gives ``[w0 w1 w2 w1 w0]``, ``L=4`` gives ``[w0 w1 w1 w0]``.
    initializer : {"paper", "variance_matched"}, default "paper"
        Both kernels are drawn from ``U(-s, s)`` with ``s`` from
        :func:`sfcrepro.network.layers.init_bound`, as in the Keras layer.
    channels_first : bool, default False
        Input layout: ``False`` for ``(batch, L, C)`` (Keras' layout), ``True`` for
        ``(batch, C, L)`` (PyTorch's ``Conv1d`` output). The weights are the same either way.
    device, dtype : optional
        Where and in which floating-point type the parameters are created, as in
        :class:`torch.nn.Linear`.

    Attributes
    ----------
    positional_kernel : torch.nn.Parameter
        Shape ``(units, L')`` with ``L' = L`` or ``ceil(L / 2)`` when symmetric.
    channel_kernel : torch.nn.Parameter
        Shape ``(units, C)``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sfcrepro.network.torch import SeparableFC
    >>> sfc = SeparableFC(190, 50, 64, symmetric=True, channels_first=True)
    >>> model = nn.Sequential(nn.Conv1d(4, 50, 11), nn.ReLU(), sfc, nn.Linear(64, 1))
    >>> model(torch.zeros(2, 4, 200)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        length: int,
        channels: int,
        units: int,
        symmetric: bool = False,
        initializer: str = "paper",
        channels_first: bool = False,
        *,
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.length = _positive_int(length, "length")
        self.channels = _positive_int(channels, "channels")
        self.units = _positive_int(units, "units")
        if initializer not in INITIALIZERS:
            raise ValueError(
                f"Unknown SFC initializer {initializer!r}; choose one of {', '.join(INITIALIZERS)}."
            )
        self.symmetric = bool(symmetric)
        self.initializer = initializer
        self.channels_first = bool(channels_first)
        factory = {"device": device, "dtype": dtype}
        self.positional_kernel = nn.Parameter(
            torch.empty(self.units, learned_length(self.length, self.symmetric), **factory)
        )
        self.channel_kernel = nn.Parameter(torch.empty(self.units, self.channels, **factory))
        self.reset_parameters()

    def init_bound(self) -> float:
        """The half-width ``s`` of the uniform initial draw (:func:`sfcrepro.network.layers.init_bound`)."""
        return init_bound(self.initializer, self.length, self.channels, self.units, self.symmetric)

    def reset_parameters(self) -> None:
        """Draw both kernels from ``U(-s, s)`` (seed with :func:`torch.manual_seed`)."""
        bound = self.init_bound()
        nn.init.uniform_(self.positional_kernel, -bound, bound)
        nn.init.uniform_(self.channel_kernel, -bound, bound)

    def full_positional_kernel(self) -> torch.Tensor:
        """The ``(units, L)`` positional weights, with the mirror applied when symmetric."""
        if not self.symmetric:
            return self.positional_kernel
        half = self.positional_kernel
        return torch.cat([half, half[:, : self.length // 2].flip(1)], dim=1)

    def _product(self, channel_major: bool) -> torch.Tensor:
        pos = self.full_positional_kernel().t()  # (L, O)
        chan = self.channel_kernel.t()  # (C, O)
        outer = chan[:, None, :] * pos[None, :, :] if channel_major else pos[:, None, :] * chan
        return outer.reshape(self.length * self.channels, self.units)

    def weight_matrix(self) -> torch.Tensor:
        """The product matrix as ``(L * C, units)``, position-major, channel-minor.

        The layout of the Keras layer's ``weight_matrix()``, whatever ``channels_first`` is.
        """
        return self._product(channel_major=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (
            (self.channels, self.length) if self.channels_first else (self.length, self.channels)
        )
        if x.ndim != 3 or tuple(x.shape[1:]) != expected:
            layout = "(batch, C, L)" if self.channels_first else "(batch, L, C)"
            raise ValueError(
                f"SeparableFC expects input {layout} = (batch, {expected[0]}, {expected[1]}), got "
                f"{tuple(x.shape)}; set channels_first={not self.channels_first} if the axes "
                "are swapped."
            )
        flat = x.reshape(x.shape[0], self.length * self.channels)
        return flat @ self._product(channel_major=self.channels_first)

    def curvature_penalty(self, strength: float = 1.0, norm: str = "l1") -> torch.Tensor:
        """Curvature penalty of the positional kernel, to add to the loss.

        ``strength * mean(|w[:, 2:] - 2 w[:, 1:-1] + w[:, :-2]|)`` over ``positional_kernel``
        (the learned half when symmetric), or the mean of the squared second differences for
        ``norm="l2"``: the value :class:`sfcrepro.network.layers.CurvatureRegularizer` adds to a Keras
        model's loss. A kernel with fewer than three positions costs 0.

        Parameters
        ----------
        strength : float, default 1.0
            Multiplier ``lambda``; the paper used 1.0 (``low_reg``) and 10.0 (``high_reg``).
        norm : {"l1", "l2"}, default "l1"
            Absolute (the paper's choice) or squared second differences.

        Returns
        -------
        torch.Tensor
            A scalar, differentiable with respect to ``positional_kernel``.
        """
        if norm not in ("l1", "l2"):
            raise ValueError(f"curvature_penalty norm must be 'l1' or 'l2', got {norm!r}.")
        strength = float(strength)
        if not math.isfinite(strength) or strength < 0:
            raise ValueError(f"curvature_penalty strength must be >= 0, got {strength!r}.")
        w = self.positional_kernel
        if w.shape[1] < 3:
            return w.new_zeros(())
        d2 = w[:, 2:] - 2.0 * w[:, 1:-1] + w[:, :-2]
        d2 = d2.abs() if norm == "l1" else d2.square()
        return strength * d2.mean()

    def extra_repr(self) -> str:
        return (
            f"length={self.length}, channels={self.channels}, units={self.units}, "
            f"symmetric={self.symmetric}, initializer={self.initializer!r}, "
            f"channels_first={self.channels_first}"
        )


def from_keras(layer, channels_first: bool = False) -> SeparableFC:
    """A :class:`SeparableFC` module with the weights of a built Keras ``SeparableFC`` layer.

    Parameters
    ----------
    layer : sfcrepro.network.layers.SeparableFC
        A built layer (called on an input, part of a model, or ``layer.build((None, L, C))``).
        Its ``positional_regularizer`` is not a weight and is not carried over: add
        :meth:`SeparableFC.curvature_penalty` to the loss instead.
    channels_first : bool, default False
        Input layout of the returned module (the weights do not depend on it).

    Returns
    -------
    SeparableFC
        A float32 module on the CPU whose output equals the layer's for the same input.
    """
    if not getattr(layer, "built", False) or not hasattr(layer, "length"):
        raise ValueError(
            "from_keras needs a built SeparableFC layer: call it on an input first or run "
            "layer.build((None, length, channels))."
        )
    module = SeparableFC(
        layer.length,
        layer.channels,
        layer.units,
        symmetric=layer.symmetric,
        initializer=layer.initializer,
        channels_first=channels_first,
    )
    positional, channel = layer.get_weights()
    with torch.no_grad():
        for param, value in zip(
            (module.positional_kernel, module.channel_kernel), (positional, channel), strict=True
        ):
            value = np.asarray(value)
            if value.shape != tuple(param.shape):
                raise ValueError(
                    f"Keras weight of shape {value.shape} does not fit {tuple(param.shape)}."
                )
            param.copy_(torch.from_numpy(value.astype(np.float32)))
    return module


def to_keras_weights(module: SeparableFC) -> list[np.ndarray]:
    """The module's weights as float32 arrays in the Keras layer's ``get_weights()`` order.

    Parameters
    ----------
    module : SeparableFC

    Returns
    -------
    list of numpy.ndarray
        ``[positional_kernel (units, L'), channel_kernel (units, C)]``, ready for
        ``layer.set_weights`` of a Keras ``SeparableFC`` built for the same ``(L, C)``,
        ``units`` and ``symmetric``.
    """
    return [
        module.positional_kernel.detach().cpu().numpy().astype(np.float32),
        module.channel_kernel.detach().cpu().numpy().astype(np.float32),
    ]


def copy_to_keras(module: SeparableFC, layer) -> None:
    """Set the weights of a Keras ``SeparableFC`` layer to those of ``module``.

    Parameters
    ----------
    module : SeparableFC
    layer : sfcrepro.network.layers.SeparableFC
        Built or not (an unbuilt layer is built for ``(None, L, C)``); its ``units`` and
        ``symmetric`` must be those of ``module``.
    """
    if layer.units != module.units or bool(layer.symmetric) != module.symmetric:
        raise ValueError(
            f"Keras layer (units={layer.units}, symmetric={layer.symmetric}) does not match the "
            f"module (units={module.units}, symmetric={module.symmetric})."
        )
    if not getattr(layer, "built", False):
        layer.build((None, module.length, module.channels))
    if (layer.length, layer.channels) != (module.length, module.channels):
        raise ValueError(
            f"Keras layer is built for (L, C) = ({layer.length}, {layer.channels}), the module "
            f"for ({module.length}, {module.channels})."
        )
    layer.set_weights(to_keras_weights(module))
