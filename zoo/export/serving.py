"""Serving modules: raw inputs in, raw outputs out, pre- and post-processing in graph.

Each module is a `tf.Module` whose `tf.function`s have explicit input signatures
(so TF Serving sees named inputs) and run without XLA. Tokenization is the
tensorflow-text `Tokenizer`, so a SavedModel takes plain caption strings.

The signatures give each input's rank but leave its sizes open, and the sizes, the
rank and the batch agreement are checked inside the graph (`checked`): neither TF
Serving nor a loaded signature enforces a signature's shape, and a wrong rank reached
the model's kernels (a `Check failed` abort of the whole server). A failed check names
the input, the expected dtype and shape, and the shape that came; a batch of zero gives
an empty batch.
"""

import tensorflow as tf

from zoo.data.pipeline import square_resize
from zoo.text import END_ID


def checked(tensor, name, shape, dtype_name):
    """`tensor` once in-graph asserts have found it to be of `shape` (None: any size); static shape restored.

    Example:
        images = checked(images, "images", [None, 64, 64, 3], "uint8")
    """
    expected = f"{name} must be {dtype_name} [" + ", ".join("N" if d is None else str(d) for d in shape) + "]"
    actual = tf.shape(tensor)
    # Counted from the shape's values: tf.rank or tf.size of the shape would be folded to the
    # signature's static rank, which the runtime does not enforce.
    rank_came = tf.math.count_nonzero(actual >= 0, dtype=tf.int32)
    rank = tf.debugging.Assert(tf.equal(rank_came, len(shape)), [f"{expected}; got rank", rank_came,
                                                                 "shape", actual], summarize=8)
    with tf.control_dependencies([rank]):  # the sizes are only read once the rank is right
        sizes = [tf.debugging.Assert(tf.equal(actual[axis], size), [f"{expected}; got shape", actual], summarize=8)
                 for axis, size in enumerate(shape) if size is not None]
    with tf.control_dependencies([rank, *sizes]):
        return tf.ensure_shape(tf.identity(tensor), shape)


def same_batch(**tensors):
    """In-graph assert that every tensor has the batch size of the first; returns the assert ops."""
    (first, reference), *others = tensors.items()
    return [tf.debugging.Assert(tf.equal(tf.shape(tensor)[0], tf.shape(reference)[0]), [
        f"{name} and {first} must have the same batch size; got {name}", tf.shape(tensor)[0], first,
        tf.shape(reference)[0]]) for name, tensor in others]


def traced(function, input_signature):
    """`function` as a `tf.function` of `input_signature`, traced without AutoGraph: the serving code
    branches on Python values only, and converting every function it calls (the networks,
    tensorflow-text) cost 10-25% of an export (six tiny exports: 40 s -> 34 s on this CPU)."""
    def answered_when_empty(*args):
        # On a CPU with AVX-512 (oneDNN) convolutions fail on an empty batch ("input depth must be evenly
        # divisible by filter depth"). When every input is empty, the networks see one placeholder
        # example instead, and the outputs are cut back to the empty batch.
        empty = tf.reduce_all(tf.stack([tf.equal(tf.size(arg), 0) for arg in args]))
        inputs = [tf.cond(empty, lambda arg=arg: placeholder_example(arg), lambda arg=arg: arg) for arg in args]
        # The batch size as a slice of the shape, not an index: an input of the wrong rank (a scalar) must
        # reach `checked`'s one-line error, and an index out of bounds here raced it.
        count = tf.where(empty, 0, tf.reduce_prod(tf.shape(args[0])[:1]))
        return tf.nest.map_structure(lambda output: output[:count], function(*inputs))

    return tf.function(answered_when_empty, input_signature=input_signature, autograph=False)


def placeholder_example(arg):
    """One example shaped like `arg`'s (rank kept; 1 where a size is unknown): zeros, or for strings a
    1x1 PNG (an encoded image decodes; a caption of it tokenizes to unknown words, never seen)."""
    shape = tf.concat([[1], tf.maximum(tf.shape(arg)[1:], 1)], axis=0)
    if arg.dtype == tf.string:
        return tf.fill(shape, tf.io.encode_png(tf.zeros([1, 1, 3], tf.uint8)))
    return tf.zeros(shape, arg.dtype)


def any_sizes(rank, dtype, name):
    """A signature input of `rank` dimensions of any size; `checked` verifies them in the graph."""
    return tf.TensorSpec([None] * rank, dtype, name=name)


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
        self.serving_default = traced(
            self._random_seeds, input_signature=[any_sizes(1, tf.string, "captions")])
        self.seeded = traced(self._seeded, input_signature=[
            any_sizes(1, tf.string, "captions"), any_sizes(1, tf.int64, "seeds")])

    def _seeded(self, captions, seeds):
        captions = checked(captions, "captions", [None], "string")
        seeds = checked(seeds, "seeds", [None], "int64")
        with tf.control_dependencies(same_batch(captions=captions, seeds=seeds)):
            tokens = self.tokenizer(captions)
        return {"images": to_uint8_tensor(self.task.images_from_tokens(tokens, seeds))}

    def _random_seeds(self, captions):
        captions = checked(captions, "captions", [None], "string")
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
        self.serving_default = traced(self._from_encoded, input_signature=[any_sizes(1, tf.string, "images")])
        self.pixels = traced(self._from_pixels, input_signature=[any_sizes(4, tf.uint8, "images")])

    def _prepare(self, image):
        return from_uint8_tensor(square_resize(image, self.task.config.image_size))

    def _from_encoded(self, images):
        images = checked(images, "images", [None], "string (encoded JPEG, PNG, GIF or BMP)")
        size = self.task.config.image_size
        decoded = tf.map_fn(
            lambda data: self._prepare(tf.io.decode_image(data, channels=3, expand_animations=False)),
            images, fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))
        return self._caption(decoded)

    def _from_pixels(self, images):
        images = checked(images, "images", [None, None, None, 3], "uint8")
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
    """`serving_default(images, masks[, captions])` -> `images` uint8; known pixels returned unchanged.

    Masks are uint8 [N, H, W, 1], nonzero = hole; an empty caption means no text (plain
    completion). A model built without a text path (`use_text=False`) takes no `captions` input.
    """

    def __init__(self, task):
        super().__init__(name="inpainting")
        self.task = task
        self.tokenizer = task.tokenizer if task.uses_text else None
        pixels = [any_sizes(4, tf.uint8, "images"), any_sizes(4, tf.uint8, "masks")]
        if self.tokenizer is None:
            self.serving_default = traced(lambda images, masks: self._inpaint(images, masks),
                                          input_signature=pixels)
        else:
            self.serving_default = traced(self._inpaint, input_signature=[
                *pixels, any_sizes(1, tf.string, "captions")])

    def _inpaint(self, images, masks, captions=None):
        size = self.task.config.image_size
        images = checked(images, "images", [None, size, size, 3], "uint8")
        masks = checked(masks, "masks", [None, size, size, 1], "uint8")
        inputs = {"images": images, "masks": masks}
        if captions is not None:
            inputs["captions"] = checked(captions, "captions", [None], "string")
        with tf.control_dependencies(same_batch(**inputs)):
            images = tf.identity(images)
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
    """`serving_default(inputs: uint8 label maps [N, S, S, C])` -> `images` uint8 [N, S, S, 3], without dropout;
    `seeded(inputs, seeds: int64 [N])`: with the paper's test-time dropout, drawn from each example's seed."""

    def __init__(self, task):
        super().__init__(name="image_to_image")
        self.task = task
        self.serving_default = traced(self._translate, input_signature=[any_sizes(4, tf.uint8, "inputs")])
        self.seeded = traced(self._seeded, input_signature=[
            any_sizes(4, tf.uint8, "inputs"), any_sizes(1, tf.int64, "seeds")])

    def _encoded(self, inputs):
        size, classes = self.task.config.image_size, self.task.config.input_classes
        inputs = checked(inputs, "inputs", [None, size, size, self.task.config.input_channels], "uint8")
        if classes:
            # One-hot encoding maps an index past the last class to zeros: a silent blank, not an error.
            in_range = tf.debugging.Assert(tf.reduce_all(inputs < classes), [
                f"inputs must be class indices 0..{classes - 1}; got values up to", tf.reduce_max(inputs)])
            with tf.control_dependencies([in_range]):
                inputs = tf.identity(inputs)
        return inputs

    def _translate(self, inputs):
        return {"images": to_uint8_tensor(self.task({"inputs": self._encoded(inputs)}))}

    def _seeded(self, inputs, seeds):
        inputs = self._encoded(inputs)
        seeds = checked(seeds, "seeds", [None], "int64")
        with tf.control_dependencies(same_batch(inputs=inputs, seeds=seeds)):
            inputs = tf.identity(inputs)
        images = self.task.images_from_seeds(self.task.encode_inputs(inputs), seeds)
        return {"images": to_uint8_tensor(images)}

    def signatures(self):
        return {"serving_default": self.serving_default, "seeded": self.seeded}
