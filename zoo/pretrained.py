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
from pathlib import Path

import numpy as np

ENV_VARIABLE = "ZOO_SAVEDMODELS"
METADATA_FILE = os.path.join("assets.extra", "zoo.json")

# The public method of each kind, and what it is called with.
KIND_METHODS = {
    "text-to-image": "generate",
    "image-to-text": "caption",
    "inpainting": "inpaint",
    "image-to-image": "translate",
}


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


def kind_of(signatures):
    """The task kind of a SavedModel, read from its signatures' input names."""
    inputs = set(signatures["serving_default"].structured_input_signature[1])
    if "seeded" in signatures:
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

    Methods by kind: `generate(captions, seeds=None)` (text to image),
    `caption(images)` (image to text), `inpaint(images, masks, captions=None)`,
    `translate(label_maps)` (image to image). All images are uint8 numpy arrays.
    """

    def __init__(self, path):
        import tensorflow as tf

        self.path = str(path)
        self.version = int(os.path.basename(os.path.normpath(self.path))) if os.path.basename(
            os.path.normpath(self.path)).isdigit() else None
        self.name = os.path.basename(os.path.dirname(os.path.normpath(self.path)))
        self.module = tf.saved_model.load(self.path)
        self.signatures = self.module.signatures
        self.kind = kind_of(self.signatures)
        metadata_path = os.path.join(self.path, METADATA_FILE)
        self.metadata = json.load(open(metadata_path)) if os.path.exists(metadata_path) else {}
        self.image_size = self.metadata.get("image_size") or self._input_size()

    def __repr__(self):
        return f"PretrainedModel({self.name!r}, version={self.version}, kind={self.kind!r})"

    def _input_size(self):
        spec = self.signatures["serving_default"].structured_input_signature[1]
        for key in ("images", "inputs"):
            if key in spec and spec[key].shape.rank == 4 and spec[key].shape[1] is not None:
                return int(spec[key].shape[1])
        return None

    def _require(self, kind):
        if self.kind != kind:
            raise ValueError(f"{self.name!r} is a {self.kind} model: call .{KIND_METHODS[self.kind]}(), "
                             f"not .{KIND_METHODS[kind]}().")

    def __call__(self, *args, **kwargs):
        return getattr(self, KIND_METHODS[self.kind])(*args, **kwargs)

    def generate(self, captions, seeds=None):
        """Images for `captions` (a string or a list); the same seed gives the same image."""
        import tensorflow as tf

        self._require("text-to-image")
        captions = _caption_list(captions)
        if seeds is None:
            return self.signatures["serving_default"](captions=tf.constant(captions))["images"].numpy()
        seeds = np.broadcast_to(np.asarray(seeds, np.int64), [len(captions)])
        return self.signatures["seeded"](captions=tf.constant(captions), seeds=tf.constant(seeds))["images"].numpy()

    def caption(self, images, return_scores=False):
        """Captions of `images`: uint8 arrays [N, H, W, 3] or [H, W, 3], or a list of image files or bytes."""
        import tensorflow as tf

        self._require("image-to-text")
        if isinstance(images, (str, bytes, os.PathLike)) or (
                isinstance(images, (list, tuple)) and images and isinstance(images[0], (str, bytes, os.PathLike))):
            files = [images] if isinstance(images, (str, bytes, os.PathLike)) else list(images)
            encoded = [f if isinstance(f, bytes) else open(f, "rb").read() for f in files]
            result = self.signatures["serving_default"](images=tf.constant(encoded))
        else:
            pixels = _uint8_batch(images, "images", channels=3)
            result = self.signatures["pixels"](images=tf.constant(pixels))
        captions = [c.decode("utf-8") for c in result["captions"].numpy()]
        return (captions, result["scores"].numpy()) if return_scores else captions

    def inpaint(self, images, masks, captions=None):
        """Fill the holes (`masks` nonzero) of uint8 `images`; `captions` describe what is hidden (optional)."""
        import tensorflow as tf

        self._require("inpainting")
        images = _uint8_batch(images, "images", channels=3, size=self.image_size)
        masks = _uint8_batch(masks, "masks", channels=1, size=self.image_size)
        if len(masks) != len(images):
            raise ValueError(f"{len(images)} images but {len(masks)} masks; give one mask per image.")
        captions = [""] * len(images) if captions is None else _caption_list(captions, allow_empty=True)
        if len(captions) != len(images):
            raise ValueError(f"{len(images)} images but {len(captions)} captions; give one per image (\"\" for none).")
        result = self.signatures["serving_default"](
            images=tf.constant(images), masks=tf.constant((masks > 0).astype(np.uint8)), captions=tf.constant(captions))
        return result["images"].numpy()

    def translate(self, label_maps):
        """Images for uint8 label maps [N, S, S, C] (or one [S, S, C] / [S, S])."""
        import tensorflow as tf

        self._require("image-to-image")
        spec = self.signatures["serving_default"].structured_input_signature[1]["inputs"]
        label_maps = _uint8_batch(label_maps, "label_maps", channels=int(spec.shape[-1]), size=self.image_size)
        return self.signatures["serving_default"](inputs=tf.constant(label_maps))["images"].numpy()


def _caption_list(captions, allow_empty=False):
    if isinstance(captions, str):
        captions = [captions]
    captions = list(captions)
    if not captions or not all(isinstance(c, str) for c in captions):
        raise ValueError(f"captions must be a string or a non-empty list of strings, got {captions!r}.")
    if not allow_empty and not all(c.strip() for c in captions):
        raise ValueError("captions must not be empty strings.")
    return captions


def _uint8_batch(images, name, channels, size=None):
    """`images` as a uint8 batch [N, H, W, channels]; a single image or a 2-D map gets the batch axis."""
    array = np.asarray(images)
    if array.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (0..255), got dtype {array.dtype}.")
    if array.ndim == 2 and channels == 1:
        array = array[..., None]
    if array.ndim == 3:
        array = array[None] if array.shape[-1] == channels else array[..., None] if channels == 1 else array
    if array.ndim != 4 or array.shape[-1] != channels:
        raise ValueError(f"{name} must be [N, H, W, {channels}] (or one [H, W, {channels}]), got shape {array.shape}.")
    if size is not None and array.shape[1:3] != (size, size):
        raise ValueError(f"{name} must be {size}x{size} for this model, got {array.shape[1]}x{array.shape[2]}.")
    return array
