"""Training step of the `captioner` family: teacher forcing with a masked cross-entropy.

The decoder predicts `tokens[:, 1:]` from `tokens[:, :-1]`; padding targets do not
count. Show, Attend and Tell's doubly stochastic attention penalty,
`(1 - sum_t attention[t, i])^2` averaged over grid cells `i`, asks every cell to be
looked at about once over a caption, so the decoder does not stare at one spot.
"""

import tensorflow as tf

from zoo.losses import masked_cross_entropy
from zoo.text import PAD_ID
from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_gradients

HPARAMS = {
    "attention_weight": 1.0,  # the paper's lambda for the doubly stochastic penalty; 0 turns it off
}


def captioner_optimizer_groups(task):
    """One group with every variable the captioning loss reaches (the text encoder's BiLSTM is unused)."""
    variables, seen = [], set()
    for network in (task.image_encoder, task.decoder):
        for variable in network.trainable_variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return {"captioner": variables}


def doubly_stochastic_penalty(attention, mask):
    """Mean over images and grid cells of (1 - total attention a cell gets over the real steps)^2."""
    received = tf.reduce_sum(tf.cast(attention, tf.float32) * mask[..., None], axis=1)
    return tf.reduce_mean(tf.square(1.0 - received))


def masked_accuracy(targets, logits, mask):
    """Fraction of real target tokens predicted exactly (teacher forced)."""
    hits = tf.cast(tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), targets), tf.float32)
    return tf.reduce_sum(hits * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def captioner_train_step(task, optimizers, batch, seed, hparams):
    """One teacher-forced step on `batch["image"]` and `batch["tokens"]`.

    `seed` is unused: the captioner has no noise input. Returns `loss` (the optimised
    total), `cross_entropy`, `attention_penalty` and `token_accuracy`.
    """
    del seed
    hparams = {**HPARAMS, **hparams}
    variables = captioner_optimizer_groups(task)["captioner"]
    tokens = tf.cast(batch["tokens"], tf.int32)
    targets = tokens[:, 1:]
    mask = tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)
    with tf.GradientTape() as tape:
        outputs = task({"images": batch["image"], "tokens": tokens}, training=True)
        cross_entropy = masked_cross_entropy(targets, outputs["logits"], mask)
        penalty = doubly_stochastic_penalty(outputs["attention"], mask)
        loss = cross_entropy + hparams["attention_weight"] * penalty
    apply_gradients(optimizers["captioner"], tape, loss, variables)
    return {
        "loss": loss,
        "cross_entropy": cross_entropy,
        "attention_penalty": penalty,
        "token_accuracy": masked_accuracy(targets, outputs["logits"], mask),
    }


register_steps(
    FamilySteps(
        family="captioner",
        train_step=captioner_train_step,
        optimizer_groups=captioner_optimizer_groups,
        hparams=dict(HPARAMS),
        dataset_options={"masks": None},  # captions need no holes; skipping them saves rendering
    )
)
