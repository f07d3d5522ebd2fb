"""Training step of `cvae_t2i`: the conditional ELBO, with Sohn et al.'s hybrid objective.

loss = reconstruction(x, decoder(z, text)) + kl_scale * KL(q(z | x, text) || N(0, I))
       + prior_weight * reconstruction(x, decoder(z_prior, text)),
with z = mean + exp(log_variance / 2) * noise, z_prior ~ N(0, I), and `kl_scale`
ramped linearly from 0 to `kl_weight` over the first `kl_warmup_steps` optimizer
iterations (KL warm-up, Bowman et al. 2016).

The first two terms are the negative ELBO. The third is the GSNN term of Sohn et
al. 2015 (section 4.2): the encoder sees the image, so the ELBO alone lets z carry
the objects themselves, and samples from the prior (what `generate` does) then
ignore the caption; decoding prior samples as well makes the decoder read the
objects from the text. `prior_weight = 0` gives the plain CVAE.
The terms are per-image sums (over pixels and over latent dimensions), averaged
over the batch, so that kl_weight = 1 with `reconstruction="gaussian"` and no
prior term is the ELBO itself (up to a constant).
"""

import tensorflow as tf

from zoo.losses import gaussian_kl
from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_gradients, split_seed

RECONSTRUCTIONS = ("gaussian", "l1", "l2")
HPARAMS = {
    "reconstruction": "gaussian",  # one of RECONSTRUCTIONS
    "decoder_std": 0.1,  # the Gaussian likelihood's fixed standard deviation, in [-1, 1] pixel units
    "kl_weight": 1.0,
    "kl_warmup_steps": 2000,  # 0: no warm-up
    "prior_weight": 1.0,  # weight of the GSNN term (decoding prior samples); 0: the plain ELBO
    "latent_noise": 1.0,  # scale of the sampled latents (posterior and prior); 0 uses their means
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


def kl_scale(iterations, kl_weight, kl_warmup_steps):
    """`kl_weight`, ramped linearly from 0 over the first `kl_warmup_steps` iterations."""
    if not kl_warmup_steps:
        return tf.constant(kl_weight, tf.float32)
    progress = tf.cast(iterations, tf.float32) / float(kl_warmup_steps)
    return kl_weight * tf.minimum(progress, 1.0)


def train_step(task, optimizers, batch, seed, hparams):
    optimizer = optimizers["cvae"]
    images, tokens = batch["image"], batch["tokens"]
    noise_shape = (tf.shape(images)[0], task.config.latent_dim)
    posterior_seed, prior_seed = split_seed(seed, 2)
    noise = hparams["latent_noise"] * tf.random.stateless_normal(noise_shape, seed=posterior_seed)
    prior_latent = hparams["latent_noise"] * tf.random.stateless_normal(noise_shape, seed=prior_seed)
    variables = optimizer_groups(task)["cvae"]
    scale = kl_scale(optimizer.iterations, hparams["kl_weight"], hparams["kl_warmup_steps"])
    kind, decoder_std = hparams["reconstruction"], hparams["decoder_std"]
    with tf.GradientTape() as tape:
        outputs = task({"images": images, "tokens": tokens, "noise": noise}, training=True)
        reconstruction = reconstruction_loss(images, outputs["reconstruction"], kind, decoder_std)
        kl = gaussian_kl(outputs["mean"], outputs["log_variance"])
        loss = reconstruction + scale * kl
        losses = {"reconstruction": reconstruction, "kl": kl, "kl_scale": scale}
        if hparams["prior_weight"]:
            sentence = task.text_encoder(tokens, training=True)["sentence"]
            sampled = task.decoder({"latent": prior_latent, "sentence": sentence}, training=True)
            losses["prior_reconstruction"] = reconstruction_loss(images, sampled, kind, decoder_std)
            loss = loss + hparams["prior_weight"] * losses["prior_reconstruction"]
    apply_gradients(optimizer, tape, loss, variables)
    return {"loss": loss, **losses}


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
