"""The `shapes` data set: captioned scenes of coloured shapes, rendered on demand.

Implements `shared/specs/shapes.md` exactly. Scene `i` of a split is rendered
from a random generator seeded by the split's name and `i` alone, so any scene
can be rendered again, in any process and in any order.

Example:
    from zoo.data import shapes
    s = shapes.scene("train", 0)
    s["image"].shape, s["captions"][0]
    hole = shapes.mask("object", seed=7, scene=s)
"""

import hashlib

import numpy as np
from PIL import Image, ImageDraw

# === The spec's tables ===
COLOURS = {
    "red": (220, 50, 47),
    "orange": (245, 140, 30),
    "yellow": (235, 215, 50),
    "green": (60, 180, 75),
    "cyan": (70, 200, 220),
    "blue": (50, 90, 220),
    "purple": (145, 70, 200),
    "white": (235, 235, 235),
}
COLOUR_NAMES = tuple(COLOURS)
SHAPE_NAMES = ("circle", "square", "triangle", "diamond")
SIZES = {"small": 14, "large": 24}
SIZE_NAMES = tuple(SIZES)
CELL_CENTRES = (16, 32, 48)
POSITION_NAMES = (
    "top left", "top", "top right",
    "left", "center", "right",
    "bottom left", "bottom", "bottom right",
)
POSITION_PHRASES = {
    "top left": "in the top left corner",
    "top": "at the top",
    "top right": "in the top right corner",
    "left": "on the left",
    "center": "in the center",
    "right": "on the right",
    "bottom left": "in the bottom left corner",
    "bottom": "at the bottom",
    "bottom right": "in the bottom right corner",
}
HELD_OUT_PAIRS = frozenset(
    {("purple", "triangle"), ("cyan", "square"), ("orange", "circle"), ("white", "diamond")}
)
SPLITS = {"train": 20000, "validation": 2000, "test": 2000, "test_compositional": 2000}
MASK_KINDS = ("box", "stroke", "object")
TRAINING_MASK_MIX = {"box": 0.3, "stroke": 0.5, "object": 0.2}

REFERENCE_SIZE = 64
SUPERSAMPLE = 4
BACKGROUND_MAX = 60
NOISE_SIGMA = 3.0
COLOUR_JITTER = 10
SIZE_JITTER = 1.0
POSITION_JITTER = 2.0
OBJECT_MASK_MARGIN = 3

_ALLOWED_PAIRS = tuple(
    (c, s) for c in COLOUR_NAMES for s in SHAPE_NAMES if (c, s) not in HELD_OUT_PAIRS
)
_ALL_PAIRS = tuple((c, s) for c in COLOUR_NAMES for s in SHAPE_NAMES)
# Two objects sit on opposite sides: their cells differ by 2 in row or column.
_CELL_PAIRS = tuple(
    (a, b)
    for a in range(9)
    for b in range(a + 1, 9)
    if abs(a // 3 - b // 3) == 2 or abs(a % 3 - b % 3) == 2
)


def _stable_seed(*parts):
    """A seed from strings and ints that is the same in every process."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def check_split(split):
    if split not in SPLITS:
        raise ValueError(f"Unknown shapes split {split!r}; splits are {list(SPLITS)}.")


def check_index(split, index):
    check_split(split)
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
        raise TypeError(f"Scene index must be an int, got {type(index).__name__}.")
    if not 0 <= index < SPLITS[split]:
        raise IndexError(
            f"Scene index {index} is outside split {split!r}, which has "
            f"{SPLITS[split]} scenes (0 to {SPLITS[split] - 1})."
        )


# === Scene layout (what is where) ===
def _draw_pairs(rng, count, split):
    if split != "test_compositional":
        picks = rng.integers(len(_ALLOWED_PAIRS), size=count)
        return [_ALLOWED_PAIRS[i] for i in picks]
    while True:  # rejection: at least one held-out pair in the scene
        pairs = [_ALL_PAIRS[i] for i in rng.integers(len(_ALL_PAIRS), size=count)]
        if any(p in HELD_OUT_PAIRS for p in pairs):
            return pairs


def _layout(split, index):
    rng = np.random.default_rng(_stable_seed("shapes", split, index))
    count = 1 if rng.random() < 0.5 else 2
    if count == 1:
        cells = [int(rng.integers(9))]
    else:
        cells = list(_CELL_PAIRS[rng.integers(len(_CELL_PAIRS))])
    pairs = _draw_pairs(rng, count, split)
    objects = [_place_object(rng, colour, shape, SIZE_NAMES[rng.integers(2)], cell)
               for cell, (colour, shape) in zip(cells, pairs)]
    background = rng.integers(0, BACKGROUND_MAX + 1, size=(2, 3))
    return objects, background, rng


def _place_object(rng, colour, shape, size, cell):
    """An object's drawn geometry and colour: the spec's size, position and colour jitter."""
    extent = SIZES[size] + rng.uniform(-SIZE_JITTER, SIZE_JITTER)
    cx = CELL_CENTRES[cell % 3] + rng.uniform(-POSITION_JITTER, POSITION_JITTER)
    cy = CELL_CENTRES[cell // 3] + rng.uniform(-POSITION_JITTER, POSITION_JITTER)
    jitter = rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3)
    rgb = np.clip(np.array(COLOURS[colour]) + jitter, 0, 255)
    return {"colour": colour, "shape": shape, "size": size, "cell": cell,
            "position": POSITION_NAMES[cell], "centre": (cx, cy), "extent": extent,
            "rgb": rgb.astype(np.float64)}


# === Rendering ===
def _inside(shape, x, y, cx, cy, half):
    """Whether points (x, y) lie inside a shape with bounding-box centre (cx, cy), half-extent `half`."""
    dx, dy = np.abs(x - cx), y - cy
    if shape == "circle":
        return dx**2 + dy**2 <= half**2
    if shape == "square":
        return (dx <= half) & (np.abs(dy) <= half)
    if shape == "diamond":
        return dx + np.abs(dy) <= half
    # Triangle, apex up: the half-width grows from 0 at the top edge to `half` at the base.
    return (np.abs(dy) <= half) & (dx <= (dy + half) / 2)


def _coverage(obj, image_size):
    """Fraction of each pixel the object covers: 4x4 samples per pixel, at the sample centres."""
    scale = image_size / REFERENCE_SIZE
    fine = image_size * SUPERSAMPLE
    centres = (np.arange(fine) + 0.5) / SUPERSAMPLE
    x, y = np.meshgrid(centres, centres)
    cx, cy = obj["centre"]
    fine_mask = _inside(obj["shape"], x, y, cx * scale, cy * scale, obj["extent"] * scale / 2)
    return fine_mask.reshape(image_size, SUPERSAMPLE, image_size, SUPERSAMPLE).mean(axis=(1, 3))


def _bbox(obj, image_size):
    scale = image_size / REFERENCE_SIZE
    cx, cy = obj["centre"]
    half = obj["extent"] / 2
    box = [(cx - half) * scale, (cy - half) * scale, (cx + half) * scale, (cy + half) * scale]
    x0, y0 = (int(np.floor(v)) for v in box[:2])
    x1, y1 = (int(np.ceil(v)) for v in box[2:])
    clip = lambda v: max(0, min(image_size, v))  # noqa: E731
    return (clip(x0), clip(y0), clip(x1), clip(y1))


def caption_texts(objects):
    """The three captions of a scene (templates 1, 2, 3), objects in reading order."""
    long_parts = [
        f"a {o['size']} {o['colour']} {o['shape']} {POSITION_PHRASES[o['position']]}"
        for o in objects
    ]
    short_parts = [f"{o['size']} {o['colour']} {o['shape']} {o['position']}" for o in objects]
    first = " and ".join(long_parts)
    return [first, "there is " + first, " and ".join(short_parts)]


def scene(split, index, image_size=REFERENCE_SIZE):
    """Render scene `index` of `split` as a dict of numpy values.

    Returns `image` (S x S x 3 uint8), `captions` (3 str), `label_map`
    (S x S x 1 uint8: 0 background, colour index + 1 on objects) and `objects`
    (dicts with `colour`, `shape`, `size`, `position`, `cell`, `bbox`).

    Example:
        s = scene("test_compositional", 5)
        print(s["captions"][2])  # e.g. "small cyan square top left"
    """
    check_index(split, index)
    _check_image_size(image_size)
    objects, background, rng = _layout(split, index)
    image, label_map = _draw(objects, background, rng, image_size)
    public = [
        {"colour": o["colour"], "shape": o["shape"], "size": o["size"],
         "position": o["position"], "cell": o["cell"], "bbox": _bbox(o, image_size)}
        for o in objects
    ]
    return {"image": image, "captions": caption_texts(public), "label_map": label_map,
            "objects": public}


def scene_captions(split, index):
    """The three captions of scene `index` of `split`, as `scene` gives them, without drawing it."""
    check_index(split, index)
    return caption_texts(_layout(split, index)[0])


def render(objects, seed, image_size=REFERENCE_SIZE):
    """A new real image of given objects: fresh size, position and colour jitter, background and noise.

    What a caption fixes (each object's colour, shape, size and cell) stays; everything the
    spec draws at random is drawn from `seed`. Eight seeds give eight real images of one
    caption, the reference of the diversity score.

    Args:
        objects: list of dicts with `colour`, `shape`, `size` names and a `cell` (int 0-8)
            or `position` (name), as `scene(...)["objects"]` or `parse_caption` give them.
        seed: int.
        image_size: 32, 64 or 128.

    Returns:
        uint8 [S, S, 3].

    Example:
        objects = parse_caption("small red circle top left")
        images = [render(objects, seed) for seed in range(8)]
    """
    _check_image_size(image_size)
    rng = np.random.default_rng(_stable_seed("render", int(seed)))
    placed = []
    for obj in objects:
        cell = obj["cell"] if "cell" in obj else POSITION_NAMES.index(obj["position"])
        for key, names in (("colour", COLOUR_NAMES), ("shape", SHAPE_NAMES), ("size", SIZE_NAMES)):
            if obj.get(key) not in names:
                raise ValueError(f"Unknown {key} {obj.get(key)!r}; {key}s are {list(names)}.")
        placed.append(_place_object(rng, obj["colour"], obj["shape"], obj["size"], int(cell)))
    background = rng.integers(0, BACKGROUND_MAX + 1, size=(2, 3))
    return _draw(placed, background, rng, image_size)[0]


def _check_image_size(image_size):
    if image_size not in (32, 64, 128):
        raise ValueError(f"image_size must be 32, 64 or 128 (the 64-pixel geometry scaled), got {image_size}.")


def _draw(objects, background, rng, image_size):
    """The image and label map of placed objects over a gradient background, with the spec's noise."""
    top, bottom = background.astype(np.float64)
    rows = np.linspace(0.0, 1.0, image_size)[:, None, None]
    image = np.broadcast_to(top + (bottom - top) * rows, (image_size, image_size, 3)).copy()
    label_map = np.zeros((image_size, image_size, 1), np.uint8)
    for obj in objects:
        cover = _coverage(obj, image_size)[..., None]
        image = image * (1.0 - cover) + obj["rgb"] * cover
        label_map[cover >= 0.5] = COLOUR_NAMES.index(obj["colour"]) + 1
    image += rng.normal(0.0, NOISE_SIGMA, size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), label_map


# === Masks ===
def _box_mask(rng, size):
    scale = size / REFERENCE_SIZE
    w, h = (int(round(v * scale)) for v in rng.integers(16, 33, size=2))
    x0 = int(rng.integers(0, size - w + 1))
    y0 = int(rng.integers(0, size - h + 1))
    out = np.zeros((size, size, 1), np.uint8)
    out[y0:y0 + h, x0:x0 + w] = 1
    return out


def _stroke_once(rng, size):
    scale = size / REFERENCE_SIZE
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(1, 5))):
        width = float(rng.uniform(4, 10)) * scale
        x, y = rng.uniform(0, size, size=2)
        points = [(x, y)]
        for _ in range(int(rng.integers(2, 7)) - 1):
            step = rng.uniform(6, 20) * scale
            angle = rng.uniform(0, 2 * np.pi)
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
            points.append((x, y))
        draw.line(points, fill=1, width=max(1, int(round(width))), joint="curve")
        radius = width / 2
        for px, py in points:  # round caps and joints
            draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=1)
    return np.asarray(canvas, np.uint8)[..., None]


def _stroke_mask(rng, size):
    while True:  # redrawn until the coverage is within the spec's range
        out = _stroke_once(rng, size)
        if 0.10 <= out.mean() <= 0.50:
            return out


def _object_mask(rng, size, scene_dict):
    if scene_dict is None or not scene_dict.get("objects"):
        raise ValueError("mask kind 'object' needs the scene: mask('object', seed, scene=scene(...)).")
    obj = scene_dict["objects"][int(rng.integers(len(scene_dict["objects"])))]
    margin = int(round(OBJECT_MASK_MARGIN * size / REFERENCE_SIZE))
    x0, y0, x1, y1 = obj["bbox"]
    out = np.zeros((size, size, 1), np.uint8)
    out[max(0, y0 - margin):y1 + margin, max(0, x0 - margin):x1 + margin] = 1
    return out


def mask(kind, seed, scene=None, image_size=None):
    """A 64 x 64 x 1 uint8 mask (1 = missing pixel) of `kind`, reproducible from `seed`.

    Kinds: `box`, `stroke`, `object` (which hides one object of `scene`).

    Example:
        m = mask("stroke", seed=3)
        0.1 <= m.mean() <= 0.5
    """
    if kind not in MASK_KINDS:
        raise ValueError(f"Unknown mask kind {kind!r}; kinds are {list(MASK_KINDS)}.")
    if image_size is None:
        image_size = scene["image"].shape[0] if scene is not None else REFERENCE_SIZE
    rng = np.random.default_rng(_stable_seed("mask", kind, int(seed)))
    if kind == "box":
        return _box_mask(rng, image_size)
    if kind == "stroke":
        return _stroke_mask(rng, image_size)
    return _object_mask(rng, image_size, scene)


def training_mask(seed, scene, mix=None):
    """A mask whose kind is drawn from the training mix (box 0.3, stroke 0.5, object 0.2)."""
    mix = mix or TRAINING_MASK_MIX
    unknown = set(mix) - set(MASK_KINDS)
    if unknown:
        raise ValueError(f"Unknown mask kinds {sorted(unknown)} in mix; kinds are {list(MASK_KINDS)}.")
    rng = np.random.default_rng(_stable_seed("mask-kind", int(seed)))
    kinds = list(mix)
    weights = np.array([mix[k] for k in kinds], np.float64)
    kind = kinds[rng.choice(len(kinds), p=weights / weights.sum())]
    return mask(kind, seed, scene=scene)


def all_words():
    """Every word any `shapes` caption can use, in a fixed order."""
    words = ["there", "is", "a", "and"]
    words += list(SIZE_NAMES) + list(COLOUR_NAMES) + list(SHAPE_NAMES)
    for phrase in list(POSITION_PHRASES.values()):
        for word in phrase.split():
            if word not in words:
                words.append(word)
    return words
