"""Shared text: vocabulary, tensorflow-text tokenization, the `TextEncoder` (BiLSTM, optionally from word
vectors: `word_vectors`) and the BERT encoder (`bert.BertTextEncoder`), chosen by `choice.build_text_encoder`."""

from zoo.text.encoder import MaskedMean, TextEncoder  # noqa: F401
from zoo.text.tokenizer import (  # noqa: F401
    Tokenizer,
    check_caption_types,
    check_captions,
    check_known_words,
    python_words,
)
from zoo.text.vocabulary import (  # noqa: F401
    END,
    END_ID,
    PAD,
    PAD_ID,
    SPECIAL_TOKENS,
    START,
    START_ID,
    UNK,
    UNK_ID,
    Vocabulary,
)


def shapes_vocabulary():
    """The complete, fixed vocabulary of the `shapes` captions."""
    from zoo.data import shapes

    return Vocabulary(shapes.all_words())


SHAPES_MAX_LENGTH = 24  # the longest shapes caption has 21 words, plus [START] and [END]
