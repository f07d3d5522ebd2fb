"""cgan_inpaint: shapes, known pixels kept exactly, the text switch, the `inpaint` job, errors, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.models.cgan_inpaint.model import CGANInpaint
from zoo.registry import get_entry
from zoo.text import TextEncoder

SIZE = 32
CAPTIONS = ["a large red circle in the center", "a small blue square on the left"]


@pytest.fixture(scope="module")
def model():
    return zoo.build("cgan_inpaint_tiny")


def _images_and_masks(count=2, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, SIZE, SIZE, 3), dtype=np.uint8)
    masks = np.zeros((count, SIZE, SIZE, 1), np.uint8)
    for i in range(count):
        top, left = rng.integers(0, SIZE - 14, size=2)
        masks[i, top:top + 14, left:left + 14] = 1
    return images, masks


def _call_inputs(model, captions):
    images, masks = _images_and_masks(len(captions))
    tokens, has_text = model.caption_inputs(captions, len(captions))
    return {"images": tf.constant(images, tf.float32) / 127.5 - 1.0, "masks": tf.constant(masks, tf.float32),
            "tokens": tokens, "has_text": has_text}


def test_registered_with_task():
    assert get_entry("cgan_inpaint").task == get_entry("cgan_inpaint_tiny").task == "inpainting"


def test_forward_shapes_range_and_known_pixels(model):
    inputs = _call_inputs(model, CAPTIONS)
    outputs = model.complete(inputs)
    assert outputs["images"].shape == outputs["generated"].shape == (2, SIZE, SIZE, 3)
    assert float(tf.reduce_min(outputs["images"])) >= -1.0 and float(tf.reduce_max(outputs["images"])) <= 1.0
    known = np.broadcast_to(inputs["masks"].numpy() == 0, outputs["images"].shape)
    # Exactly the input outside the hole; the generator's output inside it.
    np.testing.assert_array_equal(outputs["images"].numpy()[known], inputs["images"].numpy()[known])
    np.testing.assert_array_equal(outputs["images"].numpy()[~known], outputs["generated"].numpy()[~known])
    np.testing.assert_array_equal(model(inputs).numpy(), outputs["images"].numpy())


def test_inpaint_keeps_known_uint8_pixels_exactly(model):
    images, masks = _images_and_masks(2)
    completed = model.inpaint(images, masks, CAPTIONS)
    assert completed.dtype == np.uint8 and completed.shape == images.shape
    known = masks[..., 0] == 0
    np.testing.assert_array_equal(completed[known], images[known])
    # The pixels under the hole do not leak into the result.
    scrambled = images.copy()
    scrambled[masks[..., 0] == 1] = 255 - scrambled[masks[..., 0] == 1]
    np.testing.assert_array_equal(model.inpaint(scrambled, masks, CAPTIONS)[~known], completed[~known])


def test_inpaint_accepts_float_images_and_255_masks(model):
    images, masks = _images_and_masks(2)
    expected = model.inpaint(images, masks, CAPTIONS)
    np.testing.assert_array_equal(model.inpaint(images / 127.5 - 1.0, masks * 255, CAPTIONS), expected)


def test_caption_changes_only_the_hole(model):
    images, masks = _images_and_masks(2)
    first = model.inpaint(images, masks, CAPTIONS)
    second = model.inpaint(images, masks, CAPTIONS[::-1])
    hole = masks[..., 0] == 1
    assert not np.array_equal(first[hole], second[hole])
    np.testing.assert_array_equal(first[~hole], second[~hole])


def test_no_text_switches_the_text_path_off(model):
    images, masks = _images_and_masks(2)
    plain = model.inpaint(images, masks)  # captions=None
    np.testing.assert_array_equal(model.inpaint(images, masks, ["", " "]), plain)
    # An empty caption turns the text off for its own example only.
    mixed = model.inpaint(images, masks, [CAPTIONS[0], ""])
    np.testing.assert_array_equal(mixed[1], plain[1])
    assert not np.array_equal(mixed[0], plain[0])
    # At call time: has_text = 0 ignores the tokens; all-zero tokens mean no text.
    inputs = _call_inputs(model, CAPTIONS)
    off = model({**inputs, "has_text": tf.zeros([2, 1])}).numpy()
    zero_tokens = {k: v for k, v in inputs.items() if k != "has_text"}
    zero_tokens["tokens"] = tf.zeros_like(inputs["tokens"])
    np.testing.assert_allclose(model(zero_tokens).numpy(), off, atol=1e-6)
    np.testing.assert_allclose(plain.astype(np.float32) / 127.5 - 1.0, off, atol=1.5 / 127.5)


def test_model_without_text_path():
    model = zoo.build("cgan_inpaint_tiny", use_text=False)
    assert not model.uses_text and "text_encoder" not in model.networks()
    assert "tokens" not in model.generator.input
    images, masks = _images_and_masks(2)
    completed = model.inpaint(images, masks, ["", ""])
    np.testing.assert_array_equal(completed[masks[..., 0] == 0], images[masks[..., 0] == 0])
    with pytest.raises(ValueError, match="use_text=False"):
        model.inpaint(images, masks, CAPTIONS)


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"images": np.zeros((2, 16, 16, 3), np.uint8)}, ValueError, "32x32"),
        ({"images": np.zeros((0, SIZE, SIZE, 3), np.uint8)}, ValueError, "zero"),
        ({"images": np.full((2, SIZE, SIZE, 3), 3.0, np.float32)}, ValueError, r"\[-1, 1\]"),
        ({"masks": np.full((2, SIZE, SIZE, 1), 0.5, np.float32)}, ValueError, "0/1 or 0/255"),
        ({"masks": np.zeros((3, SIZE, SIZE, 1), np.uint8)}, ValueError, "one mask per image"),
        ({"masks": np.zeros((2, SIZE, SIZE, 3), np.uint8)}, ValueError, "masks must be"),
        ({"captions": ["a red circle"]}, ValueError, "one per image"),
        ({"captions": ["a red circle", 7]}, TypeError, "str"),
        ({"captions": 7}, TypeError, "str"),
    ],
)
def test_inpaint_rejects_bad_inputs(model, change, error, message):
    images, masks = _images_and_masks(2)
    arguments = {"images": images, "masks": masks, "captions": CAPTIONS, **change}
    with pytest.raises(error, match=message):
        model.inpaint(**arguments)


def test_shared_text_encoder(model):
    encoder = TextEncoder(vocabulary_size=len(model.vocabulary), max_length=model.config.max_length,
                          embedding_dim=model.config.embedding_dim, units=model.config.text_units)
    first = zoo.build("cgan_inpaint_tiny", text_encoder=encoder)
    second = zoo.build("cgan_t2i_tiny", text_encoder=encoder)
    assert first.text_encoder is encoder and second.text_encoder is encoder
    shared = {id(v) for v in first.text_encoder.weights}
    assert shared == {id(v) for v in second.text_encoder.weights}
    assert any(v is encoder.token_embedding.embeddings for v in first.weights)


def test_bad_config_raises():
    with pytest.raises(ValueError, match="Unknown config field"):
        zoo.build("cgan_inpaint_tiny", text=False)
    with pytest.raises(ValueError, match="attention_heads"):
        zoo.build("cgan_inpaint_tiny", attention_heads=3)
    with pytest.raises(ValueError, match="decoder_convs must be in 1..4, got 0"):
        zoo.build("cgan_inpaint_tiny", decoder_convs=0)


def test_save_and_load_give_identical_outputs(model, tmp_path):
    path = str(tmp_path / "cgan_inpaint.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, CGANInpaint)
    inputs = _call_inputs(model, CAPTIONS)
    np.testing.assert_array_equal(loaded(inputs).numpy(), model(inputs).numpy())
    images, masks = _images_and_masks(2)
    np.testing.assert_array_equal(loaded.inpaint(images, masks, CAPTIONS), model.inpaint(images, masks, CAPTIONS))


def test_config_round_trip(model):
    config = model.get_config()
    rebuilt = CGANInpaint.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.config == model.config and rebuilt.config.dilation_rates == (1, 2)
