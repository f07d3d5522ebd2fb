"""The strict `shapes` reader: exact on the spec's renders, robust to blur and noise, strict on everything else.

The morphs are drawn here by an independent renderer (supersampled like the spec, with
its background and noise), so the reader is checked on shapes the project never rendered.
"""

import numpy as np
import pytest
from scipy import ndimage

from zoo.data import shapes
from zoo.metrics.shapes_reader import (
    object_verdicts,
    outline_coverage,
    outline_coverage_and_jacobian,
    read_image,
    read_images,
    reader_scores,
)

SPLIT_SCENES = 30  # per split


def _scenes(split, count, start=0, image_size=64):
    scenes = [shapes.scene(split, i, image_size=image_size) for i in range(start, start + count)]
    return np.stack([s["image"] for s in scenes]), [s["objects"] for s in scenes]


def _degrade(images, blur, noise, seed=0):
    rng = np.random.default_rng(seed)
    out = [ndimage.gaussian_filter(image.astype(np.float64), (blur, blur, 0)) + rng.normal(0, noise, image.shape)
           for image in images]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# === An independent renderer of arbitrary outlines ===
def _superellipse(exponent):
    return lambda dx, dy, half: (np.abs(dx) / half) ** exponent + (np.abs(dy) / half) ** exponent <= 1.0


def _rotated_square(degrees):
    angle = np.deg2rad(degrees)

    def inside(dx, dy, half):  # the same bounding box as the unrotated square
        side = half / (np.cos(angle) + np.sin(angle))
        u, v = dx * np.cos(angle) + dy * np.sin(angle), -dx * np.sin(angle) + dy * np.cos(angle)
        return (np.abs(u) <= side) & (np.abs(v) <= side)

    return inside


def _render_outline(inside, extent, colour="red", centre=(32.0, 32.0), seed=0):
    rng = np.random.default_rng(seed)
    fine = (np.arange(64 * 4) + 0.5) / 4
    x, y = np.meshgrid(fine, fine)
    cover = inside(x - centre[0], y - centre[1], extent / 2).reshape(64, 4, 64, 4).mean(axis=(1, 3))[..., None]
    top, bottom = rng.integers(0, 61, size=(2, 3)).astype(np.float64)
    image = top + (bottom - top) * np.linspace(0, 1, 64)[:, None, None]
    image = image * (1 - cover) + np.array(shapes.COLOURS[colour], np.float64) * cover
    image += rng.normal(0, 3, image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _read_one(inside, extent, seed):
    colour = shapes.COLOUR_NAMES[seed % 8]
    offset = np.random.default_rng(seed).uniform(-2, 2, size=2)
    read = read_image(_render_outline(inside, extent, colour, centre=tuple(32 + offset), seed=seed))
    assert len(read) == 1
    return read[0]


# === Clean and degraded renders ===
@pytest.mark.parametrize("split", sorted(shapes.SPLITS))
def test_every_attribute_right_on_clean_renders(split):
    images, truth = _scenes(split, SPLIT_SCENES)
    scores = reader_scores(read_images(images), truth)
    assert scores["scene"] == 1.0 and scores["object"] == 1.0, scores


@pytest.mark.parametrize("image_size", [32, 128])
def test_other_image_sizes_read_as_the_64_pixel_geometry(image_size):
    images, truth = _scenes("test", 12, image_size=image_size)
    assert reader_scores(read_images(images), truth)["scene"] == 1.0


@pytest.mark.parametrize("blur, noise, least", [(1.0, 5.0, 0.99), (1.5, 0.0, 0.95), (1.5, 5.0, 0.95)])
def test_blur_and_noise_do_not_change_the_reading(blur, noise, least):
    images, truth = _scenes("test", 60, start=100)
    scores = reader_scores(read_images(_degrade(images, blur, noise)), truth)
    assert scores["object"] >= least and scores["scene"] >= least, scores


# === Morphs between two classes: the nearer class, or ambiguous ===
@pytest.mark.parametrize("extent", [14, 24])
def test_circle_to_square_morph(extent):
    for exponent in (2.0, 2.3, 5.0, 8.0, 12.0):
        read = _read_one(_superellipse(exponent), extent, seed=int(exponent * 10) + extent)
        nearer = "circle" if exponent < 3.5 else "square"
        assert read.shape in (nearer, None), (exponent, read.label(), read.shape_errors)
    assert _read_one(_superellipse(2.0), extent, seed=1).shape == "circle"
    assert _read_one(_superellipse(12.0), extent, seed=2).shape == "square"


@pytest.mark.parametrize("extent", [13, 14, 15, 23, 24, 25])
def test_a_rounded_square_is_neither_a_confident_square_nor_circle(extent):
    for exponent in (3.0, 3.25, 3.5, 3.75, 4.0):
        for seed in range(2):
            read = _read_one(_superellipse(exponent), extent, seed=seed * 1000 + int(exponent * 100) + extent)
            assert read.shape not in ("square", "circle"), (exponent, read.label(), read.shape_errors)


@pytest.mark.parametrize("extent", [14, 24])
def test_circle_to_diamond_morph(extent):
    for exponent in (1.0, 1.1, 1.3, 1.5, 1.7, 1.9, 2.0):
        read = _read_one(_superellipse(exponent), extent, seed=int(exponent * 10) + extent)
        nearer = "diamond" if exponent < 1.45 else "circle"
        assert read.shape in (nearer, None), (exponent, read.label(), read.shape_errors)


@pytest.mark.parametrize("extent", [14, 24])
def test_square_to_diamond_rotation(extent):
    for degrees in (0, 5, 10, 15, 20, 22.5, 25, 30, 35, 40, 45):
        read = _read_one(_rotated_square(degrees), extent, seed=int(degrees * 2) + extent)
        allowed = {"square", None} if degrees < 22.5 else {"diamond", None} if degrees > 22.5 else {None}
        assert read.shape in allowed, (degrees, read.label(), read.shape_errors)
    assert _read_one(_rotated_square(0), extent, seed=3).shape == "square"
    assert _read_one(_rotated_square(45), extent, seed=4).shape == "diamond"


def test_small_rounded_blobs_in_place_of_squares_and_diamonds_are_not_right():
    """What the learned probe let through: small squares and diamonds drawn as rounded blobs."""
    scenes = [shapes.scene("test", i) for i in range(200)]
    small = [(s, o) for s in scenes for o in s["objects"]
             if o["size"] == "small" and o["shape"] in ("square", "diamond")][:12]
    for index, (scene, obj) in enumerate(small):
        blob = _superellipse(3.0 if obj["shape"] == "square" else 1.6)
        x0, y0, x1, y1 = obj["bbox"]
        image = _render_outline(blob, 14, obj["colour"], centre=((x0 + x1) / 2, (y0 + y1) / 2), seed=index)
        verdict = object_verdicts([read_image(image)], [[obj]])[0]
        assert verdict["objects"][0]["colour"] and verdict["objects"][0]["position"]
        assert not verdict["objects"][0]["shape"] and not verdict["scene"]


# === Scenes: extra, missing and misplaced objects ===
RED_CIRCLE = {"colour": "red", "shape": "circle", "size": "large", "cell": 0}
BLUE_SQUARE = {"colour": "blue", "shape": "square", "size": "small", "cell": 8}


def test_extra_missing_and_misplaced_objects_count_against_the_scene():
    two = read_image(shapes.render([RED_CIRCLE, BLUE_SQUARE], seed=1))
    one = read_image(shapes.render([RED_CIRCLE], seed=2))
    assert reader_scores([two], [[RED_CIRCLE, BLUE_SQUARE]])["scene"] == 1.0
    extra = reader_scores([two], [[RED_CIRCLE]])
    assert extra["object"] == 1.0 and extra["scene"] == 0.0
    missing = reader_scores([one], [[RED_CIRCLE, BLUE_SQUARE]])
    assert missing["object"] == 0.5 and missing["position"] == 0.5 and missing["scene"] == 0.0
    moved = reader_scores([two], [[RED_CIRCLE, dict(BLUE_SQUARE, cell=6)]])
    assert moved["object"] == 0.5 and moved["scene"] == 0.0


def test_an_object_between_cells_has_no_cell():
    image = _render_outline(_superellipse(2.0), 24, "green", centre=(24.0, 32.0), seed=5)
    (read,) = read_image(image)
    assert read.cell is None and read.shape == "circle"
    assert reader_scores([[read]], [[{"colour": "green", "shape": "circle", "size": "large", "cell": 3}]])["scene"] == 0.0


def test_a_wrong_size_and_an_off_palette_colour_are_ambiguous():
    (between,) = read_image(_render_outline(_superellipse(2.0), 19, "red", seed=6))
    assert between.size is None and between.shape == "circle"
    image = _render_outline(_superellipse(2.0), 24, "red", seed=7)
    brown = np.where(image.max(axis=-1, keepdims=True) > 150, np.array([150, 110, 60], np.uint8), image)
    (off,) = read_image(brown)
    assert off.colour is None and off.label().startswith("large ? circle")


def test_a_component_larger_than_any_object_has_no_shape_size_or_cell():
    # A square whose side is 52 px (2704 px, past MAX_OBJECT_AREA) centred in the centre cell; a 48 px one is fitted.
    (huge,) = read_image(_render_outline(_superellipse(40.0), 52, "blue", seed=9))
    assert (huge.colour, huge.shape, huge.size, huge.cell) == ("blue", None, None, None)
    assert huge.shape_errors == {} and huge.centre == pytest.approx((32.0, 32.0), abs=0.5)
    (fitted,) = read_image(_render_outline(_superellipse(40.0), 48, "blue", seed=9))
    assert fitted.shape_errors and fitted.size is None and fitted.cell == 4
    assert reader_scores([[huge]], [[{"colour": "blue", "shape": "square", "size": "large", "cell": 4}]]) \
        ["position"] == 0.0


def test_an_empty_image_reads_nothing_and_bad_input_is_refused():
    background = _render_outline(lambda dx, dy, half: np.zeros_like(dx, bool), 14, seed=8)
    assert read_image(background) == []
    assert reader_scores([[]], [[RED_CIRCLE]])["scene"] == 0.0
    with pytest.raises(ValueError, match="uint8"):
        read_images(np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(ValueError, match=r"\[N, S, S, 3\]"):
        read_images(np.zeros((1, 64, 64, 1), np.uint8))


@pytest.mark.parametrize("shape", shapes.SHAPE_NAMES)
def test_outline_jacobians_match_central_differences(shape):
    """The outline fit's exact Jacobian by (cx, cy, half, edge) against central differences."""
    rng = np.random.default_rng(0)
    ys, xs = (np.broadcast_to(grid.ravel() + 0.5, (6, 900)) for grid in np.mgrid[0:30, 0:30])
    params = np.stack([rng.uniform(10, 20, 6), rng.uniform(10, 20, 6), rng.uniform(2, 10, 6), rng.uniform(0.1, 3, 6)])
    params[:, 0] = (15.5, 15.5, 5.0, 0.5)  # a circle centred on a pixel centre: radius 0 there
    value, jacobian = outline_coverage_and_jacobian(shape, xs, ys, *params[:, :, None])
    np.testing.assert_allclose(value, outline_coverage(shape, xs, ys, *params[:, :, None]), atol=1e-12)
    h = 1e-6
    for k in range(4):
        up, down = params.copy(), params.copy()
        up[k] += h
        down[k] -= h
        central = (outline_coverage(shape, xs, ys, *up[:, :, None])
                   - outline_coverage(shape, xs, ys, *down[:, :, None])) / (2 * h)
        if shape == "circle":  # not differentiable by the centre at the centre itself
            central[0, (xs[0] == 15.5) & (ys[0] == 15.5)] = 0.0
        np.testing.assert_allclose(jacobian[..., k], central, atol=1e-6)


def test_a_singular_fit_step_takes_least_squares_and_leaves_the_other_blobs_exact():
    from zoo.metrics.shapes_reader import _solve_each

    rng = np.random.default_rng(0)
    jacobians = rng.normal(size=(3, 20, 4))
    jacobians[1, :, 2] = 0.0  # a blob whose Jacobian lost a column: its normal matrix is singular
    systems = np.matmul(jacobians.transpose(0, 2, 1), jacobians)
    gradients = rng.normal(size=(3, 4, 1))
    gradients[1, 2] = 0.0
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.solve(systems, gradients)
    steps = _solve_each(systems, gradients)
    assert np.allclose(steps[[0, 2]], np.linalg.solve(systems[[0, 2]], gradients[[0, 2]])[..., 0])
    assert np.allclose(systems[1] @ steps[1], gradients[1, :, 0]) and steps[1, 2] == pytest.approx(0.0)
