"""The losses the families' training steps share, computed in float32.

Adversarial terms (generator/discriminator pairs), the Gaussian KL, masked L1,
1 - SSIM, masked sparse cross-entropy and the contrastive (CLIP-style) loss.

Each adversarial loss is a mean over every logit it is given (a PatchGAN's grid as
well as one logit per image), so that callers may pass fakes of any batch size.

Example:
    d_loss = discriminator_term(real_logits, "hinge") + discriminator_term(fake_logits, "hinge", real=False)
    g_loss = generator_adversarial(fake_logits, "hinge")
"""

import tensorflow as tf

from zoo.metrics.reconstruction import SSIM_K1, SSIM_K2, SSIM_SIGMA, SSIM_WINDOW

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


def masked_l1(predictions, targets, weights):
    """Mean absolute error over the pixels where `weights` ([B, S, S, 1]) is 1; 0 when there are none."""
    predictions, targets = tf.cast(predictions, tf.float32), tf.cast(targets, tf.float32)
    channels = tf.cast(tf.shape(predictions)[-1], tf.float32)
    total = tf.reduce_sum(tf.abs(predictions - targets) * weights)
    return total / tf.maximum(tf.reduce_sum(weights) * channels, 1.0)


def masked_gradient_l1(predictions, targets, weights):
    """Mean absolute error of horizontal and vertical pixel differences where `weights` ([B, S, S, 1]) is 1
    at either pixel of the pair (Mathieu et al.'s gradient difference loss, p = 1, inside a hole).

    Pixel L1 pays little for a blurred edge or a shape's thin tip; this term pays for every
    edge pixel that is missing or misplaced. 0 when no pair is weighted.
    """
    predictions, targets = tf.cast(predictions, tf.float32), tf.cast(targets, tf.float32)
    weights = tf.cast(weights, tf.float32)
    channels = tf.cast(tf.shape(predictions)[-1], tf.float32)
    total, count = 0.0, 0.0
    # Each pair of vertical, then horizontal, neighbours as (later pixels, earlier pixels).
    for neighbours in (lambda x: (x[:, 1:], x[:, :-1]), lambda x: (x[:, :, 1:], x[:, :, :-1])):
        pairs = tf.maximum(*neighbours(weights))
        (predicted, predicted_before), (target, target_before) = neighbours(predictions), neighbours(targets)
        total += tf.reduce_sum(tf.abs((predicted - predicted_before) - (target - target_before)) * pairs)
        count += tf.reduce_sum(pairs) * channels
    return total / tf.maximum(count, 1.0)


def ssim_loss(predictions, targets):
    """1 - the mean SSIM of images in [-1, 1] [B, H, W, C], measured as `zoo.metrics.ssim` does.

    The images are mapped to [0, 1] first: SSIM's luminance term is not shift-invariant, so
    this is the SSIM the evaluation reports (`tf.image.ssim` with the metric's Gaussian window,
    sigma, K1 and K2, over the valid positions and the channels). It
    pays for texture that does not line up with the target's, which L1 pays little for,
    as in the L1 + SSIM mix of Zhao et al. (2017).
    """
    predictions, targets = tf.cast(predictions, tf.float32), tf.cast(targets, tf.float32)
    similarity = tf.image.ssim((predictions + 1.0) / 2.0, (targets + 1.0) / 2.0, max_val=1.0,
                               filter_size=SSIM_WINDOW, filter_sigma=SSIM_SIGMA, k1=SSIM_K1, k2=SSIM_K2)
    return 1.0 - tf.reduce_mean(similarity)


def masked_cross_entropy(targets, logits, mask):
    """Mean sparse cross-entropy over the positions where `mask` is 1 (0 when there are none).

    Targets at masked positions are never read (they may be -1 or padding).
    """
    safe_targets = tf.maximum(targets, 0)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=safe_targets, logits=tf.cast(logits, tf.float32))
    mask = tf.cast(mask, tf.float32)
    return tf.reduce_sum(losses * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def contrastive_loss(logits):
    """Symmetric InfoNCE (CLIP): each image against all captions and each caption against all images.

    `logits` [B, B] are scaled similarities with the matching pairs on the diagonal.
    """
    logits = tf.cast(logits, tf.float32)
    labels = tf.range(tf.shape(logits)[0])
    image_to_text = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
    text_to_image = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.transpose(logits))
    return 0.5 * (tf.reduce_mean(image_to_text) + tf.reduce_mean(text_to_image))
