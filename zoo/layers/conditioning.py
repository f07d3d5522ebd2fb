"""Text conditioning layers: conditioning augmentation, FiLM, tiling a vector over a grid."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class ConditioningAugmentation(keras.layers.Layer):
    """StackGAN's conditioning augmentation: a Gaussian around a projection of the text.

    Returns `[condition, mean, log_variance]`; `condition = mean + exp(log_variance / 2) * noise`.
    The noise is an input (not drawn inside) so the layer is deterministic under
    XLA and in serving; feed zeros to get the mean.

    Args:
        units: width of the condition.
        noise_scale: multiplies the noise; 0 makes the condition the mean itself (the noise
            input stays, so signatures do not change), for data where a caption should fix
            its picture and the noise only blurs which caption it was.

    Example:
        condition, mean, log_variance = ConditioningAugmentation(64)([sentence, noise])
    """

    def __init__(self, units, noise_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.noise_scale = float(noise_scale)
        self.projection = keras.layers.Dense(2 * units, name="projection")

    def build(self, input_shape):
        self.projection.build(input_shape[0])

    def call(self, inputs):
        sentence, noise = inputs
        statistics = ops.leaky_relu(self.projection(sentence), 0.2)
        mean, log_variance = ops.split(statistics, 2, axis=-1)
        log_variance = ops.clip(log_variance, -10.0, 10.0)
        condition = mean + ops.exp(0.5 * log_variance) * (self.noise_scale * noise)
        return [condition, mean, log_variance]

    def compute_output_shape(self, input_shape):
        shape = (input_shape[0][0], self.units)
        return [shape, shape, shape]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "noise_scale": self.noise_scale}


@keras.saving.register_keras_serializable(package="zoo")
class FiLM(keras.layers.Layer):
    """Feature-wise affine modulation by a condition vector (DF-GAN's affine fusion).

    `x * (1 + gamma(condition)) + beta(condition)`, with gamma and beta dense
    projections initialised at zero so the block starts as the identity.

    Example:
        x = FiLM()([feature_map, condition])
    """

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.gamma = keras.layers.Dense(channels, kernel_initializer="zeros", name="gamma")
        self.beta = keras.layers.Dense(channels, kernel_initializer="zeros", name="beta")
        self.gamma.build(input_shape[1])
        self.beta.build(input_shape[1])

    def call(self, inputs):
        x, condition = inputs
        gamma = self.gamma(condition)[:, None, None, :]
        beta = self.beta(condition)[:, None, None, :]
        return x * (1.0 + gamma) + beta

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="zoo")
class TileText(keras.layers.Layer):
    """A vector [B, D] repeated over the grid of a feature map [B, H, W, C] -> [B, H, W, D].

    Example:
        joined = keras.layers.Concatenate()([features, TileText()([sentence, features])])
    """

    def call(self, inputs):
        vector, feature_map = inputs
        shape = ops.shape(feature_map)
        return ops.broadcast_to(vector[:, None, None, :], (shape[0], shape[1], shape[2], vector.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (*input_shape[1][:3], input_shape[0][-1])


@keras.saving.register_keras_serializable(package="zoo")
class CoordinateChannels(keras.layers.Layer):
    """A feature map [B, H, W, C] with two channels appended: x and y, from -1 to 1 over the map (CoordConv,
    Liu et al. 2018) -> [B, H, W, C + 2].

    With them a convolution knows where it is, so an upsampling block can put an edge at an
    exact position: after FiLM shifts them by a code's centre, |x - cx| + |y - cy| < r is a
    diamond, max(...) a square. Without them a decoder infers position from coarse features.

    Example:
        h = keras.layers.Conv2D(16, 3, padding="same")(CoordinateChannels()(upsampled))
    """

    def call(self, feature_map):
        shape = ops.shape(feature_map)
        height, width = feature_map.shape[1], feature_map.shape[2]
        ys = ops.linspace(-1.0, 1.0, height)
        xs = ops.linspace(-1.0, 1.0, width)
        grid = ops.stack([ops.tile(xs[None, :], (height, 1)), ops.tile(ys[:, None], (1, width))], axis=-1)
        grid = ops.broadcast_to(ops.cast(grid, feature_map.dtype)[None], (shape[0], height, width, 2))
        return ops.concatenate([feature_map, grid], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:3], input_shape[3] + 2)
