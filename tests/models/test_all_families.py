"""Every registered `*_tiny` model: builds, runs, round-trips its config and weights, shares text."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.models import family_names
from zoo.text import TextEncoder

TINY = zoo.list_models(pattern="*_tiny")
FAMILIES = family_names()


def _flat(outputs):
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return {str(i): np.asarray(v) for i, v in enumerate(outputs)}
    return {"output": np.asarray(outputs)}


def test_every_family_and_its_tiny_variant_is_registered():
    names = zoo.list_models()
    assert {"cgan_t2i", "cgan_i2i", "cgan_inpaint", "captioner", "cvae_t2i", "regression_t2i", "shapes_probe",
            "matcher"} <= set(FAMILIES)
    for family in FAMILIES:
        assert family in names and f"{family}_tiny" in names
    assert "cgan_i2i_facades" in names
    assert set(zoo.list_models(task="text-to-image")) >= {"cgan_t2i", "cvae_t2i", "regression_t2i"}


@pytest.mark.parametrize("name", TINY)
def test_forward_pass_is_finite_and_images_in_range(name):
    model = zoo.build(name).build_all()
    outputs = _flat(model(model.example_inputs(2)))
    for key, value in outputs.items():
        assert value.shape[0] == 2, key
        assert np.all(np.isfinite(value)), key
        if key in ("images", "reconstruction"):
            assert value.min() >= -1.0 and value.max() <= 1.0, key


@pytest.mark.parametrize("name", TINY)
def test_config_and_weights_round_trip(name, tmp_path):
    model = zoo.build(name).build_all()
    inputs = model.example_inputs(2)
    expected = _flat(model(inputs))
    clone = type(model).from_config(model.get_config()).build_all()
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    for key, value in _flat(clone(inputs)).items():
        np.testing.assert_allclose(value, expected[key], atol=1e-6, err_msg=key)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for key, value in _flat(loaded(inputs)).items():
        np.testing.assert_allclose(value, expected[key], atol=1e-6, err_msg=key)


def test_an_injected_encoder_of_other_sizes_round_trips(tmp_path):
    """get_config holds the text encoder itself: a 16-unit one in an 8-unit preset survives
    from_config and keras.saving (it used to be rebuilt from the preset, and set_weights failed)."""
    reference = zoo.build("cgan_t2i_tiny")
    encoder = TextEncoder(vocabulary_size=len(reference.vocabulary), max_length=reference.config.max_length,
                          embedding_dim=12, units=16, name="text_encoder")
    model = zoo.build("cgan_t2i_tiny", text_encoder=encoder).build_all()
    assert model.config.text_units != 16
    inputs = model.example_inputs(2)
    expected = _flat(model(inputs))
    clone = type(model).from_config(model.get_config()).build_all()
    assert clone.text_encoder.units == 16 and clone.text_encoder.embedding_dim == 12
    clone.set_weights(model.get_weights())
    path = str(tmp_path / "injected.keras")
    model.save(path)
    for restored in (clone, keras.saving.load_model(path)):
        for key, value in _flat(restored(inputs)).items():
            np.testing.assert_allclose(value, expected[key], atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name", [n for n in TINY if zoo.build(n).uses_text])
def test_models_built_with_one_encoder_share_it(name):
    reference = zoo.build(name)
    encoder = TextEncoder(vocabulary_size=len(reference.vocabulary), max_length=reference.config.max_length,
                          embedding_dim=reference.config.embedding_dim, units=reference.config.text_units)
    first = zoo.build(name, text_encoder=encoder).build_all()
    other_name = "cgan_t2i_tiny" if name != "cgan_t2i_tiny" else "captioner_tiny"
    second = zoo.build(other_name, text_encoder=encoder,
                       **_matching_text_config(reference, other_name)).build_all()
    embedding = encoder.token_embedding.embeddings
    assert any(v is embedding for v in first.weights) and any(v is embedding for v in second.weights)
    tokens = first.tokenize(["a small red circle in the center"])
    before = second.text_encoder(tokens)["words"].numpy()
    inputs = first.example_inputs(2)
    with tf.GradientTape() as tape:  # a step through the first model only
        outputs = _flat_tensors(first(inputs, training=True))
        loss = tf.add_n([tf.reduce_sum(tf.square(v)) for v in outputs if v.dtype.is_floating])
    variables = [v for v in encoder.trainable_variables]
    gradients = tape.gradient(loss, variables)
    used = [(g, v) for g, v in zip(gradients, variables) if g is not None]
    assert used, "the first model's output depends on the shared encoder"
    keras.optimizers.SGD(1.0).apply([g for g, _ in used], [v for _, v in used])
    assert np.abs(second.text_encoder(tokens)["words"].numpy() - before).max() > 0


def _flat_tensors(outputs):
    if isinstance(outputs, dict):
        return list(outputs.values())
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _matching_text_config(reference, other_name):
    c = reference.config
    return {"max_length": c.max_length, "embedding_dim": c.embedding_dim, "text_units": c.text_units}


def test_mismatched_encoder_is_refused():
    encoder = TextEncoder(vocabulary_size=5, max_length=24)
    with pytest.raises(ValueError, match="same vocabulary"):
        zoo.build("cgan_t2i_tiny", text_encoder=encoder)
