"""The trained `shapes_probe` that ships inside the package: the feature space of FID/KID on `shapes`.

The probe (`zoo.models.shapes_probe`) is a small classifier that reads a `shapes`
image into a grid: for each cell of the 3x3 grid, whether an object is there and
its colour, shape and size. Its weights live in `zoo/assets/shapes_probe/`
(`config.json` + `classifier.weights.h5`), so evaluation works offline on a
fresh install. `ProbeReader` applies it to images of any of the data's sizes
(resized to the probe's) and gives its features for FID/KID and the
nearest-neighbour captioner.

`zoo evaluate` does not score alignment with the probe's reading: a classifier
trained on clean renders is lenient on what it never saw (it read generators'
rounded blobs as squares and diamonds). Alignment is read by the strict,
geometric `zoo.metrics.shapes_reader`.

Example:
    reader = ProbeReader(load_probe())
    grid = reader.read(images_uint8)          # dict of int arrays [N, 3, 3]
    features = reader.features(images_uint8)  # float64 [N, 80], for FID/KID
"""

import functools
import json
import os

import keras
import numpy as np
import tensorflow as tf

from zoo.metrics.image_quality import KerasFeatures, to_uint8
from zoo.models.shapes_probe.model import ShapesProbe, ShapesProbeConfig

PROBE_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "assets", "shapes_probe")
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "classifier.weights.h5"
# FID/KID features: the cell features (shape, size, occupancy) and the pooled colour
# features, averaged over the 3x3 cells (80 numbers at the default size), as Inception's
# pool features average over positions; few dimensions keep the statistics well estimated
# from 1000 images. Where objects are is scored by the probe's per-cell reading instead.
FEATURE_LAYERS = ("cells", "colour_pool")


def save_probe(probe, directory=PROBE_DIR, metadata=None):
    """Write a probe's config and classifier weights to `directory` (what `load_probe` reads).

    `metadata` (e.g. the recipe, steps and measured accuracy) is kept in the config file.
    """
    if not isinstance(probe, ShapesProbe):
        raise ValueError(f"save_probe takes a ShapesProbe, got {type(probe).__name__}.")
    os.makedirs(directory, exist_ok=True)
    probe.classifier.save_weights(os.path.join(directory, WEIGHTS_FILE))
    with open(os.path.join(directory, CONFIG_FILE), "w") as f:
        json.dump({"config": probe.config.to_dict(), "metadata": metadata or {}}, f, indent=1)
    return directory


def read_probe_metadata(directory=PROBE_DIR):
    """The `metadata` stored with a saved probe (recipe, steps, accuracy)."""
    return _read_config(directory)["metadata"]


def _read_config(directory):
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.exists(path) or not os.path.exists(os.path.join(directory, WEIGHTS_FILE)):
        raise FileNotFoundError(
            f"No saved shapes probe in {directory!r} (it needs {CONFIG_FILE} and {WEIGHTS_FILE}); "
            "write one with zoo.evaluation.probe.save_probe(load_trained(workdir)).")
    with open(path) as f:
        return json.load(f)


@functools.lru_cache(maxsize=4)
def load_probe(directory=PROBE_DIR):
    """The trained probe saved in `directory` (default: the one shipped in the package).

    Loaded once per directory and cached: treat it as read-only.

    Example:
        probe = load_probe()
        probe.predict_grid(images)  # images uint8 [N, 64, 64, 3]
    """
    stored = _read_config(directory)
    probe = ShapesProbe(ShapesProbeConfig(**stored["config"]))
    probe.classifier.load_weights(os.path.join(directory, WEIGHTS_FILE))
    return probe


class ProbeReader:
    """Reads images of any size with a probe: resized to the probe's size, as `KerasFeatures` does.

    Args:
        probe: a `ShapesProbe` (default: the shipped one, `load_probe()`).
        batch_size: images per forward pass.

    Example:
        reader = ProbeReader()
        scores = attribute_accuracy(reader.read(generated), objects_from_arrays(batch["objects"]))
    """

    def __init__(self, probe=None, batch_size=256):
        self.probe = probe if probe is not None else load_probe()
        if not isinstance(self.probe, ShapesProbe):
            raise ValueError(f"probe must be a ShapesProbe, got {type(self.probe).__name__}.")
        self.image_size = self.probe.config.image_size
        self.batch_size = batch_size
        classifier = self.probe.classifier
        outputs = [classifier.get_layer(name).output for name in FEATURE_LAYERS]
        preprocess = lambda x: x / 127.5 - 1.0  # noqa: E731  (the zoo's [-1, 1] range)
        pooled = keras.Model(classifier.input, keras.layers.Concatenate()(
            [keras.layers.GlobalAveragePooling2D()(x) for x in outputs]), name="probe_features")
        per_cell = keras.Model(classifier.input, keras.layers.Concatenate()(
            [keras.layers.Flatten()(x) for x in outputs]), name="probe_cell_features")
        self._features = KerasFeatures(pooled, self.image_size, preprocess, batch_size=batch_size)
        self._cell_features = KerasFeatures(per_cell, self.image_size, preprocess, batch_size=batch_size)

    def read(self, images):
        """The probe's reading of uint8 (or [-1, 1] float) images [N, S, S, 3]: dict of int arrays [N, 3, 3]."""
        pixels = tf.constant(to_uint8(images).astype(np.float32))
        if tuple(pixels.shape[1:3]) != (self.image_size, self.image_size):
            # Resized as float values with antialiasing, as KerasFeatures does for FID.
            pixels = tf.image.resize(pixels, (self.image_size, self.image_size), method="bicubic", antialias=True)
        scaled = tf.clip_by_value(pixels, 0.0, 255.0) / 127.5 - 1.0
        return self.probe.predict_grid(scaled, batch_size=self.batch_size)

    def features(self, images):
        """Probe features averaged over the cells (float64 [N, D]) of uint8 or [-1, 1] images, for FID and KID."""
        return self._features(images)

    def cell_features(self, images):
        """Probe features of every cell, flattened (float64 [N, 9 D]): they say what is where."""
        return self._cell_features(images)
