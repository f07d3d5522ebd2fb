"""The exponential moving average of a run's weights (what GANs sample and export with)."""

import contextlib

import keras
import tensorflow as tf


class ExponentialMovingAverage:
    """Exponential moving average of some networks' weights, updated inside the compiled step.

    Args:
        networks: the Keras models whose weights are averaged (a GAN's generator).
        decay: the weight of the old average at each update (0.999: about the last 1000 steps).
            Early in a run the average warms up, as `tf.train.ExponentialMovingAverage` with
            `num_updates` does: update n (counting from 0) uses min(decay, (1 + n) / (10 + n)), so the
            average follows the training weights from the first steps instead of staying near
            their initialisation for thousands of steps.

    Example:
        ema = ExponentialMovingAverage([task.generator], 0.999)
        ema.update(step)             # after each optimizer step, inside the compiled step
        with ema.swapped():          # sample or export with the averaged weights
            images = task.generate(captions, seeds=0)
    """

    def __init__(self, networks, decay):
        self.networks = networks
        self.decay = decay
        self.sources = [w for net in networks for w in net.weights]
        # Replicas hold identical weights, so the first replica's average stands for all.
        self.averages = [tf.Variable(keras.ops.convert_to_numpy(w), trainable=False, name="ema",
                                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
                         for w in self.sources]

    def update(self, step=None):
        """Move the averages towards the weights; `step`: updates done before this one (the run's step)."""
        decay = tf.constant(self.decay, tf.float32)
        if step is not None:
            done = tf.cast(step, tf.float32)
            decay = tf.minimum(decay, (1.0 + done) / (10.0 + done))
        for average, source in zip(self.averages, self.sources):
            rate = tf.cast(decay, average.dtype)
            average.assign(rate * average + (1.0 - rate) * tf.cast(source, average.dtype))

    def checkpointable(self):
        return tf.train.Checkpoint(**{f"v{i}": v for i, v in enumerate(self.averages)})

    def copy_to_networks(self):
        for average, source in zip(self.averages, self.sources):
            source.assign(average)

    @contextlib.contextmanager
    def swapped(self):
        saved = [keras.ops.convert_to_numpy(w) for w in self.sources]
        self.copy_to_networks()
        try:
            yield
        finally:
            for value, source in zip(saved, self.sources):
                source.assign(value)
