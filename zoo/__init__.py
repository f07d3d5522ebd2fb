"""zoo: a TensorFlow/Keras model zoo for cross-modal generation.

    import zoo
    zoo.list_models()
    model = zoo.build("cgan_t2i_tiny")
"""

__version__ = "0.1.0"

from zoo.registry import build, list_models, register_model  # noqa: E402,F401
from zoo import data  # noqa: E402,F401  (registers the `shapes` TFDS builder)
