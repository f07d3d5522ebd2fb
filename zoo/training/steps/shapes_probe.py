"""Training step of `shapes_probe`: per-cell cross-entropies against the scene's objects.

`occupied` is learnt at every cell; `colour`, `shape` and `size` only where an
object is (their targets are -1 elsewhere), each averaged over the occupied cells.
Optional Gaussian pixel noise (`input_noise`, in [-1, 1] units) keeps the probe
from relying on the exact noise level of the renderer, since it scores
generated images too. It is off by default: under XLA on CPU, drawing an
image-sized normal tensor (Philox) costs more than the whole probe's step.
"""

import tensorflow as tf

from zoo.models.shapes_probe import ATTRIBUTES, grid_targets
from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_gradients

HPARAMS = {"input_noise": 0.0, "occupied_weight": 1.0, "attribute_weight": 1.0}


def optimizer_groups(task):
    return {"probe": task.trainable_variables}


def masked_cross_entropy(targets, logits, mask):
    """Mean sparse cross-entropy over the cells where `mask` is 1 (0 when there are none)."""
    safe_targets = tf.maximum(targets, 0)  # -1 at masked cells; any valid id, then masked out
    per_cell = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe_targets, logits=logits)
    mask = tf.cast(mask, per_cell.dtype)
    return tf.reduce_sum(per_cell * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def probe_losses(logits, targets):
    """{head: cross-entropy}: `occupied` over all cells, attributes over occupied cells."""
    everywhere = tf.ones_like(targets["occupied"])
    losses = {"occupied": masked_cross_entropy(targets["occupied"], logits["occupied"], everywhere)}
    for key in ATTRIBUTES:
        losses[key] = masked_cross_entropy(targets[key], logits[key], targets["occupied"])
    return losses


def train_step(task, optimizers, batch, seed, hparams):
    optimizer = optimizers["probe"]
    variables = optimizer_groups(task)["probe"]
    images = batch["image"]
    if hparams["input_noise"]:
        images = images + hparams["input_noise"] * tf.random.stateless_normal(tf.shape(images), seed=seed)
    targets = grid_targets(batch["objects"])
    with tf.GradientTape() as tape:
        losses = probe_losses(task({"images": images}, training=True), targets)
        attributes = tf.add_n([losses[key] for key in ATTRIBUTES])
        loss = hparams["occupied_weight"] * losses["occupied"] + hparams["attribute_weight"] * attributes
    apply_gradients(optimizer, tape, loss, variables)
    return {"loss": loss, **losses}


register_steps(
    FamilySteps(
        family="shapes_probe",
        train_step=train_step,
        optimizer_groups=optimizer_groups,
        hparams=HPARAMS,
        dataset_options={"masks": None},
    )
)
