"""Training step of `cvae_t2i`: maximise the conditional ELBO.

loss = reconstruction(x, decoder(z, text)) + kl_scale * KL(q(z | x, text) || N(0, I)),
with z = mean + exp(log_variance / 2) * noise and `kl_scale` ramped linearly from 0
to `kl_weight` over the first `kl_warmup_steps` optimizer iterations (KL warm-up,
Bowman et al. 2016: without it the decoder can learn to ignore z early on).
Both terms are per-image sums (over pixels and over latent dimensions), averaged
over the batch, so that kl_weight = 1 with `reconstruction="gaussian"` is the
ELBO itself (up to a constant).
"""

import tensorflow as tf

from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_gradients

RECONSTRUCTIONS = ("gaussian", "l1", "l2")
HPARAMS = {
    "reconstruction": "gaussian",  # one of RECONSTRUCTIONS
    "decoder_std": 0.1,  # the Gaussian likelihood's fixed standard deviation, in [-1, 1] pixel units
    "kl_weight": 1.0,
    "kl_warmup_steps": 2000,  # 0: no warm-up
    "latent_noise": 1.0,  # scale of the reparameterisation noise; 0 trains on the posterior mean
}


def optimizer_groups(task):
    return {"cvae": task.trainable_variables}


def reconstruction_loss(images, reconstruction, kind="gaussian", decoder_std=0.1):
    """Per-image reconstruction term, averaged over the batch."""
    if kind not in RECONSTRUCTIONS:
        raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}, got {kind!r}.")
    error = tf.cast(reconstruction, tf.float32) - images
    if kind == "l1":
        per_pixel = tf.abs(error)
    elif kind == "l2":
        per_pixel = tf.square(error)
    else:  # negative log-likelihood of N(reconstruction, decoder_std^2), without its constant
        per_pixel = 0.5 * tf.square(error / decoder_std)
    return tf.reduce_mean(tf.reduce_sum(per_pixel, axis=[1, 2, 3]))


def gaussian_kl(mean, log_variance):
    """KL(N(mean, exp(log_variance)) || N(0, I)), summed over dimensions, averaged over the batch."""
    per_dimension = 0.5 * (tf.square(mean) + tf.exp(log_variance) - 1.0 - log_variance)
    return tf.reduce_mean(tf.reduce_sum(per_dimension, axis=-1))


def kl_scale(iterations, kl_weight, kl_warmup_steps):
    """`kl_weight`, ramped linearly from 0 over the first `kl_warmup_steps` iterations."""
    if not kl_warmup_steps:
        return tf.constant(kl_weight, tf.float32)
    progress = tf.cast(iterations, tf.float32) / float(kl_warmup_steps)
    return kl_weight * tf.minimum(progress, 1.0)


def train_step(task, optimizers, batch, seed, hparams):
    optimizer = optimizers["cvae"]
    images = batch["image"]
    noise_shape = (tf.shape(images)[0], task.config.latent_dim)
    noise = hparams["latent_noise"] * tf.random.stateless_normal(noise_shape, seed=seed)
    variables = optimizer_groups(task)["cvae"]
    scale = kl_scale(optimizer.iterations, hparams["kl_weight"], hparams["kl_warmup_steps"])
    with tf.GradientTape() as tape:
        outputs = task({"images": images, "tokens": batch["tokens"], "noise": noise}, training=True)
        reconstruction = reconstruction_loss(
            images, outputs["reconstruction"], hparams["reconstruction"], hparams["decoder_std"]
        )
        kl = gaussian_kl(outputs["mean"], outputs["log_variance"])
        loss = reconstruction + scale * kl
    apply_gradients(optimizer, tape, loss, variables)
    return {"loss": loss, "reconstruction": reconstruction, "kl": kl, "kl_scale": scale}


register_steps(
    FamilySteps(
        family="cvae_t2i",
        train_step=train_step,
        optimizer_groups=optimizer_groups,
        hparams=HPARAMS,
        # Not a GAN: the usual Adam momentum (beta_1 = 0.9) rather than the GAN default of 0.5.
        optimizer_defaults={"learning_rate": 1e-3, "beta_1": 0.9},
        dataset_options={"masks": None},
    )
)
