"""Caption metrics: corpus BLEU-1..4 (Papineni et al., 2002) and CIDEr-D (Vedantam et al., 2015).

Captions are lower-case strings whose tokens are separated by whitespace (the
zoo's tokenizer output joined with spaces); each hypothesis has one or more
reference captions.

Example:
    hypotheses = ["a small red circle top left"]
    references = [["small red circle top left", "a small red circle in the top left corner"]]
    corpus_bleu(hypotheses, references)["bleu_4"]
    cider_d(hypotheses, references)
"""

import math
from collections import Counter

import numpy as np

CIDER_MAX_ORDER = 4
CIDER_SIGMA = 6.0  # the length penalty's Gaussian width, in words


def corpus_bleu(hypotheses, references, max_order=4):
    """Corpus BLEU-1 .. BLEU-`max_order` without smoothing, as in Papineni et al.

    Clipped n-gram counts and hypothesis lengths are summed over the corpus; the
    brevity penalty compares the total hypothesis length with the total of each
    hypothesis's closest reference length (the shorter one on a tie). BLEU-n is
    the geometric mean of the 1..n-gram precisions times that penalty, and 0 when
    any of those precisions is 0.

    Args:
        hypotheses: list of N strings.
        references: list of N lists of reference strings (a bare string is one reference).
        max_order: the largest n-gram order reported.

    Returns:
        {"bleu_1": float, ..., "bleu_{max_order}": float}, each in [0, 1].

    Example:
        >>> scores = corpus_bleu(["a red circle on the left"], [["a red circle on the left"]])
        >>> scores["bleu_4"]
        1.0
    """
    if not isinstance(max_order, int) or max_order < 1:
        raise ValueError(f"max_order must be a positive int, got {max_order!r}.")
    hypotheses, references = _tokenized_pairs(hypotheses, references)
    matches, totals = np.zeros(max_order), np.zeros(max_order)
    hypothesis_length = reference_length = 0
    for hypothesis, refs in zip(hypotheses, references):
        hypothesis_counts = _ngram_counts(hypothesis, max_order)
        max_reference_counts = Counter()
        for ref in refs:
            max_reference_counts |= _ngram_counts(ref, max_order)  # |= keeps the max count
        for ngram, count in hypothesis_counts.items():
            matches[len(ngram) - 1] += min(count, max_reference_counts[ngram])
        for order in range(1, max_order + 1):
            totals[order - 1] += max(len(hypothesis) - order + 1, 0)
        hypothesis_length += len(hypothesis)
        reference_length += min((abs(len(r) - len(hypothesis)), len(r)) for r in refs)[1]
    penalty = _brevity_penalty(hypothesis_length, reference_length)
    return {
        f"bleu_{order}": _geometric_mean_precision(matches[:order], totals[:order]) * penalty
        for order in range(1, max_order + 1)
    }


def _brevity_penalty(hypothesis_length, reference_length):
    if hypothesis_length == 0:
        return 0.0
    if hypothesis_length > reference_length:
        return 1.0
    return math.exp(1.0 - reference_length / hypothesis_length)


def _geometric_mean_precision(matches, totals):
    if np.any(matches == 0):
        return 0.0
    return float(np.exp(np.mean(np.log(matches / totals))))


def cider_d_scores(hypotheses, references):
    """CIDEr-D of each hypothesis, as pycocoevalcap's `CiderScorer` computes it.

    For n = 1..4, each caption becomes a vector of n-gram TF-IDF weights, with
    document frequencies counted over the reference sets of this corpus (an
    n-gram counts once per item). A hypothesis scores against each reference the
    cosine similarity with the hypothesis's weights clipped at the reference's
    (so repeating a word earns nothing), times the length penalty
    exp(-(len_h - len_r)^2 / (2 * 6^2)); the score is the mean over n, averaged
    over the references, times 10.

    Returns:
        float64 array [N].
    """
    hypotheses, references = _tokenized_pairs(hypotheses, references)
    hypothesis_counts = [_ngram_counts(h, CIDER_MAX_ORDER) for h in hypotheses]
    reference_counts = [[_ngram_counts(r, CIDER_MAX_ORDER) for r in refs] for refs in references]
    document_frequency = Counter()
    for counts in reference_counts:
        document_frequency.update(set().union(*counts))
    log_num_items = math.log(len(hypotheses))

    def tfidf(counts):
        return _tfidf_vectors(counts, document_frequency, log_num_items)

    scores = []
    for hypothesis, hyp_counts, refs, ref_counts in zip(
        hypotheses, hypothesis_counts, references, reference_counts
    ):
        hyp_vectors = tfidf(hyp_counts)
        similarities = [
            _clipped_cosine(hyp_vectors, tfidf(counts)) * _length_penalty(hypothesis, ref)
            for ref, counts in zip(refs, ref_counts)
        ]
        scores.append(10.0 * np.mean(similarities))
    return np.array(scores, dtype=np.float64)


def cider_d(hypotheses, references):
    """Corpus CIDEr-D: the mean of `cider_d_scores` (0 to 10; human captions score near 1).

    Example:
        >>> hyps = ["a red circle", "a blue square", "a green triangle"]
        >>> refs = [["a red circle"], ["a blue square"], ["a green diamond"]]
        >>> round(cider_d(hyps, refs), 3)
        5.833
    """
    return float(np.mean(cider_d_scores(hypotheses, references)))


def _tfidf_vectors(counts, document_frequency, log_num_items):
    """Per n-gram order: ({ngram: tf-idf weight}, L2 norm)."""
    vectors = [{} for _ in range(CIDER_MAX_ORDER)]
    for ngram, term_frequency in counts.items():
        inverse_document_frequency = log_num_items - math.log(max(1.0, document_frequency[ngram]))
        vectors[len(ngram) - 1][ngram] = term_frequency * inverse_document_frequency
    return [(vector, math.sqrt(sum(w * w for w in vector.values()))) for vector in vectors]


def _clipped_cosine(hyp_vectors, ref_vectors):
    """Mean over n-gram orders of the clipped cosine similarity (the "D" of CIDEr-D)."""
    similarity = 0.0
    for (hyp, hyp_norm), (ref, ref_norm) in zip(hyp_vectors, ref_vectors):
        if hyp_norm == 0.0 or ref_norm == 0.0:
            continue
        dot = sum(min(weight, ref.get(ngram, 0.0)) * ref.get(ngram, 0.0) for ngram, weight in hyp.items())
        similarity += dot / (hyp_norm * ref_norm)
    return similarity / len(hyp_vectors)


def _length_penalty(hypothesis, reference):
    return math.exp(-((len(hypothesis) - len(reference)) ** 2) / (2.0 * CIDER_SIGMA**2))


def _ngram_counts(tokens, max_order):
    return Counter(
        tuple(tokens[start:start + order])
        for order in range(1, max_order + 1)
        for start in range(len(tokens) - order + 1)
    )


def _tokenized_pairs(hypotheses, references):
    """Validates hypotheses/references and splits them into token lists."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise ValueError("hypotheses and references must be lists (one entry per caption), not a string.")
    hypotheses, references = list(hypotheses), list(references)
    if not hypotheses:
        raise ValueError("hypotheses is empty; give at least one caption.")
    if len(hypotheses) != len(references):
        raise ValueError(
            f"Got {len(hypotheses)} hypotheses but {len(references)} reference sets; "
            "give one list of references per hypothesis."
        )
    tokenized_references = []
    for index, refs in enumerate(references):
        refs = [refs] if isinstance(refs, str) else list(refs)
        if not refs or any(not isinstance(r, str) or not r.split() for r in refs):
            raise ValueError(
                f"references[{index}] = {refs!r}: each hypothesis needs at least one "
                "non-empty reference string."
            )
        tokenized_references.append([r.split() for r in refs])
    for index, hypothesis in enumerate(hypotheses):
        if not isinstance(hypothesis, str):
            raise ValueError(f"hypotheses[{index}] = {hypothesis!r} is not a string.")
    return [h.split() for h in hypotheses], tokenized_references
