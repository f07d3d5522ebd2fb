"""Helpers the step functions share."""

import keras
import tensorflow as tf


def apply_gradients(optimizer, tape, loss, variables):
    """Gradients of `loss` applied to `variables`, with loss scaling when `optimizer` scales.

    With a `keras.optimizers.LossScaleOptimizer` the loss is scaled before the
    gradient and the optimizer unscales, and skips the update on overflow.
    Returns the (unscaled by the optimizer) gradients.
    """
    gradients = tape.gradient(_scaled(optimizer, tape, loss), variables)
    optimizer.apply(gradients, variables)
    return gradients


def _scaled(optimizer, tape, loss):
    """The loss times the optimizer's loss scale, recorded on `tape` (re-entered for it)."""
    with tape:
        return optimizer.scale_loss(loss)


def non_negative_hparam(hparams, name, zero_means):
    """`hparams[name]`, a number >= 0; else one clear ValueError that says what 0 means."""
    value = hparams[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a number >= 0 (0: {zero_means}), got {value!r}.")
    return value


def split_seed(seed, count):
    """`count` independent int32 [2] seeds from one, for stateless random ops."""
    return tf.unstack(tf.random.experimental.stateless_split(seed, num=count), axis=0)


def mismatched(tensor):
    """The batch rolled by one: each example paired with another example's condition."""
    return tf.roll(tensor, shift=1, axis=0)


def _all_finite(gradients):
    finite = [tf.reduce_all(tf.math.is_finite(g)) for g in gradients if g is not None]
    return tf.reduce_all(tf.stack(finite)) if finite else tf.constant(True)


def apply_together(updates):
    """Apply several optimizers' updates as one: all of them, or (on overflow) none.

    `updates` is a list of (optimizer, tape, loss, variables). Under mixed_float16 each
    optimizer is a `LossScaleOptimizer`; if any gradient overflows, every optimizer is
    handed non-finite gradients so that all skip this step and all lower their loss
    scale together (a GAN's generator and discriminator must not drift out of step).
    Returns a bool tensor: whether the step was applied.
    """
    computed = []
    for optimizer, tape, loss, variables in updates:
        computed.append((optimizer, tape.gradient(_scaled(optimizer, tape, loss), variables), variables))
    finite = tf.reduce_all(tf.stack([_all_finite(g) for _, g, _ in computed]))
    for optimizer, gradients, variables in computed:
        # Variables without a gradient (e.g. a frozen branch) are left out of the update.
        pairs = [(g, v) for g, v in zip(gradients, variables) if g is not None]
        gradients, variables = [g for g, _ in pairs], [v for _, v in pairs]
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            poison = tf.where(finite, 0.0, float("nan"))
            gradients = [g + tf.cast(poison, g.dtype) for g in gradients]
        optimizer.apply(gradients, variables)
    return finite
