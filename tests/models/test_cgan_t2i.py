"""Tests of the `cgan_t2i` family's conditioning (tiny variant)."""

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.layers import ConditioningAugmentation

CAPTIONS = ["a small red circle in the top left corner", "large blue square right"]


@pytest.mark.parametrize("scale", [1.0, 0.0])
def test_condition_noise_scale_sets_how_much_the_condition_varies(scale):
    model = zoo.build("cgan_t2i_tiny", condition_noise_scale=scale).build_all()
    sentence = model.text_encoder(model.tokenize(CAPTIONS))["sentence"]
    noise = tf.zeros((2, model.config.noise_dim))
    outputs = [model.generator({"noise": noise, "sentence": sentence,
                                "condition_noise": tf.fill((2, model.config.condition_dim), value)})
               for value in (0.0, 2.0)]
    difference = float(tf.reduce_max(tf.abs(outputs[0]["images"] - outputs[1]["images"])))
    if scale:
        assert difference > 1e-4  # the noise moves the condition, and so the image
    else:
        assert difference == 0.0  # the mean alone: the seed only reaches the image noise
    np.testing.assert_allclose(outputs[0]["mean"], outputs[1]["mean"])


def test_conditioning_layer_round_trips_its_noise_scale():
    layer = ConditioningAugmentation(8, noise_scale=0.25)
    assert ConditioningAugmentation.from_config(layer.get_config()).noise_scale == 0.25
    condition, mean, log_variance = layer([np.ones((1, 4), np.float32), np.ones((1, 8), np.float32)])
    np.testing.assert_allclose(condition, mean + 0.25 * np.exp(0.5 * log_variance), rtol=1e-5)
