"""The shared text encoder: a token embedding and a bidirectional LSTM."""

import keras
from keras import ops

from zoo.text.vocabulary import PAD_ID


@keras.saving.register_keras_serializable(package="zoo")
class MaskedMean(keras.layers.Layer):
    """Mean of word features over the non-padding tokens.

    Example:
        sentence = MaskedMean()([word_features, token_ids])
    """

    def call(self, inputs, mask=None):
        # The padding is read from the token ids, so an attached Keras mask is not needed.
        features, token_ids = inputs
        weights = ops.cast(ops.not_equal(token_ids, PAD_ID), features.dtype)[..., None]
        total = ops.sum(features * weights, axis=1)
        return total / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        features_shape = input_shape[0]
        return (features_shape[0], features_shape[2])


@keras.saving.register_keras_serializable(package="zoo")
class TextEncoder(keras.Model):
    """Token ids to per-word features and a sentence vector, shared by every family.

    A functional model: `token_embedding` (an `Embedding` with id 0 as padding)
    followed by a bidirectional LSTM. Its outputs are `words` [B, L, 2 * units]
    and `sentence` [B, 2 * units] (the mean over real tokens). Models built with
    the same `TextEncoder` instance share its variables; the captioner uses its
    `token_embedding` as the decoder's input embedding.

    Args:
        vocabulary_size: number of token ids, special tokens included.
        max_length: caption length in ids.
        embedding_dim: width of the token embedding.
        units: LSTM units in each direction.
        dropout: dropout on the embedded tokens during training.
        train_embedding: False freezes the token embedding (word vectors kept as given,
            `set_word_vectors`); the BiLSTM still trains.

    Example:
        encoder = TextEncoder(vocabulary_size=32, max_length=24)
        words, sentence = encoder(token_ids)
    """

    def __init__(self, vocabulary_size, max_length, embedding_dim=64, units=64, dropout=0.0, train_embedding=True,
                 **kwargs):
        # === Layers ===
        token_embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, mask_zero=True, name="token_embedding"
        )
        token_embedding.trainable = train_embedding
        lstm = keras.layers.Bidirectional(
            keras.layers.LSTM(units, return_sequences=True), name="bilstm"
        )
        # === Functional model ===
        token_ids = keras.Input(shape=(max_length,), dtype="int32", name="token_ids")
        embedded = token_embedding(token_ids)
        if dropout:
            embedded = keras.layers.Dropout(dropout, name="embedding_dropout")(embedded)
        words = lstm(embedded)
        sentence = MaskedMean(name="sentence")([words, token_ids])
        super().__init__(inputs=token_ids, outputs={"words": words, "sentence": sentence}, **kwargs)
        # === Config ===
        self.vocabulary_size = vocabulary_size
        self.max_length = max_length
        self.embedding_dim = embedding_dim
        self.units = units
        self.dropout = dropout
        self.train_embedding = train_embedding
        self.token_embedding = token_embedding

    @property
    def feature_dim(self):
        return 2 * self.units

    def set_word_vectors(self, matrix):
        """Set the token embedding to `matrix` [vocabulary_size, embedding_dim] (`zoo.text.word_vectors`)."""
        expected = (self.vocabulary_size, self.embedding_dim)
        if tuple(matrix.shape) != expected:
            raise ValueError(f"Word vectors of shape {tuple(matrix.shape)} do not fit the token embedding {expected}.")
        self.token_embedding.embeddings.assign(matrix)

    def get_config(self):
        return {
            "name": self.name,
            "vocabulary_size": self.vocabulary_size,
            "max_length": self.max_length,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "dropout": self.dropout,
            "train_embedding": self.train_embedding,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
