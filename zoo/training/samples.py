"""TensorBoard samples for a fixed set of inputs: images for generators, text for captioners.

On `shapes`, text-to-image and image-to-image runs also log the strict reader's scores of
the whole fixed batch (validation scenes the model never trains on): `reader/objects_right`,
`reader/scenes_right` and per size, a model-selection signal the generator never sees.
"""

import numpy as np
import tensorflow as tf

from zoo.evaluation.scenes import objects_from_arrays
from zoo.metrics.shapes_reader import read_images, reader_scores
from zoo.models.base import to_uint8

MAX_SAMPLES = 8


def _grid(images):
    """uint8 [N, H, W, 3] -> one row image [1, H, N*W, 3]."""
    return np.concatenate(list(images), axis=1)[None]


def write(task, step, fixed_batch):
    """Write the task's output for `fixed_batch` (a batch dict from `zoo.data.load`) at `step`."""
    if "objects" in fixed_batch and task.task_name in ("text-to-image", "image-to-image"):
        write_reader_scores(task, step, fixed_batch)
    batch = {k: v[:MAX_SAMPLES] for k, v in fixed_batch.items() if k != "objects"}
    real = to_uint8(batch["image"])
    kind = task.task_name
    if kind == "text-to-image":
        captions = [c.decode() for c in batch["caption"].numpy()]
        generated = task.generate(captions, seed=0)
        tf.summary.image("samples/generated", _grid(generated), step=step)
        tf.summary.text("samples/captions", tf.constant(captions), step=step)
    elif kind == "image-to-text":
        predicted = task.caption(real, beam_size=1)
        truth = [c.decode() for c in batch["caption"].numpy()]
        rows = [f"{p}  |  truth: {t}" for p, t in zip(predicted, truth)]
        tf.summary.text("samples/captions", tf.constant(rows), step=step)
    elif kind == "inpainting":
        masks = batch["mask"].numpy().astype(np.uint8)
        captions = [c.decode() for c in batch["caption"].numpy()] if "caption" in batch else None
        restored = task.inpaint(real, masks, captions)
        tf.summary.image("samples/masked", _grid(real * (1 - masks)), step=step)
        tf.summary.image("samples/inpainted", _grid(restored), step=step)
    elif kind == "image-to-image":
        translated = task.translate(batch["label_map"].numpy())
        tf.summary.image("samples/translated", _grid(translated), step=step)
        tf.summary.image("samples/real", _grid(real), step=step)


def write_reader_scores(task, step, batch):
    """The strict reader's scores of the task's images for a whole `shapes` batch, as scalars."""
    if task.task_name == "text-to-image":
        captions = [c.decode() for c in batch["caption"].numpy()]
        images = task.generate(captions, seed=0)
    else:
        images = task.translate(batch["label_map"].numpy())
    truth = objects_from_arrays({k: v.numpy() for k, v in batch["objects"].items()})
    scores = reader_scores(read_images(images), truth)
    for key, name in (("object", "objects_right"), ("scene", "scenes_right"), ("object_small", "object_small"),
                      ("object_large", "object_large"), ("shape", "shape")):
        if np.isfinite(scores[key]):
            tf.summary.scalar(f"reader/{name}", scores[key], step=step)
    return scores
