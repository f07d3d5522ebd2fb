"""Word vectors for the shared token `Embedding`: read from a word2vec or GloVe file, or trained
with gensim's Word2Vec on a data set's training captions.

The vocabulary's words are looked up in the vectors; the ones missing are counted, reported
and initialised randomly (at the vectors' scale), `[PAD]` is zero and the other special tokens
random. gensim is imported only here, only when vectors are used (`pip install "zoo[encoders]"`).

Example:
    vectors = train_word_vectors(split_captions("shapes"), dimensions=64)   # gensim KeyedVectors
    vectors.save("shapes.kv")
    matrix, missing = word_vector_matrix(read_word_vectors("shapes.kv"), shapes_vocabulary())
"""

import logging
import warnings
import zlib

import numpy as np

from zoo.local_weights import LocalWeightsError, portable_name, resolve_local_file
from zoo.text.tokenizer import python_words
from zoo.text.vocabulary import PAD_ID, SPECIAL_TOKENS

log = logging.getLogger("zoo.text")

ACCEPTED = ("give a word2vec file (text: .txt, .vec, optionally .gz; binary: .bin), a GloVe text file, "
            "or gensim KeyedVectors saved with .save() (.kv), e.g. from `zoo text vectors`")


def _gensim():
    try:
        import gensim
    except ImportError:
        raise LocalWeightsError('Word vectors need gensim: pip install "zoo[encoders]" (or pip install gensim).'
                                ) from None
    return gensim


def read_word_vectors(path):
    """gensim `KeyedVectors` from a word2vec (text or binary), GloVe (text, no header) or `.kv` file.

    A relative path is looked for in the current folder, then in the weights folder
    (`zoo.local_weights`); a missing or unreadable file is a `LocalWeightsError` naming it.
    """
    gensim = _gensim()
    resolved = resolve_local_file(path, "word vectors", ACCEPTED)
    vectors = gensim.models.KeyedVectors
    try:
        if resolved.endswith(".kv"):
            loaded = vectors.load(resolved)
        elif resolved.endswith(".bin") or resolved.endswith(".bin.gz"):
            loaded = vectors.load_word2vec_format(resolved, binary=True)
        else:
            loaded = vectors.load_word2vec_format(resolved, binary=False, no_header=not _has_header(resolved))
    except Exception as error:  # gensim raises ValueError, UnicodeDecodeError, EOFError, pickle errors...
        raise LocalWeightsError(f"Cannot read word vectors from {str(path)!r} ({type(error).__name__}: "
                                f"{str(error).splitlines()[0] if str(error) else ''}); {ACCEPTED}.") from None
    if not isinstance(loaded, vectors) or not len(loaded):
        raise LocalWeightsError(f"{str(path)!r} holds no word vectors; {ACCEPTED}.")
    return loaded


def _has_header(path):
    """word2vec text files start with "<count> <dimensions>"; GloVe files start with a word's vector."""
    with _gensim().utils.open(path, "rb") as f:
        first = f.readline().split()
    return len(first) == 2 and all(part.isdigit() for part in first)


def word_vector_matrix(vectors, vocabulary, seed=0):
    """(matrix float32 [len(vocabulary), D], missing words): the vectors of the vocabulary's words.

    Missing words get random rows drawn at the vectors' own scale; `[PAD]` is zero.
    """
    rows = vectors.vectors[:10000]
    scale = float(np.std(rows)) or 1.0
    matrix = np.random.default_rng(seed).normal(0.0, scale, (len(vocabulary), vectors.vector_size))
    matrix[PAD_ID] = 0.0
    missing = []
    for index, word in enumerate(vocabulary.tokens):
        if word in SPECIAL_TOKENS:
            continue
        if word in vectors.key_to_index:
            matrix[index] = vectors[word]
        else:
            missing.append(word)
    return matrix.astype(np.float32), missing


def report_missing_words(path, missing, vocabulary):
    """Say how many of the vocabulary's words the vectors in `path` lack (a warning when any do)."""
    total = len(vocabulary) - len(SPECIAL_TOKENS)
    message = (f"word vectors {portable_name(path)!r}: {total - len(missing)} of the vocabulary's {total} words found, "
               f"{len(missing)} missing and initialised randomly")
    if missing:
        examples = ", ".join(repr(w) for w in missing[:8])
        warnings.warn(f"{message} ({examples}{', ...' if len(missing) > 8 else ''}).", stacklevel=2)
    else:
        log.info(message)


def _stable_hash(text):
    # gensim seeds each word's initial vector with hashfxn(word + seed); Python's own `hash` of a
    # str changes from one process to the next, so the same seed would give other vectors.
    return zlib.crc32(text.encode("utf-8"))


def train_word_vectors(captions, dimensions=64, window=5, min_count=1, epochs=10, seed=0):
    """gensim `KeyedVectors` trained with Word2Vec (skip-gram) on captions split as the tokenizer splits them.

    One worker thread and a stable hash: the same captions and seed give the same vectors.
    """
    gensim = _gensim()
    sentences = [words for words in (python_words(c) for c in captions) if words]
    if not sentences:
        raise ValueError("No words in the captions to train word vectors on.")
    model = gensim.models.Word2Vec(sentences=sentences, vector_size=dimensions, window=window, min_count=min_count,
                                   sg=1, epochs=epochs, seed=seed, workers=1, hashfxn=_stable_hash)
    return model.wv
