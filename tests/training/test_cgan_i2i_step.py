"""cgan_i2i training step: registration, overfitting one batch compiled, eager == compiled.

The step is compiled once per module (an XLA compile takes most of this file's
time) and shared by the tests, which reset weights and optimizer state first
(`ResettableStep`).
"""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.training.resettable_step import ResettableStep, assert_runs_agree
from zoo.losses import ssim_loss
from zoo.metrics import ssim
from zoo.training.steps import get_steps

NUMERIC_KEYS = ("image", "label_map")


@pytest.fixture(scope="module")
def setup():
    steps = get_steps("cgan_i2i")
    # Dropout off: XLA and eager draw different stateless random numbers, so the
    # eager == compiled comparison needs a step without noise.
    task = zoo.build("cgan_i2i_tiny", dropout_rate=0.0)
    batch = next(iter(zoo.data.load("shapes", split="train", batch_size=8, image_size=32, num_examples=8,
                                    shuffle=False, **steps.dataset_options)))
    batch = {key: batch[key] for key in NUMERIC_KEYS}  # strings cannot enter an XLA step
    return {"steps": steps, "task": task, "batch": batch,
            "harness": ResettableStep(task, steps, steps.hparams, learning_rate=2e-3)}


def test_steps_are_registered(setup):
    steps, task = setup["steps"], setup["task"]
    assert steps.hparams["l1_weight"] == 100.0
    assert steps.hparams["gan_loss"] in ("non_saturating", "lsgan")
    assert steps.dataset_options == {"masks": None}
    assert steps.ema_networks(task) == [task.generator]
    groups = steps.optimizer_groups(task)
    assert set(groups) == {"generator", "discriminator"}
    assert len(groups["generator"]) == len(task.generator.trainable_variables)


def test_compiled_step_overfits_one_batch(setup):
    harness = setup["harness"]
    harness.reset()
    losses = [harness.compiled(setup["batch"], tf.constant([step, 0])) for step in range(40)]
    l1 = [float(loss["l1"]) for loss in losses]
    assert all(np.isfinite(float(v)) for loss in losses for v in loss.values())
    assert all(float(loss["applied"]) == 1.0 for loss in losses)  # G and D updated together
    # The L1 to the target (the loss that carries the content) falls at least 3x (about 5x seen).
    assert l1[-1] < l1[0] / 3, l1


def test_eager_and_compiled_steps_agree(setup):
    assert_runs_agree(setup["harness"].run_both(setup["batch"]))


def test_lsgan_and_bad_gan_loss(setup):
    harness, batch = setup["harness"], setup["batch"]
    harness.reset()
    hparams = {**setup["steps"].hparams, "gan_loss": "lsgan"}
    losses = setup["steps"].train_step(setup["task"], harness.optimizers, batch, tf.constant([0, 0]), hparams)
    assert all(np.isfinite(float(v)) for v in losses.values())
    with pytest.raises(ValueError, match="gan_loss"):
        setup["steps"].train_step(setup["task"], harness.optimizers, batch, tf.constant([0, 0]),
                                  {**hparams, "gan_loss": "wgan"})


def test_l1_only_ablation_trains_the_generator_alone(setup):
    """adversarial_weight=0 (the paper's L1-only ablation) neither runs nor updates the discriminator."""
    harness, task, batch = setup["harness"], setup["task"], setup["batch"]
    harness.reset()
    hparams = {**setup["steps"].hparams, "adversarial_weight": 0.0}
    step = tf.function(lambda b, s: setup["steps"].train_step(task, harness.optimizers, b, s, hparams))
    discriminator = [v.numpy() for v in task.discriminator.trainable_variables]
    losses = [step(batch, tf.constant([i, 0])) for i in range(30)]
    l1 = [float(loss["l1"]) for loss in losses]
    assert l1[-1] < l1[0] / 3, l1
    assert all(float(loss["discriminator_loss"]) == 0.0 and float(loss["applied"]) == 1.0 for loss in losses)
    for before, after in zip(discriminator, task.discriminator.trainable_variables):
        np.testing.assert_array_equal(before, after.numpy())
    assert int(harness.optimizers["discriminator"].iterations) == 0


def test_ssim_loss_is_one_minus_the_reported_ssim():
    """The loss's SSIM is the metric `zoo evaluate` reports, on images mapped from [-1, 1]."""
    rng = np.random.default_rng(0)
    photos = rng.integers(0, 256, (3, 24, 24, 3), np.uint8)
    outputs = np.clip(photos.astype(np.int32) + rng.integers(-60, 61, photos.shape), 0, 255).astype(np.uint8)
    scaled = [x.astype(np.float32) / 127.5 - 1.0 for x in (outputs, photos)]
    assert 1.0 - float(ssim_loss(*scaled)) == pytest.approx(ssim(outputs, photos), abs=1e-5)
    assert float(ssim_loss(scaled[1], scaled[1])) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("adversarial_weight", [1.0, 0.0])
def test_ssim_weight_trains_the_structure_term(setup, adversarial_weight):
    """ssim_weight adds 1 - SSIM to the generator's loss (with and without the discriminator) and it falls."""
    harness, task, batch = setup["harness"], setup["task"], setup["batch"]
    harness.reset()
    hparams = {**setup["steps"].hparams, "ssim_weight": 10.0, "adversarial_weight": adversarial_weight}
    step = tf.function(lambda b, s: setup["steps"].train_step(task, harness.optimizers, b, s, hparams))
    losses = [step(batch, tf.constant([i, 0])) for i in range(30)]
    structure = [float(loss["ssim_loss"]) for loss in losses]
    assert structure[-1] < 0.75 * structure[0], structure  # about 0.6x seen
    for bad in (-1.0, "10"):
        with pytest.raises(ValueError, match="ssim_weight must be a number >= 0"):
            setup["steps"].train_step(task, harness.optimizers, batch, tf.constant([0, 0]),
                                      {**hparams, "ssim_weight": bad})
    assert "ssim_loss" not in setup["steps"].train_step(task, harness.optimizers, batch, tf.constant([0, 0]),
                                                         setup["steps"].hparams)
