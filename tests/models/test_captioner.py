"""The `captioner` family: shapes, decoding, inputs, saving and sharing, on `captioner_tiny`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.models.captioner.model import Captioner, CaptionerConfig
from zoo.text import END_ID, PAD_ID, START_ID

IMAGE_SIZE = 32  # captioner_tiny
GRID_CELLS = 16  # its 4x4 grid


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return zoo.build("captioner_tiny")


@pytest.fixture(scope="module")
def images():
    return tf.random.stateless_uniform([3, IMAGE_SIZE, IMAGE_SIZE, 3], seed=[1, 2], minval=-1.0, maxval=1.0)


def _uint8(images):
    return np.clip(np.rint((images.numpy() + 1.0) * 127.5), 0, 255).astype(np.uint8)


# === Forward pass ===
def test_registered_for_image_to_text():
    assert {"captioner", "captioner_tiny"} <= set(zoo.list_models(task="image-to-text"))


def test_teacher_forced_outputs(model, images):
    tokens = model.tokenize(["a small red circle in the center", "large blue square top", "a cat"])
    outputs = model({"images": images, "tokens": tokens})
    length, vocabulary_size = model.config.max_length, len(model.vocabulary)
    assert outputs["logits"].shape == (3, length - 1, vocabulary_size)
    assert outputs["attention"].shape == (3, length - 1, GRID_CELLS)
    assert np.all(np.isfinite(outputs["logits"]))
    attention = outputs["attention"].numpy()
    assert attention.min() >= 0.0
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)


def test_networks_shapes(model, images):
    networks = model.networks()
    assert set(networks) == {"text_encoder", "image_encoder", "decoder", "decoder_start", "decoder_step"}
    grid = networks["image_encoder"](images)
    assert grid.shape == (3, GRID_CELLS, model.config.feature_dim)
    start = networks["decoder_start"]({"grid": grid})
    step = networks["decoder_step"]({"token": tf.fill([3], START_ID), "grid": grid, **start})
    assert step["logits"].shape == (3, len(model.vocabulary))
    assert step["hidden"].shape == (3, model.config.decoder_units)


def test_step_model_shares_weights_with_teacher_forcing(model, images):
    tokens = model.tokenize(["a small red circle in the center"] * 3)
    forced = model({"images": images, "tokens": tokens})
    grid = model.image_encoder(images)
    state = model.decoder_start({"grid": grid})
    for position in range(4):
        step = model.decoder_step({"token": tokens[:, position], "grid": grid, "hidden": state["hidden"],
                                   "cell": state["cell"], "projected_grid": state["projected_grid"]})
        np.testing.assert_allclose(step["logits"], forced["logits"][:, position], atol=1e-5)
        np.testing.assert_allclose(step["attention"], forced["attention"][:, position], atol=1e-6)
        state = {**state, "hidden": step["hidden"], "cell": step["cell"]}


# === Decoding in graph ===
def test_beam_size_one_equals_greedy(model, images):
    greedy = tf.function(model.greedy_decode)(images)
    beam = tf.function(lambda x: model.beam_search(x, beam_size=1))(images)
    np.testing.assert_array_equal(beam["tokens"][:, 0], greedy["tokens"])
    np.testing.assert_allclose(beam["scores"][:, 0], greedy["scores"], rtol=1e-6)
    np.testing.assert_allclose(beam["attention"][:, 0], greedy["attention"], atol=1e-6)


@pytest.fixture(scope="module")
def beams(model, images):
    """Beam search (beam_size 3) compiled in a `tf.function`, with its graph."""
    search = tf.function(lambda x: model.beam_search(x, beam_size=3))
    concrete = search.get_concrete_function(tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE, 3]))
    return concrete.graph, search(images)


def test_beam_search_in_graph_sorted_and_distinct(model, beams):
    graph, result = beams
    assert any(op.type in ("While", "StatelessWhile") for op in graph.get_operations())
    length = model.config.max_length
    assert result["tokens"].shape == (3, 3, length)
    assert result["attention"].shape == (3, 3, length - 1, GRID_CELLS)
    scores = result["scores"].numpy()
    assert np.all(np.diff(scores, axis=1) <= 0), scores
    assert np.all(result["tokens"][:, :, 0] == START_ID)
    for hypotheses in result["tokens"].numpy():
        assert len({tuple(h) for h in hypotheses}) == 3


def _teacher_forced_scores(model, images, tokens):
    """Mean log-probability of each generated word ([END] included), recomputed by teacher forcing."""
    outputs = model({"images": images, "tokens": tokens})
    log_probs = tf.nn.log_softmax(outputs["logits"]).numpy()
    targets = tokens[:, 1:].numpy()
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    generated = targets != PAD_ID
    return (picked * generated).sum(-1) / generated.sum(-1), outputs["attention"].numpy(), generated


def test_beam_scores_match_teacher_forcing(model, images, beams):
    _, result = beams
    for beam in range(3):
        tokens = result["tokens"][:, beam]
        scores, attention, generated = _teacher_forced_scores(model, images, tokens)
        np.testing.assert_allclose(result["scores"][:, beam], scores, rtol=1e-4)
        np.testing.assert_allclose(result["attention"][:, beam], attention * generated[..., None], atol=1e-5)


def test_decoding_stops_at_end(images):
    keras.utils.set_random_seed(1)
    model = zoo.build("captioner_tiny")
    model.build_all()
    # Make [END] the likeliest word everywhere, so every caption stops after one or two words.
    head = model.decoder.get_layer("teacher_forcing").cell.output_head
    bias = head.bias.numpy()
    bias[END_ID] += 4.0
    head.bias.assign(bias)
    greedy = tf.function(model.greedy_decode)(images)
    np.testing.assert_array_equal(greedy["tokens"][:, 1], END_ID)
    assert np.all(greedy["tokens"][:, 2:] == PAD_ID)
    assert np.all(greedy["attention"][:, 1:] == 0.0)
    beams = tf.function(lambda x: model.beam_search(x, beam_size=3))(images)["tokens"].numpy()
    for hypothesis in beams.reshape(-1, model.config.max_length):
        end = list(hypothesis).index(END_ID)
        assert np.all(hypothesis[end + 1:] == PAD_ID)
        assert np.all(hypothesis[1:end] > END_ID)  # words only: no [PAD], [UNK] or [START] before [END]
    assert model.tokenizer.detokenize(greedy["tokens"]).numpy().tolist() == [b"", b"", b""]


# === Job method on plain inputs ===
def test_caption_plain_inputs(model, images):
    pixels = _uint8(images)
    captions = model.caption(pixels, beam_size=3)
    assert isinstance(captions, list) and len(captions) == 3
    assert all(isinstance(c, str) for c in captions)
    assert all(word in model.vocabulary for c in captions for word in c.split())
    assert model.caption(pixels[0], beam_size=3) == captions[:1]
    assert model.caption(images.numpy().astype(np.float64), beam_size=1) == model.caption(images, beam_size=1)


def test_caption_with_attention(model, images):
    tokens, scores, attention = model.caption_with_attention(_uint8(images), beam_size=3)
    length, grid = model.config.max_length, model.config.grid_size
    assert tokens.shape == (3, length) and tokens.dtype == np.int32
    assert scores.shape == (3,) and np.all(scores <= 0.0)
    assert attention.shape == (3, length - 1, grid, grid)
    generated = tokens[:, 1:] != PAD_ID
    np.testing.assert_allclose(attention.sum((-1, -2)), generated.astype(np.float32), atol=1e-5)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 16, 16, 3), np.uint8), "32x32"),
        (np.zeros((2, 32, 32, 1), np.uint8), "channel"),
        (np.zeros((0, 32, 32, 3), np.uint8), "zero"),
        (np.full((1, 32, 32, 3), 3.0, np.float32), r"\[-1, 1\]"),
        (np.zeros((1, 32, 32, 3), np.int32), "uint8"),
        (np.zeros((32, 32), np.uint8), "shape"),
    ],
)
def test_caption_rejects_bad_images(model, bad, message):
    with pytest.raises(ValueError, match=message):
        model.caption(bad)


@pytest.mark.parametrize("beam_size", [0, 30, 2.5, "3", True])
def test_caption_rejects_bad_beam_size(model, images, beam_size):
    with pytest.raises(ValueError, match="beam_size"):
        model.caption(images, beam_size=beam_size)


def test_config_validation():
    with pytest.raises(ValueError, match="Unknown config field"):
        zoo.build("captioner_tiny", grid=4)
    with pytest.raises(ValueError, match="grid_size"):
        CaptionerConfig(image_size=32, grid_size=6)
    with pytest.raises(ValueError, match="image_size"):
        CaptionerConfig(image_size=48)


# === Saving and sharing ===
def test_save_load_identical(model, images, tmp_path):
    tokens = model.tokenize(["there is a large green diamond at the top"] * 3)
    path = str(tmp_path / "captioner.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Captioner)
    before, after = model({"images": images, "tokens": tokens}), loaded({"images": images, "tokens": tokens})
    for name in ("logits", "attention"):
        np.testing.assert_array_equal(before[name], after[name])
    assert loaded.caption(images, beam_size=3) == model.caption(images, beam_size=3)


def test_config_round_trip(model):
    config = model.get_config()
    rebuilt = Captioner.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.config == model.config
    assert rebuilt.vocabulary == model.vocabulary


def test_shared_text_encoder(model):
    shared = model.text_encoder
    other = zoo.build("captioner_tiny", text_encoder=shared)
    assert other.text_encoder is shared
    embedding = shared.token_embedding.embeddings
    assert any(v is embedding for v in other.decoder.trainable_variables)
    assert any(v is embedding for v in other.decoder_step.trainable_variables)
    t2i = zoo.build("cgan_t2i_tiny", text_encoder=shared)
    assert t2i.text_encoder.token_embedding.embeddings is embedding
