"""Convolution blocks: gated convolution (DeepFill v2) and the pix2pix U-Net and PatchGAN blocks.

The blocks other than `GatedConv2D` and `SpectralNormalization` are functions that
add standard Keras layers to a functional graph.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class GatedConv2D(keras.layers.Layer):
    """Gated convolution (Yu et al., DeepFill v2): `activation(features) * sigmoid(gate)`.

    One convolution produces both the features and a learned soft gate per pixel
    and channel, so the layer can learn to ignore missing pixels (where the mask
    is 1) instead of treating the zeros in a hole as content.

    Args:
        filters: output channels.
        kernel_size: int, the square kernel side.
        strides: int, the stride on both axes.
        dilation_rate: int, the dilation on both axes (1 when strides > 1).
        activation: the activation of the features (DeepFill v2 uses ELU).

    Example:
        x = GatedConv2D(32, 3, strides=2)(keras.ops.concatenate([masked_images, masks], axis=-1))
    """

    def __init__(self, filters, kernel_size=3, strides=1, dilation_rate=1, activation="elu", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.dilation_rate = dilation_rate
        self.activation = keras.activations.get(activation)
        # One convolution with twice the filters is faster than two convolutions.
        self.convolution = keras.layers.Conv2D(
            2 * filters, kernel_size, strides=strides, dilation_rate=dilation_rate, padding="same",
            name="convolution",
        )

    def build(self, input_shape):
        self.convolution.build(input_shape)

    def call(self, inputs):
        features, gate = ops.split(self.convolution(inputs), 2, axis=-1)
        return self.activation(features) * ops.sigmoid(gate)

    def compute_output_shape(self, input_shape):
        shape = self.convolution.compute_output_shape(input_shape)
        return (*shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "dilation_rate": self.dilation_rate,
            "activation": keras.activations.serialize(self.activation),
        }


def instance_normalization(name):
    """Per-example, per-channel normalization (pix2pix's batch norm at batch size 1).

    Unlike batch normalization it keeps no moving statistics, so training and
    inference compute the same function and an EMA of the weights is complete.
    """
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def unet_down_block(x, filters, name, normalize=True):
    """pix2pix encoder block: 4x4 stride-2 convolution, instance norm, LeakyReLU(0.2)."""
    x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=not normalize, name=f"{name}_conv")(x)
    if normalize:
        x = instance_normalization(f"{name}_norm")(x)
    return keras.layers.LeakyReLU(0.2, name=f"{name}_act")(x)


def unet_up_block(x, skip, filters, name, dropout_mask=None):
    """pix2pix decoder block: 4x4 stride-2 transposed convolution, instance norm, dropout, ReLU, skip.

    `dropout_mask` (same shape as the block's output, values 0 or 1 / keep
    probability) is multiplied in: dropout is an input so the network stays a
    deterministic function of its inputs (a mask of ones turns it off).
    """
    x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = instance_normalization(f"{name}_norm")(x)
    if dropout_mask is not None:
        x = keras.layers.Multiply(name=f"{name}_dropout")([x, dropout_mask])
    x = keras.layers.ReLU(name=f"{name}_act")(x)
    return keras.layers.Concatenate(name=f"{name}_skip")([x, skip])


def patch_discriminator(x, channels, strided_layers, max_channels, name="patch"):
    """pix2pix's PatchGAN body and head: logits [B, H', W', 1], one per overlapping patch.

    `strided_layers` 4x4 stride-2 convolutions, one 4x4 stride-1 convolution, then
    a 4x4 stride-1 convolution to one logit per position. With 3 strided layers
    each logit sees a 70x70 patch (the paper's choice at 256x256); 2 give 34x34,
    1 gives 16x16.
    """
    for layer in range(strided_layers):
        filters = min(channels * 2**layer, max_channels)
        # The first layer has no normalization (pix2pix's C64 block).
        x = unet_down_block(x, filters, f"{name}_down{layer + 1}", normalize=layer > 0)
    filters = min(channels * 2**strided_layers, max_channels)
    x = keras.layers.Conv2D(filters, 4, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = instance_normalization(f"{name}_norm")(x)
    x = keras.layers.LeakyReLU(0.2, name=f"{name}_act")(x)
    return keras.layers.Conv2D(1, 4, padding="same", name=f"{name}_logits", dtype="float32")(x)


def gated_up_block(x, skip, filters, name):
    """U-Net decoder step of gated convolutions: nearest 2x upsampling, the skip, a 3x3 gated convolution.

    Upsampling then convolving (DeepFill v2's decoder) avoids the checkerboard of
    transposed convolutions.
    """
    x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_upsample")(x)
    x = keras.layers.Concatenate(name=f"{name}_skip")([x, skip])
    return GatedConv2D(filters, 3, name=f"{name}_gated")(x)


@keras.saving.register_keras_serializable(package="zoo")
class SpectralNormalization(keras.layers.SpectralNormalization):
    """`keras.layers.SpectralNormalization` with the same weights and values, and no `cond` in training.

    Keras' wrapper guards the all-zero kernel with a conditional. Traced in a GAN step
    under a gradient tape, every conditional becomes branch and gradient functions: about a
    third of the time to trace a `cgan_t2i` step, and a runtime cost per call. Here
    both results are computed and the guard is a select, which gives the same numbers.

    Args:
        layer: a layer with a `kernel` (or `embeddings`).
        power_iterations: power-iteration steps per training call.

    Example:
        x = SpectralNormalization(keras.layers.Conv2D(64, 4, strides=2), autocast=False)(x)
    """

    def call(self, inputs, training=False):
        if training:
            vector_u, kernel = self.normalized_weights()
            # A zero kernel has no direction: keep it and u as they are (Keras' guard).
            zero = ops.all(ops.equal(self.kernel.value, 0))
            self.vector_u.assign(ops.where(zero, self.vector_u.value, vector_u))
            self.kernel.assign(ops.where(zero, self.kernel.value, kernel))
        return ops.cast(self.layer(inputs), inputs.dtype)


def spectral_normalization(layer, **kwargs):
    """`SpectralNormalization` of `layer` that keeps its float32 kernel exact under mixed precision.

    Keras' wrapper reads the kernel through the autocast to the compute dtype, so under
    mixed_float16 or mixed_bfloat16 every training call would write the kernel back
    rounded to 16 bits, losing the small optimizer updates that float32 weights are kept
    for. With `autocast=False` on the wrapper the power iteration and the rescale run in
    the kernel's own dtype; the wrapped layer still computes in the mixed dtype.

    Example:
        x = spectral_normalization(keras.layers.Conv2D(64, 4, strides=2), name="down1_sn")(x)
    """
    return SpectralNormalization(layer, autocast=False, **kwargs)
