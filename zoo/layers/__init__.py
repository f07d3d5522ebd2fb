"""Layers the families share: text conditioning and convolution blocks."""

from zoo.layers.conditioning import ConditioningAugmentation, CoordinateChannels, FiLM, TileText  # noqa: F401
