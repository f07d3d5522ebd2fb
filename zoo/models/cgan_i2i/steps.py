"""Training step of `cgan_i2i` (pix2pix): adversarial loss on (input, image) pairs plus L1 to the target.

One generator forward pass feeds both tapes (simultaneous updates, as in pix2pix),
applied together (`apply_together`).
The discriminator sees real and generated pairs in one batch, so its layers run
once per step. Dropout masks are drawn from the step's seed.
"""

import tensorflow as tf

from zoo.losses import discriminator_term, generator_adversarial, ssim_loss
from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_together, non_negative_hparam

GAN_LOSSES = ("non_saturating", "lsgan")


def discriminator_loss(real_logits, fake_logits, kind):
    """Half the discriminator's loss (pix2pix halves it to slow D relative to G)."""
    return 0.5 * (discriminator_term(real_logits, kind) + discriminator_term(fake_logits, kind, real=False))


def cgan_i2i_train_step(task, optimizers, batch, seed, hparams):
    """One pix2pix step on a batch with `label_map` (input) and `image` (target); returns scalar losses."""
    kind = hparams["gan_loss"]
    if kind not in GAN_LOSSES:
        raise ValueError(f"gan_loss must be one of {GAN_LOSSES}, got {kind!r}.")
    inputs = task.encode_inputs(batch["label_map"])
    real = batch["image"]
    batch_size = real.shape[0]
    dropout_masks = task.dropout_masks(batch_size, seed)
    generator_variables = task.generator.trainable_variables
    discriminator_variables = task.discriminator.trainable_variables
    if not hparams["adversarial_weight"]:
        return _l1_only_step(task, optimizers, inputs, real, dropout_masks, hparams)
    with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
        fake = task.generator({"inputs": inputs, **dropout_masks}, training=True)
        logits = task.discriminator(
            {"inputs": tf.concat([inputs, inputs], 0), "images": tf.concat([real, fake], 0)}, training=True
        )
        real_logits, fake_logits = tf.split(tf.cast(logits, tf.float32), 2, axis=0)
        l1 = tf.reduce_mean(tf.abs(real - tf.cast(fake, tf.float32)))
        adversarial = generator_adversarial(fake_logits, kind)
        structure, structure_logs = _structure_term(fake, real, hparams)
        generator_loss = hparams["adversarial_weight"] * adversarial + hparams["l1_weight"] * l1 + structure
        discriminator_loss_value = discriminator_loss(real_logits, fake_logits, kind)
    # Both or neither (on a mixed-precision overflow), so that G and D never fall out of step.
    applied = apply_together([(optimizers["generator"], generator_tape, generator_loss, generator_variables),
                              (optimizers["discriminator"], discriminator_tape, discriminator_loss_value,
                               discriminator_variables)])
    return {
        "generator_loss": generator_loss,
        "discriminator_loss": discriminator_loss_value,
        "l1": l1,
        "adversarial": adversarial,
        "applied": tf.cast(applied, tf.float32),
        **structure_logs,
    }


def _structure_term(fake, real, hparams):
    """(`ssim_weight` x (1 - SSIM(fake, real)), {"ssim_loss": 1 - SSIM}) for the generator's loss and logs;
    (0, {}) when the weight is 0: nothing computed, no key logged."""
    weight = non_negative_hparam(hparams, "ssim_weight", "the paper's objective")
    if not weight:
        return 0.0, {}
    structure = ssim_loss(fake, real)
    return weight * structure, {"ssim_loss": structure}


def _l1_only_step(task, optimizers, inputs, real, dropout_masks, hparams):
    """The paper's "L1 alone" ablation (`adversarial_weight=0`): the U-Net by L1, no discriminator.

    The discriminator is neither run nor updated, so a step costs about half a GAN step (facades at
    batch 1: 76 against 145 ms, two threads); its variables stay in the checkpoint as built.
    """
    with tf.GradientTape() as generator_tape:
        fake = task.generator({"inputs": inputs, **dropout_masks}, training=True)
        l1 = tf.reduce_mean(tf.abs(real - tf.cast(fake, tf.float32)))
        structure, structure_logs = _structure_term(fake, real, hparams)
        generator_loss = hparams["l1_weight"] * l1 + structure
    applied = apply_together([(optimizers["generator"], generator_tape, generator_loss,
                               task.generator.trainable_variables)])
    zero = tf.zeros([], tf.float32)
    return {"generator_loss": generator_loss, "discriminator_loss": zero, "l1": l1, "adversarial": zero,
            "applied": tf.cast(applied, tf.float32), **structure_logs}


def optimizer_groups(task):
    return {"generator": task.generator.trainable_variables, "discriminator": task.discriminator.trainable_variables}


STEPS = register_steps(
    FamilySteps(
        family="cgan_i2i",
        train_step=cgan_i2i_train_step,
        optimizer_groups=optimizer_groups,
        # ssim_weight: a 1 - SSIM term beside L1 (0: the paper's objective).
        hparams={"l1_weight": 100.0, "adversarial_weight": 1.0, "gan_loss": "non_saturating", "ssim_weight": 0.0},
        ema_networks=lambda task: [task.generator],
        # pix2pix: Adam, learning rate 2e-4, beta_1 0.5.
        optimizer_defaults={"learning_rate": 2e-4, "beta_1": 0.5},
        dataset_options={"masks": None},
    )
)
