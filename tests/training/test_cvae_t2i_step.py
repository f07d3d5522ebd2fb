"""Tests of the `cvae_t2i` training step (tiny variant, one fixed shapes batch)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.training.resettable_step import build_optimizers, numeric_batch
from zoo.training.steps import get_steps
from zoo.models.cvae_t2i.steps import HPARAMS, kl_scale, reconstruction_loss, train_step


@pytest.fixture(scope="module")
def batch():
    return numeric_batch()


def seed(step):
    return tf.constant([step, 17], tf.int32)


def test_registered_steps():
    steps = get_steps("cvae_t2i")
    task = zoo.build("cvae_t2i_tiny").build_all()
    groups = steps.optimizer_groups(task)
    assert set(groups) == {"cvae"} and len(groups["cvae"]) == len(task.trainable_variables)
    assert steps.dataset_options == {"masks": None}
    assert steps.hparams["reconstruction"] in ("gaussian", "l1", "l2")


def test_compiled_step_overfits_one_batch(batch):
    keras.utils.set_random_seed(0)
    # With CoordConv in the decoder (`coordinates`); the decoder without it is what every other test builds.
    task = zoo.build("cvae_t2i_tiny", coordinates=True).build_all()
    widths = [task.decoder.get_layer(f"up8_{name}").output.shape[-1] for name in ("upsample", "coordinates")]
    assert widths[1] == widths[0] + 2
    optimizers = build_optimizers(task, 3e-3)
    hparams = {**HPARAMS, "kl_warmup_steps": 10}
    # A graph without XLA, as the Trainer runs it on CPU (XLA compiles slowly there; the
    # eager == compiled test covers XLA).
    step = tf.function(lambda b, s: train_step(task, optimizers, b, s, hparams))
    first = step(batch, seed(0))
    assert float(first["kl_scale"]) == 0.0  # the warm-up starts at zero
    for index in range(1, 40):
        losses = step(batch, seed(index))
    # The reconstruction of one memorised batch must fall at least 4-fold in 40 steps (about 10-fold seen).
    assert float(losses["reconstruction"]) < float(first["reconstruction"]) / 4
    # Prior samples decoded with the text (the GSNN term) must learn the batch too.
    assert float(losses["prior_reconstruction"]) < float(first["prior_reconstruction"]) / 2
    assert float(losses["kl_scale"]) == pytest.approx(hparams["kl_weight"])
    assert np.isfinite(float(losses["kl"])) and float(losses["kl"]) >= 0.0


@pytest.mark.slow  # XLA against eager: cgan_i2i, cgan_inpaint and shapes_probe in CI, this family with `-m slow`
def test_eager_and_compiled_steps_agree(batch):
    keras.utils.set_random_seed(1)
    eager_task = zoo.build("cvae_t2i_tiny").build_all()
    compiled_task = zoo.build("cvae_t2i_tiny").build_all()
    compiled_task.set_weights(eager_task.get_weights())
    eager_optimizers, compiled_optimizers = build_optimizers(eager_task, 1e-3), build_optimizers(compiled_task, 1e-3)
    # Without noise: stateless random ops draw different numbers under XLA on CPU.
    hparams = {**HPARAMS, "latent_noise": 0.0, "kl_warmup_steps": 0}
    compiled = tf.function(lambda b, s: train_step(compiled_task, compiled_optimizers, b, s, hparams), jit_compile=True)
    eager_losses = train_step(eager_task, eager_optimizers, batch, seed(0), hparams)
    compiled_losses = compiled(batch, seed(0))
    for key in ("loss", "reconstruction", "kl", "prior_reconstruction"):
        np.testing.assert_allclose(float(compiled_losses[key]), float(eager_losses[key]), rtol=1e-4, atol=1e-6)
    terms = [float(eager_losses[key]) for key in ("reconstruction", "kl", "prior_reconstruction")]
    np.testing.assert_allclose(float(eager_losses["loss"]), sum(terms), rtol=1e-5)  # kl_weight 1, prior_weight 1
    # The gradients agree too: both updates land on the same weights.
    for eager_weight, compiled_weight in zip(eager_task.get_weights(), compiled_task.get_weights()):
        np.testing.assert_allclose(compiled_weight, eager_weight, rtol=1e-4, atol=1e-5)


def test_plain_elbo_without_the_prior_term(batch):
    task = zoo.build("cvae_t2i_tiny").build_all()
    hparams = {**HPARAMS, "prior_weight": 0.0, "kl_warmup_steps": 0}
    losses = train_step(task, build_optimizers(task, 1e-3), batch, seed(0), hparams)
    assert "prior_reconstruction" not in losses
    np.testing.assert_allclose(float(losses["loss"]), float(losses["reconstruction"]) + float(losses["kl"]), rtol=1e-5)


def test_reconstruction_terms():
    images = tf.zeros((2, 2, 2, 3))
    reconstruction = tf.fill((2, 2, 2, 3), 0.5)
    # Per-image sums over 12 values, averaged over the batch.
    assert float(reconstruction_loss(images, reconstruction, "l1")) == pytest.approx(6.0)
    assert float(reconstruction_loss(images, reconstruction, "l2")) == pytest.approx(3.0)
    assert float(reconstruction_loss(images, reconstruction, "gaussian", decoder_std=0.5)) == pytest.approx(6.0)
    with pytest.raises(ValueError, match="reconstruction"):
        reconstruction_loss(images, reconstruction, "l3")


def test_kl_warm_up_is_linear_then_constant():
    assert float(kl_scale(0, 2.0, 10)) == 0.0
    assert float(kl_scale(5, 2.0, 10)) == pytest.approx(1.0)
    assert float(kl_scale(25, 2.0, 10)) == pytest.approx(2.0)
    assert float(kl_scale(0, 2.0, 0)) == pytest.approx(2.0)
