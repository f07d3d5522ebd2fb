"""The rendered `shapes` scenes against shared/specs/shapes.md."""

import re
import subprocess
import sys

import numpy as np
import pytest

from zoo.data import shapes

SCENES = [shapes.scene("train", i) for i in range(60)]
COMPOSITIONAL = [shapes.scene("test_compositional", i) for i in range(60)]
POSITION_OF_CELL = dict(enumerate(shapes.POSITION_NAMES))


def test_scene_layout_and_dtypes():
    s = SCENES[0]
    assert s["image"].shape == (64, 64, 3) and s["image"].dtype == np.uint8
    assert s["label_map"].shape == (64, 64, 1) and s["label_map"].dtype == np.uint8
    assert len(s["captions"]) == 3 and all(isinstance(c, str) for c in s["captions"])
    assert set(s["objects"][0]) >= {"colour", "shape", "size", "position", "bbox"}


def test_same_scene_in_any_order_and_process():
    again = shapes.scene("train", 7)
    np.testing.assert_array_equal(again["image"], SCENES[7]["image"])
    code = "from zoo.data import shapes; import hashlib; print(hashlib.md5(shapes.scene('train', 7)['image'].tobytes()).hexdigest())"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    import hashlib

    assert other == hashlib.md5(SCENES[7]["image"].tobytes()).hexdigest()
    assert not np.array_equal(shapes.scene("test", 7)["image"], SCENES[7]["image"])


def test_object_counts_and_cells():
    counts = [len(s["objects"]) for s in SCENES]
    assert set(counts) == {1, 2}
    for s in SCENES:
        if len(s["objects"]) == 2:
            a, b = (o["cell"] for o in s["objects"])
            assert a < b, "first object is first in reading order"
            assert abs(a // 3 - b // 3) == 2 or abs(a % 3 - b % 3) == 2


def test_sizes_and_positions_within_jitter():
    for s in SCENES:
        for o in s["objects"]:
            x0, y0, x1, y1 = o["bbox"]
            nominal = shapes.SIZES[o["size"]]
            assert nominal - 1 <= x1 - x0 <= nominal + 3  # jitter +-1, rounded outward
            centre_x, centre_y = (x0 + x1) / 2, (y0 + y1) / 2
            cell_x, cell_y = shapes.CELL_CENTRES[o["cell"] % 3], shapes.CELL_CENTRES[o["cell"] // 3]
            assert abs(centre_x - cell_x) <= 3 and abs(centre_y - cell_y) <= 3
            assert o["position"] == POSITION_OF_CELL[o["cell"]]


def test_object_colours_within_jitter_and_label_map():
    for s in SCENES:
        for o in s["objects"]:
            index = shapes.COLOUR_NAMES.index(o["colour"]) + 1
            inside = s["label_map"][..., 0] == index
            assert inside.sum() > 50
            # Interior pixels (away from anti-aliased edges): colour +-10 jitter, +-3 sigma noise.
            mean = s["image"][_eroded(inside)].mean(axis=0)
            assert np.all(np.abs(mean - np.array(shapes.COLOURS[o["colour"]])) <= 10 + 3)
        assert set(np.unique(s["label_map"])) <= set(range(9))


def _eroded(region, steps=1):
    for _ in range(steps):
        padded = np.pad(region, 1)
        region = region & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return region


def test_background_gradient_range():
    for s in SCENES:
        background = s["image"][_eroded(s["label_map"][..., 0] == 0, steps=2)].astype(float)
        assert background.max() <= 60 + 4 * 3 and background.min() >= 0


def test_exact_caption_strings():
    s = SCENES[0]
    o = s["objects"]
    phrase = shapes.POSITION_PHRASES
    long = " and ".join(f"a {x['size']} {x['colour']} {x['shape']} {phrase[x['position']]}" for x in o)
    short = " and ".join(f"{x['size']} {x['colour']} {x['shape']} {x['position']}" for x in o)
    assert s["captions"] == [long, "there is " + long, short]
    for scene in SCENES:
        for caption in scene["captions"]:
            assert caption == caption.lower() and "  " not in caption and re.fullmatch(r"[a-z ]+", caption)


def test_spec_example_caption():
    objects = [{"size": "small", "colour": "red", "shape": "circle", "position": "top left"}]
    assert shapes.caption_texts(objects) == [
        "a small red circle in the top left corner",
        "there is a small red circle in the top left corner",
        "small red circle top left",
    ]


def test_held_out_pairs():
    for s in SCENES:
        assert not any((o["colour"], o["shape"]) in shapes.HELD_OUT_PAIRS for o in s["objects"])
    for s in COMPOSITIONAL:
        assert any((o["colour"], o["shape"]) in shapes.HELD_OUT_PAIRS for o in s["objects"])


def test_other_sizes_scale_the_geometry():
    small, big = shapes.scene("train", 3, image_size=32), shapes.scene("train", 3, image_size=128)
    assert small["image"].shape == (32, 32, 3) and big["image"].shape == (128, 128, 3)
    assert small["captions"] == big["captions"] == SCENES[3]["captions"]
    x0, _, x1, _ = big["objects"][0]["bbox"]
    assert abs((x1 - x0) - 2 * shapes.SIZES[big["objects"][0]["size"]]) <= 5


@pytest.mark.parametrize("seed", range(20))
def test_mask_kinds(seed):
    box = shapes.mask("box", seed)
    ys, xs = np.nonzero(box[..., 0])
    assert 16 <= xs.max() - xs.min() + 1 <= 32 and 16 <= ys.max() - ys.min() + 1 <= 32
    assert box.sum() == (xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)
    stroke = shapes.mask("stroke", seed)
    assert 0.10 <= stroke.mean() <= 0.50
    scene = SCENES[seed]
    hidden = shapes.mask("object", seed, scene=scene)
    covered = [o for o in scene["objects"] if hidden[o["bbox"][1]:o["bbox"][3], o["bbox"][0]:o["bbox"][2]].all()]
    assert covered, "an object mask hides a whole object"
    for m in (box, stroke, hidden):
        assert m.shape == (64, 64, 1) and m.dtype == np.uint8 and set(np.unique(m)) <= {0, 1}
    np.testing.assert_array_equal(shapes.mask("stroke", seed), stroke)


def test_training_mask_mix():
    kinds = []
    for seed in range(300):
        m = shapes.training_mask(seed, SCENES[seed % 60])
        kinds.append(m.sum())
    assert len(set(kinds)) > 100


def test_bad_input():
    with pytest.raises(ValueError, match="Unknown shapes split 'tain'"):
        shapes.scene("tain", 0)
    with pytest.raises(IndexError, match="outside split 'test'"):
        shapes.scene("test", 2000)
    with pytest.raises(ValueError, match="Unknown mask kind 'circle'"):
        shapes.mask("circle", 0)
    with pytest.raises(ValueError, match="needs the scene"):
        shapes.mask("object", 0)
