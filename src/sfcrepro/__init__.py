"""sfcrepro: separable fully connected layers for genomics, and the paper's pipeline.

The Keras objects are imported lazily so that ``import sfcrepro.<module>`` for data work does not
load a deep-learning backend.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "SeparableFC": "sfcrepro.network.layers",
    "CurvatureRegularizer": "sfcrepro.network.layers",
    "build_model": "sfcrepro.network.models",
    "sfc_units": "sfcrepro.network.models",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sfcrepro' has no attribute {name!r}")
