"""Pretrained models: `zoo.load(name)` finds an exported SavedModel and wraps it for Python.

The SavedModels in `savedmodels/` are what TF Serving serves; `zoo.load` runs the very
same graphs in-process, so what you try here is what the server answers.

Example:
    import zoo
    t2i = zoo.load("cgan_t2i_shapes")
    images = t2i.generate(["a large red circle on the left"], seeds=[0])   # uint8 [1, 64, 64, 3]
    captioner = zoo.load("captioner_shapes")
    captioner.caption(images)                                             # ['there is a large red circle ...']
"""

import json
import os
import warnings
from pathlib import Path

import numpy as np

from zoo.kinds import KIND_METHODS, seeds_per_caption

ENV_VARIABLE = "ZOO_SAVEDMODELS"
IMAGE_FORMATS = "JPEG, PNG, GIF or BMP"  # what tf.io.decode_image reads, in the signatures too
METADATA_FILE = os.path.join("assets.extra", "zoo.json")

def savedmodel_roots(path=None):
    """Folders searched for `<name>/<version>/`, in order: `path`, $ZOO_SAVEDMODELS, the repo's, ./savedmodels."""
    roots = [path, os.environ.get(ENV_VARIABLE), Path(__file__).resolve().parents[1] / "savedmodels", "savedmodels"]
    return [str(root) for root in roots if root]


def available(path=None):
    """Names of the exported models found in the search folders."""
    names = set()
    for root in savedmodel_roots(path):
        if os.path.isdir(root):
            names.update(d for d in os.listdir(root) if _versions(os.path.join(root, d)))
    return sorted(names)


def _versions(model_dir):
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(d) for d in os.listdir(model_dir)
                  if d.isdigit() and os.path.exists(os.path.join(model_dir, d, "saved_model.pb")))


def resolve(name, path=None, version=None):
    """The version folder of model `name` (the newest unless `version` is given)."""
    if os.path.exists(os.path.join(name, "saved_model.pb")):
        return name  # a version folder given directly
    for root in savedmodel_roots(path):
        model_dir = os.path.join(root, name)
        versions = _versions(model_dir)
        if not versions:
            continue
        if version is None:
            return os.path.join(model_dir, str(versions[-1]))
        if int(version) not in versions:
            raise ValueError(f"{name!r} has versions {versions} in {root!r}, not {version!r}.")
        return os.path.join(model_dir, str(version))
    raise FileNotFoundError(
        f"No exported model {name!r} (a folder <name>/<version>/saved_model.pb) in {savedmodel_roots(path)}; "
        f"found: {available(path) or 'none'}. Export one with `zoo export --workdir RUN --out savedmodels`.")


def load(name, path=None, version=None):
    """Load exported model `name` (e.g. "cgan_t2i_shapes") as a `PretrainedModel`.

    Args:
        name: a model folder name under a search folder, or a version folder path.
        path: a folder holding `<name>/<version>/` (default: $ZOO_SAVEDMODELS, then the
            repository's `savedmodels/`, then `./savedmodels`).
        version: the version to load; the newest by default.
    """
    return PretrainedModel(resolve(name, path, version))


def kind_of(signatures, metadata=None):
    """The task kind of a SavedModel: the one its export wrote, else read from its signatures' input names."""
    if metadata and metadata.get("task") in KIND_METHODS:
        return metadata["task"]
    inputs = set(signatures["serving_default"].structured_input_signature[1])
    if "seeded" in signatures and "captions" in inputs:
        return "text-to-image"
    if "pixels" in signatures:
        return "image-to-text"
    if {"images", "masks"} <= inputs:
        return "inpainting"
    if inputs == {"inputs"}:
        return "image-to-image"
    raise ValueError(f"Not a zoo SavedModel: signatures {sorted(signatures)} with inputs {sorted(inputs)}.")


class PretrainedModel:
    """An exported zoo model, called from Python with numpy arrays and strings.

    Its method is its kind's (`zoo.kinds`), with the arguments of the same method of a model
    from `zoo.build`: `generate(captions, seeds=None, strict=False)` (text to image),
    `caption(images, return_scores=False)` (image to text), `inpaint(images, masks,
    captions=None, strict=False)`, `translate(label_maps)` (image to image). Images are
    uint8 numpy arrays; `caption` also takes image files.
    """

    def __init__(self, path):
        import tensorflow as tf

        self.path = str(path)
        self.version = int(os.path.basename(os.path.normpath(self.path))) if os.path.basename(
            os.path.normpath(self.path)).isdigit() else None
        self.name = os.path.basename(os.path.dirname(os.path.normpath(self.path)))
        self.module = tf.saved_model.load(self.path)
        self.signatures = self.module.signatures
        metadata_path = os.path.join(self.path, METADATA_FILE)
        self.metadata = json.load(open(metadata_path)) if os.path.exists(metadata_path) else {}
        self.kind = kind_of(self.signatures, self.metadata)
        self.image_size = self.metadata.get("image_size") or self._input_size()

    def __repr__(self):
        return f"PretrainedModel({self.name!r}, version={self.version}, kind={self.kind!r})"

    def _input_size(self):
        spec = self.signatures["serving_default"].structured_input_signature[1]
        for key in ("images", "inputs"):
            if key in spec and spec[key].shape.rank == 4 and spec[key].shape[1] is not None:
                return int(spec[key].shape[1])
        return None

    @property
    def input_channels(self):
        """Channels of `translate`'s label maps (newer exports leave the signature's shape open)."""
        channels = self.metadata.get("config", {}).get("input_channels")
        if channels is None:
            shape = self.signatures["serving_default"].structured_input_signature[1]["inputs"].shape
            channels = shape[-1] if shape.rank else None
        return int(channels or 1)

    @property
    def known_words(self):
        """The words of the model's vocabulary (read from its tokenizer's variable)."""
        if getattr(self, "_known_words", None) is None:
            tokenizer = getattr(self.module, "tokenizer", None)
            tokens = getattr(tokenizer, "_token_strings", None)
            self._known_words = None if tokens is None else {t.decode("utf-8") for t in tokens.numpy()}
        return self._known_words

    def _check_words(self, captions, strict):
        known = self.known_words
        if known is not None:
            from zoo.text import check_known_words

            check_known_words([c for c in captions if c.strip()], known, strict=strict)

    def _require(self, kind):
        if self.kind != kind:
            raise ValueError(f"{self.name!r} is a {self.kind} model: call .{KIND_METHODS[self.kind]}(), "
                             f"not .{KIND_METHODS[kind]}().")

    def __call__(self, *args, **kwargs):
        return getattr(self, KIND_METHODS[self.kind])(*args, **kwargs)

    def generate(self, captions, seeds=None, strict=False):
        """Images for `captions` (a string or a list); the same seed gives the same image.

        `seeds`: None (random), one int (caption i gets `seeds + i`), or one int per caption, as
        for a model from `zoo.build`. A caption with no word the model knows is a warning, or
        with `strict` an error.
        """
        import tensorflow as tf

        self._require("text-to-image")
        captions = _caption_list(captions)
        self._check_words(captions, strict)
        if seeds is None:
            return self.signatures["serving_default"](captions=tf.constant(captions, tf.string))["images"].numpy()
        seeds = seeds_per_caption(seeds, len(captions))
        return self.signatures["seeded"](captions=tf.constant(captions, tf.string), seeds=tf.constant(seeds))["images"].numpy()

    def caption(self, images, return_scores=False):
        """Captions of `images`: uint8 arrays [N, H, W, 3] or [H, W, 3], or a list of image files or bytes."""
        import tensorflow as tf

        self._require("image-to-text")
        if isinstance(images, (str, bytes, os.PathLike)) or (
                isinstance(images, (list, tuple)) and images and isinstance(images[0], (str, bytes, os.PathLike))):
            files = [images] if isinstance(images, (str, bytes, os.PathLike)) else list(images)
            encoded, sizes = zip(*(_encoded_image(f, f"images[{i}]") for i, f in enumerate(files)))
            self._warn_small(sizes, [f if not isinstance(f, bytes) else f"images[{i}]" for i, f in enumerate(files)])
            result = self.signatures["serving_default"](images=tf.constant(list(encoded)))
        else:
            pixels = _uint8_batch(images, "images", channels=3)
            self._warn_small([pixels.shape[1:3]] * len(pixels), [f"images[{i}]" for i in range(len(pixels))])
            result = self.signatures["pixels"](images=tf.constant(pixels))
        captions = [c.decode("utf-8") for c in result["captions"].numpy()]
        return (captions, result["scores"].numpy()) if return_scores else captions

    def _warn_small(self, sizes, names):
        """The captioner upscales any image to its size; from a few pixels that invents the caption."""
        size = self.image_size or 0
        small = [(name, tuple(int(d) for d in hw)) for name, hw in zip(names, sizes) if min(hw) * 4 < size]
        if small:
            warnings.warn("; ".join(f"{name} is {h}x{w}: upscaled from {h}x{w} to {size}x{size}"
                                    for name, (h, w) in small[:5]) + ", so its caption says little about it.",
                          stacklevel=3)

    def inpaint(self, images, masks, captions=None, strict=False):
        """Fill the holes (`masks` nonzero) of uint8 `images`; `captions` describe what is hidden (optional)."""
        import tensorflow as tf

        self._require("inpainting")
        images = _uint8_batch(images, "images", channels=3, size=self.image_size)
        masks = _uint8_batch(masks, "masks", channels=1, size=self.image_size)
        if len(masks) != len(images):
            raise ValueError(f"{len(images)} images but {len(masks)} masks; give one mask per image.")
        # An empty batch answers with an empty batch, as the signatures do.
        no_captions = captions is None or (len(images) == 0 and isinstance(captions, (list, tuple)) and not captions)
        captions = [""] * len(images) if no_captions else _caption_list(captions, allow_empty=True)
        if len(captions) != len(images):
            raise ValueError(f"{len(images)} images but {len(captions)} captions; give one per image (\"\" for none).")
        inputs = {"images": tf.constant(images), "masks": tf.constant((masks > 0).astype(np.uint8))}
        if "captions" in self.signatures["serving_default"].structured_input_signature[1]:
            self._check_words(captions, strict)
            inputs["captions"] = tf.constant(captions, tf.string)
        elif any(caption.strip() for caption in captions):
            raise ValueError(f"{self.name!r} was trained without text and takes no captions; "
                             "call .inpaint(images, masks) (or give empty captions).")
        if len(images) == 0:
            # Answered here: on a CPU with AVX-512 (oneDNN) the convolutions of exports made before
            # 2026-12-02 fail on an empty batch (later ones answer it in the graph).
            return np.zeros(images.shape, np.uint8)
        return self.signatures["serving_default"](**inputs)["images"].numpy()

    def translate(self, label_maps, seeds=None):
        """Images for uint8 label maps [N, S, S, C] (or one [S, S, C] / [S, S]).

        `seeds`: None (no dropout, deterministic), or the paper's test-time dropout drawn from one
        int (map i gets `seeds + i`) or one int per map, as for a model from `zoo.build`.
        """
        import tensorflow as tf

        self._require("image-to-image")
        label_maps = _uint8_batch(label_maps, "label_maps", channels=self.input_channels, size=self.image_size)
        classes = self.metadata.get("config", {}).get("input_classes", 0)
        if classes and label_maps.size and label_maps.max() >= classes:
            # Past the last class the one-hot encoding is all zeros: a blank, not an error, in the graph.
            bad = np.unique(label_maps[label_maps >= classes])
            raise ValueError(f"label_maps must hold class indices 0..{classes - 1} (this model's {classes} classes), "
                             f"got values {bad[:8].tolist()}{' ...' if len(bad) > 8 else ''}.")
        if seeds is None:
            return self.signatures["serving_default"](inputs=tf.constant(label_maps))["images"].numpy()
        if "seeded" not in self.signatures:
            raise ValueError(f"{self.name!r} (version {self.version}) was exported without the `seeded` signature "
                             "(zoo exports before 2026-11-30): call .translate(label_maps) without seeds, or "
                             "re-export it with `zoo export` to get test-time dropout.")
        seeds = seeds_per_caption(seeds, len(label_maps), items="label maps")
        return self.signatures["seeded"](inputs=tf.constant(label_maps), seeds=tf.constant(seeds))["images"].numpy()


def _caption_list(captions, allow_empty=False):
    from zoo.text import check_caption_types

    if isinstance(captions, str):
        captions = [captions]
    if not isinstance(captions, (list, tuple, np.ndarray)):
        raise TypeError(f"captions must be a str or a list of str, got {type(captions).__name__}.")
    captions = list(captions)
    check_caption_types(captions, "captions")
    if not captions:
        raise ValueError("captions is an empty list; give at least one caption.")
    if not allow_empty and not all(c.strip() for c in captions):
        raise ValueError("captions must not be empty strings.")
    return captions


def _encoded_image(source, name):
    """(bytes, (height, width)) of an image file or its bytes, decoded once here to name a bad file clearly."""
    import tensorflow as tf

    from zoo.errors import error_reason

    if not isinstance(source, bytes):
        name = os.fspath(source)
        if os.path.isdir(source):
            raise ValueError(f"{name!r} is a directory, not an image; give {IMAGE_FORMATS} files.")
        if not os.path.exists(source):
            raise FileNotFoundError(f"No image file {name!r}.")
        with open(source, "rb") as f:
            source = f.read()
    if not source:
        raise ValueError(f"{name!r} is empty (0 bytes), not an image; give {IMAGE_FORMATS} files.")
    try:
        shape = tf.io.decode_image(source, channels=3, expand_animations=False).shape
    except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError) as error:
        reason = error_reason(error)
        raise ValueError(f"{name!r} is not a readable image ({reason}); give {IMAGE_FORMATS} files.") from None
    return source, shape[:2]


def _uint8_batch(images, name, channels, size=None):
    """`images` as a uint8 batch [N, H, W, channels]; a single image or a 2-D map gets the batch axis."""
    array = np.asarray(images)
    if array.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (0..255), got dtype {array.dtype}.")
    if array.ndim == 2 and channels == 1:
        array = array[..., None]
    if array.ndim == 3:
        # [H, W, C] is one image; with one channel, a square [N, S, S] is a batch of maps.
        if array.shape[-1] == channels:
            array = array[None]
        elif channels == 1 and array.shape[1] == array.shape[2]:
            array = array[..., None]
        else:
            raise ValueError(f"{name} must be [N, H, W, {channels}] (or one [H, W, {channels}]), got shape "
                             f"{array.shape}: {array.shape[-1]} channels where the model takes {channels}.")
    if array.ndim != 4 or array.shape[-1] != channels:
        raise ValueError(f"{name} must be [N, H, W, {channels}] (or one [H, W, {channels}]), got shape {array.shape}.")
    if size is not None and array.shape[1:3] != (size, size):
        raise ValueError(f"{name} must be {size}x{size} for this model, got {array.shape[1]}x{array.shape[2]}.")
    return array
