"""The captioner's layers: grid position embedding, the attention LSTM cell, and teacher forcing over it."""

import keras
import tensorflow as tf
from keras import ops


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
