"""The public path of :mod:`sfcrepro.network.torch` (the import the README gives): the same module
object, so that ``import sfcrepro.torch`` and ``import sfcrepro.network.torch`` are one module."""

import sys

from sfcrepro.network import torch

sys.modules[__name__] = torch
