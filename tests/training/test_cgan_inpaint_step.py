"""cgan_inpaint training step: registration, caption dropout, overfitting with the caption, eager == compiled.

The step is compiled once per module (an XLA compile takes most of this file's
time) and shared by the tests, which reset weights and optimizer state first
(`ResettableStep`).
The fixed batch uses `object` masks: each hides a whole object, so only the
caption tells what to paint.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.training.resettable_step import ResettableStep, assert_runs_agree
from zoo.training.steps import get_steps
from zoo.losses import masked_gradient_l1, masked_l1
from zoo.models.cgan_inpaint.steps import caption_flags

NUMERIC_KEYS = ("image", "mask", "tokens")


@pytest.fixture(scope="module")
def setup():
    steps = get_steps("cgan_inpaint")
    # No caption dropout: XLA and eager draw different stateless random numbers, so
    # the eager == compiled comparison needs a step without noise.
    # With the gradient term, the full-resolution output block and a second convolution per decoder
    # level, so that the overfit test covers them too.
    hparams = {**steps.hparams, "text_dropout": 0.0, "hole_gradient_weight": 1.0}
    task = zoo.build("cgan_inpaint_tiny", output_channels=4, decoder_convs=2)
    assert task.generator.get_layer("output_block") is not None
    assert task.generator.get_layer("decoder1_gated1") is not None
    batch = next(iter(zoo.data.load("shapes", split="train", batch_size=8, image_size=32, num_examples=8,
                                    shuffle=False, masks="object")))
    batch = {key: batch[key] for key in NUMERIC_KEYS}  # strings cannot enter an XLA step
    return {"steps": steps, "task": task, "batch": batch,
            "harness": ResettableStep(task, steps, hparams, learning_rate=3e-3)}


def test_steps_are_registered(setup):
    steps, task = setup["steps"], setup["task"]
    assert {"hole_weight", "valid_weight", "adversarial_weight", "text_dropout"} <= set(steps.hparams)
    assert 0.0 < steps.hparams["text_dropout"] < 1.0
    assert steps.dataset_options == {"masks": "mix"}
    assert steps.ema_networks(task) == [task.generator]
    groups = steps.optimizer_groups(task)
    assert set(groups) == {"generator", "discriminator"}
    # The text encoder learns with the generator.
    assert any(v is task.text_encoder.token_embedding.embeddings for v in groups["generator"])


def test_caption_flags_drop_captions_at_the_given_rate():
    tokens = np.ones((1000, 24), np.int32)
    tokens[:100] = 0  # no caption at all
    batch = {"tokens": tf.constant(tokens)}
    always = caption_flags(batch, tf.constant([0, 0]), 0.0).numpy()[:, 0]
    np.testing.assert_array_equal(always, (np.arange(1000) >= 100).astype(np.float32))
    dropped = caption_flags(batch, tf.constant([0, 0]), 0.3).numpy()[:, 0]
    assert np.all(dropped[:100] == 0)
    assert 0.25 < 1.0 - dropped[100:].mean() < 0.35


def test_masked_l1():
    predictions = tf.constant([[[[1.0], [0.0]]]])  # [1, 1, 2, 1]
    targets = tf.zeros_like(predictions)
    assert float(masked_l1(predictions, targets, tf.constant([[[[1.0], [0.0]]]]))) == 1.0
    assert float(masked_l1(predictions, targets, tf.constant([[[[0.0], [1.0]]]]))) == 0.0
    assert float(masked_l1(predictions, targets, tf.zeros_like(predictions))) == 0.0


def test_masked_gradient_l1_matches_numpy():
    rng = np.random.default_rng(0)
    predictions, targets = rng.normal(size=(2, 6, 7, 3)), rng.normal(size=(2, 6, 7, 3))
    weights = np.zeros((2, 6, 7, 1))
    weights[:, 2:4, 1:3] = 1.0
    total, count = 0.0, 0.0
    for axis in (1, 2):  # a pair counts when either of its pixels is weighted
        pairs = np.maximum(np.delete(weights, 0, axis), np.delete(weights, -1, axis))
        error = np.abs(np.diff(predictions, axis=axis) - np.diff(targets, axis=axis))
        total, count = total + np.sum(error * pairs), count + 3 * pairs.sum()
    assert float(masked_gradient_l1(predictions, targets, weights)) == pytest.approx(total / count, rel=1e-5)
    # A constant offset changes no difference; nothing weighted gives 0.
    assert float(masked_gradient_l1(targets + 0.5, targets, weights)) == pytest.approx(0.0, abs=1e-6)
    assert float(masked_gradient_l1(predictions, targets, np.zeros_like(weights))) == 0.0


def _hole_l1(task, batch, tokens):
    outputs = task.complete({"images": batch["image"], "masks": batch["mask"], "tokens": tokens})
    return float(masked_l1(outputs["generated"], batch["image"], batch["mask"]))


def test_compiled_step_overfits_one_batch_using_the_captions(setup):
    harness, task, batch = setup["harness"], setup["task"], setup["batch"]
    harness.reset()
    losses = [harness.compiled(batch, tf.constant([step, 0])) for step in range(80)]
    assert all(np.isfinite(float(v)) for loss in losses for v in loss.values())
    assert all(float(loss["applied"]) == 1.0 for loss in losses)  # G and D updated together
    hole = [float(loss["hole_l1"]) for loss in losses]
    gradient = [float(loss["hole_gradient_l1"]) for loss in losses]
    assert gradient[-1] < 0.7 * gradient[0], gradient  # about 0.54x seen
    # The L1 in the holes (whole hidden objects) falls at least 3x (about 5x seen).
    assert hole[-1] < hole[0] / 3, hole
    # It relies on the caption: each example with another example's caption does worse (about 1.3x seen).
    with_captions = _hole_l1(task, batch, batch["tokens"])
    with_other_captions = _hole_l1(task, batch, tf.roll(batch["tokens"], 1, axis=0))
    assert with_other_captions > 1.1 * with_captions, (with_captions, with_other_captions)


def test_eager_and_compiled_steps_agree(setup):
    assert_runs_agree(setup["harness"].run_both(setup["batch"]))


def test_step_without_text_path_or_captions(setup):
    steps, batch = setup["steps"], setup["batch"]
    task = zoo.build("cgan_inpaint_tiny", use_text=False)
    groups = steps.optimizer_groups(task)
    optimizers = {name: keras.optimizers.Adam(1e-3) for name in groups}
    losses = steps.train_step(task, optimizers, {"image": batch["image"], "mask": batch["mask"]},
                              tf.constant([0, 0]), steps.hparams)
    assert set(losses) >= {"generator_loss", "discriminator_loss", "hole_l1", "valid_l1"}
    assert all(np.isfinite(float(v)) for v in losses.values())
