"""TensorBoard samples for a fixed set of inputs: images for generators, text for captioners.

On `shapes`, text-to-image and image-to-image runs also log the strict reader's scores of
the fixed validation scenes (`TrainConfig.validation_scenes`, scenes the model never trains
on): `reader/objects_right`, `reader/scenes_right` and per size, a model-selection signal the
generator never sees.
"""

import numpy as np
import tensorflow as tf

from zoo.evaluation.scenes import objects_from_arrays
from zoo.metrics.shapes_reader import read_images, reader_scores

MAX_SAMPLES = 8


def _grid(images):
    """uint8 [N, H, W, 3] -> one row image [1, H, N*W, 3]."""
    return np.concatenate(list(images), axis=1)[None]


def write(task, step, fixed_batch, batch_size=None):
    """Write the task's output for `fixed_batch` (a batch dict from `zoo.data.load`) at `step`.

    The panels are the task kind's (`sample_panels`), of the first `MAX_SAMPLES` examples: images
    as image summaries, text as text. Where the task draws `shapes` scenes, the strict reader
    scores every example of `fixed_batch`, drawn `batch_size` at a time (default: all at once).
    Returns those scores (`reader_scores`), else None.
    """
    scores = None
    if "objects" in fixed_batch and task.draws_scenes:
        scores = write_reader_scores(task, step, fixed_batch, batch_size)
    batch = {k: v[:MAX_SAMPLES] for k, v in fixed_batch.items() if k != "objects"}
    for name, panel in task.sample_panels(batch).items():
        if isinstance(panel, list):
            tf.summary.text(f"samples/{name}", tf.constant(panel), step=step)
        else:
            tf.summary.image(f"samples/{name}", _grid(panel), step=step)
    return scores


def write_reader_scores(task, step, batch, batch_size=None):
    """The strict reader's scores of the task's images for a `shapes` batch of any size, as scalars."""
    count = len(batch["objects"]["cell"])
    size = batch_size or count
    parts = [task.outputs_for({k: v[start:start + size] for k, v in batch.items() if k != "objects"})
             for start in range(0, count, size)]
    truth = objects_from_arrays({k: v.numpy() for k, v in batch["objects"].items()})
    scores = reader_scores(read_images(np.concatenate(parts)), truth)
    for key, name in (("object", "objects_right"), ("scene", "scenes_right"), ("object_small", "object_small"),
                      ("object_large", "object_large"), ("shape", "shape")):
        if np.isfinite(scores[key]):
            tf.summary.scalar(f"reader/{name}", scores[key], step=step)
    return scores
