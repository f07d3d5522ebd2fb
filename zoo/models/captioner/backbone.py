"""A pretrained image backbone for the captioner's encoder: a `keras.applications` CNN without its
top, whose last feature grid (stride 32) the decoder attends over.

The weights come from a local file (`backbone_weights`), never from a download: Keras' own
files for `include_top=False` (the ones `weights="imagenet"` would fetch into `~/.keras/models`)
or any `.weights.h5` saved from the same architecture. Frozen by default (`train_backbone=False`),
which also keeps its batch normalisation in inference mode.

Example:
    backbone = build_backbone(CaptionerConfig(image_size=64, grid_size=2, image_backbone="MobileNetV3Small"))
"""

import keras

from zoo.local_weights import LocalWeightsError, resolve_local_file

# name: (constructor arguments, input convention, Keras' file name of its ImageNet weights without the top)
BACKBONES = {
    "ResNet50": ({}, "caffe", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "MobileNetV3Small": ({"include_preprocessing": True}, "pixels",
                         "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"),
    "MobileNetV3Large": ({"include_preprocessing": True}, "pixels",
                         "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5"),
    "EfficientNetB0": ({}, "pixels", "efficientnetb0_notop.h5"),
}
STRIDE = 32  # every backbone above halves the resolution five times
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="zoo")
class ImageNetInput(keras.layers.Layer):
    """Images in [-1, 1] to what a `keras.applications` backbone expects.

    `convention="pixels"`: RGB in [0, 255] (MobileNetV3 and EfficientNet rescale inside);
    `"caffe"`: BGR in [0, 255] minus the ImageNet mean (ResNet50's `preprocess_input`).

    Example:
        x = ImageNetInput("caffe")(images)
    """

    def __init__(self, convention="pixels", **kwargs):
        super().__init__(**kwargs)
        if convention not in ("pixels", "caffe"):
            raise ValueError(f"convention must be 'pixels' or 'caffe', got {convention!r}.")
        self.convention = convention

    def call(self, images):
        pixels = (images + 1.0) * 127.5
        if self.convention == "pixels":
            return pixels
        return pixels[..., ::-1] - keras.ops.convert_to_tensor(_CAFFE_MEAN_BGR, pixels.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "convention": self.convention}


def check_backbone_config(config):
    """A ValueError for a backbone name, image size or grid the backbone cannot give."""
    if config.image_backbone not in BACKBONES:
        raise ValueError(f"image_backbone must be '' (the small CNN) or one of {sorted(BACKBONES)}, "
                         f"got {config.image_backbone!r}.")
    if config.grid_size != config.image_size // STRIDE:
        raise ValueError(f"{config.image_backbone} gives a {config.image_size // STRIDE}x{config.image_size // STRIDE} "
                         f"grid at image_size={config.image_size} (stride {STRIDE}): set grid_size="
                         f"{config.image_size // STRIDE}, got {config.grid_size}.")


def build_backbone(config):
    """The `keras.applications` backbone of `config.image_backbone`, its local weights loaded, frozen unless
    `config.train_backbone`; images [B, S, S, 3] in [-1, 1] -> features [B, S/32, S/32, C]."""
    arguments, convention, keras_file = BACKBONES[config.image_backbone]
    name = config.image_backbone
    accepted = (f"give a weights file of keras.applications.{name}(include_top=False) (Keras' own is "
                f"{keras_file!r}), or backbone_weights='' for random weights")
    # Found before the network is built: a missing file fails at once.
    weights = resolve_local_file(config.backbone_weights, f"{name} weights", accepted) \
        if config.backbone_weights else None
    if name.startswith("MobileNetV3"):
        arguments = {**arguments, "alpha": config.backbone_alpha}
    network = getattr(keras.applications, name)(
        include_top=False, weights=None, input_shape=(config.image_size, config.image_size, 3), **arguments)
    if weights:
        _load_weights(network, weights, config.backbone_weights, name, accepted)
    network.trainable = config.train_backbone
    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    features = network(ImageNetInput(convention, name="imagenet_input")(images))
    return keras.Model(images, features, name="backbone")


def _load_weights(network, resolved, path, name, accepted):
    try:
        network.load_weights(resolved)
    except Exception as error:  # Keras raises ValueError (shapes, layer counts, suffix), OSError (not HDF5)...
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise LocalWeightsError(f"Cannot load {str(path)!r} into {name}: {message[:300]}; {accepted}.") from None
