"""Framework-free formulas of the SFC layer, shared by the Keras and the PyTorch versions.

This module imports nothing but the standard library, so that :mod:`sfcrepro.network.torch` can use it
without loading Keras, and both versions draw their initial weights from the same bound.
"""

from __future__ import annotations

__all__ = ["INITIALIZERS", "init_bound", "learned_length"]

INITIALIZERS = ("paper", "variance_matched")


def learned_length(length: int, symmetric: bool) -> int:
    """Number of positional weights a unit learns.

    Parameters
    ----------
    length : int
        Length ``L`` of the layer's input.
    symmetric : bool
        Whether the positional weights are mirrored around the centre.

    Returns
    -------
    int
        ``L`` or, when symmetric, ``ceil(L / 2)`` (the middle position of an odd length is
        learned once).
    """
    return (length + 1) // 2 if symmetric else length


def init_bound(initializer: str, length: int, channels: int, units: int, symmetric: bool) -> float:
    """Half-width ``s`` of the uniform ``U(-s, s)`` draw for both SFC kernels.

    Parameters
    ----------
    initializer : {"paper", "variance_matched"}
        ``"paper"``: ``s = (2 / (L' * C + O)) ** 0.25`` with ``L'`` the learned length, as in
        the paper and the authors' code. The product of two such draws has variance
        ``s**4 / 9``, i.e. one ninth of the Glorot-uniform variance the paper aimed at.
        ``"variance_matched"``: ``s = (18 / (L * C + O)) ** 0.25``, so that every entry of the
        product matrix ``W_out`` of shape ``(O, L * C)`` has exactly the Glorot-uniform variance
        ``2 / (L * C + O)`` of a dense kernel of that shape (``L`` is the full length, also when
        symmetric, because ``W_out`` always has ``L * C`` columns).
    length, channels, units : int
        ``L``, ``C`` and ``O``.
    symmetric : bool
        Whether the positional kernel is mirrored (changes ``L'`` for ``"paper"``).

    Returns
    -------
    float
        The bound ``s``.
    """
    if initializer == "paper":
        fan = learned_length(length, symmetric) * channels + units
        return (2.0 / fan) ** 0.25
    if initializer == "variance_matched":
        return (18.0 / (length * channels + units)) ** 0.25
    raise ValueError(
        f"Unknown SFC initializer {initializer!r}; choose one of {', '.join(INITIALIZERS)}."
    )
