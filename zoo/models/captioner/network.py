"""The captioner's networks: the image encoder (a small ResNet, or a keras.applications backbone, to a
grid of features) and the three decoder models (teacher forcing, start, one step) that share one
set of layers."""

import math

import keras

from zoo.models.captioner.backbone import build_backbone
from zoo.models.captioner.layers import AttentionLSTMCell, GridPositionEmbedding, TeacherForcedDecoding


# === Image encoder ===
def _normalization(channels, name):
    # Group norm: no batch statistics, so training and decoding see the same function
    # and one overfitted batch decodes as it trained.
    return keras.layers.GroupNormalization(groups=math.gcd(8, channels), name=name)


def _residual_block(x, width, stride, name):
    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        shortcut = keras.layers.Conv2D(width, 1, strides=stride, use_bias=False, name=f"{name}_shortcut")(x)
    h = keras.layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    h = _normalization(width, f"{name}_norm1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    h = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv2")(h)
    h = _normalization(width, f"{name}_norm2")(h)
    h = keras.layers.Add(name=f"{name}_add")([shortcut, h])
    return keras.layers.ReLU(name=f"{name}_out")(h)


def build_image_encoder(config):
    """The image encoder: images [B, S, S, 3] in [-1, 1] -> grid features [B, G*G, D]."""
    # === Inputs ===
    images = keras.Input((config.image_size, config.image_size, 3), name="images")
    x = build_backbone(config)(images) if config.image_backbone else _small_cnn(images, config)
    # === Grid features ===
    x = keras.layers.Conv2D(config.feature_dim, 1, name="feature_projection")(x)
    x = keras.layers.Reshape((config.grid_size * config.grid_size, config.feature_dim), name="grid")(x)
    grid = GridPositionEmbedding(name="grid_position")(x)
    return keras.Model(images, grid, name="image_encoder")


def _small_cnn(images, config):
    # === Stem ===
    x = keras.layers.Conv2D(config.encoder_channels, 3, padding="same", use_bias=False, name="stem_conv")(images)
    x = _normalization(config.encoder_channels, "stem_norm")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    # === Residual stages: halve the resolution down to the grid ===
    resolution = config.image_size
    width = config.encoder_channels
    while resolution > config.grid_size:
        resolution //= 2
        width = min(width * 2, config.max_channels)
        for block in range(config.blocks_per_stage):
            x = _residual_block(x, width, 2 if block == 0 else 1, f"stage{resolution}_block{block}")
    return x


# === Decoder ===
class _DecoderLayers:
    """The decoder's layers, made once and wired into the three decoder models."""

    def __init__(self, config, vocabulary_size, token_embedding):
        self.token_embedding = token_embedding
        self.mean_feature = keras.layers.GlobalAveragePooling1D(name="mean_feature")
        self.initial_hidden = keras.layers.Dense(config.decoder_units, activation="tanh", name="initial_hidden")
        self.initial_cell = keras.layers.Dense(config.decoder_units, name="initial_cell")
        self.grid_projection = keras.layers.Dense(config.attention_units, name="grid_projection")
        self.cell = AttentionLSTMCell(
            config.decoder_units, config.attention_units, vocabulary_size, name="attention_lstm_cell"
        )
        self.teacher_forcing = TeacherForcedDecoding(self.cell, name="teacher_forcing")

    def start(self, grid):
        mean = self.mean_feature(grid)
        return self.initial_hidden(mean), self.initial_cell(mean), self.grid_projection(grid)


def build_decoders(config, vocabulary_size, token_embedding):
    """Three models sharing one set of layers (the embedding is the text encoder's).

    - `decoder`: {grid, tokens [B, T]} -> {logits [B, T, V], attention [B, T, N]}, teacher forcing.
    - `decoder_start`: {grid} -> {hidden, cell, projected_grid}: the state before the first word.
    - `decoder_step`: {token [B], hidden, cell, grid, projected_grid} -> {logits, attention, hidden, cell}.
    """
    layers = _DecoderLayers(config, vocabulary_size, token_embedding)
    grid_cells = config.grid_size * config.grid_size
    # === Teacher forcing ===
    grid = keras.Input((grid_cells, config.feature_dim), name="grid")
    tokens = keras.Input((config.max_length - 1,), dtype="int32", name="tokens")
    hidden, cell, projected_grid = layers.start(grid)
    logits, attention = layers.teacher_forcing([token_embedding(tokens), grid, projected_grid, hidden, cell])
    decoder = keras.Model({"grid": grid, "tokens": tokens}, {"logits": logits, "attention": attention}, name="decoder")
    # === Start of decoding ===
    start_grid = keras.Input((grid_cells, config.feature_dim), name="grid")
    hidden, cell, projected_grid = layers.start(start_grid)
    decoder_start = keras.Model(
        {"grid": start_grid}, {"hidden": hidden, "cell": cell, "projected_grid": projected_grid}, name="decoder_start"
    )
    # === One step ===
    step_inputs = {
        "token": keras.Input((), dtype="int32", name="token"),
        "hidden": keras.Input((config.decoder_units,), name="hidden"),
        "cell": keras.Input((config.decoder_units,), name="cell"),
        "grid": keras.Input((grid_cells, config.feature_dim), name="grid"),
        "projected_grid": keras.Input((grid_cells, config.attention_units), name="projected_grid"),
    }
    logits, attention, hidden, cell = layers.cell([
        token_embedding(step_inputs["token"]), step_inputs["hidden"], step_inputs["cell"],
        step_inputs["grid"], step_inputs["projected_grid"],
    ])
    decoder_step = keras.Model(
        step_inputs, {"logits": logits, "attention": attention, "hidden": hidden, "cell": cell}, name="decoder_step"
    )
    return decoder, decoder_start, decoder_step
