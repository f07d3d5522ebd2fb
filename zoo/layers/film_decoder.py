"""A text-modulated image decoder: a code vector to an image through FiLM upsampling blocks.

Shared by the decoders of `cvae_t2i` and `regression_t2i` (and the same block as
the `cgan_t2i` generator's): the code (text, and a latent when there is one)
sets a 4x4 grid, then each block doubles the resolution and modulates its
features with FiLM from the code, up to a tanh RGB image in [-1, 1].

Example:
    code = keras.Input((96,))
    images = film_image_decoder(code, image_size=64, base_channels=8, max_channels=128)
    decoder = keras.Model(code, images)
"""

import math

import keras

from zoo.layers.conditioning import CoordinateChannels, FiLM


def decoder_channels(image_size, resolution, base_channels, max_channels):
    """Width at `resolution`: `base_channels` at full size, doubled at each halving, capped."""
    return min(base_channels * image_size // resolution, max_channels)


def film_upsampling_block(x, condition, width, name, coordinates=False):
    """Upsample by 2, two 3x3 convolutions each modulated by `condition` (FiLM), a 1x1 shortcut.

    With `coordinates` the first convolution also sees x and y channels (`CoordinateChannels`).
    """
    upsampled = keras.layers.UpSampling2D(2, name=f"{name}_upsample")(x)
    shortcut = keras.layers.Conv2D(width, 1, name=f"{name}_shortcut")(upsampled)
    h = CoordinateChannels(name=f"{name}_coordinates")(upsampled) if coordinates else upsampled
    h = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv1")(h)
    h = FiLM(name=f"{name}_film1")([h, condition])
    h = keras.layers.LeakyReLU(0.2, name=f"{name}_act1")(h)
    h = keras.layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(h)
    h = FiLM(name=f"{name}_film2")([h, condition])
    h = keras.layers.LeakyReLU(0.2, name=f"{name}_act2")(h)
    return keras.layers.Add(name=f"{name}_residual")([shortcut, h])


def film_image_decoder(code, image_size, base_channels, max_channels, coordinates=False):
    """Images [B, S, S, 3] in [-1, 1] from a code [B, D] (a functional-API tensor).

    `coordinates`: every upsampling block's first convolution also sees x and y channels
    (CoordConv), for edges at exact positions; off, the weights are those of earlier decoders.
    """
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two of at least 8, got {image_size}.")
    # === Projection to a 4x4 grid ===
    width = decoder_channels(image_size, 4, base_channels, max_channels)
    x = keras.layers.Dense(4 * 4 * width, name="project")(code)
    x = keras.layers.Reshape((4, 4, width), name="grid")(x)
    # === Upsampling blocks ===
    for level in range(int(math.log2(image_size // 4))):
        resolution = 8 * 2**level
        width = decoder_channels(image_size, resolution, base_channels, max_channels)
        x = film_upsampling_block(x, code, width, f"up{resolution}", coordinates)
    # === Output ===
    x = keras.layers.LeakyReLU(0.2, name="rgb_activation")(x)
    return keras.layers.Conv2D(3, 3, padding="same", activation="tanh", name="to_rgb", dtype="float32")(x)
