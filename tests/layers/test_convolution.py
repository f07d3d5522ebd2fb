"""zoo.layers.convolution: the spectral normalization wrapper against Keras' own."""

import keras
import numpy as np
import tensorflow as tf

from zoo.layers.convolution import SpectralNormalization


def _pair(kernel_initializer="glorot_uniform"):
    """Keras' wrapper and ours around the same convolution weights."""
    keras.utils.set_random_seed(0)
    inputs = tf.random.stateless_normal((2, 8, 8, 3), seed=[1, 2])
    theirs = keras.layers.SpectralNormalization(keras.layers.Conv2D(4, 3, kernel_initializer=kernel_initializer))
    ours = SpectralNormalization(keras.layers.Conv2D(4, 3, kernel_initializer=kernel_initializer))
    theirs(inputs), ours(inputs)
    ours.set_weights(theirs.get_weights())
    return inputs, theirs, ours


def test_spectral_normalization_matches_keras_in_training_and_inference():
    inputs, theirs, ours = _pair()
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]
    for _ in range(30):
        np.testing.assert_allclose(ours(inputs, training=True), theirs(inputs, training=True), rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours(inputs), theirs(inputs), rtol=1e-5, atol=1e-6)
    # The kernel's largest singular value is 1 once the power iteration has converged.
    kernel = ours.kernel.numpy().reshape(-1, 4)
    assert abs(np.linalg.svd(kernel, compute_uv=False)[0] - 1.0) < 0.01


def test_spectral_normalization_of_a_zero_kernel_stays_finite_in_a_compiled_step():
    inputs, theirs, ours = _pair("zeros")
    u = ours.vector_u.numpy()
    outputs = tf.function(lambda x: ours(x, training=True))(inputs)
    assert np.all(np.isfinite(outputs)) and np.all(ours.kernel.numpy() == 0)
    np.testing.assert_array_equal(ours.vector_u.numpy(), u)
    np.testing.assert_allclose(outputs, theirs(inputs, training=True), atol=1e-7)


def test_spectral_normalization_round_trips_through_keras_saving(tmp_path):
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, SpectralNormalization(keras.layers.Conv2D(4, 3), power_iterations=2)(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[-1], SpectralNormalization) and loaded.layers[-1].power_iterations == 2
    x = np.ones((1, 8, 8, 3), np.float32)
    np.testing.assert_allclose(loaded(x), model(x), atol=1e-6)
