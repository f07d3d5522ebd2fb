"""The one exception raised for bad data, and the small checks that raise it.

Every loader in `zoo.data` reports a data problem (missing folder, malformed
annotation file, corrupt image, wrong mask size, unknown split, ...) as a
`DataError` whose message says what was wrong and what is accepted. It
subclasses `ValueError`, so callers that already catch `ValueError` keep working:

    from zoo.data.errors import DataError
    try:
        ds = coco_captions("/data/coco", split="val")
    except DataError as err:
        print(err)
"""

import operator
from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple, Union

SizeLike = Union[int, Sequence[int]]


class DataError(ValueError):
    """A data set, file or argument that a `zoo.data` loader cannot use."""


def require_directory(path, what: str) -> Path:
    """Return `path` as a Path, or raise DataError if it is not a directory.

    Example: `require_directory("/data/facades", "pix2pix root")`.
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        state = "is not a directory" if path.exists() else "does not exist"
        raise DataError(f"{what} {str(path)!r} {state}; pass the folder that holds the data.")
    return path


def require_choice(value, accepted: Iterable, what: str, hint: str = ""):
    """Return `value` if it is one of `accepted`, else raise DataError listing them.

    Example: `require_choice("left", ("left", "right"), "input_side")`.
    """
    accepted = list(accepted)
    if value not in accepted:
        raise DataError(f"unknown {what} {value!r}; accepted: {', '.join(map(repr, accepted))}{hint}.")
    return value


def size_pair(image_size: Optional[SizeLike], what: str = "image_size") -> Optional[Tuple[int, int]]:
    """Normalise an image size to (height, width): an int S means (S, S); None stays None.

    Example: `size_pair(256) == (256, 256)`, `size_pair((128, 256)) == (128, 256)`.
    """
    if image_size is None:
        return None
    if _is_integer(image_size):
        values = [image_size] * 2
    else:
        try:
            values = list(image_size)
        except TypeError:  # e.g. a float: reported below like any other bad size
            values = []
    if len(values) != 2 or not all(_is_integer(v) and v > 0 for v in values):
        raise DataError(
            f"{what} must be a positive int or a (height, width) pair of positive ints, got {image_size!r}."
        )
    return int(values[0]), int(values[1])


def _is_integer(value) -> bool:
    # operator.index accepts numpy integers too; bool is an int but never a size.
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True
