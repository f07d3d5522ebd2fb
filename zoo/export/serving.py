"""Serving modules: raw inputs in, raw outputs out, pre- and post-processing in graph.

Each module is a `tf.Module` whose `tf.function`s have explicit input signatures
(so TF Serving sees named inputs) and run without XLA. Tokenization is the
tensorflow-text `Tokenizer`, so a SavedModel takes plain caption strings.
"""

import tensorflow as tf

from zoo.data.pipeline import square_resize
from zoo.text import END_ID


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


class ImageToTextServing(tf.Module):
    """`serving_default(images: encoded JPEG/PNG strings)` and `pixels(images: uint8)` -> captions, scores.

    Images of any size are centre-cropped to a square and resized to the model's size,
    as the training pipeline does; captions come from beam search (`beam_size`).
    """

    def __init__(self, task, beam_size=3):
        super().__init__(name="image_to_text")
        self.task = task
        self.tokenizer = task.tokenizer
        self.beam_size = beam_size
        self.serving_default = tf.function(
            self._from_encoded, input_signature=[tf.TensorSpec([None], tf.string, name="images")])
        self.pixels = tf.function(
            self._from_pixels, input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])

    def _prepare(self, image):
        return from_uint8_tensor(square_resize(image, self.task.config.image_size))

    def _from_encoded(self, images):
        size = self.task.config.image_size
        decoded = tf.map_fn(
            lambda data: self._prepare(tf.io.decode_image(data, channels=3, expand_animations=False)),
            images, fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))
        return self._caption(decoded)

    def _from_pixels(self, images):
        return self._caption(tf.map_fn(self._prepare, images, fn_output_signature=tf.float32))

    def _caption(self, images):
        if self.beam_size == 1:
            result = self.task.greedy_decode(images)
        else:
            result = {k: v[:, 0] for k, v in self.task.beam_search(images, self.beam_size).items()}
        return {"captions": self.tokenizer.detokenize(result["tokens"]), "scores": result["scores"]}

    def signatures(self):
        return {"serving_default": self.serving_default, "pixels": self.pixels}


class InpaintingServing(tf.Module):
    """`serving_default(images, masks, captions)` -> `images` uint8; known pixels returned unchanged.

    Masks are uint8 [N, H, W, 1], nonzero = hole; an empty caption means no text (plain
    completion). A model built without a text path ignores the captions.
    """

    def __init__(self, task):
        super().__init__(name="inpainting")
        self.task = task
        self.tokenizer = task.tokenizer if task.uses_text else None
        size = task.config.image_size
        self.serving_default = tf.function(self._inpaint, input_signature=[
            tf.TensorSpec([None, size, size, 3], tf.uint8, name="images"),
            tf.TensorSpec([None, size, size, 1], tf.uint8, name="masks"),
            tf.TensorSpec([None], tf.string, name="captions"),
        ])

    def _inpaint(self, images, masks, captions):
        holes = tf.cast(masks > 0, tf.float32)
        inputs = {"images": from_uint8_tensor(images), "masks": holes}
        if self.tokenizer is not None:
            tokens = self.tokenizer(captions)
            has_words = tf.reduce_any(tokens > END_ID, axis=-1)
            inputs["tokens"] = tokens * tf.cast(has_words, tf.int32)[:, None]
            inputs["has_text"] = tf.cast(has_words, tf.float32)[:, None]
        generated = to_uint8_tensor(self.task.complete(inputs)["generated"])
        # Composited in uint8 so that known pixels come back bit for bit.
        return {"images": tf.where(masks > 0, generated, images)}

    def signatures(self):
        return {"serving_default": self.serving_default}


class ImageToImageServing(tf.Module):
    """`serving_default(inputs: uint8 label maps [N, S, S, C])` -> `images` uint8 [N, S, S, 3]."""

    def __init__(self, task):
        super().__init__(name="image_to_image")
        self.task = task
        size = task.config.image_size
        self.serving_default = tf.function(self._translate, input_signature=[
            tf.TensorSpec([None, size, size, task.config.input_channels], tf.uint8, name="inputs")])

    def _translate(self, inputs):
        return {"images": to_uint8_tensor(self.task({"inputs": inputs}))}

    def signatures(self):
        return {"serving_default": self.serving_default}


SERVING_MODULES = {
    "text-to-image": TextToImageServing,
    "image-to-text": ImageToTextServing,
    "inpainting": InpaintingServing,
    "image-to-image": ImageToImageServing,
}


def serving_module(task):
    """The serving module for a task, by its kind (text-to-image, image-to-text, ...)."""
    if task.task_name not in SERVING_MODULES:
        raise ValueError(f"No serving module for task kind {task.task_name!r}; "
                         f"exportable kinds: {sorted(SERVING_MODULES)}.")
    return SERVING_MODULES[task.task_name](task)
