"""Tests of the `cvae_t2i` family (tiny variant)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.models.cvae_t2i.model import CVAEText2Image, CVAEText2ImageConfig
from zoo.text import TextEncoder
from tests.images import assert_same_up_to_rounding

CAPTIONS = ["a small red circle in the top left corner", "large blue square right"]


@pytest.fixture(scope="module")
def model():
    return zoo.build("cvae_t2i_tiny").build_all()


def random_inputs(model, batch_size=2, seed=0):
    rng = np.random.default_rng(seed)
    size = model.config.image_size
    return {
        "images": tf.constant(rng.uniform(-1, 1, (batch_size, size, size, 3)), tf.float32),
        "tokens": model.tokenize(CAPTIONS[:batch_size]),
        "noise": tf.constant(rng.standard_normal((batch_size, model.config.latent_dim)), tf.float32),
    }


def test_call_shapes_and_ranges(model):
    outputs = model(random_inputs(model))
    assert outputs["reconstruction"].shape == (2, 32, 32, 3)
    assert outputs["mean"].shape == outputs["log_variance"].shape == (2, 8)
    assert -1.0 <= float(tf.reduce_min(outputs["reconstruction"])) <= float(tf.reduce_max(outputs["reconstruction"])) <= 1.0


def test_noise_moves_the_latent_and_zero_noise_decodes_the_mean(model):
    inputs = random_inputs(model)
    noisy = model(inputs)["reconstruction"]
    at_mean = model({**inputs, "noise": tf.zeros_like(inputs["noise"])})
    sentence = model.text_encoder(inputs["tokens"])["sentence"]
    decoded_mean = model.decoder({"latent": at_mean["mean"], "sentence": sentence})
    np.testing.assert_allclose(at_mean["reconstruction"], decoded_mean, atol=1e-6)
    assert np.abs(np.asarray(noisy) - np.asarray(at_mean["reconstruction"])).max() > 1e-4


def test_generate_is_uint8_and_repeats_with_a_seed(model):
    first = model.generate(CAPTIONS, seeds=3)
    assert first.shape == (2, 32, 32, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, model.generate(CAPTIONS, seeds=3))
    assert not np.array_equal(first, model.generate(CAPTIONS, seeds=4))
    # Caption i uses seed + i: one caption's image does not depend on the rest of the batch.
    assert_same_up_to_rounding(model.generate(CAPTIONS[1:], seeds=4), first[1:])
    assert model.generate("a large green diamond at the bottom").shape == (1, 32, 32, 3)


def test_serving_signature_matches_generate(model):
    from zoo.export.serving import TextToImageServing

    served = TextToImageServing(model).seeded(tf.constant(CAPTIONS), tf.constant([7, 8], tf.int64))
    np.testing.assert_array_equal(served["images"].numpy(), model.generate(CAPTIONS, seeds=7))


@pytest.mark.parametrize("captions", [[], [3], None, [b"bytes caption"]])
def test_generate_rejects_bad_captions(model, captions):
    # zoo.text.check_captions raises TypeError for non-strings and ValueError for an empty batch.
    with pytest.raises((TypeError, ValueError)):
        model.generate(captions, seeds=0)


def test_save_and_load_give_identical_outputs(model, tmp_path):
    path = str(tmp_path / "cvae.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, CVAEText2Image) and loaded.config == model.config
    inputs = random_inputs(model)
    for key, value in model(inputs).items():
        np.testing.assert_array_equal(value, loaded(inputs)[key])
    np.testing.assert_array_equal(model.generate(CAPTIONS, seeds=1), loaded.generate(CAPTIONS, seeds=1))


def test_config_round_trip(model):
    rebuilt = CVAEText2Image.from_config(model.get_config())
    assert rebuilt.config == model.config
    assert rebuilt.vocabulary.get_config() == model.vocabulary.get_config()


def test_shared_text_encoder_is_used():
    vocabulary = zoo.text.shapes_vocabulary()
    encoder = TextEncoder(len(vocabulary), zoo.text.SHAPES_MAX_LENGTH, embedding_dim=8, units=8)
    first = zoo.build("cvae_t2i_tiny", text_encoder=encoder)
    second = zoo.build("regression_t2i_tiny", text_encoder=encoder)
    assert first.text_encoder is encoder and second.text_encoder is encoder
    first.build_all()
    ids = {id(v) for v in encoder.weights}
    assert ids and ids <= {id(v) for v in first.weights}


def test_config_validation():
    with pytest.raises(ValueError, match="Unknown config field"):
        zoo.build("cvae_t2i_tiny", latent_size=4)
    with pytest.raises(ValueError, match="image_size"):
        CVAEText2ImageConfig(image_size=48)
    with pytest.raises(ValueError, match="latent_dim"):
        CVAEText2ImageConfig(latent_dim=0)


def test_registered_for_text_to_image():
    assert {"cvae_t2i", "cvae_t2i_tiny"} <= set(zoo.list_models(task="text-to-image"))
