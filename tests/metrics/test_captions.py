"""BLEU against nltk and sacrebleu, CIDEr-D against pycocoevalcap, on the same captions."""

import numpy as np
import pytest

from zoo.metrics.captions import cider_d, cider_d_scores, corpus_bleu

# Hypotheses of 4+ words, so nltk's per-sentence denominator floor of 1 never applies.
HYPOTHESES = [
    "a small red circle in the top left corner",
    "there is a large blue square on the right and a small green circle on the left",
    "small white diamond center and large red square bottom",
    "a man riding a horse on a beach",
    "a cat sitting on a sofa next to a dog",
    "two people walking on the sand",
]
REFERENCES = [
    ["a small red circle in the top left corner", "small red circle top left",
     "there is a small red circle in the top left corner"],
    ["there is a large blue square on the right and a small green triangle on the left",
     "a large blue square on the right and a small green triangle on the left",
     "large blue square right and small green triangle left"],
    ["small white diamond center and large red square bottom",
     "a small white diamond in the center and a large red square at the bottom",
     "there is a small white diamond in the center and a large red square at the bottom"],
    ["a person rides a horse along the beach", "a man on a horse at the beach near the water",
     "horse riding on the sand"],
    ["a cat is sitting on the couch", "a cat and a dog on a sofa", "two pets on a couch"],
    ["a couple walks along the beach", "people walking on a sandy beach", "two people on the sand"],
]


def test_corpus_bleu_matches_nltk():
    from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu

    expected = nltk_corpus_bleu(
        [[r.split() for r in refs] for refs in REFERENCES],
        [h.split() for h in HYPOTHESES],
        weights=[(1.0,), (0.5, 0.5), (1 / 3,) * 3, (0.25,) * 4],
    )
    scores = corpus_bleu(HYPOTHESES, REFERENCES)
    assert list(scores) == ["bleu_1", "bleu_2", "bleu_3", "bleu_4"]
    np.testing.assert_allclose(list(scores.values()), expected, rtol=1e-12)


@pytest.mark.parametrize("max_order", [2, 4])
def test_corpus_bleu_matches_sacrebleu_without_tokenization_or_smoothing(max_order):
    from sacrebleu.metrics import BLEU

    bleu = BLEU(tokenize="none", smooth_method="none", max_ngram_order=max_order, force=True)
    reference_streams = [list(stream) for stream in zip(*REFERENCES)]
    expected = bleu.corpus_score(HYPOTHESES, reference_streams).score / 100.0
    assert corpus_bleu(HYPOTHESES, REFERENCES, max_order)[f"bleu_{max_order}"] == pytest.approx(expected, rel=1e-9)


def test_brevity_penalty_uses_the_closest_reference_length():
    # 4 words against references of 5 and 9 words: the penalty is exp(1 - 5/4).
    scores = corpus_bleu(["a red circle left"], [["a red circle left side", "a b c d e f g h i"]])
    assert scores["bleu_1"] == pytest.approx(np.exp(1 - 5 / 4))


def test_bleu_is_zero_without_any_matching_four_gram_and_one_for_exact_copies():
    assert corpus_bleu(["a red circle on the left"], [["a red square on the left"]])["bleu_4"] == 0.0
    assert corpus_bleu(HYPOTHESES[:1], REFERENCES[:1])["bleu_4"] == pytest.approx(1.0)


def test_cider_d_matches_pycocoevalcap():
    cider_module = pytest.importorskip("pycocoevalcap.cider.cider")
    gts = {index: refs for index, refs in enumerate(REFERENCES)}
    res = {index: [hypothesis] for index, hypothesis in enumerate(HYPOTHESES)}
    expected_mean, expected_scores = cider_module.Cider().compute_score(gts, res)
    np.testing.assert_allclose(cider_d_scores(HYPOTHESES, REFERENCES), expected_scores, rtol=1e-10)
    assert cider_d(HYPOTHESES, REFERENCES) == pytest.approx(expected_mean, rel=1e-10)


def test_cider_d_clips_repeated_words():
    hypotheses = ["red red red red circle", "a blue square", "a green triangle"]
    references = [["a red circle"], ["a blue square"], ["a green triangle"]]
    repeated, plain = cider_d_scores(hypotheses, references)[0], cider_d_scores(
        ["a red circle", *hypotheses[1:]], references)[0]
    assert repeated < plain / 2


def test_empty_references_and_mismatched_lengths_raise():
    with pytest.raises(ValueError, match=r"references\[1\]"):
        corpus_bleu(["a b", "c d"], [["a b"], []])
    with pytest.raises(ValueError, match=r"references\[0\]"):
        cider_d(["a b"], [[""]])
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference"):
        cider_d(["a b", "c d"], [["a b"]])
    with pytest.raises(ValueError, match="max_order"):
        corpus_bleu(["a b"], [["a b"]], max_order=0)
