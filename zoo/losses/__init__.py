"""GAN and latent-variable losses the families' training steps share (in float32).

Each adversarial loss is a mean over every logit it is given (a PatchGAN's grid as
well as one logit per image), so that callers may pass fakes of any batch size.

Example:
    d_loss = discriminator_term(real_logits, "hinge") + discriminator_term(fake_logits, "hinge", real=False)
    g_loss = generator_adversarial(fake_logits, "hinge")
"""

import tensorflow as tf

ADVERSARIAL_LOSSES = ("hinge", "non_saturating", "lsgan")


def _check(kind):
    if kind not in ADVERSARIAL_LOSSES:
        raise ValueError(f"loss must be one of {ADVERSARIAL_LOSSES}, got {kind!r}.")


def discriminator_term(logits, kind, real=True):
    """The discriminator's loss on logits of real (`real=True`) or fake inputs, averaged.

    hinge: relu(1 - D) on real, relu(1 + D) on fake (SN-GAN, SAGAN, DF-GAN); non_saturating:
    the cross-entropy with logits, softplus(-D) and softplus(D); lsgan: (D - 1)^2 and D^2.
    """
    _check(kind)
    logits = tf.cast(logits, tf.float32)
    sign = 1.0 if real else -1.0
    if kind == "hinge":
        return tf.reduce_mean(tf.nn.relu(1.0 - sign * logits))
    if kind == "non_saturating":
        return tf.reduce_mean(tf.nn.softplus(-sign * logits))
    return tf.reduce_mean(tf.square(logits - (1.0 if real else 0.0)))


def generator_adversarial(fake_logits, kind):
    """The generator's adversarial loss: -D (hinge), softplus(-D) = -log sigmoid(D), or (D - 1)^2."""
    _check(kind)
    fake_logits = tf.cast(fake_logits, tf.float32)
    if kind == "hinge":
        return tf.reduce_mean(-fake_logits)
    return discriminator_term(fake_logits, kind, real=True)


def gaussian_kl(mean, log_variance):
    """KL(N(mean, exp(log_variance)) || N(0, I)), summed over dimensions, averaged over the batch."""
    mean, log_variance = tf.cast(mean, tf.float32), tf.cast(log_variance, tf.float32)
    per_dimension = 0.5 * (tf.square(mean) + tf.exp(log_variance) - 1.0 - log_variance)
    return tf.reduce_mean(tf.reduce_sum(per_dimension, axis=-1))
