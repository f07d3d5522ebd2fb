"""Training step of `cgan_inpaint`: L1 on hole and valid pixels plus the SN-PatchGAN hinge loss.

The caption is dropped for a random `text_dropout` fraction of the examples
(their `has_text` flag is 0), so one model learns both text-guided inpainting
and plain completion. The discriminator sees real and completed images in one
batch, so its spectral norms take one power iteration per step.
"""

import tensorflow as tf

from zoo.losses import discriminator_term, generator_adversarial, masked_gradient_l1, masked_l1
from zoo.text import PAD_ID
from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_together


def caption_flags(batch, seed, text_dropout):
    """has_text [B, 1]: 1 where the example has a caption and survives the random drop."""
    tokens = batch["tokens"]
    has_caption = tf.reduce_any(tf.not_equal(tokens, PAD_ID), axis=-1, keepdims=True)
    if text_dropout == 0.0:
        return tf.cast(has_caption, tf.float32)
    kept = tf.random.stateless_uniform(has_caption.shape, seed=seed) >= text_dropout
    return tf.cast(has_caption & kept, tf.float32)


def cgan_inpaint_train_step(task, optimizers, batch, seed, hparams):
    """One step on a batch with `image` and `mask` (and `tokens`); returns scalar losses."""
    images, masks = batch["image"], batch["mask"]
    inputs = {"images": images, "masks": masks}
    generator_variables = task.generator.trainable_variables
    if task.uses_text and "tokens" in batch:
        inputs.update(tokens=batch["tokens"], has_text=caption_flags(batch, seed, hparams["text_dropout"]))
        generator_variables = generator_variables + task.text_encoder.trainable_variables
    discriminator_variables = task.discriminator.trainable_variables
    with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
        outputs = task.complete(inputs, training=True)
        logits = task.discriminator(
            {"images": tf.concat([images, outputs["images"]], 0), "masks": tf.concat([masks, masks], 0)},
            training=True,
        )
        real_logits, fake_logits = tf.split(tf.cast(logits, tf.float32), 2, axis=0)
        hole_l1 = masked_l1(outputs["generated"], images, masks)
        valid_l1 = masked_l1(outputs["generated"], images, 1.0 - masks)
        adversarial = generator_adversarial(fake_logits, "hinge")
        generator_loss = (
            hparams["hole_weight"] * hole_l1 + hparams["valid_weight"] * valid_l1
            + hparams["adversarial_weight"] * adversarial
        )
        if hparams["hole_gradient_weight"]:
            hole_gradient_l1 = masked_gradient_l1(outputs["images"], images, masks)
            generator_loss += hparams["hole_gradient_weight"] * hole_gradient_l1
        discriminator_loss = (discriminator_term(real_logits, "hinge")
                              + discriminator_term(fake_logits, "hinge", real=False))
    # Both or neither (on a mixed-precision overflow), so that G and D never fall out of step.
    applied = apply_together([(optimizers["generator"], generator_tape, generator_loss, generator_variables),
                              (optimizers["discriminator"], discriminator_tape, discriminator_loss,
                               discriminator_variables)])
    return {
        "generator_loss": generator_loss,
        "discriminator_loss": discriminator_loss,
        "hole_l1": hole_l1,
        "valid_l1": valid_l1,
        "adversarial": adversarial,
        "applied": tf.cast(applied, tf.float32),
        **({"hole_gradient_l1": hole_gradient_l1} if hparams["hole_gradient_weight"] else {}),
    }


def optimizer_groups(task):
    # The text encoder learns with the generator: the hole L1 on `object` masks is what teaches it.
    generator = task.generator.trainable_variables
    if task.uses_text:
        generator = generator + task.text_encoder.trainable_variables
    return {"generator": generator, "discriminator": task.discriminator.trainable_variables}


STEPS = register_steps(
    FamilySteps(
        family="cgan_inpaint",
        train_step=cgan_inpaint_train_step,
        optimizer_groups=optimizer_groups,
        # Hole pixels weigh 6x the valid ones (partial convolutions' weights); the hinge term
        # is kept small so the reconstruction leads on this small budget.
        # hole_gradient_weight: the L1 of pixel differences in and at the hole (masked_gradient_l1), which
        # pays for edges and thin tips that the pixel L1 lets blur.
        hparams={"hole_weight": 6.0, "valid_weight": 1.0, "adversarial_weight": 0.1, "text_dropout": 0.2,
                 "hole_gradient_weight": 0.0},
        ema_networks=lambda task: [task.generator],
        # DeepFill v2 uses Adam at 1e-4 (beta_1 0.5); 4e-4 was stable here and, on shapes at batch 32,
        # made the caption matter within 2500 steps (object-mask hole L1 0.16 with it, 0.30 without).
        optimizer_defaults={"learning_rate": 4e-4, "beta_1": 0.5},
        dataset_options={"masks": "mix"},
    )
)
