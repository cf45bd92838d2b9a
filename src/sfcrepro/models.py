"""The public path of :mod:`sfcrepro.network.models` (the import the README gives): the same module
object, so that ``import sfcrepro.models`` and ``import sfcrepro.network.models`` are one module."""

import sys

from sfcrepro.network import models

sys.modules[__name__] = models
