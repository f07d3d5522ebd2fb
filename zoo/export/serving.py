"""Serving modules: raw inputs in, raw outputs out, pre- and post-processing in graph.

Each module is a `tf.Module` whose `tf.function`s have explicit input signatures
(so TF Serving sees named inputs) and run without XLA. Tokenization is the
tensorflow-text `Tokenizer`, so a SavedModel takes plain caption strings.
"""

import tensorflow as tf


def to_uint8_tensor(images):
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def from_uint8_tensor(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


class TextToImageServing(tf.Module):
    """`serving_default(captions)` and `seeded(captions, seeds)` -> `images` uint8 [N, S, S, 3]."""

    def __init__(self, task):
        super().__init__(name="text_to_image")
        self.task = task
        self.tokenizer = task.tokenizer
        self.serving_default = tf.function(
            self._random_seeds, input_signature=[tf.TensorSpec([None], tf.string, name="captions")])
        self.seeded = tf.function(self._seeded, input_signature=[
            tf.TensorSpec([None], tf.string, name="captions"), tf.TensorSpec([None], tf.int64, name="seeds")])

    def _seeded(self, captions, seeds):
        tokens = self.tokenizer(captions)
        return {"images": to_uint8_tensor(self.task.images_from_tokens(tokens, seeds))}

    def _random_seeds(self, captions):
        seeds = tf.random.uniform(tf.shape(captions), maxval=tf.int64.max, dtype=tf.int64)
        return self._seeded(captions, seeds)

    def signatures(self):
        return {"serving_default": self.serving_default, "seeded": self.seeded}


SERVING_MODULES = {"text-to-image": TextToImageServing}


def serving_module(task):
    """The serving module for a task, by its kind (text-to-image, image-to-text, ...)."""
    if task.task_name not in SERVING_MODULES:
        raise ValueError(f"No serving module for task kind {task.task_name!r}; "
                         f"exportable kinds: {sorted(SERVING_MODULES)}.")
    return SERVING_MODULES[task.task_name](task)
