"""A transformer text encoder: keras-hub's `BertBackbone`, with the `TextEncoder`'s interface.

It reads the zoo's token ids (the project's tokenizer, vocabulary and serving graphs stay as
they are) and returns the same `words` [B, L, H] and `sentence` [B, H] (the mean over real
tokens). Two ways to build it:
- from a local keras-hub preset folder (`BertBackbone.from_preset`): each word of the zoo
  vocabulary is split into the preset's word pieces by the preset's own tokenizer (WordPiece,
  tensorflow-text) once, when the encoder is built, into a table of piece ids; `[START]`,
  `[END]`, `[PAD]` and `[UNK]` become `[CLS]`, `[SEP]`, `[PAD]` and `[UNK]`. In the graph a
  caption's pieces are gathered from the table and packed to the front (so that the positions
  BERT sees are consecutive), and each word's feature is the mean of its pieces' outputs.
  A SavedModel of a family using it holds the table, not keras-hub: it serves as before.
- from a small config with random weights, whose vocabulary is the zoo vocabulary itself (one
  piece per word).

keras-hub is imported only here, only when this encoder is used (`pip install "zoo[encoders]"`).

Example:
    encoder = BertTextEncoder(shapes_vocabulary(), max_length=24, num_layers=2, hidden_dim=32)
    outputs = encoder(token_ids)            # {"words": [B, 24, 32], "sentence": [B, 32]}
    encoder = BertTextEncoder(vocabulary, 32, preset="bert_tiny_en_uncased")   # a local folder
"""

import json
import os

import keras
import numpy as np
from keras import ops

from zoo.local_weights import LocalWeightsError, resolve_local_file
from zoo.text.encoder import MaskedMean
from zoo.text.vocabulary import END, PAD, START, UNK, Vocabulary

PRESET_ACCEPTED = ("give the folder of a keras-hub BERT preset (config.json, model.weights.h5, tokenizer.json and "
                   "assets/tokenizer/vocabulary.txt, as `BertBackbone.save_to_preset` and "
                   "`BertTokenizer.save_to_preset` write it), or bert_preset='' for a BERT with random weights")
MAX_PIECES_PER_WORD = 4  # longer words keep their first pieces


def _keras_hub():
    try:
        import keras_hub
    except ImportError:
        raise LocalWeightsError('The BERT text encoder needs keras-hub: pip install "zoo[encoders]" '
                                '(or pip install keras-hub).') from None
    return keras_hub


@keras.saving.register_keras_serializable(package="zoo")
class WordPieceEmbedding(keras.layers.Layer):
    """Token ids of the zoo vocabulary to the mean embedding of each word's pieces in a BERT vocabulary.

    Holds the table of piece ids (`table`, [vocabulary_size, pieces_per_word], `pad_id`-padded, not
    trained) and uses BERT's own token embedding layer. It is the BERT encoder's `token_embedding`,
    which the captioner's decoder reads words through, as it does the BiLSTM encoder's `Embedding`.

    Args:
        vocabulary_size: number of zoo token ids.
        pieces_per_word: columns of the table.
        embedding: the BERT backbone's token embedding layer.
        pad_id: the BERT vocabulary's padding id.

    Example:
        embedding = WordPieceEmbedding(32, 2, backbone.token_embedding)
        embedding.table.assign(pieces)
        vectors = embedding(token_ids)      # [B, L, hidden_dim]
    """

    def __init__(self, vocabulary_size, pieces_per_word, embedding, pad_id=0, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.pieces_per_word = pieces_per_word
        self.embedding = embedding
        self.pad_id = pad_id
        self.table = self.add_weight(shape=(vocabulary_size, pieces_per_word), dtype="int32", initializer="zeros",
                                     trainable=False, name="word_pieces")
        self.built = True

    def pieces(self, token_ids):
        return ops.take(self.table, ops.cast(token_ids, "int32"), axis=0)

    def call(self, token_ids):
        pieces = self.pieces(token_ids)
        weights = ops.cast(ops.not_equal(pieces, self.pad_id), self.compute_dtype)[..., None]
        total = ops.sum(self.embedding(pieces) * weights, axis=-2)
        return total / ops.maximum(ops.sum(weights, axis=-2), 1.0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding.output_dim)


@keras.saving.register_keras_serializable(package="zoo")
class BertTextEncoder(keras.Model):
    """Token ids to per-word features and a sentence vector through a BERT (keras-hub `BertBackbone`).

    The same interface as `TextEncoder`: `encoder(token_ids)` gives `words` [B, L, H] (zero at
    padding) and `sentence` [B, H]; `feature_dim` is H; `token_embedding` embeds token ids.

    Args:
        vocabulary: the zoo `Vocabulary` (or its list of tokens) whose ids it reads.
        max_length: caption length in ids.
        preset: a local keras-hub BERT preset folder, or None for random weights and the
            sizes below (a relative path is also looked for in `zoo.local_weights.weights_dir()`).
        num_layers, num_heads, hidden_dim, intermediate_dim: the random BERT's sizes.
        dropout: the random BERT's dropout (a preset keeps its own).
        trainable: False freezes the BERT (its features are still computed in training).

    Example:
        encoder = BertTextEncoder(vocabulary, max_length=24, num_layers=1, num_heads=2, hidden_dim=16)
        sentence = encoder(token_ids)["sentence"]
    """

    def __init__(self, vocabulary, max_length, preset=None, num_layers=2, num_heads=2, hidden_dim=64,
                 intermediate_dim=None, dropout=0.1, trainable=True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(vocabulary, Vocabulary):
            vocabulary = Vocabulary(list(vocabulary)[4:])
        self.vocabulary = vocabulary
        self.vocabulary_size = len(vocabulary)
        self.max_length = max_length
        self.preset = preset or None
        self.num_layers, self.num_heads, self.hidden_dim = num_layers, num_heads, hidden_dim
        self.intermediate_dim = intermediate_dim or 4 * hidden_dim
        self.dropout = dropout
        # === Layers ===
        if self.preset:
            self.backbone, table, pad_id = _from_preset(self.preset, vocabulary, max_length)
        else:
            self.backbone = _keras_hub().models.BertBackbone(
                vocabulary_size=len(vocabulary), num_layers=num_layers, num_heads=num_heads, hidden_dim=hidden_dim,
                intermediate_dim=self.intermediate_dim, dropout=dropout, max_sequence_length=max_length,
                name="bert_backbone")
            table, pad_id = np.arange(len(vocabulary), dtype=np.int32)[:, None], 0
        self.token_embedding = WordPieceEmbedding(len(vocabulary), table.shape[1], self.backbone.token_embedding,
                                                  pad_id=pad_id, name="token_embedding")
        self.token_embedding.table.assign(table)
        self.sentence_mean = MaskedMean(name="sentence")
        self.trainable = trainable
        self.built = True

    @property
    def feature_dim(self):
        return self.backbone.hidden_dim

    def call(self, token_ids, training=False):
        token_ids = ops.cast(token_ids, "int32")
        pad_id, length = self.token_embedding.pad_id, self.max_length
        width = self.token_embedding.pieces_per_word
        pieces = ops.reshape(self.token_embedding.pieces(token_ids), (-1, length * width))
        real = ops.not_equal(pieces, pad_id)
        if width > 1:
            # Pack the real pieces to the front, in order, so BERT sees consecutive positions.
            position = ops.arange(length * width, dtype="int32")[None, :]
            order = ops.argsort(ops.where(real, position, position + length * width), axis=-1)
            pieces = ops.take_along_axis(pieces, order, axis=-1)
        outputs = self.backbone({"token_ids": pieces, "segment_ids": ops.zeros_like(pieces),
                                 "padding_mask": ops.not_equal(pieces, pad_id)}, training=training)
        sequence = outputs["sequence_output"]
        if width > 1:
            back = ops.argsort(order, axis=-1)[..., None]
            sequence = ops.take_along_axis(sequence, ops.broadcast_to(back, ops.shape(sequence)), axis=1)
        sequence = ops.reshape(sequence, (-1, length, width, self.feature_dim))
        weights = ops.cast(ops.reshape(real, (-1, length, width, 1)), sequence.dtype)
        words = ops.sum(sequence * weights, axis=2) / ops.maximum(ops.sum(weights, axis=2), 1.0)
        return {"words": words, "sentence": self.sentence_mean([words, token_ids])}

    def get_config(self):
        return {"name": self.name, "vocabulary": self.vocabulary.tokens, "max_length": self.max_length,
                "preset": self.preset, "num_layers": self.num_layers, "num_heads": self.num_heads,
                "hidden_dim": self.hidden_dim, "intermediate_dim": self.intermediate_dim, "dropout": self.dropout,
                "trainable": self.trainable}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _from_preset(preset, vocabulary, max_length):
    """(backbone, piece table [V, P], pad id) from a local keras-hub BERT preset folder."""
    keras_hub = _keras_hub()
    folder = resolve_local_file(preset, "keras-hub BERT preset", PRESET_ACCEPTED, folder=True)
    if not os.path.isfile(os.path.join(folder, "config.json")):
        raise LocalWeightsError(f"{preset!r} is not a keras-hub preset folder (it has no config.json); {PRESET_ACCEPTED}.")
    # An absolute path: keras-hub takes a bare name it knows (bert_tiny_en_uncased) for a Kaggle download.
    folder = os.path.abspath(folder)
    try:
        backbone = keras_hub.models.BertBackbone.from_preset(folder, name="bert_backbone")
        tokenizer = _preset_tokenizer(keras_hub, folder)
    except Exception as error:  # keras-hub raises ValueError, FileNotFoundError, KeyError... for a bad folder
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise LocalWeightsError(f"Cannot load the BERT preset {preset!r} ({message}); {PRESET_ACCEPTED}.") from None
    table, pad_id = word_piece_table(tokenizer, vocabulary)
    if max_length * table.shape[1] > backbone.max_sequence_length:
        raise LocalWeightsError(
            f"Captions of {max_length} ids of up to {table.shape[1]} word pieces each exceed the preset's "
            f"max_sequence_length={backbone.max_sequence_length}; use a smaller max_length.")
    return backbone, table, pad_id


def _preset_tokenizer(keras_hub, folder):
    """The preset's `BertTokenizer`, built from its vocabulary file and settings.

    Not `BertTokenizer.from_preset`: inside Keras' safe mode (deserializing a model that holds this
    encoder) it refuses to read a vocabulary file, which here is the user's own preset.
    """
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        settings = json.load(f)["config"]
    with open(os.path.join(folder, "assets", "tokenizer", "vocabulary.txt"), encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    keys = ("lowercase", "strip_accents", "split", "suffix_indicator", "oov_token")
    return keras_hub.models.BertTokenizer(vocabulary=tokens, **{k: settings[k] for k in keys if k in settings})


def word_piece_table(tokenizer, vocabulary):
    """(table int32 [len(vocabulary), P], pad id): each zoo token's ids in a keras-hub BERT tokenizer's vocabulary."""
    special = {PAD: tokenizer.pad_token_id, UNK: tokenizer.token_to_id("[UNK]"), START: tokenizer.cls_token_id,
               END: tokenizer.sep_token_id}
    words = [t for t in vocabulary.tokens if t not in special]
    ids = tokenizer.tokenize(words) if words else []
    pieces = dict(zip(words, ids.to_list() if hasattr(ids, "to_list") else ids))
    rows = [[special[t]] if t in special else pieces[t][:MAX_PIECES_PER_WORD] or [special[UNK]]
            for t in vocabulary.tokens]
    width = max(len(row) for row in rows)
    table = np.full((len(rows), width), special[PAD], np.int32)
    for index, row in enumerate(rows):
        table[index, :len(row)] = row
    return table, special[PAD]
