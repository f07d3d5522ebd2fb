import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.data import shapes
from zoo.training.steps import get_steps

SCENES = [shapes.scene("validation", i, image_size=32) for i in range(8)]
IMAGES = np.stack([s["image"] for s in SCENES])
CAPTIONS = [s["captions"][0] for s in SCENES]


def test_logits_are_scaled_cosine_similarities():
    matcher = zoo.build("matcher_tiny").build_all()
    inputs = matcher.example_inputs(3)
    logits = matcher(inputs)["logits"].numpy()
    assert logits.shape == (3, 3)
    scale = np.exp(float(matcher.log_inverse_temperature.numpy()))
    assert np.all(np.abs(logits) <= scale + 1e-4)


def test_contrastive_step_overfits_one_batch_and_retrieves_its_captions():
    keras.utils.set_random_seed(0)
    matcher = zoo.build("matcher_tiny").build_all()
    steps = get_steps("matcher")
    optimizer = keras.optimizers.Adam(3e-3)
    optimizer.build(matcher.trainable_variables)
    batch = {"image": tf.constant(IMAGES, tf.float32) / 127.5 - 1.0, "tokens": matcher.tokenize(CAPTIONS)}
    step = tf.function(lambda b: steps.train_step(matcher, {"matcher": optimizer}, b, None, {}), jit_compile=True)
    first = float(step(batch)["loss"])
    for _ in range(80):
        last = step(batch)
    assert float(last["loss"]) < first / 5, (first, float(last["loss"]))
    assert matcher.retrieval_accuracy(IMAGES, CAPTIONS) == 1.0


def test_similarity_bad_input():
    matcher = zoo.build("matcher_tiny")
    with pytest.raises(ValueError, match="32x32"):
        matcher.similarity(np.zeros((1, 64, 64, 3), np.uint8), ["a red circle"])
    with pytest.raises(TypeError, match="str or a list of str"):
        matcher.similarity(IMAGES[:1], [3])
