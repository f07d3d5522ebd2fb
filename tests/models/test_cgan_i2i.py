"""cgan_i2i (pix2pix): shapes, value ranges, the `translate` job, input errors, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.models.cgan_i2i.model import CGANImage2Image, dropout_mask_shapes
from zoo.registry import get_entry
from tests.images import assert_same_up_to_rounding

SIZE = 32


@pytest.fixture(scope="module")
def model():
    return zoo.build("cgan_i2i_tiny")


def _label_maps(count, seed=0):
    rng = np.random.default_rng(seed)
    maps = np.zeros((count, SIZE, SIZE, 1), np.uint8)
    for i in range(count):
        top, left = rng.integers(0, SIZE - 10, size=2)
        maps[i, top:top + 10, left:left + 10] = rng.integers(1, 9)
    return maps


def test_registered_with_task():
    for name in ("cgan_i2i", "cgan_i2i_tiny", "cgan_i2i_facades"):
        assert get_entry(name).task == "image-to-image"


def test_forward_shapes_and_range(model):
    images = model({"inputs": _label_maps(3)})
    assert images.shape == (3, SIZE, SIZE, 3)
    assert images.dtype == tf.float32
    assert float(tf.reduce_min(images)) >= -1.0 and float(tf.reduce_max(images)) <= 1.0
    assert float(tf.math.reduce_std(images)) > 0.0


def test_label_map_is_one_hot_encoded(model):
    encoded = model.encode_inputs(_label_maps(2))
    assert encoded.shape == (2, SIZE, SIZE, 9)
    np.testing.assert_array_equal(tf.reduce_sum(encoded, -1).numpy(), 1.0)
    np.testing.assert_array_equal(tf.argmax(encoded, -1).numpy(), _label_maps(2)[..., 0])


def test_translate_is_deterministic_without_seed(model):
    label_maps = _label_maps(2)
    images = model.translate(label_maps)
    assert images.dtype == np.uint8 and images.shape == (2, SIZE, SIZE, 3)
    np.testing.assert_array_equal(images, model.translate(label_maps))
    # One map without a batch axis, and the same map one-hot as float, give the same image.
    assert_same_up_to_rounding(model.translate(label_maps[0]), images[:1])
    one_hot = model.encode_inputs(label_maps).numpy()
    np.testing.assert_array_equal(model.translate(one_hot), images)


def test_seeded_translate_uses_dropout_as_noise(model):
    label_maps = _label_maps(2)
    noisy = model.translate(label_maps, seeds=1)
    np.testing.assert_array_equal(noisy, model.translate(label_maps, seeds=1))
    assert not np.array_equal(noisy, model.translate(label_maps, seeds=2))
    assert not np.array_equal(noisy, model.translate(label_maps))
    # One int seeds map i with seeds + i; each map's draw is its own, whatever else is in the batch.
    np.testing.assert_array_equal(noisy, model.translate(label_maps, seeds=[1, 2]))
    assert_same_up_to_rounding(model.translate(label_maps[1:], seeds=[2]), noisy[1:])
    with pytest.raises(ValueError, match="Got 3 seeds for 2 label maps; give one seed per label map"):
        model.translate(label_maps, seeds=[1, 2, 3])


def test_dropout_masks(model):
    shapes = dropout_mask_shapes(model.config)
    assert len(shapes) == model.config.dropout_blocks == 3
    ones = model.dropout_masks(2)
    for name, shape in shapes.items():
        np.testing.assert_array_equal(ones[name].numpy(), np.ones([2, *shape]))
    drawn = model.dropout_masks(64, seed=tf.constant([0, 1]))
    values = np.concatenate([m.numpy().ravel() for m in drawn.values()])
    assert set(np.unique(values)) == {0.0, 2.0}  # dropped, or kept and scaled by 1 / (1 - 0.5)
    assert 0.45 < np.mean(values == 0.0) < 0.55


@pytest.mark.parametrize(
    "inputs, message",
    [
        (np.zeros((1, 16, 16, 1), np.uint8), "class indices"),
        (np.zeros((1, SIZE, SIZE, 3), np.uint8), "class indices"),
        (np.full((1, SIZE, SIZE, 1), 9, np.uint8), r"in \[0, 8\]"),
        (np.zeros((0, SIZE, SIZE, 1), np.uint8), "non-empty"),
        (np.zeros((1, SIZE, SIZE, 1), np.float32), "one-hot"),
        (np.full((1, SIZE, SIZE, 9), 2.0, np.float32), "one-hot"),
    ],
)
def test_translate_rejects_bad_label_maps(model, inputs, message):
    with pytest.raises(ValueError, match=message):
        model.translate(inputs)


def test_colour_inputs():
    model = zoo.build("cgan_i2i_tiny", input_classes=0, input_channels=3)
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, (2, SIZE, SIZE, 3), dtype=np.uint8)
    images = model.translate(colours)
    assert images.shape == (2, SIZE, SIZE, 3)
    np.testing.assert_array_equal(model.translate(colours.astype(np.float32) / 127.5 - 1.0), images)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        model.translate(colours.astype(np.float32))
    with pytest.raises(ValueError, match="3 channel"):
        model.translate(colours[..., :1])


def test_facades_preset_runs_at_256():
    model = zoo.build("cgan_i2i_facades")
    assert (model.config.image_size, model.config.input_classes, model.config.input_channels) == (256, 0, 3)
    images = model.translate(np.zeros((1, 256, 256, 3), np.uint8))
    assert images.shape == (1, 256, 256, 3)


def test_bad_config_raises():
    with pytest.raises(ValueError, match="Unknown config field"):
        zoo.build("cgan_i2i_tiny", channels=3)
    with pytest.raises(ValueError, match="input_channels must be 1"):
        zoo.build("cgan_i2i_tiny", input_channels=3)
    with pytest.raises(ValueError, match="dropout_blocks"):
        zoo.build("cgan_i2i_tiny", dropout_blocks=5)


def test_save_and_load_give_identical_outputs(model, tmp_path):
    path = str(tmp_path / "cgan_i2i.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, CGANImage2Image)
    label_maps = _label_maps(2)
    np.testing.assert_array_equal(loaded({"inputs": label_maps}).numpy(), model({"inputs": label_maps}).numpy())
    np.testing.assert_array_equal(loaded.translate(label_maps, seeds=3), model.translate(label_maps, seeds=3))


def test_config_round_trip(model):
    config = model.get_config()
    rebuilt = CGANImage2Image.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.config == model.config
