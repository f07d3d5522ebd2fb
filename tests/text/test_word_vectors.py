"""Word vectors for the shared Embedding: read from the files a test writes, trained with Word2Vec, and errors."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.cli import main
from zoo.data import default_vocabulary
from zoo.local_weights import LocalWeightsError
from zoo.text import PAD_ID, shapes_vocabulary
from zoo.text.word_vectors import read_word_vectors, train_word_vectors, word_vector_matrix
from zoo.training.steps import get_steps

gensim = pytest.importorskip("gensim")

DIM = 8  # matcher_tiny's embedding_dim
MISSING = ("diamond", "purple", "bottom")  # shapes words the test's files leave out


@pytest.fixture(scope="module")
def vectors():
    """Deterministic vectors for the shapes words but MISSING, plus two words shapes never uses."""
    words = [w for w in shapes_vocabulary().tokens[4:] if w not in MISSING] + ["zebra", "violin"]
    values = np.random.default_rng(0).normal(size=(len(words), DIM)).astype(np.float32)
    keyed = gensim.models.KeyedVectors(DIM)
    keyed.add_vectors(words, values)
    return keyed


@pytest.fixture(scope="module")
def vector_files(vectors, tmp_path_factory):
    """The same vectors as word2vec text, word2vec binary, GloVe (no header) and gensim .kv files."""
    folder = tmp_path_factory.mktemp("vectors")
    paths = {"word2vec.txt": folder / "word2vec.txt", "word2vec.bin": folder / "word2vec.bin",
             "glove.txt": folder / "glove.txt", "vectors.kv": folder / "vectors.kv"}
    vectors.save_word2vec_format(str(paths["word2vec.txt"]), binary=False)
    vectors.save_word2vec_format(str(paths["word2vec.bin"]), binary=True)
    vectors.save_word2vec_format(str(paths["glove.txt"]), binary=False, write_header=False)
    vectors.save(str(paths["vectors.kv"]))
    return paths


@pytest.mark.parametrize("kind", ["word2vec.txt", "word2vec.bin", "glove.txt", "vectors.kv"])
def test_every_format_reads_the_same_vectors(vector_files, vectors, kind):
    read = read_word_vectors(str(vector_files[kind]))
    assert read.index_to_key == vectors.index_to_key
    np.testing.assert_allclose(read.vectors, vectors.vectors, atol=1e-5)


def test_matrix_takes_found_words_and_counts_the_missing_exactly(vectors):
    vocabulary = shapes_vocabulary()
    matrix, missing = word_vector_matrix(vectors, vocabulary)
    assert sorted(missing) == sorted(MISSING)
    assert matrix.shape == (len(vocabulary), DIM) and np.all(matrix[PAD_ID] == 0)
    for word in ("red", "circle", "left"):
        np.testing.assert_array_equal(matrix[vocabulary.id(word)], vectors[word])
    assert np.std(matrix[vocabulary.id("diamond")]) > 0  # random, not zero


def test_model_embedding_starts_from_the_file_and_reports_the_missing_words(vector_files, vectors):
    with pytest.warns(UserWarning, match=r"25 of the vocabulary's 28 words found, 3 missing") as caught:
        model = zoo.build("matcher_tiny", word_vectors=str(vector_files["glove.txt"]))
    message = next(str(w.message) for w in caught if "missing" in str(w.message))
    assert all(repr(word) in message for word in MISSING)
    embedding = model.text_encoder.token_embedding.embeddings.numpy()
    np.testing.assert_allclose(embedding[model.vocabulary.id("square")], vectors["square"], atol=1e-6)
    assert any(v is model.text_encoder.token_embedding.embeddings for v in model.trainable_variables)


def test_frozen_vectors_stay_put_while_the_encoder_trains(vector_files):
    keras.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = zoo.build("matcher_tiny", word_vectors=str(vector_files["vectors.kv"]), train_word_vectors=False)
    steps = get_steps("matcher")
    embedding = model.text_encoder.token_embedding.embeddings
    assert not any(v is embedding for v in model.trainable_variables)
    before, lstm_before = embedding.numpy(), [v.numpy() for v in model.text_encoder.trainable_variables]
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    batch = next(iter(zoo.data.load("shapes", batch_size=4, image_size=32, masks=None)))
    step = tf.function(lambda b: steps.train_step(model, {"matcher": optimizer}, b, tf.constant([0, 0]), {}))
    losses = [float(step({"image": batch["image"], "tokens": batch["tokens"]})["loss"]) for _ in range(5)]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    np.testing.assert_array_equal(embedding.numpy(), before)
    assert any(np.abs(v.numpy() - b).max() > 0 for v, b in zip(model.text_encoder.trainable_variables, lstm_before))


def test_word2vec_is_deterministic_and_zoo_text_vectors_covers_the_coco_vocabulary(shared_data, tmp_path, capsys):
    captions = ["a red circle on the left", "a blue square at the top", "a red square"] * 20
    first, again = (train_word_vectors(captions, dimensions=DIM, epochs=2, seed=3) for _ in range(2))
    np.testing.assert_array_equal(first.vectors, again.vectors)
    out = tmp_path / "coco.kv"
    assert main(["text", "vectors", "--data", "coco", "--data-path", str(shared_data / "coco-mini"),
                 "--out", str(out), "--dim", str(DIM), "--epochs", "1"]) == 0
    assert f"{DIM} dimensions" in capsys.readouterr().out
    vocabulary, _ = default_vocabulary("coco", str(shared_data / "coco-mini"))
    _, missing = word_vector_matrix(read_word_vectors(str(out)), vocabulary)
    assert missing == []  # the vectors split captions as the tokenizer does


def test_bad_vector_files_are_one_line_errors_and_nothing_is_downloaded(vector_files, tmp_path, capsys):
    with pytest.raises(LocalWeightsError, match=r"No word vectors file 'nowhere.txt'.*looked in the current folder"):
        zoo.build("matcher_tiny", word_vectors="nowhere.txt")
    with pytest.raises(LocalWeightsError, match=r"have 8 dimensions, but embedding_dim=16: set embedding_dim=8"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            zoo.build("matcher_tiny", word_vectors=str(vector_files["word2vec.bin"]), embedding_dim=16)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 not vectors")
    with pytest.raises(LocalWeightsError, match="Cannot read word vectors"):
        read_word_vectors(str(garbage))
    with pytest.raises(ValueError, match="word_vectors=.* initialise the BiLSTM"):
        zoo.build("matcher_tiny", text_model="bert", word_vectors=str(vector_files["glove.txt"]))
    status = main(["train", "matcher_tiny", "--workdir", str(tmp_path / "run"), "--steps", "1",
                   "--set", "model.word_vectors=missing.kv"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "No word vectors file 'missing.kv'" in err
