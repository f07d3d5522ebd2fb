"""`cgan_i2i`: pix2pix (Isola et al. 2017), a conditional GAN from label maps to images.

Generator: a U-Net (4x4 stride-2 convolutions down to 1x1, transposed
convolutions up, skip connections between mirrored levels) with dropout in the
first decoder blocks. Discriminator: a PatchGAN that classifies overlapping
patches of the (input, image) pair as real or fake. The training step adds an
L1 loss to the target, which carries the low frequencies; the PatchGAN carries
the high ones.

Dropout: the paper keeps dropout on at test time as the generator's only noise.
Here dropout is an input of the generator (multiplicative masks), so a network
call is a deterministic function of its inputs: the training step draws the
masks from its seed, `call` and `translate` use masks of ones (the expected
output, deterministic), and `translate(..., seeds=s)` draws masks as the paper does, one
draw per example from its own seed (the exported `seeded` signature does the same).
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from zoo.layers.convolution import patch_discriminator, unet_down_block, unet_up_block
from zoo.kinds import seeds_per_caption
from zoo.models.base import ImageToImageTask, TaskConfig, check_images, to_uint8
from zoo.registry import register_presets


@dataclasses.dataclass
class CGANImage2ImageConfig(TaskConfig):
    input_classes: int = 9  # > 0: inputs are class indices, one-hot encoded; 0: inputs are colour images
    input_channels: int = 1  # channels of the plain input (1 for class indices)
    generator_channels: int = 16  # channels of the first encoder level; doubled at each level
    discriminator_channels: int = 16
    max_channels: int = 128
    dropout_blocks: int = 3  # decoder blocks with dropout, from the innermost
    dropout_rate: float = 0.5
    discriminator_layers: int = 2  # strided PatchGAN layers: 2 -> 34x34 patches, 3 -> 70x70

    def __post_init__(self):
        if self.image_size not in (32, 64, 128, 256):
            raise ValueError(f"image_size must be 32, 64, 128 or 256, got {self.image_size}.")
        if self.input_classes < 0 or (self.input_classes and self.input_channels != 1):
            raise ValueError(
                f"With input_classes={self.input_classes} > 0 the input is a class-index map, so "
                f"input_channels must be 1 (got {self.input_channels}); use input_classes=0 for colour inputs."
            )
        if self.input_channels < 1:
            raise ValueError(f"input_channels must be positive, got {self.input_channels}.")
        if not 0 <= self.dropout_blocks < unet_levels(self):
            raise ValueError(f"dropout_blocks must be in [0, {unet_levels(self) - 1}], got {self.dropout_blocks}.")
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {self.dropout_rate}.")
        if not 1 <= self.discriminator_layers <= 4:
            raise ValueError(f"discriminator_layers must be in 1..4, got {self.discriminator_layers}.")

    @property
    def encoded_channels(self):
        """Channels of the input as the networks see it (one-hot classes or colours)."""
        return self.input_classes or self.input_channels


def unet_levels(config):
    """Encoder levels: the U-Net halves the image down to 1x1, as in pix2pix."""
    return int(math.log2(config.image_size))


def _level_channels(config, level):
    return min(config.generator_channels * 2**level, config.max_channels)


def dropout_mask_shapes(config):
    """{input name: [H, W, C]} of the generator's dropout masks, innermost decoder block first."""
    levels = unet_levels(config)
    shapes = {}
    for block in range(config.dropout_blocks):
        level = levels - 2 - block  # the decoder block that mirrors encoder level `level`
        resolution = config.image_size // 2 ** (level + 1)
        shapes[f"dropout_{block}"] = [resolution, resolution, _level_channels(config, level)]
    return shapes


def build_generator(config):
    """The U-Net: {inputs [B,S,S,C], dropout_k [B,h,w,c]} -> images [B,S,S,3] in [-1, 1]."""
    # === Inputs ===
    size = config.image_size
    inputs = keras.Input((size, size, config.encoded_channels), name="inputs")
    dropout_masks = {name: keras.Input(shape, name=name) for name, shape in dropout_mask_shapes(config).items()}
    # === Encoder ===
    levels = unet_levels(config)
    skips = []
    x = inputs
    for level in range(levels):
        # No normalization on the first level (pix2pix) nor at 1x1, where instance norm would give zeros.
        normalize = 0 < level < levels - 1
        x = unet_down_block(x, _level_channels(config, level), f"down{level + 1}", normalize=normalize)
        skips.append(x)
    # === Decoder ===
    for block, level in enumerate(reversed(range(levels - 1))):
        x = unet_up_block(
            x, skips[level], _level_channels(config, level), f"up{level + 1}",
            dropout_mask=dropout_masks.get(f"dropout_{block}"),
        )
    # === Output ===
    images = keras.layers.Conv2DTranspose(
        3, 4, strides=2, padding="same", activation="tanh", name="to_rgb", dtype="float32"
    )(x)
    return keras.Model({"inputs": inputs, **dropout_masks}, images, name="generator")


def build_discriminator(config):
    """The PatchGAN: {inputs [B,S,S,C], images [B,S,S,3]} -> patch logits [B,h,w,1]."""
    # === Inputs ===
    size = config.image_size
    inputs = keras.Input((size, size, config.encoded_channels), name="inputs")
    images = keras.Input((size, size, 3), name="images")
    # === Patch classifier on the pair ===
    pair = keras.layers.Concatenate(name="pair")([inputs, images])
    logits = patch_discriminator(
        pair, config.discriminator_channels, config.discriminator_layers, config.max_channels
    )
    return keras.Model({"inputs": inputs, "images": images}, logits, name="discriminator")


@keras.saving.register_keras_serializable(package="zoo")
class CGANImage2Image(ImageToImageTask):
    """Label map to image with pix2pix: a U-Net generator and a PatchGAN discriminator.

    Plain inputs are label maps: with `input_classes > 0`, class indices (uint8
    [N, S, S, 1], e.g. `shapes`' `label_map`) that the model one-hot encodes;
    with `input_classes = 0`, colour images (uint8 0-255 or float in [-1, 1],
    e.g. the facades label images). `call` takes {"inputs": label maps} and,
    optionally, the dropout masks `dropout_0`... (see `dropout_masks`; default
    ones, i.e. no dropout) and returns images in [-1, 1].

    Args:
        config: a `CGANImage2ImageConfig`.
        vocabulary: unused (the family takes no text); kept for the common builder signature.
        text_encoder: unused, for the common builder signature.

    Example:
        model = zoo.build("cgan_i2i_tiny")
        label_map = np.zeros((1, 32, 32, 1), np.uint8); label_map[0, 8:20, 8:20] = 1
        images = model.translate(label_map)  # uint8 [1, 32, 32, 3]
        images = model({"inputs": label_map})  # float32 in [-1, 1]
    """

    family = "cgan_i2i"
    config_class = CGANImage2ImageConfig
    uses_text = False

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder, **kwargs)
        self.generator = build_generator(self.config)
        self.discriminator = build_discriminator(self.config)

    def networks(self):
        return {"generator": self.generator, "discriminator": self.discriminator}

    def example_inputs(self, batch_size=2):
        size = self.config.image_size
        return {"inputs": tf.zeros((batch_size, size, size, self.config.input_channels), tf.uint8)}

    def encode_inputs(self, inputs):
        """Network inputs (float32 [B, S, S, encoded_channels]) from label maps as the data gives them.

        Class indices (any integer dtype) are one-hot encoded; colour images in
        uint8 are scaled to [-1, 1]; float inputs are taken as already encoded.
        """
        inputs = tf.convert_to_tensor(inputs)
        if inputs.dtype.is_floating:
            return tf.cast(inputs, tf.float32)
        if self.config.input_classes:
            return tf.one_hot(tf.cast(inputs[..., 0], tf.int32), self.config.input_classes, dtype=tf.float32)
        return tf.cast(inputs, tf.float32) / 127.5 - 1.0

    def dropout_masks(self, batch_size, seed=None):
        """The generator's dropout masks: ones when `seed` is None, else drawn from the int32 [2] seed.

        Kept units are scaled by 1 / (1 - rate) (inverted dropout), so the
        expected activation equals the activation with masks of ones.
        """
        rate = self.config.dropout_rate
        shapes = dropout_mask_shapes(self.config)
        if seed is None or rate == 0.0:
            return {name: tf.ones([batch_size, *shape]) for name, shape in shapes.items()}
        seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), num=len(shapes))
        return {
            name: tf.cast(tf.random.stateless_uniform([batch_size, *shape], seed=seeds[k]) >= rate, tf.float32)
            / (1.0 - rate)
            for k, (name, shape) in enumerate(shapes.items())
        }

    def dropout_masks_from_seeds(self, seeds):
        """Dropout masks drawn per example from int64 seeds [N]: one seed, one draw, whatever the batch.

        Used by `translate(..., seeds=)` and the exported `seeded` signature, in graph.
        """
        shapes = dropout_mask_shapes(self.config)
        rate = self.config.dropout_rate
        seeds = tf.cast(seeds, tf.int64)
        if rate == 0.0:
            return {name: tf.ones([tf.shape(seeds)[0], *shape]) for name, shape in shapes.items()}

        def one(seed):
            return tuple(
                tf.cast(tf.random.stateless_uniform(shape, seed=tf.stack([seed, tf.constant(k, tf.int64)])) >= rate,
                        tf.float32) / (1.0 - rate)
                for k, shape in enumerate(shapes.values()))

        drawn = tf.map_fn(one, seeds, fn_output_signature=(tf.float32,) * len(shapes))
        return dict(zip(shapes, drawn))

    def images_from_seeds(self, encoded, seeds):
        """Float images in [-1, 1] for encoded inputs and int64 seeds [N] (test-time dropout)."""
        return self.generator({"inputs": encoded, **self.dropout_masks_from_seeds(seeds)}, training=False)

    def call(self, inputs, training=False):
        encoded = self.encode_inputs(inputs["inputs"])
        masks = self.dropout_masks(tf.shape(encoded)[0])
        masks.update({name: inputs[name] for name in masks if name in inputs})
        return self.generator({"inputs": encoded, **masks}, training=training)

    def check_inputs(self, inputs):
        """Encoded float32 inputs from plain label maps, or a clear ValueError."""
        size, classes = self.config.image_size, self.config.input_classes
        if not classes:
            return check_images(inputs, size, channels=self.config.input_channels, name="inputs")
        inputs = np.asarray(inputs)
        inputs = inputs[None] if inputs.ndim == 3 else inputs
        if inputs.ndim != 4 or inputs.shape[0] == 0:
            raise ValueError(f"inputs must be a non-empty batch [N, {size}, {size}, 1] of class indices, "
                             f"got shape {inputs.shape}.")
        if inputs.dtype.kind == "f":
            # Float inputs are one-hot (or soft) class maps, as the networks see them.
            if inputs.shape[1:] != (size, size, classes) or inputs.min() < 0 or inputs.max() > 1:
                raise ValueError(f"Float inputs must be one-hot class maps [N, {size}, {size}, {classes}] "
                                 f"in [0, 1], got shape {inputs.shape}.")
            return tf.constant(inputs, tf.float32)
        if inputs.dtype.kind not in "ui" or inputs.shape[1:] != (size, size, 1):
            raise ValueError(f"inputs must be integer class indices [N, {size}, {size}, 1], "
                             f"got {inputs.dtype} {inputs.shape}.")
        if inputs.min() < 0 or inputs.max() >= classes:
            raise ValueError(f"Class indices must be in [0, {classes - 1}], "
                             f"got values in [{inputs.min()}, {inputs.max()}].")
        return self.encode_inputs(inputs)

    def translate(self, label_maps, seeds=None):
        """Images (uint8 [N, S, S, 3]) for label maps (class indices [N, S, S, 1], one [S, S, 1], or
        one-hot float maps; colour images for a model built with `input_classes=0`).

        `seeds` turns on the paper's test-time dropout: one int (map i gets `seeds + i`) or one
        int per map, as the exported `seeded` signature takes them. None (the default, and the
        export's `serving_default`): no dropout, the expected output, deterministic.
        """
        encoded = self.check_inputs(label_maps)
        if seeds is None:
            masks = self.dropout_masks(int(encoded.shape[0]))
            return to_uint8(self.generator({"inputs": encoded, **masks}, training=False))
        seeds = seeds_per_caption(seeds, int(encoded.shape[0]), items="label maps")
        return to_uint8(self.images_from_seeds(encoded, tf.constant(seeds, tf.int64)))


register_presets(CGANImage2Image, {
    "cgan_i2i": ("pix2pix, shapes label map to image (64x64)",
        {}),
    "cgan_i2i_tiny": ("Tiny cgan_i2i for tests (32x32)",
        {"image_size": 32, "generator_channels": 4, "discriminator_channels": 4, "max_channels": 8,
         "discriminator_layers": 1}),
    # pix2pix's facades setup (256x256, 8-level U-Net to 1x1, 70x70 PatchGAN) with a quarter of
    # its channels (64 -> 16 at the first level) and 128 instead of 512 at the deepest levels.
    "cgan_i2i_facades": ("pix2pix for facades (256x256 colour label images), channels scaled for CPU",
        {"image_size": 256, "input_classes": 0, "input_channels": 3, "generator_channels": 16,
         "discriminator_channels": 16, "max_channels": 128, "discriminator_layers": 3}),
})
