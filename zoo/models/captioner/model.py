"""`captioner`: image to text with soft attention (Show, Attend and Tell).

A small ResNet-style CNN, trained from scratch, turns an image into a grid of
feature vectors (8x8 for 64x64 images); or a `keras.applications` backbone (ResNet50,
MobileNetV3, EfficientNetB0) with weights from a local file, frozen by default, whose
last grid (stride 32) is projected to the feature width (`image_backbone`, `backbone.py`). An LSTM decoder reads the caption
through the shared `text_encoder.token_embedding`, attends over the grid with
additive (Bahdanau) attention at every step, gates the attended context as in
the paper, and predicts the next word with a vocabulary softmax. Its initial
state comes from the mean grid feature.

The teacher-forcing path (`decoder`) and the single-step path (`decoder_step`)
share one `AttentionLSTMCell`, so greedy decoding and beam search run in graph
(`tf.while_loop` over fixed-shape buffers) with the very weights trained by
teacher forcing, inside a `tf.function` and in an exported SavedModel.

This file holds the task, its config and presets; `layers.py` the attention LSTM and its
layers, `network.py` the image encoder and decoders, `decoding.py` greedy and beam search.
"""

import dataclasses

import keras
import tensorflow as tf

from zoo.models.base import ImageToTextTask, TaskConfig
from zoo.models.captioner.backbone import check_backbone_config
from zoo.models.captioner.decoding import CaptionDecoding
from zoo.models.captioner.network import build_decoders, build_image_encoder
from zoo.registry import register_presets


@dataclasses.dataclass
class CaptionerConfig(TaskConfig):
    grid_size: int = 8  # side of the feature grid the decoder attends over
    encoder_channels: int = 16  # channels of the stem; doubled at each halving
    max_channels: int = 128
    blocks_per_stage: int = 1  # residual blocks after each halving
    feature_dim: int = 128  # width of each grid feature
    decoder_units: int = 256  # LSTM units
    attention_units: int = 128  # width of the additive attention's hidden layer
    # A keras.applications backbone in place of the small CNN ("" keeps the CNN): "ResNet50",
    # "MobileNetV3Small", ... (backbone.BACKBONES); the decoder attends over its last grid (stride
    # 32, so grid_size = image_size // 32). Its weights come from a local file ("" = random).
    image_backbone: str = ""
    backbone_weights: str = ""
    train_backbone: bool = False
    backbone_alpha: float = 1.0  # MobileNetV3's width multiplier

    initial_weight_fields = TaskConfig.initial_weight_fields + ("backbone_weights",)

    def __post_init__(self):
        if self.image_size not in (32, 64, 128, 256):
            raise ValueError(f"image_size must be 32, 64, 128 or 256, got {self.image_size}.")
        if self.image_backbone:
            check_backbone_config(self)
            return
        ratio = self.image_size // max(self.grid_size, 1)
        if self.grid_size < 1 or ratio * self.grid_size != self.image_size or ratio & (ratio - 1):
            raise ValueError(
                f"grid_size must divide image_size={self.image_size} by a power of two "
                f"(e.g. {self.image_size // 8}), got {self.grid_size}."
            )
        if self.blocks_per_stage < 1:
            raise ValueError(f"blocks_per_stage must be at least 1, got {self.blocks_per_stage}.")


# === Task ===
@keras.saving.register_keras_serializable(package="zoo")
class Captioner(CaptionDecoding, ImageToTextTask):
    """Image to text with an attention LSTM (Show, Attend and Tell).

    `call({"images", "tokens"})` runs teacher forcing: images float [B, S, S, 3] in
    [-1, 1] and token ids [B, L] give next-word logits [B, L-1, V] (predicting
    `tokens[:, 1:]` from `tokens[:, :-1]`) and attention weights [B, L-1, G*G].
    `greedy_decode` and `beam_search` decode in graph (wrap them in a
    `tf.function` to compile or export them); `caption` does it on plain images.

    Args:
        config: a `CaptionerConfig`.
        vocabulary: the caption vocabulary (default: `shapes`).
        text_encoder: a shared `TextEncoder`, or None to build one; the decoder reads
            words through its `token_embedding` (its BiLSTM is not used).

    Example:
        model = zoo.build("captioner_tiny")
        model.caption(images_uint8, beam_size=3)  # ["a small red circle on the left", ...]
        tokens, scores, attention = model.caption_with_attention(images_uint8)
    """

    family = "captioner"
    config_class = CaptionerConfig

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(config, vocabulary, text_encoder, **kwargs)
        self.image_encoder = build_image_encoder(self.config)
        self.decoder, self.decoder_start, self.decoder_step = build_decoders(
            self.config, len(self.vocabulary), self.text_encoder.token_embedding
        )
        self._compiled_decoders = {}

    def networks(self):
        return {
            "text_encoder": self.text_encoder,
            "image_encoder": self.image_encoder,
            "decoder": self.decoder,
            "decoder_start": self.decoder_start,
            "decoder_step": self.decoder_step,
        }

    def example_inputs(self, batch_size=2):
        size = self.config.image_size
        return {
            "images": tf.zeros((batch_size, size, size, 3)),
            "tokens": self.tokenize(["a small red circle in the center"] * batch_size),
        }

    def call(self, inputs, training=False):
        grid = self.image_encoder(inputs["images"], training=training)
        return self.decoder({"grid": grid, "tokens": inputs["tokens"][:, :-1]}, training=training)


register_presets(Captioner, {
    "captioner": ("Show, Attend and Tell captioner (64x64 shapes)",
        {}),
    "captioner_tiny": ("Tiny captioner for tests (32x32)",
        {"image_size": 32, "grid_size": 4, "encoder_channels": 4, "max_channels": 8, "feature_dim": 16,
         "decoder_units": 16, "attention_units": 16, "embedding_dim": 8, "text_units": 8}),
    "captioner_coco": ("Show, Attend and Tell on COCO captions: a frozen ImageNet ResNet50 (local weights "
                       "file), 8x8 grid of 256x256 images",
        {"image_size": 256, "grid_size": 8, "image_backbone": "ResNet50",
         "backbone_weights": "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "feature_dim": 512,
         "decoder_units": 512, "attention_units": 256, "embedding_dim": 256, "max_length": 32}),
})
