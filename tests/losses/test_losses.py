"""zoo.losses against reference implementations (Keras' cross-entropy and MSE, numpy's hinge)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.losses import discriminator_term, gaussian_kl, generator_adversarial

LOGITS = tf.constant([[-2.5], [-0.3], [0.0], [0.7], [3.1]])


def test_non_saturating_is_the_cross_entropy_with_logits():
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    ones, zeros = tf.ones_like(LOGITS), tf.zeros_like(LOGITS)
    assert float(discriminator_term(LOGITS, "non_saturating")) == pytest.approx(float(bce(ones, LOGITS)), rel=1e-5)
    assert float(discriminator_term(LOGITS, "non_saturating", real=False)) == pytest.approx(
        float(bce(zeros, LOGITS)), rel=1e-5)
    assert float(generator_adversarial(LOGITS, "non_saturating")) == pytest.approx(float(bce(ones, LOGITS)), rel=1e-5)


def test_hinge_and_least_squares():
    x = LOGITS.numpy()
    assert float(discriminator_term(LOGITS, "hinge")) == pytest.approx(np.maximum(0, 1 - x).mean(), rel=1e-6)
    assert float(discriminator_term(LOGITS, "hinge", real=False)) == pytest.approx(np.maximum(0, 1 + x).mean(), rel=1e-6)
    assert float(generator_adversarial(LOGITS, "hinge")) == pytest.approx(-x.mean(), rel=1e-6)
    mse = keras.losses.MeanSquaredError()
    assert float(discriminator_term(LOGITS, "lsgan")) == pytest.approx(float(mse(tf.ones_like(LOGITS), LOGITS)))
    assert float(discriminator_term(LOGITS, "lsgan", real=False)) == pytest.approx(float(mse(tf.zeros_like(LOGITS),
                                                                                           LOGITS)))


def test_a_patch_grid_and_bfloat16_logits_reduce_to_one_float32_scalar():
    grid = tf.cast(tf.reshape(tf.range(-8.0, 8.0), (2, 2, 2, 2)), tf.bfloat16)
    value = discriminator_term(grid, "hinge")
    assert value.dtype == tf.float32 and value.shape == ()
    with pytest.raises(ValueError, match="loss must be one of"):
        discriminator_term(grid, "wasserstein")


def test_gaussian_kl_matches_the_closed_form():
    assert float(gaussian_kl(tf.zeros((3, 4)), tf.zeros((3, 4)))) == pytest.approx(0.0)
    mean, log_variance = tf.ones((2, 4)), tf.fill((2, 4), float(np.log(2.0)))
    assert float(gaussian_kl(mean, log_variance)) == pytest.approx(4 * 0.5 * (1 + 2 - 1 - np.log(2.0)), rel=1e-5)
