"""The weights' moving average: its warm-up, its decay, and swapping it in and out."""

import keras
import numpy as np
import tensorflow as tf

from zoo.training.ema import ExponentialMovingAverage


def one_weight_network(value):
    inputs = keras.Input((1,))
    network = keras.Model(inputs, keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")(inputs))
    network.layers[-1].kernel.assign([[value]])
    return network


def reference_average(values, decay):
    """The average by hand: update n (from 0) keeps min(decay, (1 + n) / (10 + n)) of the old one."""
    average = 0.0  # the initial weight
    for n, value in enumerate(values):
        rate = min(decay, (1 + n) / (10 + n))
        average = rate * average + (1 - rate) * value
    return average


def test_the_average_warms_up_then_decays_at_its_rate():
    network = one_weight_network(0.0)
    ema = ExponentialMovingAverage([network], 0.999)
    values = np.linspace(1.0, 2.0, 300)
    update = tf.function(lambda step: ema.update(step))  # as in the compiled training step
    for step, value in enumerate(values):
        network.layers[-1].kernel.assign([[value]])
        update(tf.constant(step, tf.int64))
        if step == 0:  # the first update keeps a tenth of the initial weights, not 99.9%
            np.testing.assert_allclose(ema.averages[0].numpy(), [[0.9]], rtol=1e-6)
    np.testing.assert_allclose(ema.averages[0].numpy()[0, 0], reference_average(values, 0.999), rtol=1e-5)
    assert ema.averages[0].numpy()[0, 0] > 1.5  # close behind the weights, not near the initial 0


def test_without_a_step_the_decay_is_constant_and_swapping_restores_the_weights():
    network = one_weight_network(1.0)
    ema = ExponentialMovingAverage([network], 0.5)  # its average starts at the initial weight, 1
    network.layers[-1].kernel.assign([[3.0]])
    ema.update()
    np.testing.assert_allclose(ema.averages[0].numpy(), [[2.0]])
    with ema.swapped():
        np.testing.assert_allclose(network.layers[-1].kernel.numpy(), [[2.0]])
    np.testing.assert_allclose(network.layers[-1].kernel.numpy(), [[3.0]])
    # A decay of 0 (no average) follows the weights exactly, warm-up or not.
    copy = ExponentialMovingAverage([network], 0.0)
    network.layers[-1].kernel.assign([[5.0]])
    copy.update(tf.constant(7, tf.int64))
    np.testing.assert_allclose(copy.averages[0].numpy(), [[5.0]])
