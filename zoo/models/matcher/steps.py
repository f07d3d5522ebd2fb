"""The `matcher` step: symmetric contrastive (InfoNCE) loss over the batch's image-caption pairs."""

import tensorflow as tf

from zoo.losses import contrastive_loss
from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_gradients


def train_step(task, optimizers, batch, seed, hparams):
    del seed  # deterministic
    variables = task.trainable_variables
    with tf.GradientTape() as tape:
        logits = task({"images": batch["image"], "tokens": batch["tokens"]}, training=True)["logits"]
        logits = tf.cast(logits, tf.float32)
        loss = contrastive_loss(logits)
    apply_gradients(optimizers["matcher"], tape, loss, variables)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32),
                                               tf.range(tf.shape(logits)[0])), tf.float32))
    return {"loss": loss, "retrieval_accuracy": accuracy}


register_steps(FamilySteps(
    family="matcher",
    train_step=train_step,
    optimizer_groups=lambda task: {"matcher": task.trainable_variables},
    optimizer_defaults={"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999},
    dataset_options={"masks": None},
    pretrained_networks=("text_encoder", "image_encoder", "text_projection"),
))
