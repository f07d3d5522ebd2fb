"""The task base class every family builds on, and the input checks they share.

A task is a `keras.Model` subclass (keras-hub style) that holds its networks
(Keras functional models) as attributes, its config (a dataclass) and its
vocabulary, and offers a method that does its job on plain inputs.

Example (in `zoo/models/my_family/model.py`):
    register_presets(MyTask, {"my_family": ("What it is", {}),
                              "my_family_tiny": ("For tests", {"image_size": 32})})
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from zoo.kinds import KINDS, seeds_per_caption
from zoo.text import (SHAPES_MAX_LENGTH, Tokenizer, Vocabulary, check_captions, check_known_words, python_words,
                      shapes_vocabulary)
from zoo.text.choice import build_text_encoder


@dataclasses.dataclass
class TaskConfig:
    """Fields every family has; families subclass and add their own."""

    image_size: int = 64
    max_length: int = SHAPES_MAX_LENGTH
    embedding_dim: int = 64
    text_units: int = 64
    # The shared text encoder (zoo.text.choice): "bilstm", or "bert" (keras-hub's BertBackbone).
    text_model: str = "bilstm"
    # bilstm: a word2vec / GloVe / gensim .kv file whose vectors initialise the token embedding
    # (embedding_dim must be their width); train_word_vectors=False keeps them frozen.
    word_vectors: str = ""
    train_word_vectors: bool = True
    # bert: a local keras-hub BERT preset folder; "" builds one with random weights, bert_layers
    # layers, bert_heads heads and width 2 * text_units.
    bert_preset: str = ""
    bert_layers: int = 2
    bert_heads: int = 2

    # Fields that only set initial weights (a file read once); a model restored from a checkpoint or
    # a SavedModel needs none of them (`zoo.build(..., initial_weights=False)`).
    initial_weight_fields = ("word_vectors",)

    @classmethod
    def from_overrides(cls, overrides, **defaults):
        """The config with `defaults` then `overrides` applied; unknown names raise."""
        fields = {f.name for f in dataclasses.fields(cls)}
        merged = {**defaults, **overrides}
        unknown = sorted(set(merged) - fields)
        if unknown:
            raise ValueError(
                f"Unknown config field(s) {unknown} for {cls.__name__}; fields are {sorted(fields)}."
            )
        _check_field_types(cls, overrides)
        return cls(**merged)

    def to_dict(self):
        return dataclasses.asdict(self)


def _check_field_types(config_class, values):
    """A TypeError naming the field for a value of the wrong type (`image_size="64"`), before Keras
    fails on it with a shape error; the expected type is the type of the field's default."""
    defaults = {f.name: f.default for f in dataclasses.fields(config_class)}
    for name, value in values.items():
        default = defaults.get(name)
        if default is None or default is dataclasses.MISSING:
            continue
        expected = {bool: (bool,), int: (int, np.integer), float: (int, float, np.integer, np.floating),
                    str: (str,), tuple: (tuple, list)}.get(type(default))
        if expected is None:
            continue
        # bool is an int in Python, but image_size=True is a mistake.
        if not isinstance(value, expected) or (isinstance(value, bool) and type(default) is not bool):
            raise TypeError(f"{config_class.__name__}.{name} must be {type(default).__name__} "
                            f"(default {default!r}), got {value!r} ({type(value).__name__}).")


class Task(keras.Model):
    """Base class of the families: config, vocabulary, tokenizer, shared text encoder.

    Args:
        config: the family's `TaskConfig` subclass instance.
        vocabulary: a `Vocabulary` (default: the `shapes` vocabulary).
        text_encoder: a `TextEncoder` or `BertTextEncoder` to share with other models; built from
            the config's text fields when None (`zoo.text.choice.build_text_encoder`).
    """

    family = None  # the registry name of the full-size family (e.g. "cgan_t2i")
    task_name = None  # one of zoo.registry.TASKS
    draws_scenes = False  # True for the kinds whose images the strict reader reads on `shapes`
    config_class = TaskConfig
    uses_text = True

    def __init__(self, config=None, vocabulary=None, text_encoder=None, **kwargs):
        super().__init__(name=kwargs.pop("name", self.family), **kwargs)
        if isinstance(config, dict):
            config = self.config_class(**config)
        self.config = config or self.config_class()
        self.vocabulary = vocabulary or shapes_vocabulary()
        self._tokenizer = None
        if self.uses_text:
            self.text_encoder = text_encoder or build_text_encoder(self.config, self.vocabulary)
            self._check_encoder(self.text_encoder)

    def _check_encoder(self, encoder):
        if encoder.vocabulary_size != len(self.vocabulary) or encoder.max_length != self.config.max_length:
            raise ValueError(
                f"The text encoder has vocabulary_size={encoder.vocabulary_size}, max_length="
                f"{encoder.max_length}, but this model's vocabulary has {len(self.vocabulary)} tokens "
                f"and max_length={self.config.max_length}; build them with the same vocabulary."
            )

    @property
    def tokenizer(self):
        # Built lazily: a lookup table is not needed to train on token ids.
        if self._tokenizer is None:
            self._tokenizer = Tokenizer(self.vocabulary, self.config.max_length)
        return self._tokenizer

    def tokenize(self, captions, strict=False):
        """Token ids [N, max_length] for a str, list of str or string tensor.

        A caption with no word of the vocabulary is a warning (with `strict`, an error): it
        tokenizes to `[UNK]`s only.
        """
        captions = check_captions(captions)
        check_known_words(captions, set(self.vocabulary.tokens), strict=strict)
        return self.tokenizer(tf.constant(captions))

    def networks(self):
        """The named Keras functional models this task is made of."""
        raise NotImplementedError

    def example_inputs(self, batch_size=2):
        """A dict of inputs for `call`, with the right shapes and dtypes."""
        raise NotImplementedError

    def get_config(self):
        config = {"config": self.config.to_dict(), "vocabulary": self.vocabulary.get_config()["words"]}
        if self.uses_text:
            # The encoder may have been injected with sizes of its own (a shared or pretrained one).
            config["text_encoder"] = keras.layers.serialize(self.text_encoder)
        return config

    @classmethod
    def from_config(cls, config):
        encoder = config.get("text_encoder")
        if isinstance(encoder, dict):
            encoder = keras.layers.deserialize(encoder)
        return cls(config=cls.config_class(**config["config"]), vocabulary=Vocabulary(config["vocabulary"]),
                   text_encoder=encoder)

    def build_from_config(self, config):
        # Every network is built (variables created) in __init__; nothing is left to build.
        self.built = True

    @property
    def _default_save_signature(self):
        # Keras would trace `call` with one float dtype for every input; tasks take dicts of
        # mixed dtypes, so their serving signatures come from zoo.export instead.
        return None

    def sample_panels(self, batch):
        """TensorBoard panels for a data batch, {name: uint8 images or list of str}; none for this task."""
        return {}

    def serving_module(self):
        """The `tf.Module` with this task's serving signatures (`zoo.export`)."""
        raise ValueError(f"{self.family} is a {self.task_name} model, which has no serving signatures; "
                         f"exportable kinds: {', '.join(KINDS)}.")

    def build_all(self):
        """Build every network by running `call` once on example inputs."""
        self(self.example_inputs(1), training=False)
        return self


class TextToImageTask(Task):
    """A text-to-image task whose randomness comes from one int64 seed per caption.

    Subclasses implement `images_from_tokens(tokens, seeds)` (float images in [-1, 1]);
    `generate` and the exported `seeded` signature both go through it.
    """

    task_name = "text-to-image"
    draws_scenes = True  # what it draws for a `shapes` batch can be read by the strict reader

    def images_from_tokens(self, tokens, seeds):
        raise NotImplementedError

    def generate(self, captions, seeds=None, strict=False):
        """Images (uint8 [N, S, S, 3]) for captions (str or list of str).

        `seeds`: None (random), one int (caption i gets `seeds + i`) or one int per caption,
        as `zoo.load(...).generate` and the exported `seeded` signature take them: a seed gives
        the same image here and from TF Serving. A caption with no known word is a warning,
        or with `strict` an error.
        """
        tokens = self.tokenize(captions, strict=strict)
        seeds = seeds_per_caption(seeds, int(tokens.shape[0]))
        return to_uint8(self.images_from_tokens(tokens, tf.constant(seeds, tf.int64)))

    def outputs_for(self, batch):
        """Images for a data batch's captions, seeds 0, 1, ... (the same images at every call)."""
        return self.generate(batch_captions(batch), seeds=0)

    def sample_panels(self, batch):
        return {"generated": self.outputs_for(batch), "captions": batch_captions(batch)}

    def serving_module(self):
        from zoo.export.serving import TextToImageServing

        return TextToImageServing(self)


class ImageToTextTask(Task):
    """An image-to-text task: `caption(images)`; subclasses implement `decode_best(images, beam_size)`."""

    task_name = "image-to-text"
    draws_scenes = False
    export_beam_size = 3  # what the exported signatures decode with

    def decode_best(self, images, beam_size):
        """{"tokens", "scores"} of the best caption of float images [N, S, S, 3] in [-1, 1]."""
        raise NotImplementedError

    def caption(self, images, return_scores=False, beam_size=None):
        """Captions (list of str) of images: uint8 0-255 or float in [-1, 1], [N, S, S, 3] or [S, S, 3].

        With `return_scores`, `(captions, scores)`, the score being the mean log-probability
        per word. `beam_size` (default: the export's, 3; 1 decodes greedily) can be chosen here
        only: an export decodes with the beam it was exported with.
        """
        images = check_images(images, self.config.image_size)
        result = self.decode_best(images, self.export_beam_size if beam_size is None else beam_size)
        captions = [text.decode("utf-8") for text in self.tokenizer.detokenize(result["tokens"]).numpy()]
        return (captions, np.asarray(result["scores"])) if return_scores else captions

    def outputs_for(self, batch):
        return self.caption(to_uint8(batch["image"]), beam_size=1)

    def sample_panels(self, batch):
        truth = batch_captions(batch)
        return {"captions": [f"{p}  |  truth: {t}" for p, t in zip(self.outputs_for(batch), truth)]}

    def serving_module(self):
        from zoo.export.serving import ImageToTextServing

        return ImageToTextServing(self, beam_size=self.export_beam_size)


class InpaintingTask(Task):
    """An inpainting task: `inpaint(images, masks, captions)`.

    Subclasses implement `call({"images", "masks"[, "tokens", "has_text"]})` (completed float
    images, known pixels kept) and `complete(inputs)` (the serving module's), and say with
    `uses_text` whether they read captions.
    """

    task_name = "inpainting"
    draws_scenes = False

    def caption_inputs(self, captions, batch_size, strict=False):
        """(tokens, has_text) for None, a str or a list of str; empty strings mean no caption."""
        if captions is None:
            captions = [""] * batch_size
        if isinstance(captions, str):
            captions = [captions]
        if not isinstance(captions, (list, tuple)):
            raise TypeError(f"captions must be None, a str or a list of str, got {type(captions).__name__}.")
        if len(captions) != batch_size:
            raise ValueError(f"Got {len(captions)} captions for {batch_size} images; "
                             "give one per image ('' for none).")
        has_text = [isinstance(c, str) and bool(python_words(c)) for c in captions]
        written = [c for c, present in zip(captions, has_text) if present or not isinstance(c, str)]
        if written:
            check_captions(written)  # a clear TypeError for anything but strings
        if self.uses_text and any(has_text):
            check_known_words([c for c, present in zip(captions, has_text) if present], set(self.vocabulary.tokens),
                              strict=strict)
        if not self.uses_text:
            if any(has_text):
                raise ValueError("This model was built with use_text=False and cannot use captions; "
                                 "pass captions=None.")
            return None, None
        # Captions without words tokenize to [START] [END]; zeroing them makes them "zero text".
        tokens = self.tokenizer(tf.constant([c if present else "" for c, present in zip(captions, has_text)]))
        has_text = tf.constant(has_text, tf.float32)[:, None]
        return tokens * tf.cast(has_text, tf.int32), has_text

    def inpaint(self, images, masks, captions=None, strict=False):
        """Completed images (uint8 [N, S, S, 3]); known pixels are returned unchanged.

        Args:
            images: uint8 [N, S, S, 3] (0-255) or float in [-1, 1]; hole pixels are ignored.
            masks: [N, S, S, 1] with 0/1 or 0/255, 1 (or 255) = hole.
            captions: None (no text), or one str per image, "" for an image without text.
            strict: a caption with no known word is an error (by default, a warning).
        """
        images = check_images(images, self.config.image_size)
        batch_size = int(images.shape[0])
        masks = check_masks(masks, self.config.image_size, batch_size=batch_size)
        inputs = {"images": images, "masks": masks}
        tokens, has_text = self.caption_inputs(captions, batch_size, strict=strict)
        if self.uses_text:
            inputs.update(tokens=tokens, has_text=has_text)
        return to_uint8(self(inputs, training=False))

    def outputs_for(self, batch):
        captions = batch_captions(batch) if "caption" in batch else None
        return self.inpaint(to_uint8(batch["image"]), batch["mask"].numpy().astype(np.uint8), captions)

    def sample_panels(self, batch):
        masks = batch["mask"].numpy().astype(np.uint8)
        return {"masked": to_uint8(batch["image"]) * (1 - masks), "inpainted": self.outputs_for(batch)}

    def serving_module(self):
        from zoo.export.serving import InpaintingServing

        return InpaintingServing(self)


class ImageToImageTask(Task):
    """An image-to-image task: `translate(label_maps)`, which subclasses implement."""

    task_name = "image-to-image"
    draws_scenes = True

    def translate(self, label_maps):
        """Images (uint8 [N, S, S, 3]) for label maps [N, S, S, C] (or one [S, S, C])."""
        raise NotImplementedError

    def outputs_for(self, batch):
        return self.translate(batch["label_map"].numpy())

    def sample_panels(self, batch):
        return {"translated": self.outputs_for(batch), "real": to_uint8(batch["image"])}

    def serving_module(self):
        from zoo.export.serving import ImageToImageServing

        return ImageToImageServing(self)


def batch_captions(batch):
    """The captions of a data batch (`zoo.data.load`), as a list of str."""
    return [caption.decode() for caption in batch["caption"].numpy()]


# === Input checks shared by the families ===
def check_images(images, image_size, channels=3, name="images"):
    """Float32 images in [-1, 1] from uint8 [N,H,W,C] (0-255) or float in [-1, 1]; clear errors."""
    if isinstance(images, (list, tuple)):
        images = np.stack([np.asarray(i) for i in images]) if len(images) else np.zeros((0,))
    images = tf.convert_to_tensor(images)
    if images.shape.rank == 3:
        images = images[None]
    if images.shape.rank != 4:
        raise ValueError(f"{name} must be [N, H, W, C] or [H, W, C], got shape {images.shape}.")
    if images.shape[0] == 0:
        raise ValueError(f"Got a batch of zero {name}; give at least one.")
    expected = (image_size, image_size, channels)
    if tuple(images.shape[1:]) != expected:
        raise ValueError(f"{name} must be {image_size}x{image_size} with {channels} channel(s) (shape [N, {image_size}, {image_size}, {channels}]), got {list(images.shape)}.")
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 127.5 - 1.0
    if not images.dtype.is_floating:
        raise ValueError(f"{name} must be uint8 (0-255) or float in [-1, 1], got {images.dtype.name}.")
    images = tf.cast(images, tf.float32)
    low, high = float(tf.reduce_min(images)), float(tf.reduce_max(images))
    if low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
        raise ValueError(f"Float {name} must be in [-1, 1], got values in [{low:.3g}, {high:.3g}]; pass uint8 for 0-255 pixels.")
    return images


def check_masks(masks, image_size, batch_size=None):
    """Float32 masks {0, 1} [N, S, S, 1] from 0/1 or 0/255 arrays; clear errors otherwise."""
    masks = tf.convert_to_tensor(masks)
    if masks.shape.rank == 3:
        masks = masks[None]
    if masks.shape.rank != 4 or tuple(masks.shape[1:]) != (image_size, image_size, 1):
        raise ValueError(f"masks must be [N, {image_size}, {image_size}, 1], got {list(masks.shape)}.")
    if masks.shape[0] == 0:
        raise ValueError("Got a batch of zero masks; give at least one.")
    if batch_size is not None and masks.shape[0] != batch_size:
        raise ValueError(f"Got {masks.shape[0]} masks for {batch_size} images; give one mask per image.")
    values = np.unique(masks.numpy())
    if set(values.tolist()) <= {0, 1}:
        return tf.cast(masks, tf.float32)
    if set(values.tolist()) <= {0, 255}:
        return tf.cast(masks > 0, tf.float32)
    raise ValueError(f"masks must hold 0/1 or 0/255 values (1 or 255 = hole), got values {values[:6].tolist()}.")


def to_uint8(images):
    """[-1, 1] float images to uint8 numpy."""
    return np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def count_params(model):
    return int(sum(np.prod(w.shape) for w in model.weights))
