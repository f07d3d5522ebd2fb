"""`shapes_probe`: a small per-cell classifier that reads a `shapes` image back into its scene.

The metrics score generated images with it (`zoo.metrics.alignment.attribute_accuracy`):
for each cell of the 3x3 grid it predicts whether an object's centre lies there
(`occupied`) and that object's `colour` (8), `shape` (4) and `size` (2).

Strided convolutions take the image down to an 8x8 map; a 4x4 convolution with
stride 2 over it gives a 3x3 map whose windows are centred on the grid's cells
(pixels 16, 32, 48 of 64) and span 32 pixels, enough for a large object and
its jitter. `occupied`, `shape` and `size` are 1x1 heads on these cell features.
`colour` has its own branch: local features (a few pixels wide, too small to
see a shape) max-pooled over the same cell windows. Colour and shape are thus
separate decisions from separate evidence, which is what lets the probe read
colour-shape pairs it never saw in training (the `test_compositional` split).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from zoo.models.base import Task, TaskConfig, check_images
from zoo.registry import register_presets

GRID_SIZE = 3
# Classes per head, in the spec's orders (shapes.COLOUR_NAMES, SHAPE_NAMES, SIZE_NAMES).
HEAD_CLASSES = {"occupied": 2, "colour": 8, "shape": 4, "size": 2}
ATTRIBUTES = ("colour", "shape", "size")
_FEATURE_MAP_SIZE = 8  # the 4x4 stride-2 cell convolution maps 8x8 to exactly 3x3


@dataclasses.dataclass
class ShapesProbeConfig(TaskConfig):
    channels: int = 8  # after the strided stem; doubled at each halving
    max_channels: int = 32
    cell_units: int = 64
    colour_units: int = 16

    def __post_init__(self):
        if self.image_size not in (16, 32, 64, 128, 256):
            raise ValueError(f"image_size must be 16, 32, 64, 128 or 256, got {self.image_size}.")


def build_classifier(config):
    """The probe network: images [B, S, S, 3] -> {head: logits [B, 3, 3, classes]}."""
    # === Inputs ===
    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    # === Convolutional trunk down to 8x8 ===
    # The stem is strided: a 3x3 window at stride 2 still sees every pixel, at a quarter of the cost.
    stem = keras.layers.Conv2D(config.channels, 3, strides=2, padding="same", activation="relu", name="stem")(images)
    x = stem
    resolution = config.image_size // 2
    while resolution > _FEATURE_MAP_SIZE:
        width = min(config.channels * config.image_size // resolution, config.max_channels)
        x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{resolution}")(x)
        resolution //= 2
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", name=f"down{resolution}")(x)
    # === Cell features and heads ===
    cells = keras.layers.Conv2D(config.cell_units, 4, strides=2, activation="relu", name="cells")(x)
    logits = {
        head: keras.layers.Conv2D(classes, 1, name=head, dtype="float32")(cells)
        for head, classes in HEAD_CLASSES.items() if head != "colour"
    }
    # === Colour branch ===
    # Two objects' windows never overlap, so the max over a cell's window sees one object's colour.
    colour = keras.layers.Conv2D(config.colour_units, 3, padding="same", activation="relu", name="colour_features")(stem)
    window = config.image_size // 4  # 32 pixels at stride 2 (64x64 images)
    pooled = keras.layers.MaxPooling2D(window, strides=window // 2, name="colour_pool")(colour)
    logits["colour"] = keras.layers.Conv2D(HEAD_CLASSES["colour"], 1, name="colour", dtype="float32")(pooled)
    logits = {head: logits[head] for head in HEAD_CLASSES}
    return keras.Model(images, logits, name="classifier")


def grid_targets(objects):
    """Per-cell targets [B, 3, 3] from a batch's `objects` (int32 [B, K], -1 for absent).

    Returns `occupied` (0/1) and `colour`, `shape`, `size` (class index, -1 at empty cells).
    """
    # one_hot of -1 is all zeros, so absent objects vanish; two objects never share a cell.
    in_cell = tf.one_hot(tf.cast(objects["cell"], tf.int32), GRID_SIZE**2, dtype=tf.int32)  # [B, K, 9]
    targets = {"occupied": tf.reduce_sum(in_cell, axis=1)}
    for key in ATTRIBUTES:
        value = tf.cast(objects[key], tf.int32)[..., None] + 1
        targets[key] = tf.reduce_sum(in_cell * value, axis=1) - 1
    return {key: tf.reshape(value, (-1, GRID_SIZE, GRID_SIZE)) for key, value in targets.items()}


@keras.saving.register_keras_serializable(package="zoo")
class ShapesProbe(Task):
    """A per-cell attribute classifier for `shapes` images, used to score generated images.

    It reads no text (`uses_text = False`): a `text_encoder` given to the builder
    is ignored. `call({"images"})` returns logits [B, 3, 3, K] for each head:
    `occupied` (2), `colour` (8), `shape` (4), `size` (2). `predict_grid` gives
    the argmax of each head in the format `attribute_accuracy` reads.

    Args:
        config: a `ShapesProbeConfig`.
        vocabulary: kept for a uniform Task interface (default: `shapes`); unused.

    Example:
        probe = zoo.build("shapes_probe_tiny")
        grid = probe.predict_grid(images)  # images uint8 [N, 32, 32, 3]
        grid["colour"].shape  # (N, 3, 3)
    """

    family = "shapes_probe"
    task_name = "image-classification"
    config_class = ShapesProbeConfig
    uses_text = False

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder=None, **kwargs)
        self.classifier = build_classifier(self.config)

    def networks(self):
        return {"classifier": self.classifier}

    def example_inputs(self, batch_size=2):
        size = self.config.image_size
        return {"images": tf.zeros((batch_size, size, size, 3))}

    def call(self, inputs, training=False):
        return self.classifier(inputs["images"], training=training)

    def predict_grid(self, images, batch_size=256):
        """The predicted scene of each image: dict of int arrays [N, 3, 3].

        Keys `occupied` (0/1), `colour` (0-7), `shape` (0-3), `size` (0-1), in the
        spec's orders, as `zoo.metrics.alignment.attribute_accuracy` expects.

        Args:
            images: uint8 [N, S, S, 3] (0-255) or float in [-1, 1]; one image [S, S, 3] is allowed.
            batch_size: images per forward pass, to bound memory on large sets.
        """
        images = check_images(images, self.config.image_size)
        chunks = [self({"images": images[start:start + batch_size]}) for start in range(0, len(images), batch_size)]
        return {
            head: np.concatenate([np.argmax(chunk[head], axis=-1) for chunk in chunks]).astype(np.int64)
            for head in HEAD_CLASSES
        }


register_presets(ShapesProbe, {
    "shapes_probe": ("Per-cell attribute probe that scores shapes images (64x64)",
        {}),
    "shapes_probe_tiny": ("Tiny shapes_probe for tests (32x32)",
        {"image_size": 32, "channels": 4, "max_channels": 8, "cell_units": 16, "colour_units": 4}),
})
