"""Caption tokenization with tensorflow-text, usable in tf.data and in serving graphs."""

import re
import unicodedata

import tensorflow as tf
import tensorflow_text as tf_text

from zoo.text.vocabulary import END_ID, PAD_ID, START_ID, UNK_ID, Vocabulary

# Anything that is not a letter, digit or apostrophe separates words.
_SEPARATORS = r"[^\pL\pN']+"


def python_words(text):
    """The words of `text` split by the same rule as `Tokenizer` (for building vocabularies)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return [w for w in re.split(r"[^\w']+|_", text) if w]


class Tokenizer(tf.Module):
    """Captions to fixed-length token ids and back, all in graph.

    Normalises (NFKC with case folding), splits on anything that is not a
    letter, digit or apostrophe, maps words to ids (unknown words to `[UNK]`),
    wraps with `[START]` ... `[END]`, truncates and pads to `max_length`.

    Args:
        vocabulary: a `Vocabulary`.
        max_length: the fixed number of ids per caption, `[START]` and `[END]` included.

    Example:
        tokenizer = Tokenizer(vocab, max_length=24)
        ids = tokenizer(tf.constant(["a red circle"]))   # int32 [1, 24]
        tokenizer.detokenize(ids)                          # [b"a red circle"]
    """

    def __init__(self, vocabulary, max_length):
        super().__init__(name="tokenizer")
        if max_length < 3:
            raise ValueError(f"max_length must be at least 3 ([START], a word, [END]), got {max_length}.")
        self.vocabulary = vocabulary
        self.max_length = int(max_length)
        tokens = tf.constant(vocabulary.tokens)
        self._token_strings = tf.Variable(tokens, trainable=False, name="tokens")
        self._table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tokens, tf.range(len(vocabulary.tokens), dtype=tf.int64)),
            default_value=UNK_ID,
        )
        self._splitter = tf_text.RegexSplitter(_SEPARATORS)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def words(self, captions):
        """Ragged word strings of a [N] string tensor."""
        text = tf_text.normalize_utf8(captions, "NFKC")
        text = tf_text.case_fold_utf8(text)
        words = self._splitter.split(text)
        return tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)

    def __call__(self, captions):
        """Int32 ids [N, max_length] of a [N] string tensor (or a scalar string: [max_length])."""
        captions = tf.convert_to_tensor(captions)
        if captions.dtype != tf.string:
            raise TypeError(f"Captions must be strings, got a {captions.dtype.name} tensor.")
        scalar = captions.shape.rank == 0
        batch = tf.reshape(captions, [-1])
        ids = self._table.lookup(self.words(batch))
        body = ids[:, : self.max_length - 2]
        n = tf.shape(batch, out_type=tf.int64)[0]
        start = tf.fill([n, 1], tf.constant(START_ID, tf.int64))
        end = tf.fill([n, 1], tf.constant(END_ID, tf.int64))
        wrapped = tf.concat([start, body, end], axis=1)
        dense = wrapped.to_tensor(default_value=PAD_ID, shape=[None, self.max_length])
        dense = tf.cast(dense, tf.int32)
        return dense[0] if scalar else dense

    def detokenize(self, ids):
        """Strings [N] from ids [N, L]: the words between `[START]` and the first `[END]`."""
        ids = tf.cast(tf.convert_to_tensor(ids), tf.int32)
        # Everything from the first [END] on is dropped; [START] and [PAD] are skipped.
        after_end = tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=-1) > 0
        keep = tf.logical_not(after_end) & (ids != START_ID) & (ids != PAD_ID)
        words = tf.gather(self._token_strings, tf.ragged.boolean_mask(ids, keep))
        return tf.strings.reduce_join(words, axis=-1, separator=" ")


def check_captions(captions):
    """A list of non-empty caption strings from a str, list of str or string tensor, else a clear error."""
    if isinstance(captions, str):
        captions = [captions]
    if isinstance(captions, (tf.Tensor, tf.Variable)):
        if captions.dtype != tf.string:
            raise TypeError(f"Captions must be strings, got a {captions.dtype.name} tensor.")
        captions = [c.decode("utf-8") for c in captions.numpy().reshape(-1)]
    if not isinstance(captions, (list, tuple)):
        raise TypeError(f"Captions must be a str or a list of str, got {type(captions).__name__}.")
    check_caption_types(captions, "Captions")
    if not captions:
        raise ValueError("Got an empty batch of captions; give at least one caption.")
    empty = [i for i, c in enumerate(captions) if not python_words(c)]
    if empty:
        raise ValueError(f"Captions at positions {empty} have no words; every caption needs at least one word.")
    return list(captions)


def check_caption_types(captions, name="captions"):
    """A TypeError naming (up to five of) the positions and types of the items of `captions` that are not str.

    `name` starts the message ("captions" or "Captions"), as the caller words its errors.
    """
    wrong = [(i, type(c).__name__) for i, c in enumerate(captions) if not isinstance(c, str)]
    if wrong:
        raise TypeError(f"{name} must be a str or a list of str; got " +
                        ", ".join(f"{kind} at position {i}" for i, kind in wrong[:5]) + ".")


def check_known_words(captions, known_words, strict=False):
    """Warn (or with `strict`, raise a ValueError) for captions that hold no word the model knows.

    Such a caption tokenizes to `[UNK]`s only, so the model draws from no text at all;
    the message names the unknown words. `known_words` is a set of lower-case words.

    Example:
        check_known_words(["xyzzy plugh"], set(vocabulary.tokens))   # UserWarning naming 'xyzzy', 'plugh'
    """
    import warnings

    unknown = {i: words for i, words in enumerate(python_words(c) for c in captions)
               if not any(w in known_words for w in words)}
    if not unknown:
        return
    listed = "; ".join(f"caption {i}: {', '.join(repr(w) for w in words) or '(no words)'}"
                       for i, words in list(unknown.items())[:5])
    message = (f"{len(unknown)} caption(s) hold no word this model knows, so it generates from no text "
               f"({listed}); the vocabulary has {len(known_words)} words.")
    if strict:
        raise ValueError(message)
    warnings.warn(message, stacklevel=3)
