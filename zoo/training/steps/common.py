"""Helpers the step functions share."""

import tensorflow as tf


def apply_gradients(optimizer, tape, loss, variables):
    """Gradients of `loss` applied to `variables`, with loss scaling when `optimizer` scales.

    With a `keras.optimizers.LossScaleOptimizer` the loss is scaled before the
    gradient and the optimizer unscales, and skips the update on overflow.
    Returns the (unscaled by the optimizer) gradients.
    """
    scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
    gradients = tape.gradient(scaled, variables)
    optimizer.apply(gradients, variables)
    return gradients


def split_seed(seed, count):
    """`count` independent int32 [2] seeds from one, for stateless random ops."""
    return tf.unstack(tf.random.experimental.stateless_split(seed, num=count), axis=0)


def mismatched(tensor):
    """The batch rolled by one: each example paired with another example's condition."""
    return tf.roll(tensor, shift=1, axis=0)
