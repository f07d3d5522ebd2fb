"""Training step of `regression_t2i`: a pixel loss between the decoded caption and its image."""

import tensorflow as tf

from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_gradients

PIXEL_LOSSES = ("l1", "l2")
HPARAMS = {"pixel_loss": "l1"}  # l1: the per-pixel median of a caption's scenes; l2: the mean


def optimizer_groups(task):
    return {"regression": task.trainable_variables}


def pixel_loss(images, predictions, kind="l1"):
    """Mean absolute (l1) or squared (l2) error per pixel and channel."""
    if kind not in PIXEL_LOSSES:
        raise ValueError(f"pixel_loss must be one of {PIXEL_LOSSES}, got {kind!r}.")
    error = tf.cast(predictions, tf.float32) - images
    return tf.reduce_mean(tf.abs(error) if kind == "l1" else tf.square(error))


def train_step(task, optimizers, batch, seed, hparams):
    # Deterministic: `seed` is part of the step interface but nothing here is random.
    del seed
    optimizer = optimizers["regression"]
    variables = optimizer_groups(task)["regression"]
    with tf.GradientTape() as tape:
        predictions = task({"tokens": batch["tokens"]}, training=True)["images"]
        loss = pixel_loss(batch["image"], predictions, hparams["pixel_loss"])
    apply_gradients(optimizer, tape, loss, variables)
    return {"loss": loss}


register_steps(
    FamilySteps(
        family="regression_t2i",
        train_step=train_step,
        optimizer_groups=optimizer_groups,
        hparams=HPARAMS,
        # Not a GAN: the usual Adam momentum (beta_1 = 0.9) rather than the GAN default of 0.5.
        optimizer_defaults={"learning_rate": 1e-3, "beta_1": 0.9},
        dataset_options={"masks": None},
    )
)
