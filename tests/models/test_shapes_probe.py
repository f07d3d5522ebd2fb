"""Tests of the `shapes_probe` family (tiny variant)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.models.shapes_probe.model import HEAD_CLASSES, ShapesProbe, ShapesProbeConfig, grid_targets
from zoo.text import TextEncoder


@pytest.fixture(scope="module")
def probe():
    return zoo.build("shapes_probe_tiny").build_all()


def uint8_images(count, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def test_call_gives_logits_per_cell_for_each_head(probe):
    logits = probe({"images": tf.zeros((2, 32, 32, 3))})
    assert set(logits) == set(HEAD_CLASSES)
    for head, classes in HEAD_CLASSES.items():
        assert logits[head].shape == (2, 3, 3, classes)


def test_full_size_probe_maps_64_pixels_to_the_grid():
    logits = zoo.build("shapes_probe", channels=4, max_channels=8, cell_units=8)({"images": tf.zeros((1, 64, 64, 3))})
    assert logits["colour"].shape == (1, 3, 3, 8)


def test_predict_grid_format(probe):
    grid = probe.predict_grid(uint8_images(5))
    assert set(grid) == {"occupied", "colour", "shape", "size"}
    for head, classes in HEAD_CLASSES.items():
        assert grid[head].shape == (5, 3, 3) and np.issubdtype(grid[head].dtype, np.integer)
        assert 0 <= grid[head].min() and grid[head].max() < classes


def test_predict_grid_chunks_and_input_forms_agree(probe):
    images = uint8_images(5, seed=1)
    whole = probe.predict_grid(images)
    chunked = probe.predict_grid(images, batch_size=2)
    as_floats = probe.predict_grid(images.astype(np.float32) / 127.5 - 1.0)
    one = probe.predict_grid(images[0])
    for head in HEAD_CLASSES:
        np.testing.assert_array_equal(whole[head], chunked[head])
        np.testing.assert_array_equal(whole[head], as_floats[head])
        np.testing.assert_array_equal(whole[head][:1], one[head])


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((2, 64, 64, 3), np.uint8), "32x32"),
        (np.zeros((2, 32, 32, 1), np.uint8), "channel"),
        (np.zeros((0, 32, 32, 3), np.uint8), "zero"),
        (np.full((1, 32, 32, 3), 3.0, np.float32), r"\[-1, 1\]"),
        (np.zeros((1, 32, 32, 3), np.int32), "uint8"),
        (np.zeros((32, 3), np.uint8), "shape"),
    ],
)
def test_predict_grid_rejects_bad_images(probe, images, message):
    with pytest.raises(ValueError, match=message):
        probe.predict_grid(images)


def test_colour_of_a_cell_reads_only_its_window(probe):
    # The colour head must not see the rest of the image (nor a shape): change everything
    # beyond the top-left cell's 16-pixel window (32 at 64x64) and its colour logits stay put.
    images = tf.random.uniform((1, 32, 32, 3), -1.0, 1.0, seed=3)
    changed = tf.concat([images[:, :20], -images[:, 20:]], axis=1)
    changed = tf.concat([changed[:, :, :20], tf.zeros_like(changed[:, :, 20:])], axis=2)
    before, after = probe({"images": images}), probe({"images": changed})
    np.testing.assert_allclose(after["colour"][:, 0, 0], before["colour"][:, 0, 0], atol=1e-6)
    assert np.abs(after["colour"][:, 2, 2] - before["colour"][:, 2, 2]).max() > 0


def test_grid_targets_place_objects_in_their_cells():
    objects = {
        "colour": tf.constant([[0, 7], [3, -1]]),
        "shape": tf.constant([[1, 2], [3, -1]]),
        "size": tf.constant([[1, 0], [0, -1]]),
        "cell": tf.constant([[0, 8], [5, -1]]),
    }
    targets = grid_targets(objects)
    expected_occupied = np.zeros((2, 3, 3), np.int32)
    expected_occupied[0, 0, 0] = expected_occupied[0, 2, 2] = expected_occupied[1, 1, 2] = 1
    np.testing.assert_array_equal(targets["occupied"], expected_occupied)
    colour = targets["colour"].numpy()
    assert (colour[0, 0, 0], colour[0, 2, 2], colour[1, 1, 2]) == (0, 7, 3)
    assert (targets["shape"].numpy()[0, 2, 2], targets["size"].numpy()[0, 0, 0]) == (2, 1)
    for key in ("colour", "shape", "size"):
        assert np.all(targets[key].numpy()[expected_occupied == 0] == -1)


def test_grid_targets_match_the_rendered_scenes():
    from zoo.data import shapes

    batch = next(iter(zoo.data.load("shapes", split="validation", batch_size=4, image_size=32, masks=None)))
    targets = grid_targets(batch["objects"])
    for row, index in enumerate(batch["index"].numpy()):
        scene = shapes.scene("validation", int(index), image_size=32)
        occupied = np.zeros((3, 3), int)
        for obj in scene["objects"]:
            row_of_cell, column = divmod(obj["cell"], 3)
            occupied[row_of_cell, column] = 1
            assert targets["colour"][row, row_of_cell, column] == shapes.COLOUR_NAMES.index(obj["colour"])
            assert targets["shape"][row, row_of_cell, column] == shapes.SHAPE_NAMES.index(obj["shape"])
        np.testing.assert_array_equal(targets["occupied"][row], occupied)


def test_save_and_load_give_identical_outputs(probe, tmp_path):
    path = str(tmp_path / "probe.keras")
    probe.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ShapesProbe) and loaded.config == probe.config
    images = uint8_images(3, seed=2)
    images_in = {"images": tf.cast(images, tf.float32) / 127.5 - 1.0}
    for head, logits in probe(images_in).items():
        np.testing.assert_array_equal(logits, loaded(images_in)[head])


def test_config_round_trip(probe):
    rebuilt = ShapesProbe.from_config(probe.get_config())
    assert rebuilt.config == probe.config


def test_reads_no_text():
    vocabulary = zoo.text.shapes_vocabulary()
    encoder = TextEncoder(len(vocabulary), zoo.text.SHAPES_MAX_LENGTH, embedding_dim=8, units=8)
    probe = zoo.build("shapes_probe_tiny", text_encoder=encoder).build_all()
    assert ShapesProbe.uses_text is False
    assert not hasattr(probe, "text_encoder")
    assert set(probe.networks()) == {"classifier"}
    assert len(probe.weights) == len(probe.classifier.weights)


def test_config_validation():
    with pytest.raises(ValueError, match="Unknown config field"):
        zoo.build("shapes_probe_tiny", width=4)
    with pytest.raises(ValueError, match="image_size"):
        ShapesProbeConfig(image_size=96)


def test_registered_for_image_classification():
    assert set(zoo.list_models(task="image-classification")) >= {"shapes_probe", "shapes_probe_tiny"}
