"""Data: the embedded `shapes` data set, real-data loaders and `load`."""

from zoo.data import shapes  # noqa: F401
from zoo.data import shapes_tfds  # noqa: F401  (registers `shapes` with TFDS)
from zoo.data.errors import DataError  # noqa: F401
from zoo.data.pipeline import default_vocabulary, load, split_captions  # noqa: F401
