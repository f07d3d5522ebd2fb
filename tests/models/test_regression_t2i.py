"""Tests of the `regression_t2i` family (tiny variant)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.models.regression_t2i.model import RegressionText2Image, RegressionText2ImageConfig
from zoo.text import TextEncoder

CAPTIONS = ["a small red circle in the top left corner", "large blue square right"]


@pytest.fixture(scope="module")
def model():
    return zoo.build("regression_t2i_tiny").build_all()


def test_call_shapes_and_ranges(model):
    images = model({"tokens": model.tokenize(CAPTIONS)})["images"]
    assert images.shape == (2, 32, 32, 3)
    assert -1.0 <= float(np.min(images)) <= float(np.max(images)) <= 1.0


def test_generate_is_deterministic_and_ignores_the_seed(model):
    images = model.generate(CAPTIONS, seeds=0)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, model.generate(CAPTIONS, seeds=5))
    np.testing.assert_array_equal(images, model.generate(CAPTIONS))
    assert model.generate("small green triangle right").shape == (1, 32, 32, 3)


def test_serving_signature_matches_generate(model):
    from zoo.export.serving import TextToImageServing

    served = TextToImageServing(model).seeded(tf.constant(CAPTIONS), tf.constant([7, 8], tf.int64))
    np.testing.assert_array_equal(served["images"].numpy(), model.generate(CAPTIONS))


@pytest.mark.parametrize("captions", [[], [1.5], None, ["ok", 2]])
def test_generate_rejects_bad_captions(model, captions):
    # zoo.text.check_captions raises TypeError for non-strings and ValueError for an empty batch.
    with pytest.raises((TypeError, ValueError)):
        model.generate(captions)


def test_save_and_load_give_identical_outputs(model, tmp_path):
    path = str(tmp_path / "regression.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, RegressionText2Image) and loaded.config == model.config
    np.testing.assert_array_equal(model.generate(CAPTIONS), loaded.generate(CAPTIONS))


def test_config_round_trip(model):
    rebuilt = RegressionText2Image.from_config(model.get_config())
    assert rebuilt.config == model.config
    assert rebuilt.vocabulary.get_config() == model.vocabulary.get_config()


def test_shared_text_encoder_is_used():
    vocabulary = zoo.text.shapes_vocabulary()
    encoder = TextEncoder(len(vocabulary), zoo.text.SHAPES_MAX_LENGTH, embedding_dim=8, units=8)
    model = zoo.build("regression_t2i_tiny", text_encoder=encoder).build_all()
    assert model.text_encoder is encoder
    ids = {id(v) for v in encoder.weights}
    assert ids and ids <= {id(v) for v in model.weights}


def test_text_encoder_of_another_vocabulary_is_refused():
    encoder = TextEncoder(5, zoo.text.SHAPES_MAX_LENGTH, embedding_dim=8, units=8)
    with pytest.raises(ValueError, match="same vocabulary"):
        zoo.build("regression_t2i_tiny", text_encoder=encoder)


def test_config_validation():
    with pytest.raises(ValueError, match="Unknown config field"):
        zoo.build("regression_t2i_tiny", channels=4)
    with pytest.raises(ValueError, match="image_size"):
        RegressionText2ImageConfig(image_size=100)


def test_registered_for_text_to_image():
    assert {"regression_t2i", "regression_t2i_tiny"} <= set(zoo.list_models(task="text-to-image"))
