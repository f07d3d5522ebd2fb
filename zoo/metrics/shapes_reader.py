"""A strict reader of `shapes` images: every object's colour, shape, size and cell, from the spec's geometry.

`zoo evaluate` scores generated `shapes` images with this reader, not with a learned
classifier: a classifier trained on clean renders is lenient on what it never saw,
and generators produce exactly that (a rounded blob read as a square). The reader
knows nothing but the spec (shared/specs/shapes.md), so a generator cannot learn to
fool it, and every decision it makes can be drawn and checked.

How an image is read:
1. **Background.** The spec's background is a vertical gradient: a straight line per
   channel over the rows, fitted to the dark pixels, then refitted to the pixels
   close to the first fit.
2. **Objects.** Pixels far from the background (more than `FOREGROUND_DISTANCE` in
   RGB) form the foreground; each 8-connected component of at least `MIN_AREA`
   pixels is an object. Smaller specks are noise and ignored; a component larger than
   `MAX_OBJECT_AREA` (4x the largest object) is read unfitted, with no shape, size or cell.
3. **Colour.** The mean colour of the component's core (its pixels at least 85% as
   far from the background as its farthest) is named after the nearest palette
   colour, if within `COLOUR_TOLERANCE`; otherwise it is ambiguous.
4. **Matte.** Each pixel near the object gets its coverage: its colour projected on the
   line from the background to the object's colour (0 = background, 1 = object).
5. **Outline fit.** Each of the four outlines, blurred by a Gaussian of free width
   (which covers anti-aliasing and blur), is fitted to the matte by least squares
   over its centre, half-extent and edge width (Levenberg-Marquardt with the exact Jacobian, run on all the
   objects of a batch of images at once). The model of a square (and of a
   diamond, in rotated coordinates) is exact: a product of two blurred intervals.
   A circle is a blurred disc and a triangle a product of three blurred half-planes.
   The fit error is the summed squared residual over the fitted area.
6. **Verdict.** The shape is the best fit's, if it fits closely (error at most
   `CLOSE_FIT_ERROR`, the runner-up `CLOSE_FIT_RATIO` times worse) or fits and stands
   far apart (error at most `MAX_FIT_ERROR`, the runner-up `MIN_ERROR_RATIO` times
   worse). A rounded square fits neither a square nor a circle well, and is ambiguous.
   The size is the fitted extent's nearest nominal size (14 or 24 px) within
   `SIZE_TOLERANCE`; the cell is the nearest cell centre within `CELL_TOLERANCE`.
   Anything ambiguous is `None`, which never matches the truth.

Scoring (`reader_scores`): an object is right when exactly one object is read in its
cell, with its colour, shape and size; a scene is right when all its objects are,
and nothing else is read (no extra object, nor one outside every cell).

Example:
    from zoo.data import shapes
    from zoo.metrics.shapes_reader import read_images, reader_scores
    scenes = [shapes.scene("test", i) for i in range(8)]
    readings = read_images([s["image"] for s in scenes])
    reader_scores(readings, [s["objects"] for s in scenes])["object"]  # 1.0
"""

import dataclasses

import numpy as np
from scipy import ndimage, special

from zoo.data.shapes import (
    CELL_CENTRES,
    COLOUR_NAMES,
    COLOURS,
    POSITION_NAMES,
    REFERENCE_SIZE,
    SHAPE_NAMES,
    SIZE_NAMES,
    SIZES,
)

# Distances in RGB (0-255); lengths in pixels of the 64-pixel reference geometry.
FOREGROUND_DISTANCE = 45.0  # the darkest object is ~150 from the brightest background
MIN_AREA = 20.0  # the smallest object (a 13 px triangle) covers ~85 px
COLOUR_TOLERANCE = 45.0  # colour jitter is +-10 a channel; palette colours are >= 75 apart
# A shape is read when its outline fits well and clearly better than any other: either a
# close fit (blur sigma 1.5 plus noise 5 stays below 0.009) ahead of the runner-up, or a
# looser fit far ahead of it (a blunted triangle). A rounded square (superellipse exponent
# 3 to 4) fits a circle or a square at best 0.017, at most 2.0 times better than the other.
CLOSE_FIT_ERROR, CLOSE_FIT_RATIO = 0.010, 1.5
MAX_FIT_ERROR, MIN_ERROR_RATIO = 0.05, 2.5
SIZE_TOLERANCE = 3.0  # size jitter is +-1 px
# A component this large (4x the largest object, a 25 px square of 625 px; a scene's at most two objects
# never touch) is no object of the spec: it is read as one of no shape, size or cell, without outline fits
# (which would cost most of the reading time of an untrained generator's images, and name no size).
MAX_OBJECT_AREA = 2500.0
CELL_TOLERANCE = 6.0  # position jitter is +-2 px; cells are 16 px apart
WINDOW_MARGIN = 4.0
MIN_EDGE_WIDTH = 0.1
MAX_EDGE_WIDTH = 4.0
SCORE_KEYS = ("colour", "shape", "size", "position", "object", "scene")

_PALETTE = np.array([COLOURS[name] for name in COLOUR_NAMES], np.float64)
_SQRT2 = np.sqrt(2.0)
_TRIANGLE_SIDE_NORM = np.sqrt(1.25)


@dataclasses.dataclass
class ReadObject:
    """One object as read: names (None where ambiguous) and the measurements behind them.

    `shape_errors` holds each outline's fit error (summed squared residual over the fitted
    area); `centre` and `extent` are the best fit's, in pixels of the 64-pixel geometry.
    """

    colour: str
    shape: str
    size: str
    cell: int
    centre: tuple
    extent: float
    edge_width: float
    colour_distance: float
    shape_errors: dict
    area: float

    def label(self):
        """Short text of the reading, e.g. 'small red circle top left' or '? red ? top left'."""
        names = [self.size, self.colour, self.shape, None if self.cell is None else POSITION_NAMES[self.cell]]
        return " ".join("?" if name is None else name for name in names)


# === Reading ===
def read_images(images, batch_size=512):
    """Read uint8 `shapes` images [N, S, S, 3] (S = 32, 64 or 128): per image, a list of `ReadObject`.

    The outline fits of all objects run together, `batch_size` objects at a time.

    Example:
        readings = read_images(generated)        # generated: uint8 [N, 64, 64, 3]
        [obj.label() for obj in readings[0]]      # ['large blue square center']
    """
    images = _check_images(images)
    found = [_find_objects(image) for image in images]
    flat = [blob for blobs in found for blob in blobs]
    fits = {shape: [None] * len(flat) for shape in SHAPE_NAMES}
    # Batches of blobs of similar window sizes, so that little of the padding is computed.
    order = sorted((i for i in range(len(flat)) if not _too_large(flat[i])), key=lambda i: len(flat[i]["matte"]))
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        for shape in SHAPE_NAMES:
            for index, fit in zip(chunk, _fit_batch(shape, [flat[i] for i in chunk])):
                fits[shape][index] = fit
    readings, position = [], 0
    for blobs in found:
        objects = [_verdict(blob, {shape: fits[shape][position + i] for shape in SHAPE_NAMES})
                   for i, blob in enumerate(blobs)]
        position += len(blobs)
        readings.append(sorted(objects, key=lambda o: (o.centre[1], o.centre[0])))
    return readings


def read_image(image):
    """The objects of one uint8 image [S, S, 3], in reading order of their fitted centres."""
    return read_images(np.asarray(image)[None])[0]


def _check_images(images):
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must be square RGB, [N, S, S, 3], got shape {images.shape}.")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0-255), got {images.dtype}; convert with zoo.metrics.to_uint8.")
    return images


def _background(pixels):
    """The background gradient, [S, 1, 3]: a line per channel over the rows, fitted robustly."""
    size = pixels.shape[0]
    rows = np.repeat(np.arange(size, dtype=np.float64) / max(size - 1, 1), size)
    design = np.stack([np.ones_like(rows), rows], axis=1)
    flat = pixels.reshape(-1, 3)
    chosen = flat.max(axis=1) < 110.0  # objects' brightest channel is >= 170, the background's <= 70
    for _ in range(3):
        if chosen.sum() < 0.1 * len(flat):  # not a shapes background: fall back to the image's median
            return np.broadcast_to(np.median(flat, axis=0), (size, 1, 3))
        coefficients, *_ = np.linalg.lstsq(design[chosen], flat[chosen], rcond=None)
        fitted = design @ coefficients
        chosen = np.linalg.norm(flat - fitted, axis=1) < 25.0
    return (design[::size] @ coefficients)[:, None, :]


def _find_objects(image):
    """Each object's colour reading and soft matte (a dict per object), before the outline fits."""
    pixels = np.asarray(image, np.float64)
    scale = pixels.shape[0] / REFERENCE_SIZE
    background = _background(pixels)
    distance = np.linalg.norm(pixels - background, axis=-1)
    labels, count = ndimage.label(distance > FOREGROUND_DISTANCE, structure=np.ones((3, 3)))
    blobs = []
    for index in range(1, count + 1):
        component = labels == index
        area = component.sum()
        if area < MIN_AREA * scale**2:
            continue
        core = component & (distance >= 0.85 * distance[component].max())
        colour_rgb = pixels[core].mean(axis=0)
        matte, weight, ys, xs = _matte(pixels, background, labels, index, colour_rgb,
                                       _window(component, scale, pixels.shape[0]))
        blobs.append({"colour_rgb": colour_rgb, "matte": matte, "weight": weight, "xs": xs, "ys": ys,
                      "scale": scale, "area": float(area / scale**2)})
    return blobs


def _too_large(blob):
    """Whether a component is larger than any object can be (`MAX_OBJECT_AREA`): it is read unfitted."""
    return blob["area"] > MAX_OBJECT_AREA


def _verdict(blob, fits):
    """A `ReadObject` from an object's colour and its four outline fits ({shape: (params, error)})."""
    scale = blob["scale"]
    colour_distances = np.linalg.norm(_PALETTE - blob["colour_rgb"], axis=1)
    nearest = int(np.argmin(colour_distances))
    colour = COLOUR_NAMES[nearest] if colour_distances[nearest] <= COLOUR_TOLERANCE else None
    if _too_large(blob):  # not fitted (its `fits` are None), and in no one cell
        coverage = np.clip(blob["matte"], 0.0, 1.0) * blob["weight"]
        total = max(coverage.sum(), 1e-9)
        centre = ((coverage * blob["xs"]).sum() / total / scale, (coverage * blob["ys"]).sum() / total / scale)
        return ReadObject(colour=colour, shape=None, size=None, cell=None, centre=centre,
                          extent=float(np.sqrt(blob["area"])), edge_width=float("nan"),
                          colour_distance=float(colour_distances[nearest]), shape_errors={}, area=blob["area"])
    ranked = sorted(fits, key=lambda s: fits[s][1])
    best, second = ranked[0], ranked[1]
    best_error, second_error = fits[best][1], fits[second][1]
    ratio = second_error / max(best_error, 1e-9)
    confident = ((best_error <= CLOSE_FIT_ERROR and ratio >= CLOSE_FIT_RATIO)
                 or (best_error <= MAX_FIT_ERROR and ratio >= MIN_ERROR_RATIO))
    (cx, cy, half, edge), _ = fits[best]
    centre = (cx / scale, cy / scale)
    extent = 2.0 * half / scale
    return ReadObject(
        colour=colour,
        shape=best if confident else None,
        size=_nearest(extent, SIZES, SIZE_TOLERANCE),
        cell=_cell(centre),
        centre=centre,
        extent=float(extent),
        edge_width=float(edge / scale),
        colour_distance=float(colour_distances[nearest]),
        shape_errors={shape: float(error) for shape, (_, error) in fits.items()},
        area=blob["area"],
    )


def _window(component, scale, size):
    ys, xs = np.nonzero(component)
    margin = int(np.ceil(WINDOW_MARGIN * scale))
    return (max(0, ys.min() - margin), min(size, ys.max() + 1 + margin),
            max(0, xs.min() - margin), min(size, xs.max() + 1 + margin))


def _matte(pixels, background, labels, index, colour_rgb, window):
    """Coverage of the object in its window (flattened), the pixels that count, and their centres."""
    y0, y1, x0, x1 = window
    patch = pixels[y0:y1, x0:x1]
    base = np.broadcast_to(background[y0:y1], patch.shape)
    direction = colour_rgb - base
    matte = np.sum((patch - base) * direction, axis=-1) / np.maximum(np.sum(direction**2, axis=-1), 1.0)
    # Other objects' pixels are not this object's background: leave them out of the fit.
    others = labels[y0:y1, x0:x1]
    weight = ~((others > 0) & (others != index))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5  # pixel centres
    # Nothing in a shapes scene is darker than the background along the object's colour: a dark halo
    # (a generator's ringing) says nothing of the outline, so negative coverage counts as none.
    return np.clip(matte, 0.0, 1.5).ravel(), weight.ravel(), ys.ravel(), xs.ravel()


# === Outline models: coverage of a shape blurred by a Gaussian of width `edge` ===
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _pdf(z):
    return _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def _interval(offset, half, edge):
    return special.ndtr((half - offset) / edge) - special.ndtr((-half - offset) / edge)


def _interval_and_derivatives(offset, half, edge):
    """The blurred interval and its derivatives by offset, half and edge."""
    upper, lower = (half - offset) / edge, (-half - offset) / edge
    p_upper, p_lower = _pdf(upper), _pdf(lower)
    value = special.ndtr(upper) - special.ndtr(lower)
    return value, (p_lower - p_upper) / edge, (p_upper + p_lower) / edge, (lower * p_lower - upper * p_upper) / edge


def outline_coverage(shape, xs, ys, cx, cy, half, edge):
    """Coverage at pixel centres (xs, ys) of `shape` with bounding-box centre (cx, cy) and
    half-extent `half`, blurred by a Gaussian of standard deviation `edge` (pixels)."""
    dx, dy = xs - cx, ys - cy
    if shape == "square":
        return _interval(dx, half, edge) * _interval(dy, half, edge)
    if shape == "diamond":
        return _interval((dx + dy) / _SQRT2, half / _SQRT2, edge) * _interval((dx - dy) / _SQRT2, half / _SQRT2, edge)
    if shape == "circle":
        return special.ndtr((half - np.hypot(dx, dy)) / edge)
    # Triangle, apex up: the base at cy + half, the sides through the apex (cx, cy - half).
    base = special.ndtr((half - dy) / edge)
    left = special.ndtr(((dy + half) / 2 + dx) / _TRIANGLE_SIDE_NORM / edge)
    right = special.ndtr(((dy + half) / 2 - dx) / _TRIANGLE_SIDE_NORM / edge)
    return base * left * right


def outline_coverage_and_jacobian(shape, xs, ys, cx, cy, half, edge):
    """`outline_coverage` and its exact derivatives [..., 4] by (cx, cy, half, edge)."""
    dx, dy = xs - cx, ys - cy
    if shape in ("square", "diamond"):
        if shape == "square":
            u, v, h, du, dv, dh = dx, dy, half, (-1.0, 0.0), (0.0, -1.0), 1.0
        else:  # the square's model in coordinates rotated by 45 degrees
            r = 1.0 / _SQRT2
            u, v, h, du, dv, dh = (dx + dy) * r, (dx - dy) * r, half * r, (-r, -r), (-r, r), r
        iu, iu_o, iu_h, iu_e = _interval_and_derivatives(u, h, edge)
        iv, iv_o, iv_h, iv_e = _interval_and_derivatives(v, h, edge)
        value = iu * iv
        jacobian = [iu_o * du[0] * iv + iu * iv_o * dv[0], iu_o * du[1] * iv + iu * iv_o * dv[1],
                    (iu_h * iv + iu * iv_h) * dh, iu_e * iv + iu * iv_e]
    elif shape == "circle":
        radius = np.hypot(dx, dy)
        z = (half - radius) / edge
        density = _pdf(z) / edge
        safe = np.maximum(radius, 1e-12)
        value = special.ndtr(z)
        jacobian = [density * dx / safe, density * dy / safe, density, -z * density]
    else:
        n = _TRIANGLE_SIDE_NORM
        zb = (half - dy) / edge
        zl = ((dy + half) / 2 + dx) / n / edge
        zr = ((dy + half) / 2 - dx) / n / edge
        b, l, r = special.ndtr(zb), special.ndtr(zl), special.ndtr(zr)
        pb, pl, pr = _pdf(zb) / edge, _pdf(zl) / edge, _pdf(zr) / edge
        lr, br, bl = l * r, b * r, b * l
        value = b * lr
        jacobian = [(-pl * br + pr * bl) / n,
                    pb * lr - (pl * br + pr * bl) / (2 * n),
                    pb * lr + (pl * br + pr * bl) / (2 * n),
                    -(zb * pb * lr + zl * pl * br + zr * pr * bl)]
    return value, np.stack([np.broadcast_to(j, value.shape) for j in jacobian], axis=-1)


_AREA_FACTOR = {"circle": np.pi, "square": 4.0, "diamond": 2.0, "triangle": 2.0}
_LM_ITERATIONS = 40
_LOG_HALF_RANGE = (-3.0, 6.0)  # 0.05 to 400 pixels: a step on a blob no outline fits cannot overflow


def _unpack(free):
    """Free parameters [K, 4] -> cx, cy, half, edge [K, 1]: the half-extent through its log, the
    edge width through a logistic between MIN_EDGE_WIDTH and MAX_EDGE_WIDTH."""
    edge = MIN_EDGE_WIDTH + (MAX_EDGE_WIDTH - MIN_EDGE_WIDTH) * special.expit(free[:, 3:4])
    return free[:, 0:1], free[:, 1:2], np.exp(np.clip(free[:, 2:3], *_LOG_HALF_RANGE)), edge


def _unpack_derivatives(free):
    """d(cx, cy, half, edge) / d(free parameters), elementwise: [K, 4] (each depends on its own parameter)."""
    _, _, half, _ = _unpack(free)
    inside = (free[:, 2:3] > _LOG_HALF_RANGE[0]) & (free[:, 2:3] < _LOG_HALF_RANGE[1])
    logistic = special.expit(free[:, 3:4])
    edge_slope = (MAX_EDGE_WIDTH - MIN_EDGE_WIDTH) * logistic * (1.0 - logistic)
    ones = np.ones_like(half)
    return np.concatenate([ones, ones, np.where(inside, half, 0.0), edge_slope], axis=1)


def _fit_batch(shape, blobs):
    """Least-squares fits of one outline to each blob's matte: [((cx, cy, half, edge), error)].

    Levenberg-Marquardt over all blobs at once (each its own damping), the mattes padded to
    one length with zero weight, with the outline's exact Jacobian (recomputed only for the
    blobs whose parameters moved). The error is the summed squared residual over the fitted area.
    """
    if not blobs:
        return []
    length = max(len(b["matte"]) for b in blobs)
    matte, weight, xs, ys = (np.zeros((len(blobs), length)) for _ in range(4))
    for row, blob in enumerate(blobs):
        n = len(blob["matte"])
        matte[row, :n], weight[row, :n] = blob["matte"], blob["weight"]
        xs[row, :n], ys[row, :n] = blob["xs"], blob["ys"]
    free = _start(shape, matte, weight, xs, ys)

    def residuals(params, rows):
        return weight[rows] * (matte[rows] - outline_coverage(shape, xs[rows], ys[rows], *_unpack(params)))

    def residuals_and_jacobian(params, rows):
        coverage, jacobian = outline_coverage_and_jacobian(shape, xs[rows], ys[rows], *_unpack(params))
        chain = -weight[rows][..., None] * _unpack_derivatives(params)[:, None, :]
        return weight[rows] * (matte[rows] - coverage), jacobian * chain

    everything = np.arange(len(blobs))
    current, jacobians = residuals_and_jacobian(free, everything)
    cost = np.sum(current**2, axis=1)
    damping = np.full(len(blobs), 1e-3)
    active = everything
    for _ in range(_LM_ITERATIONS):  # each round updates the blobs whose fit still moves
        params, residual, jacobian = free[active], current[active], jacobians[active]
        normal = np.matmul(jacobian.transpose(0, 2, 1), jacobian)
        gradient = np.matmul(jacobian.transpose(0, 2, 1), residual[..., None])
        diagonal = np.einsum("kii->ki", normal) + 1e-9
        system = normal + (damping[active, None] * diagonal)[:, :, None] * np.eye(4)
        proposal = params - _solve_each(system, gradient)
        trial = residuals(proposal, active)
        trial_cost = np.sum(trial**2, axis=1)
        better = trial_cost < cost[active]
        gain = np.where(better, (cost[active] - trial_cost) / np.maximum(cost[active], 1e-12), 0.0)
        moved = active[better]
        free[moved], current[moved], cost[moved] = proposal[better], trial[better], trial_cost[better]
        damping[active] = np.where(better, damping[active] * 0.3, damping[active] * 10.0)
        done = (better & (gain < 1e-5)) | (damping[active] > 1e6)
        active = active[~done]
        if not len(active):
            break
        # The moved blobs' residuals are their trial's; a rejected step leaves the Jacobian as it was.
        refresh = np.intersect1d(moved, active, assume_unique=True)
        if len(refresh):
            jacobians[refresh] = residuals_and_jacobian(free[refresh], refresh)[1]
    cx, cy, half, edge = _unpack(free)
    fitted_area = np.maximum((weight * outline_coverage(shape, xs, ys, cx, cy, half, edge)).sum(axis=1), 1.0)
    errors = cost / fitted_area
    return [((float(cx[k, 0]), float(cy[k, 0]), float(half[k, 0]), float(edge[k, 0])), float(errors[k]))
            for k in range(len(blobs))]


def _solve_each(systems, gradients):
    """x [K, 4] with systems[k] @ x[k] = gradients[k] [K, 4, 1]; a system singular to working precision
    (a blob whose Jacobian lost a column, seen once in a notebook run) takes its least-squares step
    instead of failing the whole batch."""
    try:
        return np.linalg.solve(systems, gradients)[..., 0]
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.lstsq(system, gradient, rcond=None)[0][:, 0]
                         for system, gradient in zip(systems, gradients)])


def _start(shape, matte, weight, xs, ys):
    """Starting free parameters [K, 4]: the matte's centroid and area, as this outline would have them."""
    clipped = np.clip(matte, 0.0, 1.0) * weight
    area = np.maximum(clipped.sum(axis=1), 1.0)
    cx, cy = (clipped * xs).sum(axis=1) / area, (clipped * ys).sum(axis=1) / area
    half = np.sqrt(area / _AREA_FACTOR[shape])
    if shape == "triangle":  # the centroid lies a third of the half-extent below the box centre
        cy = cy - half / 3.0
    start_edge = (0.6 - MIN_EDGE_WIDTH) / (MAX_EDGE_WIDTH - MIN_EDGE_WIDTH)
    return np.stack([cx, cy, np.log(np.maximum(half, 1.0)), np.full_like(cx, special.logit(start_edge))], axis=1)


def _nearest(value, nominal, tolerance):
    name = min(nominal, key=lambda n: abs(nominal[n] - value))
    return name if abs(nominal[name] - value) <= tolerance else None


def _cell(centre):
    centres = np.asarray(CELL_CENTRES, np.float64)
    column, row = (int(np.argmin(np.abs(centres - v))) for v in centre)
    if max(abs(centre[0] - centres[column]), abs(centre[1] - centres[row])) > CELL_TOLERANCE:
        return None
    return row * 3 + column


# === Scoring ===
def reader_scores(readings, objects_per_scene):
    """Fractions right of N read images against their scenes' objects.

    Args:
        readings: `read_images(...)` output, a list of N lists of `ReadObject`.
        objects_per_scene: N lists of object dicts with `colour`, `shape`, `size` names and
            a `cell` (int) or `position` (name), as `scene(...)["objects"]` gives them.

    Returns:
        dict, over objects: `colour`, `shape`, `size` (the one object read in the object's
        cell has it), `position` (exactly one object is read in its cell), `colour+shape`,
        `object` (all four right), and `object_small` / `object_large` (`object` over the
        objects of that size; nan if there are none); over scenes: `scene` (all objects
        right, nothing else read).

    Example:
        >>> reader_scores([[]], [[{"colour": "red", "shape": "circle", "size": "small", "cell": 0}]])["scene"]
        0.0
    """
    verdicts = object_verdicts(readings, objects_per_scene)
    flat = [(true, verdict) for scene, truth in zip(verdicts, objects_per_scene)
            for true, verdict in zip(truth, scene["objects"])]
    scores = {key: _mean([v[key] for _, v in flat]) for key in ("colour", "shape", "size", "position", "object")}
    scores["colour+shape"] = _mean([v["colour"] and v["shape"] for _, v in flat])
    for size in SIZE_NAMES:
        scores[f"object_{size}"] = _mean([v["object"] for true, v in flat if true["size"] == size])
    scores["scene"] = _mean([scene["scene"] for scene in verdicts])
    return scores


def _mean(values):
    return float(np.mean(values)) if len(values) else float("nan")


def object_verdicts(readings, objects_per_scene):
    """Per scene, each true object's verdict ({colour, shape, size, position, object: bool}) and the scene's.

    Also returns, per scene, `extra`: the read objects that match no true object (another
    cell, no cell, or a second object in a true object's cell).
    """
    if len(readings) != len(objects_per_scene):
        raise ValueError(f"{len(readings)} readings but {len(objects_per_scene)} scenes; give one of each per image.")
    out = []
    for read, truth in zip(readings, objects_per_scene):
        by_cell = {}
        for obj in read:
            by_cell.setdefault(obj.cell, []).append(obj)
        verdicts = []
        for true in truth:
            cell = true["cell"] if "cell" in true else POSITION_NAMES.index(true["position"])
            found = by_cell.get(cell, [])
            one = found[0] if len(found) == 1 else None
            verdict = {key: one is not None and getattr(one, key) == true[key] for key in ("colour", "shape", "size")}
            verdict["position"] = one is not None
            verdict["object"] = all(verdict.values())
            verdicts.append(verdict)
        true_cells = {t["cell"] if "cell" in t else POSITION_NAMES.index(t["position"]) for t in truth}
        extra = [obj for obj in read if obj.cell not in true_cells] + [
            obj for cell in true_cells for obj in by_cell.get(cell, [])[1:]]
        out.append({"objects": verdicts, "extra": extra,
                    "scene": all(v["object"] for v in verdicts) and not extra})
    return out
