"""`cgan_t2i`: a text-conditioned GAN (StackGAN conditioning, DF-GAN fusion, GAN-CLS matching, BicycleGAN latents).

Generator: noise + conditioning-augmented sentence vector through upsampling
residual blocks whose features are modulated by the text (FiLM). Discriminator:
strided convolutions, then the sentence tiled over the 4x4 grid and concatenated
(DF-GAN's head), or a projection head; it is trained matching-aware (a real image
with the wrong caption counts as fake) by the training step.

With `latent_encoder=True` the model also has BicycleGAN's encoder (Zhu et al. 2017):
q(z | image, caption), the noise that would redraw a real image. Training then
reconstructs real images from their encoded noise (an L1 term that does not blur,
since z carries what the caption leaves open: background, jitter, colour jitter)
and asks the encoder to recover the noise of generated images (so the generator
cannot ignore its noise). Serving uses only the generator and the prior N(0, I).
"""

import dataclasses

import keras
import tensorflow as tf

from zoo.layers import ConditioningAugmentation, TileText
from zoo.layers.film_decoder import decoder_channels, film_image_decoder
from zoo.layers.convolution import spectral_normalization
from zoo.models.base import TextToImageTask, TaskConfig
from zoo.models.cvae_t2i.model import CVAEText2ImageConfig, build_encoder as build_posterior
from zoo.models.matcher.model import MatcherConfig, build_image_encoder, build_text_projection
from zoo.registry import register_presets


@dataclasses.dataclass
class CGANText2ImageConfig(TaskConfig):
    noise_dim: int = 64
    condition_dim: int = 64
    # Scale of the conditioning-augmentation noise (StackGAN: 1). 0 conditions on the mean
    # alone: without the KL term (which keeps the mean's spread comparable to the noise's),
    # the noise hides much of the caption from the generator.
    condition_noise_scale: float = 1.0
    generator_channels: int = 8  # channels at full resolution; doubled at each halving
    # CoordConv in the generator: x and y channels into every upsampling block (`film_image_decoder`),
    # for sharp small shapes at exact positions; a CVAE decoder that initialises it must match.
    coordinates: bool = False
    discriminator_channels: int = 8
    max_channels: int = 128
    # "augmentation": StackGAN's conditioning augmentation; "direct": the normalised sentence,
    # as the cvae_t2i decoder takes it (so that a trained CVAE can initialise the generator).
    conditioning: str = "augmentation"
    discriminator_head: str = "concat"  # or "projection"
    # 0: one logit an image. Else also an unconditional patch logit at every position of the
    # discriminator's feature map of this resolution (e.g. 16 for 64x64 images: each judges a
    # patch about a small object wide), appended to the image's logit: logits [B, 1 + P*P].
    # The step weighs the patch term with hparam `patch_weight` (local realism: where a small
    # square's corners or a diamond's points are decided).
    patch_resolution: int = 0
    spectral_norm: bool = True
    # A frozen, pretrained `matcher` (image encoder + text projection) that scores how well
    # generated images match their captions (AttnGAN's DAMSM loss); see the recipe.
    use_matcher: bool = False
    matcher_channels: int = 16
    matcher_max_channels: int = 128
    matcher_embedding_size: int = 128
    # BicycleGAN's encoder E(image, caption) -> noise, used in training only (see the step's
    # `encoded_reconstruction_weight` and `latent_regression_weight`).
    latent_encoder: bool = False
    encoder_channels: int = 8

    def __post_init__(self):
        if self.image_size not in (32, 64, 128, 256):
            raise ValueError(f"image_size must be 32, 64, 128 or 256, got {self.image_size}.")
        if self.conditioning not in ("augmentation", "direct"):
            raise ValueError(f"conditioning must be 'augmentation' or 'direct', got {self.conditioning!r}.")
        if self.discriminator_head not in ("concat", "projection"):
            raise ValueError(f"discriminator_head must be 'concat' or 'projection', got {self.discriminator_head!r}.")
        resolutions = [self.image_size // 2**k for k in range(1, 8) if self.image_size // 2**k > 4]
        if self.patch_resolution and self.patch_resolution not in resolutions:
            raise ValueError(f"patch_resolution must be 0 or one of the discriminator's feature map sizes "
                             f"{resolutions} for {self.image_size}x{self.image_size} images, got {self.patch_resolution}.")


def _maybe_spectral(layer, enabled):
    return spectral_normalization(layer) if enabled else layer


def build_generator(config, text_dim):
    """The generator: {noise, sentence, condition_noise} -> {images[, mean, log_variance]}.

    With `conditioning="augmentation"` (StackGAN) the code is the noise and a sampled
    condition (whose mean and log-variance are returned for the KL term); with "direct"
    it is the noise and the normalised sentence, exactly the `cvae_t2i` decoder's code,
    so a trained CVAE decoder can initialise it (`TrainConfig.init_networks`).
    """
    # === Inputs ===
    noise = keras.Input((config.noise_dim,), name="noise")
    sentence = keras.Input((text_dim,), name="sentence")
    condition_noise = keras.Input((config.condition_dim,), name="condition_noise")  # unused when "direct"
    # === Conditioning ===
    # Normalised because a pretrained, frozen encoder may emit sentence vectors of any scale
    # (the shapes matcher's are ~0.01: its loss only sees directions), which Adam would need
    # thousands of steps to amplify.
    normalised = keras.layers.LayerNormalization(name="sentence_norm")(sentence)
    outputs = {}
    if config.conditioning == "augmentation":
        condition, mean, log_variance = ConditioningAugmentation(
            config.condition_dim, noise_scale=config.condition_noise_scale, name="conditioning")(
            [normalised, condition_noise]
        )
        outputs.update(mean=mean, log_variance=log_variance)
    else:
        condition = normalised
    code = keras.layers.Concatenate(name="code")([noise, condition])
    # === Upsampling blocks, to RGB ===
    outputs["images"] = film_image_decoder(code, config.image_size, config.generator_channels, config.max_channels,
                                           config.coordinates)
    return keras.Model(
        {"noise": noise, "sentence": sentence, "condition_noise": condition_noise}, outputs, name="generator")


def build_discriminator(config, text_dim):
    """The discriminator: {images, sentence} -> logits [B, 1] (matching-aware), or [B, 1 + P*P] with
    `patch_resolution` P (the image's logit, then the unconditional patch logits)."""
    sn = config.spectral_norm
    # === Inputs ===
    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    sentence = keras.Input((text_dim,), name="sentence")
    # === Downsampling ===
    x = _maybe_spectral(keras.layers.Conv2D(config.discriminator_channels, 3, padding="same", name="from_rgb"), sn)(images)
    x = keras.layers.LeakyReLU(0.2, name="from_rgb_act")(x)
    resolution = config.image_size
    patches = None
    while resolution > 4:
        resolution //= 2
        width = decoder_channels(config.image_size, resolution, config.discriminator_channels, config.max_channels)
        conv = keras.layers.Conv2D(width, 4, strides=2, padding="same", name=f"down{resolution}")
        x = _maybe_spectral(conv, sn)(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down{resolution}_act")(x)
        if resolution == config.patch_resolution:
            patch = _maybe_spectral(keras.layers.Conv2D(1, 3, padding="same", name="patch_logit"), sn)(x)
            patches = keras.layers.Flatten(name="patch_logits", dtype="float32")(patch)
    # === Matching head ===
    normalised = keras.layers.LayerNormalization(name="sentence_norm")(sentence)  # as in the generator
    text = keras.layers.Dense(64, name="text_projection")(normalised)
    if config.discriminator_head == "concat":
        joined = keras.layers.Concatenate(name="joint")([x, TileText(name="tile_text")([text, x])])
        h = _maybe_spectral(keras.layers.Conv2D(x.shape[-1], 3, padding="same", name="joint_conv"), sn)(joined)
        h = keras.layers.LeakyReLU(0.2, name="joint_act")(h)
        logits = keras.layers.Conv2D(1, 4, padding="valid", name="logit", dtype="float32")(h)
        logits = keras.layers.Flatten(name="logits", dtype="float32")(logits)  # float32 under mixed precision too
    else:
        pooled = keras.layers.GlobalAveragePooling2D(name="pool")(x)
        unconditional = keras.layers.Dense(1, name="unconditional", dtype="float32")(pooled)
        embedded = keras.layers.Dense(pooled.shape[-1], use_bias=False, name="class_embedding")(text)
        projection = keras.layers.Dot(axes=1, name="projection")([pooled, embedded])
        logits = keras.layers.Add(name="logits", dtype="float32")([unconditional, projection])
    if patches is not None:
        logits = keras.layers.Concatenate(name="image_and_patch_logits", dtype="float32")([logits, patches])
    return keras.Model({"images": images, "sentence": sentence}, logits, name="discriminator")


@keras.saving.register_keras_serializable(package="zoo")
class CGANText2Image(TextToImageTask):
    """Text to image with a conditional GAN.

    Args:
        config: a `CGANText2ImageConfig`.
        vocabulary: the caption vocabulary (default: `shapes`).
        text_encoder: a shared `TextEncoder`, or None to build one.

    Example:
        model = zoo.build("cgan_t2i_tiny")
        images = model.generate(["a large red circle on the left"], seeds=0)  # uint8 [1, 64, 64, 3]
    """

    family = "cgan_t2i"
    config_class = CGANText2ImageConfig

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder, **kwargs)
        text_dim = self.text_encoder.feature_dim
        self.generator = build_generator(self.config, text_dim)
        self.discriminator = build_discriminator(self.config, text_dim)
        if self.config.use_matcher:
            matcher_config = MatcherConfig(
                image_size=self.config.image_size, channels=self.config.matcher_channels,
                max_channels=self.config.matcher_max_channels, embedding_size=self.config.matcher_embedding_size)
            self.image_encoder = build_image_encoder(matcher_config)
            self.text_projection = build_text_projection(matcher_config, text_dim)
        if self.config.latent_encoder:
            # The CVAE's posterior network, with the generator's noise as its latent.
            self.encoder = build_posterior(CVAEText2ImageConfig(
                image_size=self.config.image_size, latent_dim=self.config.noise_dim,
                encoder_channels=self.config.encoder_channels, max_channels=self.config.max_channels), text_dim)

    def networks(self):
        networks = {"text_encoder": self.text_encoder, "generator": self.generator,
                    "discriminator": self.discriminator}
        if self.config.latent_encoder:
            networks["encoder"] = self.encoder
        if self.config.use_matcher:
            networks.update(image_encoder=self.image_encoder, text_projection=self.text_projection)
        return networks

    def example_inputs(self, batch_size=2):
        return {
            "tokens": self.tokenize(["a small red circle in the center"] * batch_size),
            "noise": tf.zeros((batch_size, self.config.noise_dim)),
            "condition_noise": tf.zeros((batch_size, self.config.condition_dim)),
        }

    def call(self, inputs, training=False):
        sentence = self.text_encoder(inputs["tokens"], training=training)["sentence"]
        return self.generator(
            {"noise": inputs["noise"], "sentence": sentence, "condition_noise": inputs["condition_noise"]},
            training=training,
        )

    def noise_from_seeds(self, seeds):
        """Generator and conditioning noise [N, D] from int64 seeds [N]: one seed, one sample, in graph."""
        width = self.config.noise_dim + self.config.condition_dim

        def one(seed):
            return tf.random.stateless_normal([width], seed=tf.stack([seed, tf.constant(0, tf.int64)]))

        both = tf.map_fn(one, tf.cast(seeds, tf.int64), fn_output_signature=tf.float32)
        return both[:, : self.config.noise_dim], both[:, self.config.noise_dim:]

    def images_from_tokens(self, tokens, seeds):
        """Float images in [-1, 1] for token ids [N, L] and int64 seeds [N] (used by serving too)."""
        noise, condition_noise = self.noise_from_seeds(seeds)
        return self({"tokens": tokens, "noise": noise, "condition_noise": condition_noise})["images"]


register_presets(CGANText2Image, {
    "cgan_t2i": ("Conditional GAN, text to image (64x64 shapes)",
        {}),
    "cgan_t2i_tiny": ("Tiny cgan_t2i for tests (32x32)",
        {"image_size": 32, "generator_channels": 4, "discriminator_channels": 4, "encoder_channels": 4,
         "max_channels": 16, "noise_dim": 8, "condition_dim": 8, "embedding_dim": 8, "text_units": 8}),
    "cgan_t2i_coco": ("cgan_t2i on COCO captions (64x64) with a pretrained BERT text encoder (keras-hub preset "
                      "folder bert_tiny_en_uncased)",
        {"text_model": "bert", "bert_preset": "bert_tiny_en_uncased", "max_length": 32}),
})
