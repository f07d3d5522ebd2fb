"""Exact text-image alignment on the `shapes` data set (shared/specs/shapes.md).

Each `shapes` scene's truth is known: 1 or 2 objects, each with a colour, shape,
size and cell of the 3 x 3 grid. Two scores use it:
- `attribute_accuracy`: how well images match their scenes, read by a per-cell
  probe classifier (for text-to-image, image-to-image and inpainting outputs);
- `caption_match`: how well generated captions, parsed back into objects with
  `parse_caption`, match their scenes (for captioning models).
Both return the same keys: per-attribute accuracy over objects (`colour`,
`shape`, `size`, `position`), `object` (all four right) and `scene` (every
object right and nothing else present).

Example:
    parse_caption("small red circle top left and large blue square bottom right")
    # [{'colour': 'red', 'shape': 'circle', 'size': 'small', 'cell': 0},
    #  {'colour': 'blue', 'shape': 'square', 'size': 'large', 'cell': 8}]
"""

import re

import numpy as np

from zoo.data.shapes import COLOUR_NAMES, POSITION_NAMES, POSITION_PHRASES, SHAPE_NAMES, SIZE_NAMES

GRID_KEYS = ("colour", "shape", "size", "occupied")
OBJECT_ACCURACY_KEYS = ("colour", "shape", "size", "position", "object")  # means over objects
_NAMES = {"colour": COLOUR_NAMES, "shape": SHAPE_NAMES, "size": SIZE_NAMES}
_CELL_BY_PHRASE = {phrase: POSITION_NAMES.index(name) for name, phrase in POSITION_PHRASES.items()}
_CELL_BY_NAME = {name: cell for cell, name in enumerate(POSITION_NAMES)}


def _choice(words):
    # Longest first, so that "top left" is tried before "top".
    return "(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


_ATTRIBUTES = f"{_choice(SIZE_NAMES)} {_choice(COLOUR_NAMES)} {_choice(SHAPE_NAMES)}"
# Templates 1 and 2 name an object "a {size} {colour} {shape} {phrase}"; template 3
# "{size} {colour} {shape} {short}".
_LONG_OBJECT = re.compile(f"a {_ATTRIBUTES} {_choice(_CELL_BY_PHRASE)}")
_SHORT_OBJECT = re.compile(f"{_ATTRIBUTES} {_choice(_CELL_BY_NAME)}")


# === Captions -> objects ===
def parse_caption(caption, strict=True):
    """The objects a `shapes` caption names, in the caption's order.

    Reads all three templates of the spec, with one object or two joined by
    " and ". Case and runs of whitespace are ignored. A caption that fits no
    template, mixes templates, names more than two objects or puts two objects
    in one cell raises ValueError, or gives None with `strict=False` (for
    scoring model-generated captions).

    Returns:
        list of {"colour": str, "shape": str, "size": str, "cell": int 0-8}.

    Example:
        >>> parse_caption("there is a large green diamond at the bottom")
        [{'colour': 'green', 'shape': 'diamond', 'size': 'large', 'cell': 7}]
        >>> parse_caption("a green blob", strict=False) is None
        True
    """
    try:
        return _parse(caption)
    except ValueError:
        if strict:
            raise
        return None


def _parse(caption):
    if isinstance(caption, bytes):
        caption = caption.decode("utf-8")
    if not isinstance(caption, str):
        raise ValueError(f"A caption must be a string, got {caption!r}.")
    text = " ".join(caption.lower().split())
    if text.startswith("there is "):
        text, pattern, cells = text[len("there is "):], _LONG_OBJECT, _CELL_BY_PHRASE
    elif text.startswith("a "):
        pattern, cells = _LONG_OBJECT, _CELL_BY_PHRASE
    else:
        pattern, cells = _SHORT_OBJECT, _CELL_BY_NAME
    parts = text.split(" and ")
    matches = [pattern.fullmatch(part) for part in parts]
    if len(parts) > 2 or not all(matches):
        raise ValueError(
            f"Cannot parse {caption!r}: a shapes caption is one or two objects joined by "
            "' and ', in one template: 'a {size} {colour} {shape} {phrase}', 'there is a "
            "{size} {colour} {shape} {phrase}' or '{size} {colour} {shape} {position}'."
        )
    objects = [
        {"colour": colour, "shape": shape, "size": size, "cell": cells[where]}
        for size, colour, shape, where in (m.groups() for m in matches)
    ]
    if len({o["cell"] for o in objects}) < len(objects):
        raise ValueError(f"Cannot parse {caption!r}: two objects never share a cell.")
    return objects


# === Scores ===
def attribute_accuracy(predicted_grid, objects_per_scene):
    """Accuracy of a per-cell reading of N images against their scenes.

    Args:
        predicted_grid: dict of int arrays [N, 3, 3], one value per cell:
            `colour` (0-7), `shape` (0-3), `size` (0-1) and `occupied` (0 or 1),
            indices in the spec's orders (e.g. the argmax of a probe classifier).
            Values at unoccupied cells are ignored.
        objects_per_scene: list of N lists of objects, each a dict with `colour`,
            `shape` and `size` names and its `cell` (int 0-8) or `position` (name).

    Returns:
        dict of fractions: `colour`, `shape`, `size` (the object's cell holds its
        value), `position` (its cell is occupied) and `object` (all four), over
        all objects; `scene` (all objects right and no other cell occupied),
        over scenes.

    Example:
        >>> grid = {k: np.zeros((1, 3, 3), int) for k in GRID_KEYS}
        >>> grid["occupied"][0, 0, 0] = 1  # a small red circle, top left
        >>> scores = attribute_accuracy(grid, [[
        ...     {"colour": "red", "shape": "circle", "size": "small", "position": "top left"}]])
        >>> scores["scene"], scores["size"]
        (1.0, 1.0)
    """
    grid = _check_grid(predicted_grid)
    if len(objects_per_scene) != len(grid["occupied"]):
        raise ValueError(
            f"predicted_grid holds {len(grid['occupied'])} scenes but objects_per_scene "
            f"holds {len(objects_per_scene)}; give one list of objects per scene."
        )
    object_hits, scene_hits = [], []
    for scene_index, objects in enumerate(objects_per_scene):
        truths = [_object_indices(o, scene_index) for o in objects]
        if not truths:
            raise ValueError(f"objects_per_scene[{scene_index}] is empty; a scene has 1 or 2 objects.")
        hits = [_object_hits(grid, scene_index, truth) for truth in truths]
        object_hits.extend(hits)
        occupied_cells = set(np.flatnonzero(grid["occupied"][scene_index]).tolist())
        scene_hits.append(
            all(h["object"] for h in hits) and occupied_cells == {t["cell"] for t in truths}
        )
    scores = {key: float(np.mean([h[key] for h in object_hits])) for key in OBJECT_ACCURACY_KEYS}
    scores["scene"] = float(np.mean(scene_hits))
    return scores


def caption_match(generated_captions, objects_per_scene):
    """Accuracy of N generated captions, parsed back into objects, against their scenes.

    Each caption is read with `parse_caption(..., strict=False)`; the objects it
    names are matched to the scene's by cell, so the keys mean what they mean in
    `attribute_accuracy`: an object is right when the caption names an object
    in its cell with its colour, shape and size, and a scene when, besides,
    the caption names nothing else. An unparsable caption gets everything wrong.

    Example:
        >>> scene = [{"colour": "red", "shape": "circle", "size": "small", "cell": 0}]
        >>> caption_match(["small red square top left"], [scene])["shape"]
        0.0
    """
    if isinstance(generated_captions, (str, bytes)):
        raise ValueError("generated_captions must be a list of captions, not one string.")
    grid = {key: np.full((len(generated_captions), 9), -1) for key in GRID_KEYS}
    grid["occupied"][:] = 0
    for index, caption in enumerate(generated_captions):
        for obj in parse_caption(caption, strict=False) or []:
            truth = _object_indices(obj, index)
            for key in ("colour", "shape", "size"):
                grid[key][index, truth["cell"]] = truth[key]
            grid["occupied"][index, truth["cell"]] = 1
    return attribute_accuracy({k: v.reshape(-1, 3, 3) for k, v in grid.items()}, objects_per_scene)


def _object_hits(grid, scene_index, truth):
    cell = truth["cell"]
    hits = {key: bool(grid[key][scene_index, cell] == truth[key]) for key in _NAMES}
    hits["position"] = bool(grid["occupied"][scene_index, cell] == 1)
    hits["object"] = all(hits.values())
    return hits


def _check_grid(predicted_grid):
    missing = [key for key in GRID_KEYS if key not in predicted_grid]
    if missing:
        raise ValueError(f"predicted_grid lacks {missing}; it needs the keys {list(GRID_KEYS)}.")
    grid = {key: np.asarray(predicted_grid[key]) for key in GRID_KEYS}
    shapes = {key: value.shape for key, value in grid.items()}
    if len(set(shapes.values())) != 1 or shapes["occupied"][1:] != (3, 3):
        raise ValueError(f"predicted_grid arrays must all have shape [N, 3, 3], got {shapes}.")
    return {key: value.reshape(len(value), 9) for key, value in grid.items()}


def _object_indices(obj, scene_index):
    """An object dict as {colour, shape, size: index; cell: int}, validated."""
    indices = {key: _index_of(obj.get(key), names, key, scene_index) for key, names in _NAMES.items()}
    if "cell" in obj:
        cell = obj["cell"]
        if isinstance(cell, bool) or not isinstance(cell, (int, np.integer)) or not 0 <= cell <= 8:
            raise ValueError(f"Scene {scene_index}: cell must be an int from 0 to 8, got {cell!r}.")
        indices["cell"] = int(cell)
    else:
        indices["cell"] = _index_of(obj.get("position"), POSITION_NAMES, "position", scene_index)
    return indices


def _index_of(name, names, key, scene_index):
    if isinstance(name, bytes):  # strings read back from tf.data arrive as bytes
        name = name.decode("utf-8")
    if name not in names:
        raise ValueError(f"Scene {scene_index}: unknown {key} {name!r}; {key}s are {list(names)}.")
    return names.index(name)
