"""The registry of heads: what sits between a model's convolutional stack, of output ``(L, C)``,
and its first dense layer.

One :class:`Head` entry per head says everything the package and the workflow need to know:
its name in the configuration (``variants.<name>.head``), the function that builds its layers,
whether it learns positional weights (the SFC heads: the ``units``, ``curvature`` and
``curvature_norm`` settings and the positional-weights figure apply), the layer classes it
inserts (DeepLIFT-SHAP applies them as they are, being affine at inference; fast ISM recomputes
them in full) and, for FLOP counts, how many multiply-adds one of its layers costs.

This module imports no deep-learning library (the Snakefile reads it to check a configuration);
builders, layer classes and cost functions are named as ``"module:attribute"`` and imported when
a model is built or analysed. Adding a head is one :func:`register` call (or one entry below)
and its builder: see docs/development.md, "Where to change what".
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

__all__ = ["HEADS", "Head", "build", "get", "layer_types", "macs", "positional", "register"]


@dataclass(frozen=True)
class Head:
    """One head.

    Attributes
    ----------
    name : str
        Its name in the configuration and in model names (``basset_<name>``).
    description : str
        One line for the docs and error messages.
    builder : str
        ``"module:function"``; ``function(x, **options)`` adds the head's layers to the Keras
        tensor ``x`` of shape ``(batch, L, C)`` and returns their 2-D output. ``options`` are
        ``next_width`` (width of the dense layer that follows), ``units``, ``curvature``,
        ``curvature_norm``, ``initializer`` and ``architecture``; a head uses those it needs.
    layers : tuple of str
        ``"module:Class"`` of each layer class it inserts.
    positional : bool
        Whether it learns positional weights (an SFC layer).
    macs : str or None
        ``"module:function"`` giving the multiply-adds of one forward pass of one of its layers
        (``function(layer) -> int``); None: its layers cost nothing worth counting.
    """

    name: str
    description: str
    builder: str
    layers: tuple[str, ...]
    positional: bool = False
    macs: str | None = None


HEADS: dict[str, Head] = {}


def register(head: Head) -> Head:
    """Add ``head`` to :data:`HEADS` (a name given twice is an error); returns it."""
    if head.name in HEADS:
        raise ValueError(f"A head named {head.name!r} is registered already.")
    HEADS[head.name] = head
    layer_types.cache_clear()
    return head


def get(name: str) -> Head:
    """The registered head ``name``; an unknown name is a ValueError naming the choices."""
    try:
        return HEADS[name]
    except KeyError:
        raise ValueError(f"Unknown head {name!r}; choose one of {', '.join(HEADS)}.") from None


def positional() -> tuple[str, ...]:
    """Names of the heads that learn positional weights."""
    return tuple(name for name, head in HEADS.items() if head.positional)


def _resolve(path: str):
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def build(x, name: str, **options):
    """Add head ``name``'s layers to ``x`` (see :attr:`Head.builder`)."""
    return _resolve(get(name).builder)(x, **options)


@cache
def layer_types() -> tuple[type, ...]:
    """Every layer class a registered head inserts."""
    return tuple(dict.fromkeys(_resolve(p) for head in HEADS.values() for p in head.layers))


def macs(layer) -> int:
    """Multiply-adds of one forward pass of a head's ``layer`` (0 where its head counts none)."""
    for head in HEADS.values():
        if head.macs and isinstance(layer, tuple(_resolve(p) for p in head.layers)):
            return int(_resolve(head.macs)(layer))
    return 0


register(
    Head(
        "std",
        "flatten: a dense weight for every position and channel (the paper's standard model)",
        builder="sfcrepro.network.models:flatten_head",
        layers=("keras.layers:Flatten",),
    )
)
register(
    Head(
        "sep",
        "SFC layer: positional weights times channel weights, per unit",
        builder="sfcrepro.network.models:sfc_head",
        layers=("sfcrepro.network.layers:SeparableFC",),
        positional=True,
        macs="sfcrepro.network.models:sfc_macs",
    )
)
register(
    Head(
        "symm",
        "SFC layer with mirrored positional weights (reverse-complement symmetric)",
        builder="sfcrepro.network.models:symmetric_sfc_head",
        layers=("sfcrepro.network.layers:SeparableFC",),
        positional=True,
        macs="sfcrepro.network.models:sfc_macs",
    )
)
register(
    Head(
        "gap",
        "global average pooling over positions (fixed uniform positional weights)",
        builder="sfcrepro.network.models:gap_head",
        layers=("keras.layers:GlobalAveragePooling1D",),
    )
)
