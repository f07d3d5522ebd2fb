import numpy as np
import pytest
import tensorflow as tf

from zoo.data import shapes
from zoo.text import (END_ID, PAD_ID, SHAPES_MAX_LENGTH, START_ID, TextEncoder, Tokenizer, Vocabulary,
                      check_captions, shapes_vocabulary)


def test_vocabulary_special_tokens_and_file_round_trip(tmp_path):
    vocab = Vocabulary.from_captions(["A red circle.", "a blue circle", "a blue square"])
    assert vocab.tokens[:4] == ["[PAD]", "[UNK]", "[START]", "[END]"]
    assert vocab.tokens[4:7] == ["a", "blue", "circle"]  # by frequency, then alphabetically
    vocab.save(tmp_path / "vocab.txt")
    assert Vocabulary.load(tmp_path / "vocab.txt") == vocab


def test_vocabulary_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        Vocabulary.load(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text("hello\nworld\n")
    with pytest.raises(ValueError, match="not a zoo vocabulary"):
        Vocabulary.load(tmp_path / "bad.txt")
    with pytest.raises(ValueError, match="No words"):
        Vocabulary.from_captions(["", "  "])


def test_tokenizer_normalises_pads_truncates_and_round_trips():
    vocab = shapes_vocabulary()
    tokenizer = Tokenizer(vocab, max_length=8)
    ids = tokenizer(tf.constant(["A Red  CIRCLE, on the LEFT!", "a zebra"])).numpy()
    assert ids.shape == (2, 8) and ids.dtype == np.int32
    assert ids[0, 0] == START_ID and ids[0, -1] == END_ID  # truncated, still ends with [END]
    assert ids[1].tolist() == [START_ID, vocab.id("a"), 1, END_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID]
    assert tokenizer.detokenize(ids).numpy().tolist() == [b"a red circle on the left", b"a [UNK]"]


def test_every_shapes_caption_fits_and_round_trips():
    tokenizer = Tokenizer(shapes_vocabulary(), SHAPES_MAX_LENGTH)
    captions = [c for i in range(200) for c in shapes.scene("train", i)["captions"]]
    ids = tokenizer(tf.constant(captions))
    assert not np.any(ids.numpy() == 1), "no shapes word is unknown"
    assert [c.decode() for c in tokenizer.detokenize(ids).numpy()] == captions


def test_tokenizer_in_tf_data_and_tf_function():
    tokenizer = Tokenizer(shapes_vocabulary(), SHAPES_MAX_LENGTH)
    ds = tf.data.Dataset.from_tensor_slices(["a red circle", "the top"]).map(tokenizer).batch(2)
    eager = tokenizer(tf.constant(["a red circle", "the top"]))
    np.testing.assert_array_equal(next(iter(ds)).numpy(), eager.numpy())
    graph = tf.function(tokenizer, input_signature=[tf.TensorSpec([None], tf.string)])
    np.testing.assert_array_equal(graph(tf.constant(["a red circle", "the top"])).numpy(), eager.numpy())


def test_text_encoder_outputs_respect_padding_and_compile():
    encoder = TextEncoder(vocabulary_size=32, max_length=8, embedding_dim=8, units=4)
    ids = tf.constant([[2, 5, 6, 3, 0, 0, 0, 0], [2, 5, 6, 3, 0, 0, 0, 0]], tf.int32)
    out = encoder(ids)
    assert out["words"].shape == (2, 8, 8) and out["sentence"].shape == (2, 8)
    longer = tf.constant([[2, 5, 6, 3, 0, 0, 0, 0], [2, 5, 6, 3, 7, 0, 0, 0]], tf.int32)
    sentences = encoder(longer)["sentence"].numpy()
    assert not np.allclose(sentences[0], sentences[1])
    compiled = tf.function(lambda x: encoder(x)["sentence"], jit_compile=True)
    np.testing.assert_allclose(compiled(ids).numpy(), out["sentence"].numpy(), atol=1e-5)


def test_check_captions_errors():
    assert check_captions("a red circle") == ["a red circle"]
    with pytest.raises(TypeError, match="str or a list of str"):
        check_captions([1, 2])
    with pytest.raises(ValueError, match="empty batch"):
        check_captions([])
    with pytest.raises(ValueError, match="no words"):
        check_captions(["a red circle", "  "])
