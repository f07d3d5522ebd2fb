"""The truth of `shapes` scenes, from the pipeline's int arrays to what the metrics read.

`zoo.data.load("shapes", ...)` gives each batch's objects as int32 arrays [B, 2]
(`colour`, `shape`, `size`, `cell`; -1 where a scene has one object), while
`zoo.metrics.attribute_accuracy` and `caption_match` take, per scene, a list of
object dicts with names. `objects_from_arrays` converts; `hidden_objects` picks
the object an `object` mask hides.

Example:
    batch = next(iter(zoo.data.load("shapes", split="test", batch_size=4)))
    truth = objects_from_arrays(batch["objects"])
    truth[0]  # [{'colour': 'red', 'shape': 'circle', 'size': 'small', 'cell': 0}, ...]
"""

import numpy as np

from zoo.data.shapes import CELL_CENTRES, COLOUR_NAMES, REFERENCE_SIZE, SHAPE_NAMES, SIZE_NAMES

OBJECT_KEYS = ("colour", "shape", "size", "cell")
_NAMES = {"colour": COLOUR_NAMES, "shape": SHAPE_NAMES, "size": SIZE_NAMES}


def _checked_arrays(objects):
    missing = [key for key in OBJECT_KEYS if key not in objects]
    if missing:
        raise ValueError(f"objects lacks {missing}; it needs int arrays [B, K] for {list(OBJECT_KEYS)}.")
    arrays = {key: np.asarray(objects[key]) for key in OBJECT_KEYS}
    shapes = {key: value.shape for key, value in arrays.items()}
    if len(set(shapes.values())) != 1 or len(shapes["cell"]) != 2:
        raise ValueError(f"objects arrays must all have the same shape [B, K], got {shapes}.")
    for key, value in arrays.items():
        if not np.issubdtype(value.dtype, np.integer):
            raise ValueError(f"objects[{key!r}] must hold ints (-1 for no object), got dtype {value.dtype}.")
        limit = 9 if key == "cell" else len(_NAMES[key])
        if value.min(initial=0) < -1 or value.max(initial=0) >= limit:
            raise ValueError(f"objects[{key!r}] must hold -1 (no object) or 0..{limit - 1}, "
                             f"got values in [{value.min()}, {value.max()}].")
    return arrays


def objects_from_arrays(objects):
    """Per scene, its objects as dicts of names and a cell, from int arrays [B, K].

    Args:
        objects: dict of int arrays [B, K] (`colour`, `shape`, `size`, `cell`), as a
            `shapes` batch carries them; a slot whose `cell` is -1 holds no object.

    Returns:
        list of B lists of {"colour": str, "shape": str, "size": str, "cell": int},
        in slot order (the caption's order), as `attribute_accuracy` reads them.

    Example:
        >>> objects_from_arrays({"colour": [[0, -1]], "shape": [[3, -1]], "size": [[1, -1]], "cell": [[4, -1]]})
        [[{'colour': 'red', 'shape': 'diamond', 'size': 'large', 'cell': 4}]]
    """
    arrays = _checked_arrays(objects)
    scenes = []
    for row in range(len(arrays["cell"])):
        scene = []
        for slot in np.flatnonzero(arrays["cell"][row] >= 0):
            obj = {key: names[int(arrays[key][row, slot])] for key, names in _NAMES.items()}
            obj["cell"] = int(arrays["cell"][row, slot])
            scene.append(obj)
        if not scene:
            raise ValueError(f"Scene {row} has no object (every cell is -1); a scene has 1 or 2 objects.")
        scenes.append(scene)
    return scenes


def hidden_objects(objects_per_scene, masks):
    """For each scene, the one object an `object` mask hides: the one whose cell centre is in the hole.

    An `object` mask is an object's bounding box grown by 3 pixels, so it always
    holds that object's cell centre (the object's centre is within 2 pixels of
    it); the other object sits on the opposite side, 32 pixels away, outside.

    Args:
        objects_per_scene: list of N lists of object dicts with a `cell` (see `objects_from_arrays`).
        masks: [N, S, S, 1], nonzero = hole.

    Returns:
        list of N one-element lists, so it can go to `attribute_accuracy` as it is.
    """
    masks = np.asarray(masks)
    if masks.ndim != 4 or masks.shape[-1] != 1 or len(masks) != len(objects_per_scene):
        raise ValueError(f"masks must be [N, S, S, 1] with one mask per scene ({len(objects_per_scene)}), "
                         f"got shape {masks.shape}.")
    scale = masks.shape[1] / REFERENCE_SIZE
    hidden = []
    for index, (objects, mask) in enumerate(zip(objects_per_scene, masks)):
        inside = [o for o in objects if mask[_centre(o["cell"] // 3, scale), _centre(o["cell"] % 3, scale), 0]]
        if len(inside) != 1:
            raise ValueError(f"Scene {index}: the mask covers the cell centres of {len(inside)} objects; an "
                             "`object` mask hides exactly one (was it drawn with masks='object'?).")
        hidden.append(inside)
    return hidden


def _centre(row_or_column, scale):
    """The pixel row (or column) of a cell row's (column's) centre at this image scale."""
    return int(CELL_CENTRES[row_or_column] * scale)
