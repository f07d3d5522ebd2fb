"""Paired images in the pix2pix "AB" layout (facades, maps, edges2shoes, cityscapes, ...).

Each file holds the two images of a pair side by side, as the pix2pix data sets ship:

    root/train/1.jpg   [H, 2W, 3]: one half the photo (target), the other the input
    root/test/...      (any sub-folder name is a split: train, val, test)

In facades the input (colour label map) is the right half; most other pix2pix sets put
the input on the left, hence `input_side`. Each example is a dict in the raw layout:

    image      uint8  [H, W, 3]   the target half (the photo)
    label_map  uint8  [H, W, 3]   the input half (label map, edges, ...)
    id         string []          the file name
"""

import re
from pathlib import Path
from typing import List, Optional, Tuple

import tensorflow as tf
from PIL import Image

from zoo.data.coco import decode_rgb
from zoo.data.errors import DataError, SizeLike, require_choice, require_directory, size_pair

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
INPUT_SIDES = ("right", "left")


def paired_images(
    root,
    split: str = "train",
    input_side: str = "right",
    image_size: Optional[SizeLike] = None,
) -> tf.data.Dataset:
    """Unbatched dataset of {"image", "label_map", "id"} split from side-by-side pair files.

    Every file's header is read with PIL at construction (well under 1 ms a file), so
    corrupt files and odd widths are reported before training starts. `image_size`
    (int S or (height, width)) resizes both halves: the photo bilinearly, the label
    map with nearest neighbours so that its colours (classes) stay exact.

    Example:
        ds = paired_images("/data/facades", split="train", input_side="right")
        ex = next(iter(ds))   # ex["image"], ex["label_map"]: uint8 [256, 256, 3]
    """
    root = require_directory(root, "pix2pix root")
    require_choice(input_side, INPUT_SIDES, "input_side")
    size = size_pair(image_size)
    files = pair_files(root, split)
    height, width = _common_half_shape(files)
    dataset = tf.data.Dataset.from_tensor_slices(
        {"path": [str(path) for path in files], "id": [path.name for path in files]}
    )
    split_pair = _pair_splitter(input_side, resize_to=size, static_size=size or (height, width))
    return dataset.map(split_pair, num_parallel_calls=tf.data.AUTOTUNE)


def pair_files(root, split: str = "train") -> List[Path]:
    """The image files of one split, in natural order (2.jpg before 10.jpg).

    Example: `pair_files("/data/facades", "test")[:2]` -> [.../test/1.jpg, .../test/2.jpg].
    """
    root = require_directory(root, "pix2pix root")
    splits = sorted(child.name for child in root.iterdir() if child.is_dir() and not child.name.startswith("."))
    require_choice(split, splits, "pix2pix split", hint=f" (the sub-folders of {str(root)!r})")
    files = sorted(
        (path for path in (root / split).iterdir() if path.suffix.lower() in IMAGE_SUFFIXES),
        key=_natural_key,
    )
    if not files:
        raise DataError(
            f"no images in {str(root / split)!r}; accepted: files ending in {', '.join(IMAGE_SUFFIXES)}."
        )
    return files


def _natural_key(path: Path):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", path.name)]


def _check_pair_file(path: Path) -> Tuple[int, int]:
    try:
        with Image.open(path) as image:
            width, height = image.size
    except Exception as err:  # PIL raises several types for unreadable files
        raise DataError(
            f"pix2pix image {str(path)!r} cannot be read ({type(err).__name__}: {err}); "
            "accepted: a JPEG or PNG file."
        ) from err
    if width % 2:
        raise DataError(
            f"pix2pix image {str(path)!r} is {width} pixels wide, which is odd, so it cannot be split into "
            "two halves; accepted: the side-by-side 'AB' layout with an even width (e.g. 512x256)."
        )
    return width, height


def _common_half_shape(files: List[Path]) -> Tuple[Optional[int], Optional[int]]:
    """(height, half width) shared by every file, None where they differ: the static shape."""
    sizes = [_check_pair_file(path) for path in files]
    heights = {height for _, height in sizes}
    half_widths = {width // 2 for width, _ in sizes}
    return (
        heights.pop() if len(heights) == 1 else None,
        half_widths.pop() if len(half_widths) == 1 else None,
    )


def _pair_splitter(input_side: str, resize_to: Optional[Tuple[int, int]], static_size):
    def split_pair(example):
        pair = decode_rgb(tf.io.read_file(example["path"]))
        half = tf.shape(pair)[1] // 2
        left, right = pair[:, :half], pair[:, half:]
        label_map, image = (right, left) if input_side == "right" else (left, right)
        if resize_to is not None:
            image = _resize(image, resize_to, "bilinear")
            label_map = _resize(label_map, resize_to, "nearest")
        image.set_shape(list(static_size) + [3])
        label_map.set_shape(list(static_size) + [3])
        return {"image": image, "label_map": label_map, "id": example["id"]}

    return split_pair


def _resize(image, size: Tuple[int, int], method: str):
    resized = tf.image.resize(image, size, method=method, antialias=method == "bilinear")
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
