"""`regression_t2i`: the simplest text-to-image baseline, a caption regressed onto pixels.

The shared text encoder's sentence vector sets a 4x4 grid, and upsampling blocks
modulated by the sentence (FiLM) decode it to an image, trained with an L1 or L2
pixel loss. There is no noise: one caption gives one image, the conditional mean
(L2) or median (L1) of its scenes, so what varies between scenes of a caption
(background, jitter) comes out averaged. It is the floor the generative families
must beat.
"""

import dataclasses

import keras

from zoo.layers.film_decoder import film_image_decoder
from zoo.models.base import TaskConfig, TextToImageTask
from zoo.registry import register_presets


@dataclasses.dataclass
class RegressionText2ImageConfig(TaskConfig):
    decoder_channels: int = 8  # channels at full resolution; doubled at each halving
    max_channels: int = 128

    def __post_init__(self):
        if self.image_size not in (32, 64, 128, 256):
            raise ValueError(f"image_size must be 32, 64, 128 or 256, got {self.image_size}.")


def build_decoder(config, text_dim):
    """The decoder: sentence [B, text_dim] -> images [B, S, S, 3] in [-1, 1]."""
    # === Inputs ===
    sentence = keras.Input((text_dim,), name="sentence")
    # === Decoder ===
    normalised = keras.layers.LayerNormalization(name="sentence_norm")(sentence)  # pretrained vectors can be tiny
    images = film_image_decoder(normalised, config.image_size, config.decoder_channels, config.max_channels)
    return keras.Model(sentence, images, name="decoder")


@keras.saving.register_keras_serializable(package="zoo")
class RegressionText2Image(TextToImageTask):
    """Text to image by regression: a deterministic decoder trained with a pixel loss.

    `call({"tokens"})` returns `{"images": [B, S, S, 3] in [-1, 1]}`.

    Args:
        config: a `RegressionText2ImageConfig`.
        vocabulary: the caption vocabulary (default: `shapes`).
        text_encoder: a shared `TextEncoder`, or None to build one.

    Example:
        model = zoo.build("regression_t2i_tiny")
        images = model.generate(["a large red circle on the left"])  # uint8 [1, 32, 32, 3]
    """

    family = "regression_t2i"
    config_class = RegressionText2ImageConfig

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder, **kwargs)
        self.decoder = build_decoder(self.config, self.text_encoder.feature_dim)

    def networks(self):
        return {"text_encoder": self.text_encoder, "decoder": self.decoder}

    def example_inputs(self, batch_size=2):
        return {"tokens": self.tokenize(["a small red circle in the center"] * batch_size)}

    def call(self, inputs, training=False):
        sentence = self.text_encoder(inputs["tokens"], training=training)["sentence"]
        return {"images": self.decoder(sentence, training=training)}

    def images_from_tokens(self, tokens, seeds=None):
        """Float images in [-1, 1] for token ids [N, L]. The model is deterministic: `seeds` (which
        `generate` and serving pass, as to every text-to-image model) are ignored."""
        return self({"tokens": tokens})["images"]


register_presets(RegressionText2Image, {
    "regression_t2i": ("Pixel-loss regression baseline, text to image (64x64 shapes)",
        {}),
    "regression_t2i_tiny": ("Tiny regression_t2i for tests (32x32)",
        {"image_size": 32, "decoder_channels": 4, "max_channels": 16, "embedding_dim": 8, "text_units": 8}),
})
