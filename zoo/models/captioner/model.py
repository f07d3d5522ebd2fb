"""`captioner`: image to text with soft attention (Show, Attend and Tell).

A small ResNet-style CNN, trained from scratch, turns an image into a grid of
feature vectors (8x8 for 64x64 images). An LSTM decoder reads the caption
through the shared `text_encoder.token_embedding`, attends over the grid with
additive (Bahdanau) attention at every step, gates the attended context as in
the paper, and predicts the next word with a vocabulary softmax. Its initial
state comes from the mean grid feature.

The teacher-forcing path (`decoder`) and the single-step path (`decoder_step`)
share one `AttentionLSTMCell`, so greedy decoding and beam search run in graph
(`tf.while_loop` over fixed-shape buffers) with the very weights trained by
teacher forcing, inside a `tf.function` and in an exported SavedModel.
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.models.base import ImageToTextTask, TaskConfig, check_images
from zoo.registry import register_presets
from zoo.text import END_ID, PAD_ID, START_ID, UNK_ID

# Large negative log-probability for impossible choices; finite so that sums and
# divisions of scores never produce NaN the way -inf - -inf would.
_IMPOSSIBLE = -1e9
# Decoding never emits these: padding, a second [START], or [UNK] (a word the caption cannot show).
_NEVER_GENERATED = (PAD_ID, UNK_ID, START_ID)


@dataclasses.dataclass
class CaptionerConfig(TaskConfig):
    grid_size: int = 8  # side of the feature grid the decoder attends over
    encoder_channels: int = 16  # channels of the stem; doubled at each halving
    max_channels: int = 128
    blocks_per_stage: int = 1  # residual blocks after each halving
    feature_dim: int = 128  # width of each grid feature
    decoder_units: int = 256  # LSTM units
    attention_units: int = 128  # width of the additive attention's hidden layer

    def __post_init__(self):
        if self.image_size not in (32, 64, 128, 256):
            raise ValueError(f"image_size must be 32, 64, 128 or 256, got {self.image_size}.")
        ratio = self.image_size // max(self.grid_size, 1)
        if self.grid_size < 1 or ratio * self.grid_size != self.image_size or ratio & (ratio - 1):
            raise ValueError(
                f"grid_size must divide image_size={self.image_size} by a power of two "
                f"(e.g. {self.image_size // 8}), got {self.grid_size}."
            )
        if self.blocks_per_stage < 1:
            raise ValueError(f"blocks_per_stage must be at least 1, got {self.blocks_per_stage}.")


# === Layers ===
@keras.saving.register_keras_serializable(package="zoo")
class GridPositionEmbedding(keras.layers.Layer):
    """A learned vector per grid cell, added to the grid features [B, N, D].

    Captions name positions ("in the top left corner"); soft attention returns
    a weighted sum of features, which forgets where they came from unless the
    features themselves say it.

    Example:
        grid = GridPositionEmbedding()(features)  # [B, 64, 128] -> [B, 64, 128]
    """

    def build(self, input_shape):
        self.position_embedding = self.add_weight(
            shape=tuple(input_shape[1:]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="position_embedding",
        )

    def call(self, features):
        return features + ops.cast(self.position_embedding, features.dtype)[None]

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="zoo")
class AttentionLSTMCell(keras.layers.Layer):
    """One decoding step of Show, Attend and Tell.

    Inputs `[embedded_token, hidden, cell, grid, projected_grid]`: the embedded
    previous word [B, E], the LSTM state [B, U] twice, the image grid [B, N, D]
    and its attention projection [B, N, A] (computed once per image by the
    caller, since it does not change between steps). Returns
    `[logits, attention, hidden, cell]`: next-word logits [B, V], attention
    weights over the grid [B, N] and the new state.

    Args:
        units: LSTM units.
        attention_units: width of the additive attention's hidden layer.
        vocabulary_size: number of token ids (width of the logits).

    Example:
        cell = AttentionLSTMCell(256, 128, vocabulary_size=32)
        logits, attention, hidden, cell_state = cell([embedded, h, c, grid, projected_grid])
    """

    def __init__(self, units, attention_units, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.attention_units = attention_units
        self.vocabulary_size = vocabulary_size
        self.supports_masking = True
        self.hidden_projection = keras.layers.Dense(attention_units, use_bias=False, name="hidden_projection")
        self.attention_score = keras.layers.Dense(1, name="attention_score")
        # The paper's gate beta: the decoder decides how much it relies on the image at this word.
        self.context_gate = None
        self.lstm = keras.layers.LSTMCell(units, name="lstm")
        # float32 logits under mixed precision: the softmax over the vocabulary needs the range.
        self.output_head = keras.layers.Dense(vocabulary_size, name="output_head", dtype="float32")

    def build(self, input_shape):
        embedded_shape, _, _, grid_shape, _ = input_shape
        feature_dim = grid_shape[-1]
        self.context_gate = keras.layers.Dense(feature_dim, activation="sigmoid", name="context_gate")
        self.hidden_projection.build((None, self.units))
        self.attention_score.build((None, None, self.attention_units))
        self.context_gate.build((None, self.units))
        self.lstm.build((None, embedded_shape[-1] + feature_dim))
        self.output_head.build((None, self.units + feature_dim))

    def call(self, inputs, training=False):
        embedded, hidden, cell, grid, projected_grid = inputs
        # Additive attention: score each grid cell against the previous hidden state.
        scores = self.attention_score(ops.tanh(projected_grid + self.hidden_projection(hidden)[:, None, :]))
        attention = ops.softmax(ops.squeeze(scores, -1), axis=-1)
        context = ops.sum(attention[..., None] * grid, axis=1) * self.context_gate(hidden)
        output, (hidden, cell) = self.lstm(ops.concatenate([embedded, context], -1), [hidden, cell], training=training)
        logits = self.output_head(ops.concatenate([output, context], -1))
        return [logits, attention, hidden, cell]

    def compute_mask(self, inputs, mask=None):
        # The embedding's padding mask stops here: padding is handled by the masked loss,
        # and decoding stops at [END].
        return None

    def compute_output_shape(self, input_shape):
        batch, grid_cells = input_shape[3][0], input_shape[3][1]
        state = (batch, self.units)
        return [(batch, self.vocabulary_size), (batch, grid_cells), state, state]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "attention_units": self.attention_units,
            "vocabulary_size": self.vocabulary_size,
        }


@keras.saving.register_keras_serializable(package="zoo")
class TeacherForcedDecoding(keras.layers.Layer):
    """Runs an `AttentionLSTMCell` over a whole embedded sequence (teacher forcing).

    Inputs `[embedded_tokens, grid, projected_grid, hidden, cell]` with embedded
    tokens [B, T, E]; returns `[logits, attention]`, [B, T, V] and [B, T, N].
    The loop is a `tf.scan` over the T static steps, so XLA compiles the step once.

    Args:
        cell: the `AttentionLSTMCell` shared with the single-step decoder.

    Example:
        logits, attention = TeacherForcedDecoding(cell)([embedded, grid, projected, h0, c0])
    """

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell
        self.supports_masking = True

    def build(self, input_shape):
        embedded_shape, grid_shape, projected_shape, hidden_shape, cell_shape = input_shape
        if not self.cell.built:
            step_embedded = (embedded_shape[0], embedded_shape[2])
            self.cell.build([step_embedded, hidden_shape, cell_shape, grid_shape, projected_shape])

    def call(self, inputs, training=False):
        embedded, grid, projected_grid, hidden, cell = inputs

        def step(previous, embedded_token):
            hidden, cell = previous[2:]
            return self.cell([embedded_token, hidden, cell, grid, projected_grid], training=training)

        # A loop rather than an unrolled graph: unrolling 23 steps made XLA compile ~3x slower.
        batch = tf.shape(embedded)[0]
        no_logits = tf.zeros([batch, self.cell.vocabulary_size], self.cell.output_head.compute_dtype)
        no_attention = tf.zeros([batch, grid.shape[1]], self.cell.compute_dtype)
        logits, attention, _, _ = tf.scan(
            step, tf.transpose(embedded, [1, 0, 2]), initializer=[no_logits, no_attention, hidden, cell]
        )
        return [ops.moveaxis(logits, 0, 1), ops.moveaxis(attention, 0, 1)]

    def compute_mask(self, inputs, mask=None):
        # The embedding's padding mask stops here: padding is handled by the masked loss,
        # and decoding stops at [END].
        return None

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0][0], input_shape[0][1]
        return [(batch, steps, self.cell.vocabulary_size), (batch, steps, input_shape[1][1])]

    def get_config(self):
        return {**super().get_config(), "cell": keras.saving.serialize_keras_object(self.cell)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["cell"] = keras.saving.deserialize_keras_object(config["cell"])
        return cls(**config)


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
    # === Grid features ===
    x = keras.layers.Conv2D(config.feature_dim, 1, name="feature_projection")(x)
    x = keras.layers.Reshape((config.grid_size * config.grid_size, config.feature_dim), name="grid")(x)
    grid = GridPositionEmbedding(name="grid_position")(x)
    return keras.Model(images, grid, name="image_encoder")


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


# === Task ===
@keras.saving.register_keras_serializable(package="zoo")
class Captioner(ImageToTextTask):
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

    # === In-graph decoding ===
    def _decoding_start(self, images):
        grid = self.image_encoder(images, training=False)
        start = self.decoder_start({"grid": grid}, training=False)
        return grid, start

    def _next_log_probs(self, token, hidden, cell, grid, projected_grid):
        """Log-probabilities [B, V] of the next word, with [PAD], [UNK] and [START] ruled out."""
        outputs = self.decoder_step(
            {"token": token, "hidden": hidden, "cell": cell, "grid": grid, "projected_grid": projected_grid},
            training=False,
        )
        log_probs = tf.nn.log_softmax(tf.cast(outputs["logits"], tf.float32), axis=-1)
        # Only words and [END] may come next; [END] is how a caption stops.
        forbidden = tf.one_hot(_NEVER_GENERATED, len(self.vocabulary), on_value=_IMPOSSIBLE, dtype=tf.float32)
        log_probs += tf.reduce_sum(forbidden, axis=0)
        return log_probs, tf.cast(outputs["attention"], tf.float32), outputs["hidden"], outputs["cell"]

    def greedy_decode(self, images):
        """Greedy decoding in graph: the likeliest word at each step until [END].

        Args:
            images: float32 [B, S, S, 3] in [-1, 1].

        Returns:
            A dict: `tokens` int32 [B, L] ([START], words, [END], then [PAD]), `scores`
            float32 [B] (log-probability per generated token, [END] included) and
            `attention` float32 [B, L-1, G*G] (zeros after [END]).
        """
        grid, start = self._decoding_start(images)
        batch = tf.shape(grid)[0]
        steps = self.config.max_length - 1
        cells = self.config.grid_size**2

        def body(step, token, hidden, cell, finished, log_prob_sum, length, tokens, attention):
            log_probs, weights, hidden, cell = self._next_log_probs(
                token, hidden, cell, grid, start["projected_grid"]
            )
            word = tf.where(finished, PAD_ID, tf.argmax(log_probs, axis=-1, output_type=tf.int32))
            live = tf.cast(tf.logical_not(finished), tf.float32)
            log_prob_sum += live * tf.gather(log_probs, word, batch_dims=1)
            length += live
            tokens = _write(tokens, 1, step + 1, word)
            attention = _write(attention, 1, step, weights * live[:, None])
            finished = tf.logical_or(finished, tf.equal(word, END_ID))
            return step + 1, word, hidden, cell, finished, log_prob_sum, length, tokens, attention

        initial = (
            tf.constant(0),
            tf.fill([batch], START_ID),
            start["hidden"],
            start["cell"],
            tf.zeros([batch], tf.bool),
            tf.zeros([batch]),
            tf.zeros([batch]),
            _start_tokens([batch], self.config.max_length),
            tf.zeros([batch, steps, cells]),
        )
        _, _, _, _, _, log_prob_sum, length, tokens, attention = _decoding_loop(body, initial, steps)
        return {"tokens": tokens, "scores": log_prob_sum / tf.maximum(length, 1.0), "attention": attention}

    def beam_search(self, images, beam_size=3):
        """Beam search in graph, ranking hypotheses by length-normalised log-probability.

        Each beam stops at [END] (then only pads, at no cost); the search ends when
        every beam has stopped or after `max_length - 1` words. `beam_size=1` is greedy
        decoding.

        Args:
            images: float32 [B, S, S, 3] in [-1, 1].
            beam_size: number of hypotheses kept per image (a Python int).

        Returns:
            A dict: `tokens` int32 [B, K, L], `scores` float32 [B, K] (mean log-probability
            per generated token, best first) and `attention` float32 [B, K, L-1, G*G].
        """
        beam_size = self._check_beam_size(beam_size)
        vocabulary_size = len(self.vocabulary)
        grid, start = self._decoding_start(images)
        batch = tf.shape(grid)[0]
        steps = self.config.max_length - 1
        cells = self.config.grid_size**2
        grid = tf.repeat(grid, beam_size, axis=0)
        projected_grid = tf.repeat(start["projected_grid"], beam_size, axis=0)
        # A stopped beam may only add [PAD], which costs nothing and keeps its length.
        pad_only = tf.one_hot(PAD_ID, vocabulary_size, on_value=0.0, off_value=_IMPOSSIBLE)

        def body(step, token, hidden, cell, finished, log_prob_sum, length, tokens, attention):
            log_probs, weights, hidden, cell = self._next_log_probs(token, hidden, cell, grid, projected_grid)
            log_probs = tf.reshape(log_probs, [batch, beam_size, vocabulary_size])
            log_probs = tf.where(finished[..., None], pad_only, log_probs)
            candidate_sum = log_prob_sum[..., None] + log_probs
            candidate_length = length + tf.cast(tf.logical_not(finished), tf.float32)
            candidate_score = candidate_sum / candidate_length[..., None]
            _, best = tf.math.top_k(tf.reshape(candidate_score, [batch, -1]), k=beam_size)
            beam, word = best // vocabulary_size, best % vocabulary_size
            log_prob_sum = tf.gather(tf.reshape(candidate_sum, [batch, -1]), best, batch_dims=1)
            length = tf.gather(candidate_length, beam, batch_dims=1)
            was_finished = tf.gather(finished, beam, batch_dims=1)
            weights = tf.gather(tf.reshape(weights, [batch, beam_size, cells]), beam, batch_dims=1)
            weights *= tf.cast(tf.logical_not(was_finished), tf.float32)[..., None]
            tokens = _write(tf.gather(tokens, beam, batch_dims=1), 2, step + 1, word)
            attention = _write(tf.gather(attention, beam, batch_dims=1), 2, step, weights)
            hidden, cell = (_gather_beams(state, beam, beam_size) for state in (hidden, cell))
            finished = tf.logical_or(was_finished, tf.equal(word, END_ID))
            return step + 1, tf.reshape(word, [-1]), hidden, cell, finished, log_prob_sum, length, tokens, attention

        # Only the first beam is alive at the start, so the first step expands one hypothesis.
        first_beam_only = tf.concat([[0.0], tf.fill([beam_size - 1], _IMPOSSIBLE)], axis=0)
        initial = (
            tf.constant(0),
            tf.fill([batch * beam_size], START_ID),
            tf.repeat(start["hidden"], beam_size, axis=0),
            tf.repeat(start["cell"], beam_size, axis=0),
            tf.zeros([batch, beam_size], tf.bool),
            tf.tile(first_beam_only[None], [batch, 1]),
            tf.zeros([batch, beam_size]),
            _start_tokens([batch, beam_size], self.config.max_length),
            tf.zeros([batch, beam_size, steps, cells]),
        )
        _, _, _, _, _, log_prob_sum, length, tokens, attention = _decoding_loop(body, initial, steps)
        # top_k left the beams sorted by this very score.
        return {"tokens": tokens, "scores": log_prob_sum / tf.maximum(length, 1.0), "attention": attention}

    # === Plain inputs ===
    def _best_caption_function(self, beam_size):
        """A cached `tf.function` giving the best hypothesis's tokens, score and attention."""
        if beam_size not in self._compiled_decoders:
            size = self.config.image_size

            def best(images):
                if beam_size == 1:
                    return self.greedy_decode(images)
                result = self.beam_search(images, beam_size)
                return {name: value[:, 0] for name, value in result.items()}

            signature = [tf.TensorSpec([None, size, size, 3], tf.float32)]
            # The loops are explicit `tf.while_loop`s: nothing for autograph to convert.
            self._compiled_decoders[beam_size] = tf.function(best, input_signature=signature, autograph=False)
        return self._compiled_decoders[beam_size]

    def _check_beam_size(self, beam_size):
        # Every beam needs a distinct first word.
        largest = len(self.vocabulary) - len(_NEVER_GENERATED)
        if isinstance(beam_size, bool) or not isinstance(beam_size, (int, np.integer)) or not 1 <= beam_size <= largest:
            raise ValueError(f"beam_size must be an int in 1..{largest}, got {beam_size!r}.")
        return int(beam_size)

    def decode_best(self, images, beam_size):
        return self._best_caption_function(self._check_beam_size(beam_size))(images)

    def caption_with_attention(self, images, beam_size=3):
        """The best caption's token ids, score and attention maps, for inspecting what the model looked at.

        Returns:
            `(tokens, scores, attention)` as numpy: int32 [N, L] (with [START]/[END]),
            float32 [N] (mean log-probability per word) and float32 [N, L-1, G, G]
            (the map used to predict token i + 1 at index i; zeros after [END]).
        """
        result = self.decode_best(check_images(images, self.config.image_size), beam_size)
        grid = self.config.grid_size
        attention = tf.reshape(result["attention"], [-1, self.config.max_length - 1, grid, grid])
        return result["tokens"].numpy(), result["scores"].numpy(), attention.numpy()


def _decoding_loop(body, initial, steps):
    """`tf.while_loop` over decoding steps until every hypothesis has stopped (loop variable 4)."""

    def not_done(step, token, hidden, cell, finished, *rest):
        return tf.logical_and(step < steps, tf.logical_not(tf.reduce_all(finished)))

    def same_shapes_body(*variables):
        # Reshapes inside the body lose the static batch size; the loop needs it constant.
        return tuple(tf.ensure_shape(new, old.shape) for new, old in zip(body(*variables), variables))

    return tf.while_loop(not_done, same_shapes_body, initial, maximum_iterations=steps)


def _start_tokens(batch_shape, max_length):
    """[START] followed by padding: the token buffer decoding writes into."""
    first = tf.one_hot(0, max_length, on_value=START_ID, off_value=PAD_ID, dtype=tf.int32)
    return tf.broadcast_to(first, tf.concat([batch_shape, [max_length]], axis=0))


def _gather_beams(state, beam, beam_size):
    """Rows [B * K, U] of a flat beam state, reordered by the chosen beams [B, K]."""
    units = state.shape[-1]
    chosen = tf.gather(tf.reshape(state, [-1, beam_size, units]), beam, batch_dims=1)
    return tf.reshape(chosen, [-1, units])


def _write(buffer, axis, position, values):
    """`buffer` with `values` written at index `position` of `axis`: a fixed shape, so XLA can compile it."""
    length = buffer.shape[axis]
    at_position = tf.one_hot(position, length, on_value=True, off_value=False)
    at_position = tf.reshape(at_position, [1] * axis + [length] + [1] * (len(buffer.shape) - axis - 1))
    return tf.where(at_position, tf.expand_dims(values, axis), buffer)


register_presets(Captioner, {
    "captioner": ("Show, Attend and Tell captioner (64x64 shapes)",
        {}),
    "captioner_tiny": ("Tiny captioner for tests (32x32)",
        {"image_size": 32, "grid_size": 4, "encoder_channels": 4, "max_channels": 8, "feature_dim": 16,
         "decoder_units": 16, "attention_units": 16, "embedding_dim": 8, "text_units": 8}),
})
