"""Tests of the `regression_t2i` training step (tiny variant, one fixed shapes batch)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.training.resettable_step import build_optimizers, numeric_batch
from zoo.training.steps import get_steps
from zoo.models.regression_t2i.steps import HPARAMS, pixel_loss, train_step


@pytest.fixture(scope="module")
def batch():
    return numeric_batch()


def test_registered_steps():
    steps = get_steps("regression_t2i")
    task = zoo.build("regression_t2i_tiny").build_all()
    groups = steps.optimizer_groups(task)
    assert set(groups) == {"regression"} and len(groups["regression"]) == len(task.trainable_variables)
    assert steps.dataset_options == {"masks": None}
    assert steps.hparams["pixel_loss"] in ("l1", "l2")


def test_compiled_step_overfits_one_batch(batch):
    keras.utils.set_random_seed(0)
    task = zoo.build("regression_t2i_tiny").build_all()
    optimizers = build_optimizers(task, 3e-3)
    # A graph without XLA, as the Trainer runs it on CPU (XLA compiles slowly there; the
    # eager == compiled test covers XLA).
    step = tf.function(lambda b, s: train_step(task, optimizers, b, s, HPARAMS))
    first = float(step(batch, tf.constant([0, 0]))["loss"])
    for index in range(1, 40):
        losses = step(batch, tf.constant([index, 0]))
    # Stated factor: the pixel loss of one memorised batch falls at least 3-fold in 40 steps.
    assert float(losses["loss"]) < first / 3


@pytest.mark.slow  # XLA against eager: cgan_i2i, cgan_inpaint and shapes_probe in CI, this family with `-m slow`
def test_eager_and_compiled_steps_agree(batch):
    keras.utils.set_random_seed(1)
    eager_task = zoo.build("regression_t2i_tiny").build_all()
    compiled_task = zoo.build("regression_t2i_tiny").build_all()
    compiled_task.set_weights(eager_task.get_weights())
    eager_optimizers, compiled_optimizers = build_optimizers(eager_task, 1e-3), build_optimizers(compiled_task, 1e-3)
    compiled = tf.function(lambda b, s: train_step(compiled_task, compiled_optimizers, b, s, HPARAMS), jit_compile=True)
    seed = tf.constant([0, 0])
    eager_loss = float(train_step(eager_task, eager_optimizers, batch, seed, HPARAMS)["loss"])
    np.testing.assert_allclose(float(compiled(batch, seed)["loss"]), eager_loss, rtol=1e-4)
    # The gradients agree too: both updates land on the same weights.
    for eager_weight, compiled_weight in zip(eager_task.get_weights(), compiled_task.get_weights()):
        np.testing.assert_allclose(compiled_weight, eager_weight, rtol=1e-4, atol=1e-5)


def test_pixel_losses():
    images = tf.zeros((1, 2, 2, 3))
    predictions = tf.fill((1, 2, 2, 3), -0.5)
    assert float(pixel_loss(images, predictions, "l1")) == pytest.approx(0.5)
    assert float(pixel_loss(images, predictions, "l2")) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="pixel_loss"):
        pixel_loss(images, predictions, "huber")
