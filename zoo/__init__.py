"""zoo: a TensorFlow/Keras model zoo for cross-modal generation.

    import zoo
    zoo.list_models()
    model = zoo.build("cgan_t2i_tiny")          # a Keras model to train
    t2i = zoo.load("cgan_t2i_shapes")            # a pretrained SavedModel from savedmodels/
    t2i.generate(["a large red circle on the left"])
"""

__version__ = "0.1.0"

# The `zoo` command is quiet unless --verbose; TensorFlow reads its log level when it loads, below.
from zoo.quiet import quiet_native_logs  # noqa: E402

quiet_native_logs()

from zoo.registry import build, list_models, register_model  # noqa: E402,F401
from zoo.pretrained import load  # noqa: E402,F401
from zoo import data  # noqa: E402,F401  (registers the `shapes` TFDS builder)
