"""The public path of :mod:`sfcrepro.network.layers` (the import the README gives): the same module
object, so that ``import sfcrepro.layers`` and ``import sfcrepro.network.layers`` are one module."""

import sys

from sfcrepro.network import layers

sys.modules[__name__] = layers
