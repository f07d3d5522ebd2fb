"""Caption parsing and alignment scores, on hand-written captions of the spec's templates."""

import numpy as np
import pytest

from zoo.metrics.alignment import GRID_KEYS, attribute_accuracy, caption_match, parse_caption

RED_CIRCLE = {"colour": "red", "shape": "circle", "size": "small", "cell": 0}
BLUE_SQUARE = {"colour": "blue", "shape": "square", "size": "large", "cell": 8}
GREEN_DIAMOND = {"colour": "green", "shape": "diamond", "size": "large", "cell": 1}
WHITE_TRIANGLE = {"colour": "white", "shape": "triangle", "size": "small", "cell": 7}


@pytest.mark.parametrize("caption", [
    "a small red circle in the top left corner",
    "there is a small red circle in the top left corner",
    "small red circle top left",
])
def test_parse_one_object_in_each_template(caption):
    assert parse_caption(caption) == [RED_CIRCLE]


@pytest.mark.parametrize("caption", [
    "a small red circle in the top left corner and a large blue square in the bottom right corner",
    "there is a small red circle in the top left corner and a large blue square in the bottom right corner",
    "small red circle top left and large blue square bottom right",
])
def test_parse_two_objects_in_each_template(caption):
    assert parse_caption(caption) == [RED_CIRCLE, BLUE_SQUARE]


def test_parse_every_position_phrase():
    phrases = ["in the top left corner", "at the top", "in the top right corner", "on the left",
               "in the center", "on the right", "in the bottom left corner", "at the bottom",
               "in the bottom right corner"]
    shorts = ["top left", "top", "top right", "left", "center", "right",
              "bottom left", "bottom", "bottom right"]
    for cell, (phrase, short) in enumerate(zip(phrases, shorts)):
        assert parse_caption(f"a large purple triangle {phrase}")[0]["cell"] == cell
        assert parse_caption(f"small cyan diamond {short}")[0]["cell"] == cell


def test_parse_ignores_case_and_extra_spaces_and_reads_bytes():
    assert parse_caption("  Small RED circle   top left ") == [RED_CIRCLE]
    assert parse_caption(b"small red circle top left") == [RED_CIRCLE]


@pytest.mark.parametrize("caption", [
    "",
    "a red circle in the top left corner",  # no size
    "a small red circle top left",  # template 1 object with a short position
    "small red circle in the top left corner",
    "a small red circle in the top left corner and large blue square bottom right",  # mixed
    "small red circle top left and large blue square bottom right and small red circle top",
    "small red circle top left and large blue square top left",  # two objects in one cell
    "a small pink circle in the center",
    "a small red circle in the middle",
])
def test_unparsable_captions_raise_or_give_none(caption):
    with pytest.raises(ValueError, match="Cannot parse"):
        parse_caption(caption)
    assert parse_caption(caption, strict=False) is None


def test_parse_reads_back_the_data_sets_own_captions():
    from zoo.data import shapes

    for index in range(10):
        scene = shapes.scene("test_compositional", index)
        truth = [{k: o[k] for k in ("colour", "shape", "size", "cell")} for o in scene["objects"]]
        for caption in scene["captions"]:
            assert parse_caption(caption) == truth


def grid_of(scenes):
    """A per-cell grid that reads exactly the given scenes (lists of object dicts)."""
    from zoo.data.shapes import COLOUR_NAMES, SHAPE_NAMES, SIZE_NAMES

    names = {"colour": COLOUR_NAMES, "shape": SHAPE_NAMES, "size": SIZE_NAMES}
    grid = {key: np.zeros((len(scenes), 3, 3), np.int64) for key in GRID_KEYS}
    for index, objects in enumerate(scenes):
        for obj in objects:
            row, column = divmod(obj["cell"], 3)
            for key, choices in names.items():
                grid[key][index, row, column] = choices.index(obj[key])
            grid["occupied"][index, row, column] = 1
    return grid


def test_attribute_accuracy_of_a_perfect_reading_is_one():
    scenes = [[RED_CIRCLE, BLUE_SQUARE], [GREEN_DIAMOND, WHITE_TRIANGLE], [WHITE_TRIANGLE]]
    scores = attribute_accuracy(grid_of(scenes), scenes)
    assert scores == {key: 1.0 for key in ("colour", "shape", "size", "position", "object", "scene")}


def test_attribute_accuracy_counts_each_kind_of_error():
    scenes = [[RED_CIRCLE, BLUE_SQUARE], [GREEN_DIAMOND], [WHITE_TRIANGLE]]
    grid = grid_of(scenes)
    grid["colour"][0, 2, 2] = 0  # the blue square reads red
    grid["occupied"][1, 1, 1] = 1  # an extra object in scene 1: its objects are right, the scene not
    grid["occupied"][2, 2, 1] = 0  # the white triangle is missing
    scores = attribute_accuracy(grid, scenes)
    assert scores["colour"] == pytest.approx(3 / 4)
    assert scores["shape"] == scores["size"] == 1.0  # the missing cell still holds the right values
    assert scores["position"] == pytest.approx(3 / 4)
    assert scores["object"] == pytest.approx(2 / 4)
    assert scores["scene"] == 0.0


def test_attribute_accuracy_takes_position_names_and_validates():
    by_name = [[{"colour": "red", "shape": "circle", "size": "small", "position": "top left"}]]
    assert attribute_accuracy(grid_of([[RED_CIRCLE]]), by_name)["scene"] == 1.0
    with pytest.raises(ValueError, match="unknown colour 'pink'"):
        attribute_accuracy(grid_of([[RED_CIRCLE]]), [[{**RED_CIRCLE, "colour": "pink"}]])
    with pytest.raises(ValueError, match="1 scenes but objects_per_scene holds 2"):
        attribute_accuracy(grid_of([[RED_CIRCLE]]), by_name * 2)
    with pytest.raises(ValueError, match="lacks"):
        attribute_accuracy({"colour": np.zeros((1, 3, 3))}, by_name)
    with pytest.raises(ValueError, match=r"\[N, 3, 3\]"):
        attribute_accuracy({key: np.zeros((1, 9)) for key in GRID_KEYS}, by_name)


def test_caption_match_scores_generated_captions():
    scenes = [[RED_CIRCLE, BLUE_SQUARE], [GREEN_DIAMOND], [WHITE_TRIANGLE], [RED_CIRCLE]]
    captions = [
        "large blue square bottom right and small red circle top left",  # order does not matter
        "there is a small green diamond at the top",  # wrong size
        "a small white triangle at the bottom and a large red circle at the top",  # an extra object
        "small red circle top left [END]",  # unparsable
    ]
    scores = caption_match(captions, scenes)
    assert scores["colour"] == scores["shape"] == pytest.approx(4 / 5)
    assert scores["size"] == pytest.approx(3 / 5)
    assert scores["position"] == pytest.approx(4 / 5)
    assert scores["object"] == pytest.approx(3 / 5)
    assert scores["scene"] == pytest.approx(1 / 4)
