"""Tests of the `shapes_probe` training step (tiny variant, one fixed shapes batch)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.training.resettable_step import build_optimizers, numeric_batch
from zoo.training.steps import get_steps
from zoo.losses import masked_cross_entropy
from zoo.models.shapes_probe.steps import HPARAMS, permute_channels, probe_losses, train_step


@pytest.fixture(scope="module")
def batch():
    return numeric_batch()


def test_registered_steps():
    steps = get_steps("shapes_probe")
    task = zoo.build("shapes_probe_tiny").build_all()
    groups = steps.optimizer_groups(task)
    assert set(groups) == {"probe"} and len(groups["probe"]) == len(task.trainable_variables)
    assert steps.dataset_options == {"masks": None}


def test_compiled_step_overfits_one_batch(batch):
    keras.utils.set_random_seed(0)
    task = zoo.build("shapes_probe_tiny").build_all()
    optimizers = build_optimizers(task, 1e-2)
    # With both augmentations on: they must compile and still let the probe memorise the batch.
    hparams = {**HPARAMS, "input_noise": 0.02, "colour_permutation": 0.5}
    # A graph without XLA, as the Trainer runs it on CPU (XLA compiles slowly there; the
    # eager == compiled test covers XLA).
    step = tf.function(lambda b, s: train_step(task, optimizers, b, s, hparams))
    first = step(batch, tf.constant([0, 0]))
    for index in range(1, 60):
        losses = step(batch, tf.constant([index, 0]))
    # Stated factor: the summed cross-entropies of one memorised batch fall at least 4-fold in 60 steps.
    assert float(losses["loss"]) < float(first["loss"]) / 4
    assert float(losses["occupied"]) < float(first["occupied"]) / 4


def test_eager_and_compiled_steps_agree(batch):
    keras.utils.set_random_seed(1)
    eager_task = zoo.build("shapes_probe_tiny").build_all()
    compiled_task = zoo.build("shapes_probe_tiny").build_all()
    compiled_task.set_weights(eager_task.get_weights())
    eager_optimizers, compiled_optimizers = build_optimizers(eager_task, 1e-3), build_optimizers(compiled_task, 1e-3)
    # No augmentation: stateless random ops draw different numbers under XLA and eagerly on CPU.
    hparams = {**HPARAMS, "input_noise": 0.0, "colour_permutation": 0.0}
    compiled = tf.function(lambda b, s: train_step(compiled_task, compiled_optimizers, b, s, hparams), jit_compile=True)
    seed = tf.constant([0, 0])
    eager_losses = train_step(eager_task, eager_optimizers, batch, seed, hparams)
    compiled_losses = compiled(batch, seed)
    for key in ("loss", "occupied", "colour", "shape", "size"):
        np.testing.assert_allclose(float(compiled_losses[key]), float(eager_losses[key]), rtol=1e-4)
    for eager_weight, compiled_weight in zip(eager_task.get_weights(), compiled_task.get_weights()):
        np.testing.assert_allclose(compiled_weight, eager_weight, rtol=1e-4, atol=1e-5)


def test_masked_cross_entropy_ignores_masked_cells():
    targets = tf.constant([[1, -1]])
    right = tf.constant([[[0.0, 9.0], [0.0, 0.0]]])
    wrong_where_masked = tf.constant([[[0.0, 9.0], [50.0, -50.0]]])
    mask = tf.constant([[1, 0]])
    expected = float(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[1], logits=[[0.0, 9.0]])[0])
    assert float(masked_cross_entropy(targets, right, mask)) == pytest.approx(expected)
    assert float(masked_cross_entropy(targets, wrong_where_masked, mask)) == pytest.approx(expected)
    assert float(masked_cross_entropy(targets, right, tf.zeros_like(mask))) == 0.0


def test_attribute_losses_only_count_occupied_cells():
    empty = {"occupied": tf.zeros((1, 3, 3), tf.int32), **{k: -tf.ones((1, 3, 3), tf.int32) for k in ("colour", "shape", "size")}}
    logits = {head: tf.random.normal((1, 3, 3, classes)) for head, classes in
              {"occupied": 2, "colour": 8, "shape": 4, "size": 2}.items()}
    losses = probe_losses(logits, empty)
    assert float(losses["occupied"]) > 0.0
    assert all(float(losses[key]) == 0.0 for key in ("colour", "shape", "size"))


def test_permute_channels_shuffles_some_images_and_marks_them():
    images = tf.random.uniform((64, 4, 4, 3), -1.0, 1.0, seed=0)
    permuted, colour_kept = permute_channels(images, tf.constant([3, 4]), 0.5)
    assert 0 < int(tf.reduce_sum(colour_kept)) < 64  # about half are shuffled
    for image, result, kept in zip(images.numpy(), permuted.numpy(), colour_kept.numpy()):
        if kept:
            np.testing.assert_array_equal(result, image)
        else:
            order = [int(np.argmin(np.abs(image[..., :] - result[..., [c]]).sum(axis=(0, 1)))) for c in range(3)]
            assert sorted(order) == [0, 1, 2] and order != [0, 1, 2]
            np.testing.assert_allclose(result, image[..., order], atol=1e-6)


def test_colour_loss_skips_images_with_shuffled_colours():
    targets = {"occupied": tf.ones((2, 3, 3), tf.int32), **{k: tf.zeros((2, 3, 3), tf.int32) for k in ("colour", "shape", "size")}}
    logits = {head: tf.zeros((2, 3, 3, classes)) for head, classes in {"occupied": 2, "colour": 8, "shape": 4, "size": 2}.items()}
    logits["colour"] = tf.concat([tf.zeros((1, 3, 3, 8)), tf.one_hot(tf.fill((1, 3, 3), 5), 8) * 20.0], axis=0)
    kept_first = probe_losses(logits, targets, colour_kept=tf.constant([1, 0]))
    assert float(kept_first["colour"]) == pytest.approx(np.log(8.0), rel=1e-5)  # the confidently wrong image is skipped
    assert float(probe_losses(logits, targets)["colour"]) > 5.0
