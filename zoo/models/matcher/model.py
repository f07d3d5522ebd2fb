"""`matcher`: a text-image matching model (AttnGAN's DAMSM at sentence level, CLIP-style loss).

An image encoder (small CNN; its last grid is flattened rather than pooled, so
positions survive) and the shared text encoder map an image and a caption into
one space where matching pairs are close. Trained contrastively, it gives the
shared `TextEncoder` a head start for the generators, and its frozen image
encoder scores how well a generated image matches its caption (the DAMSM loss
of `cgan_t2i`).
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.models.base import Task, TaskConfig, check_images
from zoo.registry import register_presets


@dataclasses.dataclass
class MatcherConfig(TaskConfig):
    channels: int = 16  # at full resolution, doubled at each halving
    max_channels: int = 128
    embedding_size: int = 128
    initial_temperature: float = 0.1


@keras.saving.register_keras_serializable(package="zoo")
class L2Normalize(keras.layers.Layer):
    """Rows scaled to unit length."""

    def call(self, x):
        return x / ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + 1e-12)

    def compute_output_shape(self, input_shape):
        return input_shape


def build_image_encoder(config):
    """images [B, S, S, 3] in [-1, 1] -> unit embeddings [B, E]."""
    # === Inputs ===
    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    # === Convolutions ===
    x = images
    resolution, width = config.image_size, config.channels
    while resolution > 4:
        resolution //= 2
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", name=f"conv{resolution}")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"act{resolution}")(x)
        width = min(2 * width, config.max_channels)
    # === Embedding (flattened, not pooled: where things are matters) ===
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(config.embedding_size, name="embedding")(x)
    embedding = L2Normalize(name="normalize")(x)
    return keras.Model(images, embedding, name="image_encoder")


def build_text_projection(config, text_dim):
    """sentence [B, T] -> unit embeddings [B, E]."""
    sentence = keras.Input((text_dim,), name="sentence")
    x = keras.layers.Dense(config.embedding_size, name="embedding")(sentence)
    return keras.Model(sentence, L2Normalize(name="normalize")(x), name="text_projection")


@keras.saving.register_keras_serializable(package="zoo")
class TextImageMatcher(Task):
    """Scores how well captions match images; trained contrastively.

    Args:
        config: a `MatcherConfig`.
        vocabulary: the caption vocabulary (default: `shapes`).
        text_encoder: a shared `TextEncoder`, or None to build one.

    Example:
        matcher = zoo.build("matcher_tiny")
        scores = matcher.similarity(images, ["a small red circle on the left"])  # [N, M]
    """

    family = "matcher"
    task_name = "text-image-matching"
    config_class = MatcherConfig

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder, **kwargs)
        self.image_encoder = build_image_encoder(self.config)
        self.text_projection = build_text_projection(self.config, self.text_encoder.feature_dim)
        self.log_inverse_temperature = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(math.log(1.0 / self.config.initial_temperature)),
            name="log_inverse_temperature")

    def networks(self):
        return {"text_encoder": self.text_encoder, "image_encoder": self.image_encoder,
                "text_projection": self.text_projection}

    def example_inputs(self, batch_size=2):
        size = self.config.image_size
        # Not zeros: a blank image embeds to the zero vector, which matches nothing.
        return {"images": tf.random.stateless_uniform((batch_size, size, size, 3), seed=[0, 0], minval=-1.0),
                "tokens": self.tokenize(["a small red circle in the center"] * batch_size)}

    def embed_text(self, tokens, training=False):
        sentence = self.text_encoder(tokens, training=training)["sentence"]
        return self.text_projection(sentence, training=training)

    def call(self, inputs, training=False):
        """Pairwise logits [B_images, B_texts]: scaled cosine similarities."""
        image_embedding = self.image_encoder(inputs["images"], training=training)
        text_embedding = self.embed_text(inputs["tokens"], training=training)
        scale = ops.exp(ops.clip(self.log_inverse_temperature, 0.0, math.log(100.0)))
        return {"logits": scale * ops.matmul(image_embedding, ops.transpose(text_embedding))}

    def similarity(self, images, captions):
        """Cosine similarity [N_images, N_captions] of uint8 or [-1, 1] images and caption strings."""
        images = check_images(images, self.config.image_size)
        image_embedding = self.image_encoder(images)
        text_embedding = self.embed_text(self.tokenize(captions))
        return np.asarray(ops.matmul(image_embedding, ops.transpose(text_embedding)))

    def retrieval_accuracy(self, images, captions):
        """Share of images whose best-matching caption (among `captions`) is their own."""
        scores = self.similarity(images, captions)
        return float(np.mean(np.argmax(scores, axis=1) == np.arange(len(scores))))


register_presets(TextImageMatcher, {
    "matcher": ("Contrastive text-image matcher (DAMSM-style); pretrains the text encoder",
        {}),
    "matcher_tiny": ("Tiny matcher for tests (32x32)",
        {"image_size": 32, "channels": 4, "max_channels": 16, "embedding_size": 16, "embedding_dim": 8,
         "text_units": 8}),
    "matcher_coco": ("Text-image matcher on COCO captions, its embedding initialised from GloVe vectors "
                     "(glove.6B.100d.txt)",
        {"word_vectors": "glove.6B.100d.txt", "embedding_dim": 100, "max_length": 32}),
})
