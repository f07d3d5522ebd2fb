"""`cvae_t2i`: a conditional variational autoencoder, text to image (Sohn et al. 2015).

Encoder q(z | x, text): strided convolutions over the image, flattened and joined
with the sentence vector, to the mean and log-variance of a Gaussian latent.
Decoder p(x | z, text): the latent and the sentence set a 4x4 grid, then
upsampling blocks whose features are modulated by them (FiLM) produce the image.
The prior is N(0, I); the training step maximises the ELBO (a reconstruction term
and the KL divergence to the prior, optionally warmed up) plus Sohn et al.'s GSNN
term (decoding prior samples with the caption), so that the decoder reads the
objects from the text. At sampling time z is drawn from the prior: the text
decides the content and z the rest (background, jitter).
"""

import dataclasses

import keras
import tensorflow as tf
from keras import ops

from zoo.layers.film_decoder import decoder_channels, film_image_decoder
from zoo.models.base import TextToImageTask, TaskConfig
from zoo.registry import register_presets


@dataclasses.dataclass
class CVAEText2ImageConfig(TaskConfig):
    latent_dim: int = 32
    encoder_channels: int = 8  # channels at full resolution; doubled at each halving
    decoder_channels: int = 8
    max_channels: int = 128
    # CoordConv in the decoder: x and y channels into every upsampling block (`film_image_decoder`).
    coordinates: bool = False

    def __post_init__(self):
        if self.image_size not in (32, 64, 128, 256):
            raise ValueError(f"image_size must be 32, 64, 128 or 256, got {self.image_size}.")
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be positive, got {self.latent_dim}.")


def build_encoder(config, text_dim):
    """The posterior q(z | x, text): {images, sentence} -> {mean, log_variance} [B, latent_dim]."""
    # === Inputs ===
    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    sentence = keras.Input((text_dim,), name="sentence")
    # === Downsampling ===
    x = keras.layers.Conv2D(config.encoder_channels, 3, padding="same", name="from_rgb")(images)
    x = keras.layers.LeakyReLU(0.2, name="from_rgb_act")(x)
    resolution = config.image_size
    while resolution > 4:
        resolution //= 2
        width = decoder_channels(config.image_size, resolution, config.encoder_channels, config.max_channels)
        x = keras.layers.Conv2D(width, 4, strides=2, padding="same", name=f"down{resolution}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down{resolution}_act")(x)
    # === Posterior head ===
    # The sentence joins the image features so that z need not encode what the text already says.
    normalised = keras.layers.LayerNormalization(name="sentence_norm")(sentence)  # pretrained vectors can be tiny
    joined = keras.layers.Concatenate(name="joint")([keras.layers.Flatten(name="flatten")(x), normalised])
    mean = keras.layers.Dense(config.latent_dim, name="mean", dtype="float32")(joined)
    log_variance = keras.layers.Dense(config.latent_dim, name="log_variance", dtype="float32")(joined)
    return keras.Model(
        {"images": images, "sentence": sentence}, {"mean": mean, "log_variance": log_variance}, name="encoder"
    )


def build_decoder(config, text_dim):
    """The likelihood p(x | z, text): {latent, sentence} -> images [B, S, S, 3] in [-1, 1]."""
    # === Inputs ===
    latent = keras.Input((config.latent_dim,), name="latent")
    sentence = keras.Input((text_dim,), name="sentence")
    # === Decoder ===
    normalised = keras.layers.LayerNormalization(name="sentence_norm")(sentence)
    code = keras.layers.Concatenate(name="code")([latent, normalised])
    images = film_image_decoder(code, config.image_size, config.decoder_channels, config.max_channels,
                                config.coordinates)
    return keras.Model({"latent": latent, "sentence": sentence}, images, name="decoder")


@keras.saving.register_keras_serializable(package="zoo")
class CVAEText2Image(TextToImageTask):
    """Text to image with a conditional VAE.

    `call({"images", "tokens", "noise"})` encodes the images with their captions,
    samples `z = mean + exp(log_variance / 2) * noise` (zeros give the posterior
    mean) and decodes it: it returns `reconstruction` [B, S, S, 3] in [-1, 1],
    `mean` and `log_variance` [B, latent_dim]. `generate` and `images_from_tokens`
    (the serving path) draw z from the prior, one seed per caption.

    Args:
        config: a `CVAEText2ImageConfig`.
        vocabulary: the caption vocabulary (default: `shapes`).
        text_encoder: a shared `TextEncoder`, or None to build one.

    Example:
        model = zoo.build("cvae_t2i_tiny")
        images = model.generate(["a large red circle on the left"], seeds=0)  # uint8 [1, 32, 32, 3]
    """

    family = "cvae_t2i"
    config_class = CVAEText2ImageConfig

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder, **kwargs)
        text_dim = self.text_encoder.feature_dim
        self.encoder = build_encoder(self.config, text_dim)
        self.decoder = build_decoder(self.config, text_dim)

    def networks(self):
        return {"text_encoder": self.text_encoder, "encoder": self.encoder, "decoder": self.decoder}

    def example_inputs(self, batch_size=2):
        size = self.config.image_size
        return {
            "images": tf.zeros((batch_size, size, size, 3)),
            "tokens": self.tokenize(["a small red circle in the center"] * batch_size),
            "noise": tf.zeros((batch_size, self.config.latent_dim)),
        }

    def call(self, inputs, training=False):
        sentence = self.text_encoder(inputs["tokens"], training=training)["sentence"]
        posterior = self.encoder({"images": inputs["images"], "sentence": sentence}, training=training)
        # Clipped so that exp() cannot overflow early in training.
        mean, log_variance = posterior["mean"], ops.clip(posterior["log_variance"], -10.0, 10.0)
        # The posterior heads are float32 under mixed precision; the noise comes in the compute dtype.
        latent = mean + ops.exp(0.5 * log_variance) * ops.cast(inputs["noise"], mean.dtype)
        reconstruction = self.decoder({"latent": latent, "sentence": sentence}, training=training)
        return {"reconstruction": reconstruction, "mean": mean, "log_variance": log_variance}

    def latent_from_seeds(self, seeds):
        """Latents [N, latent_dim] from the prior N(0, I), one per int64 seed [N], in graph."""

        def one(seed):
            return tf.random.stateless_normal([self.config.latent_dim], seed=tf.stack([seed, tf.constant(0, tf.int64)]))

        return tf.map_fn(one, tf.cast(seeds, tf.int64), fn_output_signature=tf.float32)

    def images_from_tokens(self, tokens, seeds):
        """Float images in [-1, 1] for token ids [N, L] and int64 seeds [N] (used by serving too)."""
        sentence = self.text_encoder(tokens)["sentence"]
        return self.decoder({"latent": self.latent_from_seeds(seeds), "sentence": sentence})


register_presets(CVAEText2Image, {
    "cvae_t2i": ("Conditional VAE, text to image (64x64 shapes)",
        {}),
    "cvae_t2i_tiny": ("Tiny cvae_t2i for tests (32x32)",
        {"image_size": 32, "encoder_channels": 4, "decoder_channels": 4, "max_channels": 16, "latent_dim": 8,
         "embedding_dim": 8, "text_units": 8}),
})
