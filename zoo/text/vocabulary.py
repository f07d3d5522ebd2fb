"""A word vocabulary with the special tokens every model shares."""

import collections
import os

PAD, UNK, START, END = "[PAD]", "[UNK]", "[START]", "[END]"
SPECIAL_TOKENS = (PAD, UNK, START, END)
PAD_ID, UNK_ID, START_ID, END_ID = range(4)


class Vocabulary:
    """Words indexed by id; ids 0-3 are `[PAD]`, `[UNK]`, `[START]`, `[END]`.

    Args:
        words: the words after the special tokens, most frequent first.

    Example:
        vocab = Vocabulary.from_captions(["a red circle", "a blue square"])
        vocab.save("vocab.txt"); Vocabulary.load("vocab.txt") == vocab
    """

    def __init__(self, words):
        words = list(words)
        bad = [w for w in words if not isinstance(w, str) or not w or " " in w or w in SPECIAL_TOKENS]
        if bad:
            raise ValueError(f"Vocabulary words must be non-empty strings without spaces, not special tokens; got {bad[:5]}.")
        if len(set(words)) != len(words):
            raise ValueError("Vocabulary words must be unique.")
        self.tokens = list(SPECIAL_TOKENS) + words
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def from_captions(cls, captions, min_count=1, max_size=None):
        """Build from captions: words split by the same rule as the tokenizer, most frequent first."""
        from zoo.text.tokenizer import python_words

        counts = collections.Counter()
        for caption in captions:
            counts.update(python_words(caption))
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max_size - len(SPECIAL_TOKENS)]
        if not words:
            raise ValueError("No words found in the captions; a vocabulary needs at least one caption with words.")
        return cls(words)

    def __len__(self):
        return len(self.tokens)

    def __eq__(self, other):
        return isinstance(other, Vocabulary) and other.tokens == self.tokens

    def __contains__(self, word):
        return word in self._ids

    def id(self, word):
        return self._ids.get(word, UNK_ID)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(self.tokens) + "\n")

    @classmethod
    def load(cls, path):
        if not os.path.exists(path):
            raise FileNotFoundError(f"No vocabulary file at {path!r}.")
        with open(path, encoding="utf-8") as f:
            tokens = [line.rstrip("\n") for line in f if line.rstrip("\n")]
        if tuple(tokens[:4]) != SPECIAL_TOKENS:
            raise ValueError(f"{path!r} is not a zoo vocabulary: it must start with {SPECIAL_TOKENS}, one token a line.")
        return cls(tokens[4:])

    def get_config(self):
        return {"words": self.tokens[4:]}

    def __repr__(self):
        return f"Vocabulary({len(self)} tokens)"
