"""TensorFlow Datasets already prepared on this machine, mapped into the raw layout.

Nothing is ever downloaded: a data set must have been built beforehand (`tfds build
coco_captions --data_dir DIR` on a machine with internet, then DIR copied here). Features
are mapped by what they hold, so `coco_captions` and any builder with the same kind of
features work:

    image                         -> image     uint8 [H, W, 3] (grey repeated, alpha dropped)
    captions (Sequence of {text, id} or of text), caption, text
                                  -> captions  string [num_captions]
    image/filename, file_name, filename, image/id (else the TFDS example id)
                                  -> id        string []

Captions are put in annotation-id order when ids are present, then truncated to
`num_captions`, or padded by repeating the example's captions from the first (so every
slot holds a real caption). Examples with no caption at all are dropped.
"""

import re
from typing import Optional

import tensorflow as tf
import tensorflow_datasets as tfds

from zoo.data.errors import DataError

IMAGE_KEYS = ("image",)
CAPTION_KEYS = ("captions", "caption", "text")
ID_KEYS = ("image/filename", "file_name", "filename", "image/id")


def from_tfds(name: str, split: str = "train", data_dir=None, num_captions: int = 5) -> tf.data.Dataset:
    """Unbatched dataset of {"image", "captions", "id"} from a locally prepared TFDS data set.

    `split` accepts TFDS split syntax ("train", "validation[:10%]", "train+restval").
    Raises DataError when the data set is unknown, not prepared in `data_dir` (default
    ~/tensorflow_datasets or $TFDS_DATA_DIR), or has no image/caption features.

    Example:
        ds = from_tfds("coco_captions", "val", data_dir="/data/tfds")
        ex = next(iter(ds))   # ex["image"]: uint8 [H, W, 3], ex["captions"]: string [5]
    """
    if isinstance(num_captions, bool) or not isinstance(num_captions, int) or num_captions < 1:
        raise DataError(f"num_captions must be a positive int, got {num_captions!r}.")
    builder = prepared_builder(name, data_dir)
    _check_split(builder, split)
    features = builder.info.features
    image_key = _first_present(IMAGE_KEYS, features)
    caption_key = _first_present(CAPTION_KEYS, features)
    id_key = _first_present(ID_KEYS, features)
    if image_key is None and caption_key is None:
        raise DataError(
            f"TFDS data set {name!r} has features {sorted(features.keys())}; accepted: at least an "
            f"image ({', '.join(IMAGE_KEYS)}) or captions ({', '.join(CAPTION_KEYS)}) feature."
        )
    read_config = tfds.ReadConfig(add_tfds_id=id_key is None)
    dataset = builder.as_dataset(split=split, shuffle_files=False, read_config=read_config)
    if caption_key is not None:
        dataset = dataset.filter(lambda example: tf.size(_caption_texts(example[caption_key])) > 0)

    def to_raw(example):
        raw = {"id": _as_id(example[id_key or "tfds_id"])}
        if image_key is not None:
            raw["image"] = _as_rgb_uint8(example[image_key])
        if caption_key is not None:
            raw["captions"] = _fixed_captions(example[caption_key], num_captions)
        return raw

    return dataset.map(to_raw, num_parallel_calls=tf.data.AUTOTUNE)


def prepared_builder(name: str, data_dir=None):
    """The TFDS builder for `name`, checked to be prepared in `data_dir` (never downloads).

    Example: `prepared_builder("coco_captions", "/data/tfds").info.splits["val"].num_examples`.
    """
    data_dir = None if data_dir is None else str(data_dir)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as err:
        raise DataError(
            f"no TFDS data set named {name!r} "
            f"(neither registered nor prepared in {data_dir or 'the default data_dir'}); "
            "accepted: a TFDS name such as 'coco_captions', or a builder prepared in data_dir=."
        ) from err
    if not builder.is_prepared():
        raise DataError(
            f"TFDS data set {name!r} is not prepared in {builder.data_dir!r}, and is not available offline "
            f"(zoo never downloads). On a machine with internet run `tfds build {name} --data_dir DIR`, "
            "copy DIR here, then pass data_dir=DIR."
        )
    return builder


def _check_split(builder, split: str) -> None:
    available = sorted(builder.info.splits.keys())
    # Split syntax: "a+b", each part maybe sliced as "a[:10%]"; check the bare names.
    names = [re.sub(r"\[.*\]$", "", part.strip()) for part in str(split).split("+")]
    unknown = [n for n in names if n not in available]
    if unknown:
        raise DataError(
            f"unknown split {split!r} for TFDS data set {builder.name!r}; accepted: {', '.join(available)} "
            "(optionally sliced, e.g. 'train[:10%]', or joined with '+')."
        )


def _first_present(keys, features) -> Optional[str]:
    return next((key for key in keys if key in features), None)


def _caption_texts(captions):
    """A 1-D string tensor of caption texts, in annotation-id order when ids are present."""
    if isinstance(captions, dict):
        texts = captions["text"]
        if "id" in captions:
            texts = tf.gather(texts, tf.argsort(captions["id"], stable=True))
        return texts
    return tf.reshape(captions, [-1])  # a single caption becomes a list of one


def _fixed_captions(captions, num_captions: int):
    texts = _caption_texts(captions)
    # Cycling through the captions truncates long lists and pads short ones with real captions.
    fixed = tf.gather(texts, tf.range(num_captions) % tf.size(texts))
    fixed.set_shape([num_captions])
    return fixed


def _as_rgb_uint8(image):
    if image.dtype != tf.uint8:
        image = tf.image.convert_image_dtype(image, tf.uint8, saturate=True)
    channels = image.shape[-1]
    if channels == 1:
        image = tf.image.grayscale_to_rgb(image)
    elif channels == 4:
        image = image[..., :3]
    elif channels != 3:
        raise DataError(f"TFDS image feature has {channels} channels; accepted: 1, 3 or 4.")
    return image


def _as_id(value):
    return value if value.dtype == tf.string else tf.strings.as_string(value)
