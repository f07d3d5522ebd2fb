"""MS-COCO 2017 captions read from the official files, as a raw `tf.data.Dataset`.

Expected layout (what the COCO site distributes; both spellings are found):

    root/annotations/captions_train2017.json   or  root/captions_train2017.json
    root/train2017/*.jpg                        or  root/images/*.jpg

Each example is a dict in the raw layout of `zoo.data`:

    image     uint8  [H, W, 3]   original size (varies per image); grayscale JPEGs become RGB
    captions  string [K]         the first K = num_captions captions by annotation id
    id        string []          the image's `file_name`

Images with fewer than `num_captions` captions are skipped with one warning (the full
COCO 2017 train and val sets have at least 5 for every image, so nothing is lost there).
Captions are kept exactly as written in the JSON (COCO has stray spaces and newlines);
cleaning them is the tokenizer's job.
"""

import json
import warnings
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import numpy as np
import tensorflow as tf
from PIL import Image

from zoo.data.errors import DataError, require_choice, require_directory

# User-facing split names -> the name COCO uses in its file and folder names.
SPLITS = {"train": "train", "val": "val", "validation": "val"}

Validate = Union[bool, str]


class CaptionedImage(NamedTuple):
    """One image file and its captions, as parsed from a COCO annotation file."""

    path: str
    captions: Tuple[str, ...]


def coco_captions(
    root,
    split: str = "train",
    annotation_file=None,
    image_dir=None,
    num_captions: int = 5,
    validate: Validate = True,
) -> tf.data.Dataset:
    """Unbatched dataset of {"image", "captions", "id"} read from COCO caption files.

    `validate` checks every image file at construction, before any training starts:
    True opens each with PIL and verifies its header (about 0.3 ms an image, ~40 s for
    the 118k images of train2017), which catches missing, empty and non-image files;
    "full" also decodes each JPEG at 1/8 scale (about 2 ms an image, ~4 min for
    train2017), which also catches truncated files; False only checks the files exist.

    Example:
        ds = coco_captions("/data/coco", split="val")
        ex = next(iter(ds))   # ex["image"]: uint8 [480, 640, 3], ex["captions"]: string [5]
    """
    examples = read_annotations(root, split, annotation_file, image_dir, num_captions, validate)
    paths = [example.path for example in examples]
    slices = {
        "path": paths,
        "captions": np.array([example.captions for example in examples], dtype=object),
        "id": [Path(path).name for path in paths],
    }
    dataset = tf.data.Dataset.from_tensor_slices(slices)
    return dataset.map(_decode_example, num_parallel_calls=tf.data.AUTOTUNE)


def read_annotations(
    root,
    split: str = "train",
    annotation_file=None,
    image_dir=None,
    num_captions: int = 5,
    validate: Validate = True,
) -> List[CaptionedImage]:
    """Parse and check a COCO caption file: a list of (image path, captions) pairs.

    The order is the order of the JSON's `images` list; each entry holds the first
    `num_captions` captions of the image by annotation id. `annotation_file` and
    `image_dir` are paths, or names inside `root`. See `coco_captions` for `validate`.

    Example:
        pairs = read_annotations("/data/coco", split="val")
        path, captions = pairs[0]   # "/data/coco/val2017/000000397133.jpg", 5 strings
    """
    root = require_directory(root, "COCO root")
    coco_split = SPLITS[require_choice(split, SPLITS, "COCO split")]
    _check_num_captions(num_captions)
    _check_validate(validate)
    json_path = _find_annotation_file(root, coco_split, annotation_file)
    images_dir = _find_image_dir(root, coco_split, image_dir)
    images, annotations = _load_coco_json(json_path)
    paths = _image_paths(images, images_dir, json_path)
    captions = _captions_by_image(annotations, paths, json_path)
    examples = _keep_complete(paths, captions, num_captions, json_path)
    if validate:
        for example in examples:
            check_image_file(example.path, full=validate == "full")
    return examples


def check_image_file(path, full: bool = False) -> None:
    """Raise DataError if PIL cannot open `path` as an image (or decode it, when `full`).

    Example: `check_image_file("/data/coco/val2017/000000397133.jpg", full=True)`.
    """
    try:
        with Image.open(path) as image:
            if full:
                # draft() makes libjpeg decode at 1/8 scale: every byte is still read,
                # so truncation is caught, at a fraction of the cost of a full decode.
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
            else:
                image.verify()
    except Exception as err:  # PIL raises many types (OSError, SyntaxError, ...)
        raise DataError(
            f"image file {str(path)!r} cannot be read ({type(err).__name__}: {err}); "
            "accepted: a complete JPEG, PNG, GIF or BMP file. Re-download or remove it."
        ) from err


def decode_rgb(contents) -> tf.Tensor:
    """Decode JPEG/PNG/GIF/BMP bytes to uint8 [H, W, 3]; grayscale becomes RGB, alpha is dropped.

    JPEGs use the accurate integer IDCT: TF's default fast one is off by up to ~18 levels
    near edges, while this one matches PIL (and so the images users inspect) exactly.

    Example: `decode_rgb(tf.io.read_file("/data/coco/val2017/000000397133.jpg"))`.
    """
    image = tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.io.decode_jpeg(contents, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(contents, channels=3, dtype=tf.uint8, expand_animations=False),
    )
    image.set_shape([None, None, 3])
    return image


def _decode_example(example):
    contents = tf.io.read_file(example["path"])
    # The decoder's own error ("Invalid JPEG data or crop window") names no file; a JPEG cut
    # short has no end marker, so it is reported here with its path first.
    complete = tf.debugging.Assert(tf.logical_or(tf.logical_not(tf.io.is_jpeg(contents)), _has_jpeg_end(contents)), [
        DECODE_ERROR_PREFIX + "image file", example["path"], "is truncated (no JPEG end marker); accepted: a complete "
        "JPEG, PNG, GIF or BMP file. Re-download or remove it (validate='full' finds every such file up front)."])
    with tf.control_dependencies([complete]):
        image = decode_rgb(contents)
    return {"image": image, "captions": example["captions"], "id": example["id"]}


# Marks the errors of the decoding pipeline that name a data file (the Trainer reports them as DataError).
DECODE_ERROR_PREFIX = "zoo.data: "


def _has_jpeg_end(contents):
    """Whether the last 4 KiB of a JPEG hold its end marker FF D9 (padding may follow it)."""
    tail = tf.strings.substr(contents, tf.maximum(tf.strings.length(contents) - 4096, 0), 4096)
    data = tf.io.decode_raw(tail, tf.uint8)
    return tf.reduce_any(tf.logical_and(tf.equal(data[:-1], 0xFF), tf.equal(data[1:], 0xD9)))


def _check_num_captions(num_captions) -> None:
    if isinstance(num_captions, bool) or not isinstance(num_captions, int) or num_captions < 1:
        raise DataError(f"num_captions must be a positive int, got {num_captions!r}.")


def _check_validate(validate) -> None:
    if validate not in (True, False, "full"):
        raise DataError(f"validate must be True, False or 'full', got {validate!r}.")


def _existing(path, root: Path) -> Optional[Path]:
    """`path` as given if it exists, else the same name inside `root`, else None."""
    path = Path(path).expanduser()
    for candidate in (path, root / path):
        if candidate.exists():
            return candidate
    return None


def _find_annotation_file(root: Path, coco_split: str, annotation_file) -> Path:
    if annotation_file is not None:
        found = _existing(annotation_file, root)
        if found is None or not found.is_file():
            raise DataError(
                f"COCO annotation file {str(annotation_file)!r} not found (also looked in {str(root)!r}); "
                "pass the path of a captions_*.json file."
            )
        return found
    name = f"captions_{coco_split}2017.json"
    candidates = [root / "annotations" / name, root / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataError(
        f"no COCO caption annotations for split {coco_split!r}: looked for "
        f"{', '.join(str(c) for c in candidates)}; accepted: one of those, or annotation_file=."
    )


def _find_image_dir(root: Path, coco_split: str, image_dir) -> Path:
    if image_dir is not None:
        found = _existing(image_dir, root)
        if found is None or not found.is_dir():
            raise DataError(f"COCO image_dir {str(image_dir)!r} is not a directory; pass the folder of the JPEGs.")
        return found
    candidates = [root / "images", root / f"{coco_split}2017"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise DataError(
        f"no COCO image folder: looked for {', '.join(str(c) for c in candidates)}; "
        "accepted: one of those, or image_dir=."
    )


def _load_coco_json(json_path: Path) -> Tuple[list, list]:
    try:
        with open(json_path, encoding="utf-8") as file:
            data = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(
            f"COCO annotation file {str(json_path)!r} is not valid JSON ({err}); "
            "accepted: the official captions_*.json format."
        ) from err
    if not isinstance(data, dict) or not all(isinstance(data.get(key), list) for key in ("images", "annotations")):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise DataError(
            f"COCO annotation file {str(json_path)!r} lacks the 'images' and 'annotations' lists "
            f"(found {found}); accepted: the official captions_*.json format."
        )
    return data["images"], data["annotations"]


def _image_paths(images: list, images_dir: Path, json_path: Path) -> Dict[object, Path]:
    """Map image id -> file path, in the JSON's order, checking each file name."""
    paths = {}
    for entry in images:
        if not isinstance(entry, dict) or "id" not in entry or not isinstance(entry.get("file_name"), str):
            raise DataError(
                f"{str(json_path)!r}: image entry {entry!r} needs an 'id' and a 'file_name' string."
            )
        if entry["id"] in paths:
            raise DataError(f"{str(json_path)!r}: image id {entry['id']!r} appears twice in 'images'.")
        paths[entry["id"]] = _image_path(entry["file_name"], images_dir, json_path)
    return paths


def _image_path(file_name: str, images_dir: Path, json_path: Path) -> Path:
    # Checked lexically rather than with resolve(), so folders of symlinks still work.
    posix, windows = PurePosixPath(file_name), PureWindowsPath(file_name)
    escapes = posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in windows.parts
    if not file_name or escapes:
        raise DataError(
            f"{str(json_path)!r}: file_name {file_name!r} is not inside the image folder; "
            "accepted: a relative name such as '000000397133.jpg', without '..' or a leading '/'."
        )
    path = images_dir / file_name
    if not path.is_file():
        raise DataError(
            f"{str(json_path)!r} names image {file_name!r}, but {str(path)!r} does not exist; "
            "check image_dir= (the folder of the split's JPEGs)."
        )
    return path


def _captions_by_image(annotations: list, paths: Dict[object, Path], json_path: Path) -> Dict[object, List[str]]:
    """Map image id -> its captions sorted by annotation id (file order when ids are absent)."""
    keyed: Dict[object, list] = {image_id: [] for image_id in paths}
    for position, annotation in enumerate(annotations):
        image_id, caption = _checked_annotation(annotation, paths, json_path)
        keyed[image_id].append((annotation.get("id", position), caption))
    by_id = lambda pair: pair[0]  # noqa: E731
    return {image_id: [caption for _, caption in sorted(pairs, key=by_id)] for image_id, pairs in keyed.items()}


def _checked_annotation(annotation, paths: Dict[object, Path], json_path: Path) -> Tuple[object, str]:
    if not isinstance(annotation, dict) or "image_id" not in annotation:
        raise DataError(f"{str(json_path)!r}: annotation {annotation!r} needs an 'image_id' and a 'caption'.")
    if annotation["image_id"] not in paths:
        raise DataError(
            f"{str(json_path)!r}: annotation {annotation.get('id')!r} names image id {annotation['image_id']!r}, "
            "which is not in 'images'; accepted: ids listed in 'images'."
        )
    caption = annotation.get("caption")
    if not isinstance(caption, str) or not caption.strip():
        raise DataError(
            f"{str(json_path)!r}: annotation {annotation.get('id')!r} has an empty or missing caption "
            f"({caption!r}); accepted: a non-empty string."
        )
    return annotation["image_id"], caption


def _keep_complete(paths, captions, num_captions: int, json_path: Path) -> List[CaptionedImage]:
    examples, short = [], []
    for image_id, path in paths.items():
        if len(captions[image_id]) < num_captions:
            short.append(path.name)
        else:
            examples.append(CaptionedImage(str(path), tuple(captions[image_id][:num_captions])))
    if short:
        warnings.warn(
            f"{str(json_path)!r}: skipped {len(short)} image(s) with fewer than {num_captions} captions "
            f"(e.g. {', '.join(short[:3])}); pass a smaller num_captions= to keep them.",
            stacklevel=3,
        )
    if not examples:
        raise DataError(
            f"{str(json_path)!r}: no image has {num_captions} captions; "
            "accepted: images with at least num_captions captions."
        )
    return examples
