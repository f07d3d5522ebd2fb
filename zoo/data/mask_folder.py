"""Folders of hole masks for inpainting, e.g. the NVIDIA irregular masks (Liu et al. 2018).

A mask file is a single-channel image (PIL mode "L" or "1") whose pixels are either
the hole value (255 in the NVIDIA set) or the known value. Each example is a dict in
the raw layout of `zoo.data`:

    mask  uint8  [S, S, 1]   1 = hole (to be filled), 0 = known pixel
    id    string []          the file name

Pixels count as holes when they lie on the hole value's side of `threshold`, so
slightly blurred or JPEG-compressed masks still give clean 0/1 masks.

Held-out masks: in a folder of numbered files (00000.png, 00020.png, ... as in
`../shared/data/masks`), the files whose number is a multiple of 100 are the `test`
masks (120 of the shipped 600, 20 per hole-ratio bin) and the others the `train` masks;
a model never trains on a test mask. `split="train"` masks are augmented as the
partial-convolution paper does: a random crop, rotation and flips per draw.
A folder whose names are not all numbers has no held-out masks: both splits are every file.
"""

import logging
import math
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import tensorflow as tf
from PIL import Image

from zoo.data.errors import DataError, SizeLike, require_directory, size_pair

log = logging.getLogger("zoo.data")

MASK_SUFFIXES = (".png", ".jpg", ".jpeg")
MASK_SPLITS = ("train", "test", "all")
TEST_EVERY = 100  # numbered masks: a multiple of this is a test mask
# Hole-ratio bins of the NVIDIA masks (and of the partial-convolution paper's tables).
HOLE_BINS = ((0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))
SINGLE_CHANNEL_MODES = ("L", "1")
# A mask is "binary-ish" when at most this share of its pixels is mid-grey (48..207):
# room for anti-aliased or JPEG-blurred edges, none for a photo or a soft matte.
MAX_GREY_FRACTION = 0.05
GREY_BAND = (48, 207)


def hole_masks(
    root,
    image_size: Optional[SizeLike] = None,
    hole_value: int = 255,
    threshold: int = 127,
    validate: bool = True,
    split: str = "all",
) -> tf.data.Dataset:
    """Unbatched dataset of {"mask": uint8 [S, S, 1] of 0/1, "id"} from a folder of mask images.

    `split`: `all` (every file), `train` or `test` (see the module: numbered folders hold out
    every 100th file for tests).

    Without `image_size` all masks must share one size (the dataset's static shape); with
    it (int S or (height, width)) each is resized with nearest neighbours, so it stays 0/1.
    Every file's header (mode, size) is read at construction; `validate=True` also decodes
    each file once to check it is binary-ish (about 3 ms a 512x512 PNG, ~35 s for the
    12000 NVIDIA test masks); `validate=False` skips that decode.

    Example:
        ds = hole_masks("/data/masks", image_size=256)
        ex = next(iter(ds))   # ex["mask"]: uint8 [256, 256, 1], 1 = hole
    """
    root = require_directory(root, "mask folder")
    size = size_pair(image_size)
    _check_hole_rule(hole_value, threshold)
    files = mask_files(root, split=split)
    native = _common_size(files, required=size is None)
    if validate:
        _validate_pixels(files, hole_value, threshold)
    dataset = tf.data.Dataset.from_tensor_slices({"path": [str(p) for p in files], "id": [p.name for p in files]})

    def load(example):
        pixels = tf.io.decode_image(
            tf.io.read_file(example["path"]), channels=1, dtype=tf.uint8, expand_animations=False
        )
        mask = _pixels_to_mask(pixels, size, hole_value, threshold)
        mask.set_shape(list(size or native) + [1])
        return {"mask": mask, "id": example["id"]}

    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)


def augmented_masks(root, image_size: int, seed: int = 0, skip_examples: int = 0, hole_value: int = 255,
                    threshold: int = 127, validate: bool = True) -> tf.data.Dataset:
    """An endless stream of augmented train masks, uint8 [S, S, 1] of 0/1 (1 = hole).

    Position p of the stream draws a train mask (`mask_files(root, "train")`) and its
    `augment_mask` view from (seed, p) alone, so `skip_examples=n` gives exactly the stream
    after its first n masks (a resumed run continues where it stopped). Files are checked as
    in `hole_masks` (header, and with `validate` the pixels) before the stream starts.

    Example:
        holes = augmented_masks("/data/masks", image_size=128, seed=0)
        first = next(iter(holes))   # uint8 [128, 128, 1]
    """
    root = require_directory(root, "mask folder")
    _check_hole_rule(hole_value, threshold)
    paths = mask_files(root, split="train")
    _common_size(paths, required=False)  # every header opens and is single-channel
    if validate:
        _validate_pixels(paths, hole_value, threshold)
    files = tf.constant([str(p) for p in paths])
    load_size = (2 * image_size, 2 * image_size)  # crops of 1/2 to all of it, resized to image_size

    def draw(position):
        pick = tf.random.stateless_uniform([], seed=tf.stack([tf.constant(seed, tf.int64), position]) + 17,
                                           maxval=tf.shape(files, out_type=tf.int64)[0], dtype=tf.int64)
        pixels = tf.io.decode_image(tf.io.read_file(files[pick]), channels=1, dtype=tf.uint8, expand_animations=False)
        mask = tf.reshape(_pixels_to_mask(pixels, load_size, hole_value, threshold), load_size + (1,))
        return augment_mask(mask, seed, position, image_size)

    return tf.data.Dataset.range(skip_examples, 2**62).map(draw, num_parallel_calls=tf.data.AUTOTUNE)


def read_mask(path, image_size: Optional[SizeLike] = None, hole_value: int = 255, threshold: int = 127) -> np.ndarray:
    """Read one mask file as a numpy uint8 [H, W, 1] array of 0/1 (1 = hole).

    Uses the same thresholding and nearest-neighbour resize as `hole_masks`.

    Example:
        mask = read_mask("/data/masks/00000.png", image_size=256)   # (256, 256, 1)
        hole_fraction = mask.mean()
    """
    size = size_pair(image_size)
    _check_hole_rule(hole_value, threshold)
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"mask file {str(path)!r} does not exist; pass the path of a PNG or JPEG mask.")
    _mask_header(path)
    pixels = _check_mask_pixels(path, hole_value, threshold)
    return _pixels_to_mask(tf.constant(pixels[..., None]), size, hole_value, threshold).numpy()


def mask_files(root, split: str = "all") -> List[Path]:
    """The mask image files in `root` (not recursive), sorted by name; `split` as in `hole_masks`.

    Example: `mask_files("/data/masks")[0].name == "00000.png"`;
    `[p.name for p in mask_files("/data/masks", "test")][:2] == ["00000.png", "00100.png"]`.
    """
    if split not in MASK_SPLITS:
        raise DataError(f"mask split {split!r} is not one of {MASK_SPLITS}.")
    root = require_directory(root, "mask folder")
    files = sorted(path for path in root.iterdir() if path.suffix.lower() in MASK_SUFFIXES and path.is_file())
    if not files:
        raise DataError(f"no mask images in {str(root)!r}; accepted: files ending in {', '.join(MASK_SUFFIXES)}.")
    if split == "all":
        return files
    if not all(path.stem.isdigit() for path in files):
        log.warning("mask folder %s: file names are not all numbers, so no masks are held out for tests; "
                    "the %s split uses all %d masks", root.name, split, len(files))
        return files
    held_out = [path for path in files if int(path.stem) % TEST_EVERY == 0]
    chosen = held_out if split == "test" else [path for path in files if int(path.stem) % TEST_EVERY]
    if not chosen:
        raise DataError(f"mask folder {str(root)!r} has no {split} masks: test masks are the files numbered "
                        f"in multiples of {TEST_EVERY} (00000.png, 00100.png, ...), train masks the others.")
    return chosen


def hole_ratio_bin(mask) -> int:
    """Index in `HOLE_BINS` of a 0/1 mask's hole ratio (ratios of 0.6 and over fall in the last bin).

    Example: `hole_ratio_bin(np.ones((4, 4, 1)) * (np.arange(4) < 1)[:, None, None]) == 2` (25%).
    """
    ratio = float(np.mean(np.asarray(mask) > 0))
    return min(int(ratio * 10), len(HOLE_BINS) - 1)


def augment_mask(mask, seed, position, image_size: int):
    """A random view of a 0/1 training mask, as the partial-convolution paper augments its masks:
    a rotation by any angle, flips, and a square crop of 1/2 to all of the side, resized back to
    `image_size` by nearest neighbours. Drawn from (seed, position in the stream).

    Example: `augment_mask(mask, 0, 7, 128)` -> uint8 [128, 128, 1] of 0/1.
    """
    mask = tf.convert_to_tensor(mask)
    side = int(mask.shape[0])
    draw = tf.stack([tf.constant(seed, tf.int64), tf.cast(position, tf.int64)])
    uniforms = tf.random.stateless_uniform([2], seed=draw)
    angle = uniforms[0] * 2.0 * math.pi
    # Rotation about the centre (the transform maps output coordinates to input ones).
    cos, sin = tf.cos(angle), tf.sin(angle)
    centre = (side - 1) / 2.0
    transform = tf.stack([cos, -sin, centre - cos * centre + sin * centre,
                          sin, cos, centre - sin * centre - cos * centre, 0.0, 0.0])
    rotated = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(mask[None], tf.float32), transforms=transform[None], output_shape=[side, side],
        fill_value=0.0, interpolation="NEAREST", fill_mode="CONSTANT")[0]
    flipped = tf.image.stateless_random_flip_up_down(
        tf.image.stateless_random_flip_left_right(rotated, seed=draw + 1), seed=draw + 2)
    crop = tf.cast(tf.round(side * (0.5 + 0.5 * uniforms[1])), tf.int32)
    cropped = tf.image.stateless_random_crop(flipped, tf.stack([crop, crop, 1]), seed=draw + 3)
    resized = tf.image.resize(cropped, [image_size, image_size], method="nearest")
    return tf.cast(tf.reshape(resized, [image_size, image_size, 1]) > 0.5, tf.uint8)


def resize_mask(mask, image_size: SizeLike):
    """A 0/1 mask [H, W, 1] resized to `image_size` (int S or (height, width)) by nearest
    neighbours, so it stays 0/1: how `hole_masks` and `read_mask` resize.

    Example: `resize_mask(read_mask("/data/masks/00000.png"), 128).numpy()` is
    `read_mask("/data/masks/00000.png", image_size=128)`.
    """
    return tf.image.resize(mask, size_pair(image_size), method="nearest")


def _pixels_to_mask(pixels, size: Optional[Tuple[int, int]], hole_value: int = 255, threshold: int = 127):
    """uint8 [H, W, 1] grey pixels -> uint8 0/1 mask, resized with nearest neighbours to `size`."""
    hole = pixels > threshold if hole_value > threshold else pixels <= threshold
    mask = tf.cast(hole, tf.uint8)
    return mask if size is None else resize_mask(mask, size)


def _check_hole_rule(hole_value, threshold) -> None:
    valid = all(isinstance(v, (int, np.integer)) and 0 <= v <= 255 for v in (hole_value, threshold))
    if not valid or hole_value == threshold:
        raise DataError(
            f"hole_value={hole_value!r}, threshold={threshold!r}: accepted: ints in 0..255 with the hole "
            "value on one side of the threshold (e.g. 255 and 127, or 0 and 127 when black marks holes)."
        )


def _mask_header(path: Path) -> Tuple[int, int]:
    """(height, width) of a mask file, after checking it opens and has a single channel."""
    try:
        with Image.open(path) as image:
            mode, (width, height) = image.mode, image.size
    except Exception as err:  # PIL raises several types for unreadable files
        raise DataError(
            f"mask file {str(path)!r} cannot be read ({type(err).__name__}: {err}); accepted: a PNG or JPEG image."
        ) from err
    if mode not in SINGLE_CHANNEL_MODES:
        raise DataError(
            f"mask file {str(path)!r} has PIL mode {mode!r}; accepted: a single-channel image "
            f"(mode {' or '.join(SINGLE_CHANNEL_MODES)}), e.g. Image.open(p).convert('L').save(p)."
        )
    return height, width


def _common_size(files: List[Path], required: bool) -> Optional[Tuple[int, int]]:
    """The size all masks share; a mismatch is an error only when no resize size was given."""
    sizes = {path: _mask_header(path) for path in files}
    first = files[0]
    for path, shape in sizes.items():
        if shape != sizes[first]:
            if required:
                raise DataError(
                    f"mask {path.name!r} is {shape[0]}x{shape[1]} but {first.name!r} is "
                    f"{sizes[first][0]}x{sizes[first][1]}; "
                    "accepted: masks of one size, or pass image_size= to resize them."
                )
            return None
    return sizes[first]


_VALIDATED = set()  # (path, size, mtime, hole rule) of files whose pixels passed, this process


def _validate_pixels(paths: List[Path], hole_value: int, threshold: int) -> None:
    """`_check_mask_pixels` on each file, once per process for a file left unchanged since."""
    for path in paths:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, hole_value, threshold)
        if key not in _VALIDATED:
            _check_mask_pixels(path, hole_value, threshold)
            _VALIDATED.add(key)


def _check_mask_pixels(path: Path, hole_value: int, threshold: int) -> np.ndarray:
    """Decode a mask and check it is binary-ish under the hole rule; returns its grey pixels."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L"))
    except Exception as err:  # e.g. a truncated PNG whose header still reads
        raise DataError(
            f"mask file {str(path)!r} cannot be decoded ({type(err).__name__}: {err}); "
            "accepted: a complete PNG or JPEG."
        ) from err
    grey = np.mean((pixels >= GREY_BAND[0]) & (pixels <= GREY_BAND[1]))
    if grey > MAX_GREY_FRACTION:
        raise DataError(
            f"mask file {str(path)!r} is not binary: {grey:.0%} of its pixels are mid-grey; accepted: "
            f"black/white masks (at most {MAX_GREY_FRACTION:.0%} grey edge pixels)."
        )
    if threshold >= 1 and pixels.max() == 1:
        # A 0/1 PNG looks black and would silently give "no holes" with the 0/255 rule.
        raise DataError(
            f"mask file {str(path)!r} holds 0/1 values, which threshold={threshold} reads as all one class; "
            "accepted: 0/255 masks, or pass hole_value=1, threshold=0 for 0/1 masks."
        )
    return pixels
