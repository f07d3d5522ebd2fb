"""`cgan_inpaint`: text-guided inpainting (DeepFill v2 gated convolutions, SN-PatchGAN, text fusion).

Generator: a single-stage encoder-decoder of gated convolutions (Yu et al. 2019)
on the masked image and its mask (DeepFill v2's coarse network without its
refinement stage, 3x3 kernels throughout and one convolution per level to fit a
CPU budget), with U-Net skips, dilated gated convolutions at the bottleneck, and
the caption fused in two ways: FiLM by the sentence vector in the bottleneck and
decoder blocks, and attention from every bottleneck position over the word
features. An `object` mask hides a whole object, so only the caption says what
to paint; a per-example `has_text` flag switches the text path off (its
contribution is multiplied by 0), so the same network also does plain image
completion. The output keeps the known pixels exactly:
`generated * mask + image * (1 - mask)`.

Discriminator: SN-PatchGAN: spectrally normalized 5x5 stride-2 convolutions on
(image, mask), every element of the last feature map a logit for the hinge loss.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.layers import FiLM
from zoo.layers.convolution import GatedConv2D, gated_up_block, spectral_normalization
from zoo.models.base import InpaintingTask, TaskConfig
from zoo.registry import register_presets
from zoo.text import PAD_ID


@dataclasses.dataclass
class CGANInpaintConfig(TaskConfig):
    use_text: bool = True  # False: no text encoder and no text path (plain image completion)
    generator_channels: int = 8  # channels at full resolution; doubled at each halving
    max_channels: int = 64
    downsamplings: int = 3  # the bottleneck is image_size / 2**downsamplings
    dilation_rates: tuple = (1, 2, 4)  # gated convolutions at the bottleneck (8x8 for 64x64 images)
    condition_dim: int = 64  # width of the projected sentence vector that drives FiLM
    word_attention: bool = True  # attention from bottleneck positions over the words
    attention_heads: int = 2
    discriminator_channels: int = 12  # 12-24-48-48: keeps a batch-32 step near 14 GFLOP
    discriminator_layers: int = 4  # SN 5x5 stride-2 convolutions
    # Gated 3x3 convolution channels at full resolution before the RGB layer; 0 = none (the
    # output is then one convolution over half-resolution features upsampled by nearest
    # neighbour, which draws a 14 px diamond's edges in 2 px steps).
    output_channels: int = 0
    # Gated 3x3 convolutions per decoder level below full resolution (after its upsampling and
    # skip). One draws a 14 px diamond as a rounded blob: its outline is a distance from the
    # hole's centre, which a second convolution at 16x16 and 32x32 lets the decoder place.
    decoder_convs: int = 1

    def __post_init__(self):
        self.dilation_rates = tuple(self.dilation_rates)
        if self.image_size not in (32, 64, 128, 256):
            raise ValueError(f"image_size must be 32, 64, 128 or 256, got {self.image_size}.")
        if not 1 <= self.downsamplings <= 5:
            raise ValueError(f"downsamplings must be in 1..5, got {self.downsamplings}.")
        if not 1 <= self.decoder_convs <= 4:
            raise ValueError(f"decoder_convs must be in 1..4, got {self.decoder_convs}.")
        if not 1 <= self.discriminator_layers <= 6:
            raise ValueError(f"discriminator_layers must be in 1..6, got {self.discriminator_layers}.")
        if bottleneck_channels(self) % self.attention_heads:
            raise ValueError(f"attention_heads={self.attention_heads} must divide the bottleneck channels "
                             f"({bottleneck_channels(self)}).")


def _level_channels(config, level):
    return min(config.generator_channels * 2**level, config.max_channels)


def bottleneck_channels(config):
    return _level_channels(config, config.downsamplings)


# === Layers ===
@keras.saving.register_keras_serializable(package="zoo")
class WordAttention(keras.layers.Layer):
    """Residual attention from each position of a feature map over word features.

    Padding words (token id 0) are masked out, and the attended result is
    multiplied by `has_text` ([B, 1], 0 or 1), so a caption-free example gets
    its features back unchanged.

    Args:
        num_heads: attention heads; the key width is channels / num_heads.

    Example:
        x = WordAttention(2)([features, words, token_ids, has_text])
    """

    def __init__(self, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads

    def build(self, input_shape):
        features_shape, words_shape = input_shape[0], input_shape[1]
        channels = features_shape[-1]
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, channels // self.num_heads, name="attention"
        )
        positions = features_shape[1] * features_shape[2]
        self.attention.build((features_shape[0], positions, channels), words_shape)

    def call(self, inputs):
        features, words, token_ids, has_text = inputs
        _, height, width, channels = features.shape
        queries = ops.reshape(features, (-1, height * width, channels))
        # [B, 1, L]: every position may attend to the real words of its caption.
        word_mask = ops.not_equal(token_ids, PAD_ID)[:, None, :]
        attended = self.attention(queries, words, attention_mask=word_mask)
        attended = ops.reshape(attended, (-1, height, width, channels))
        return features + attended * ops.cast(has_text, attended.dtype)[:, :, None, None]

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads}


# === Networks ===
def build_generator(config, text_dim):
    """Gated encoder-decoder: {images, masks[, words, sentence, tokens, has_text]} -> generated [B,S,S,3]."""
    # === Inputs ===
    size = config.image_size
    images = keras.Input((size, size, 3), name="images")  # holes already zeroed
    masks = keras.Input((size, size, 1), name="masks")
    inputs = {"images": images, "masks": masks}
    condition = None
    if config.use_text:
        inputs.update(
            words=keras.Input((config.max_length, text_dim), name="words"),
            sentence=keras.Input((text_dim,), name="sentence"),
            tokens=keras.Input((config.max_length,), dtype="int32", name="tokens"),
            has_text=keras.Input((1,), name="has_text"),
        )
        # Normalised because a pretrained encoder (the shapes matcher) emits vectors of scale ~0.01.
        sentence = keras.layers.LayerNormalization(name="sentence_norm")(inputs["sentence"])
        condition = keras.layers.Dense(config.condition_dim, name="text_condition")(sentence)
        condition = keras.layers.LeakyReLU(0.2, name="text_condition_act")(condition)
        # Zero for examples without a caption, so FiLM falls back to its learned biases alone.
        condition = keras.layers.Multiply(name="text_gate")([condition, inputs["has_text"]])
    # === Encoder ===
    x = keras.layers.Concatenate(name="image_and_mask")([images, masks])
    x = GatedConv2D(_level_channels(config, 0), 3, name="encoder0")(x)
    skips = [x]
    for level in range(1, config.downsamplings + 1):
        x = GatedConv2D(_level_channels(config, level), 3, strides=2, name=f"encoder{level}")(x)
        skips.append(x)
    # === Bottleneck ===
    for index, rate in enumerate(config.dilation_rates):
        x = GatedConv2D(bottleneck_channels(config), 3, dilation_rate=rate, name=f"bottleneck{index}")(x)
        x = _film(x, condition, f"bottleneck{index}_film")
    if config.use_text and config.word_attention:
        words = keras.layers.LayerNormalization(name="words_norm")(inputs["words"])
        x = WordAttention(config.attention_heads, name="word_attention")([x, words, inputs["tokens"], inputs["has_text"]])
    # === Decoder ===
    for level in reversed(range(1, config.downsamplings)):
        x = gated_up_block(x, skips[level], _level_channels(config, level), f"decoder{level}")
        for extra in range(1, config.decoder_convs):
            x = GatedConv2D(_level_channels(config, level), 3, name=f"decoder{level}_gated{extra}")(x)
        x = _film(x, condition, f"decoder{level}_film")
    # === Output ===
    # The last upsampling goes straight to RGB: full-resolution gated layers would double the cost.
    x = keras.layers.UpSampling2D(2, interpolation="nearest", name="output_upsample")(x)
    x = keras.layers.Concatenate(name="output_skip")([x, skips[0]])
    if config.output_channels:
        x = GatedConv2D(config.output_channels, 3, name="output_block")(x)
    generated = keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="to_rgb", dtype="float32")(x)
    return keras.Model(inputs, generated, name="generator")


def _film(x, condition, name):
    return x if condition is None else FiLM(name=name)([x, condition])


def build_discriminator(config):
    """SN-PatchGAN: {images, masks} -> logits [B, S/2**n, S/2**n, C], each element one hinge logit."""
    # === Inputs ===
    size = config.image_size
    images = keras.Input((size, size, 3), name="images")
    masks = keras.Input((size, size, 1), name="masks")
    # === Spectrally normalized strided convolutions ===
    x = keras.layers.Concatenate(name="image_and_mask")([images, masks])
    for layer in range(config.discriminator_layers):
        filters = min(config.discriminator_channels * 2**layer, 4 * config.discriminator_channels)
        conv = keras.layers.Conv2D(filters, 5, strides=2, padding="same", name=f"down{layer + 1}")
        x = spectral_normalization(conv, name=f"down{layer + 1}_sn")(x)
        if layer < config.discriminator_layers - 1:  # the last layer's outputs are the logits
            x = keras.layers.LeakyReLU(0.2, name=f"down{layer + 1}_act")(x)
    return keras.Model({"images": images, "masks": masks}, x, name="discriminator")


@keras.saving.register_keras_serializable(package="zoo")
class CGANInpaint(InpaintingTask):
    """Inpainting guided by an optional caption: gated-convolution generator, SN-PatchGAN critic.

    `call` takes `images` (float [-1, 1], [B, S, S, 3]), `masks` ([B, S, S, 1],
    1 = hole), and with `use_text`, `tokens` (int32 [B, L]) and optionally
    `has_text` ([B] or [B, 1], 0 or 1; default: 1 where `tokens` holds any id).
    It returns the completed images in [-1, 1], equal to `images` outside the holes.

    Args:
        config: a `CGANInpaintConfig`; `use_text=False` builds no text path at all.
        vocabulary: the caption vocabulary (default: `shapes`).
        text_encoder: a shared `TextEncoder`, or None to build one.

    Example:
        model = zoo.build("cgan_inpaint_tiny")
        images = np.zeros((1, 32, 32, 3), np.uint8)
        masks = np.zeros((1, 32, 32, 1), np.uint8); masks[0, 8:24, 8:24] = 1
        completed = model.inpaint(images, masks, ["a large red circle in the center"])  # uint8
        completed = model.inpaint(images, masks)  # no caption: plain completion
    """

    family = "cgan_inpaint"
    config_class = CGANInpaintConfig

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder, **kwargs)
        text_dim = self.text_encoder.feature_dim if self.uses_text else 0
        self.generator = build_generator(self.config, text_dim)
        self.discriminator = build_discriminator(self.config)

    @property
    def uses_text(self):
        # Read by Task.__init__ (after the config is set) to decide whether to build a text encoder.
        return self.config.use_text

    def networks(self):
        networks = {"generator": self.generator, "discriminator": self.discriminator}
        return {"text_encoder": self.text_encoder, **networks} if self.uses_text else networks

    def example_inputs(self, batch_size=2):
        size = self.config.image_size
        masks = np.zeros((batch_size, size, size, 1), np.float32)
        masks[:, size // 4: size // 2, size // 4: size // 2] = 1.0
        inputs = {"images": tf.zeros((batch_size, size, size, 3)), "masks": tf.constant(masks)}
        if self.uses_text:
            inputs["tokens"] = self.tokenize(["a small red circle in the center"] * batch_size)
        return inputs

    def complete(self, inputs, training=False):
        """{"generated": the raw generator output, "images": it composited into the known pixels}."""
        images = tf.cast(inputs["images"], tf.float32)
        masks = tf.cast(inputs["masks"], tf.float32)
        network_inputs = {"images": images * (1.0 - masks), "masks": masks}
        if self.uses_text:
            network_inputs.update(self._text_inputs(inputs, tf.shape(images)[0], training))
        generated = tf.cast(self.generator(network_inputs, training=training), tf.float32)
        return {"generated": generated, "images": generated * masks + images * (1.0 - masks)}

    def _text_inputs(self, inputs, batch_size, training):
        tokens = inputs.get("tokens")
        if tokens is None:
            tokens = tf.zeros([batch_size, self.config.max_length], tf.int32)
        tokens = tf.cast(tokens, tf.int32)
        has_text = inputs.get("has_text")
        if has_text is None:
            # All-padding token rows ("zero text") mean no caption.
            has_text = tf.reduce_any(tf.not_equal(tokens, PAD_ID), axis=-1)
        has_text = tf.reshape(tf.cast(has_text, tf.float32), [-1, 1])
        text = self.text_encoder(tokens, training=training)
        # tf.identity drops the Keras padding mask attached to `words`: WordAttention reads the
        # padding from the token ids, and a mask would only make Keras warn.
        words = tf.identity(text["words"])
        return {"words": words, "sentence": text["sentence"], "tokens": tokens, "has_text": has_text}

    def call(self, inputs, training=False):
        return self.complete(inputs, training=training)["images"]


register_presets(CGANInpaint, {
    "cgan_inpaint": ("Text-guided inpainting, gated convolutions + SN-PatchGAN (64x64 shapes)",
        {}),
    "cgan_inpaint_tiny": ("Tiny cgan_inpaint for tests (32x32)",
        {"image_size": 32, "generator_channels": 4, "max_channels": 8, "downsamplings": 2,
         "dilation_rates": (1, 2), "condition_dim": 8, "discriminator_channels": 4, "discriminator_layers": 3,
         "embedding_dim": 8, "text_units": 8}),
    # Photo inpainting without text (facades photos, NVIDIA irregular masks) at 128x128: four
    # halvings to an 8x8 bottleneck whose dilated gated convolutions (1, 2, 4) reach across the
    # largest holes, and an SN-PatchGAN down to 4x4. 16 channels at full size (to 128 at 8x8):
    # 1.9 GFLOP a generator pass per image (8 channels to 96, the width of versions 1-3: 0.62), yet
    # only 1.55x the step time on a 2-core CPU; 256 px would cost four times as much a step.
    "cgan_inpaint_facades": ("Photo inpainting without text (128x128, e.g. facades with irregular masks)",
        {"image_size": 128, "use_text": False, "generator_channels": 16, "max_channels": 128,
         "downsamplings": 4, "dilation_rates": (1, 2, 4, 1), "discriminator_channels": 16,
         "discriminator_layers": 5, "output_channels": 8}),
})
