"""COCO captions loader: real coco-mini checks and bad-input checks on tmp_path fixtures."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from zoo.data.coco import coco_captions, read_annotations
from zoo.data.errors import DataError

COCO_MINI = Path(__file__).resolve().parents[3] / "shared" / "data" / "coco-mini"
needs_coco_mini = pytest.mark.skipif(not COCO_MINI.is_dir(), reason=f"real test data not found at {COCO_MINI}")

CAPTIONS = ["a red square.", "a red box on white.", "red.", "a square, red.", "one red square."]


def _json_index(split):
    data = json.loads((COCO_MINI / f"captions_{split}2017.json").read_text())
    by_image = {image["id"]: [] for image in data["images"]}
    for annotation in sorted(data["annotations"], key=lambda a: a["id"]):
        by_image[annotation["image_id"]].append(annotation["caption"])
    return data, by_image


def write_coco(root: Path, images=None, annotations=None, split="train", image_dir="images", size=(6, 4)):
    """A small COCO-layout folder: one red JPEG with five captions unless told otherwise."""
    (root / image_dir).mkdir(parents=True, exist_ok=True)
    if images is None:
        images = [{"id": 1, "file_name": "a.jpg", "height": size[1], "width": size[0]}]
        Image.new("RGB", size, (255, 0, 0)).save(root / image_dir / "a.jpg")
    if annotations is None:
        annotations = [{"id": 10 + i, "image_id": 1, "caption": c} for i, c in enumerate(CAPTIONS)]
    path = root / f"captions_{split}2017.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return root


@needs_coco_mini
@pytest.mark.parametrize("split", ["train", "val"])
def test_coco_mini_counts_and_captions_match_the_json(split):
    data, by_image = _json_index(split)
    pairs = read_annotations(COCO_MINI, split)
    assert len(pairs) == len(data["images"])
    assert sum(len(captions) for _, captions in pairs) == len(data["annotations"]) == 5 * len(pairs)
    for image, (path, captions) in zip(data["images"], pairs):
        assert Path(path) == COCO_MINI / "images" / image["file_name"]
        assert list(captions) == by_image[image["id"]][:5]


@needs_coco_mini
def test_coco_mini_dataset_decodes_images_at_their_json_size():
    data, by_image = _json_index("val")
    dataset = coco_captions(COCO_MINI, "validation")
    assert dataset.element_spec["image"].shape.as_list() == [None, None, 3]
    assert dataset.element_spec["captions"].shape.as_list() == [5]
    examples = list(dataset.as_numpy_iterator())
    assert len(examples) == len(data["images"])
    for image, example in zip(data["images"], examples):
        assert example["id"].decode() == image["file_name"]
        assert example["image"].dtype == np.uint8
        assert example["image"].shape == (image["height"], image["width"], 3)
        assert [c.decode() for c in example["captions"]] == by_image[image["id"]][:5]
    pil = np.asarray(Image.open(COCO_MINI / "images" / data["images"][0]["file_name"]).convert("RGB"))
    np.testing.assert_array_equal(examples[0]["image"], pil)  # same pixels as PIL, not TF's fast IDCT


def test_grayscale_jpeg_becomes_rgb(tmp_path):
    write_coco(tmp_path)
    Image.new("L", (6, 4), 200).save(tmp_path / "images" / "a.jpg")
    example = next(coco_captions(tmp_path).as_numpy_iterator())
    assert example["image"].shape == (4, 6, 3)


def test_png_with_alpha_becomes_rgb(tmp_path):
    write_coco(tmp_path, images=[{"id": 1, "file_name": "sub/a.png"}])
    (tmp_path / "images" / "sub").mkdir()
    Image.new("LA", (3, 2), (90, 128)).save(tmp_path / "images" / "sub" / "a.png")
    example = next(coco_captions(tmp_path).as_numpy_iterator())
    assert example["id"] == b"a.png"
    np.testing.assert_array_equal(example["image"], np.full((2, 3, 3), 90, np.uint8))


def test_official_layout_annotations_folder_and_split_images(tmp_path):
    write_coco(tmp_path, split="val", image_dir="val2017")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "captions_val2017.json").rename(tmp_path / "annotations" / "captions_val2017.json")
    [(path, captions)] = read_annotations(tmp_path, "val")
    assert Path(path) == tmp_path / "val2017" / "a.jpg" and list(captions) == CAPTIONS


def test_explicit_annotation_file_and_image_dir(tmp_path):
    write_coco(tmp_path / "data", image_dir="jpegs")
    pairs = read_annotations(
        tmp_path, annotation_file=tmp_path / "data" / "captions_train2017.json", image_dir="data/jpegs"
    )
    assert Path(pairs[0].path) == tmp_path / "data" / "jpegs" / "a.jpg"


def test_first_captions_by_annotation_id(tmp_path):
    annotations = [{"id": 100 - i, "image_id": 1, "caption": f"caption {100 - i}"} for i in range(7)]
    write_coco(tmp_path, annotations=annotations)
    [(_, captions)] = read_annotations(tmp_path)
    assert list(captions) == [f"caption {i}" for i in range(94, 99)]


def test_images_with_too_few_captions_are_skipped_with_a_warning(tmp_path):
    write_coco(tmp_path)
    Image.new("RGB", (5, 5)).save(tmp_path / "images" / "b.jpg")
    data = json.loads((tmp_path / "captions_train2017.json").read_text())
    data["images"].append({"id": 2, "file_name": "b.jpg"})
    data["annotations"].append({"id": 99, "image_id": 2, "caption": "only one"})
    (tmp_path / "captions_train2017.json").write_text(json.dumps(data))
    with pytest.warns(UserWarning, match="skipped 1 image"):
        pairs = read_annotations(tmp_path)
    assert [Path(p).name for p, _ in pairs] == ["a.jpg"]
    assert len(read_annotations(tmp_path, num_captions=1)) == 2
    with pytest.warns(UserWarning), pytest.raises(DataError, match="no image has 6 captions"):
        read_annotations(tmp_path, num_captions=6)


def test_missing_root(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        coco_captions(tmp_path / "nowhere")


def test_missing_annotation_file(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="captions_train2017.json"):
        coco_captions(tmp_path)
    with pytest.raises(DataError, match="not found"):
        coco_captions(tmp_path, annotation_file="other.json")


def test_missing_image_folder(tmp_path):
    write_coco(tmp_path, image_dir="elsewhere")
    with pytest.raises(DataError, match="no COCO image folder"):
        read_annotations(tmp_path)
    with pytest.raises(DataError, match="image_dir 'absent' is not a directory"):
        read_annotations(tmp_path, image_dir="absent")


def test_unknown_split(tmp_path):
    write_coco(tmp_path)
    with pytest.raises(DataError, match="unknown COCO split 'test'.*'train', 'val'"):
        coco_captions(tmp_path, split="test")


def test_not_json(tmp_path):
    write_coco(tmp_path)
    (tmp_path / "captions_train2017.json").write_text("{images: [")
    with pytest.raises(DataError, match="not valid JSON"):
        coco_captions(tmp_path)


@pytest.mark.parametrize("content", [{"images": []}, {"annotations": []}, [1, 2], {"images": {}, "annotations": []}])
def test_json_without_images_and_annotations_lists(tmp_path, content):
    write_coco(tmp_path)
    (tmp_path / "captions_train2017.json").write_text(json.dumps(content))
    with pytest.raises(DataError, match="lacks the 'images' and 'annotations' lists"):
        coco_captions(tmp_path)


def test_annotation_naming_an_unknown_image_id(tmp_path):
    write_coco(tmp_path)
    data = json.loads((tmp_path / "captions_train2017.json").read_text())
    data["annotations"].append({"id": 7, "image_id": 42, "caption": "ghost"})
    (tmp_path / "captions_train2017.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match="image id 42, which is not in 'images'"):
        coco_captions(tmp_path)


def test_image_file_that_does_not_exist(tmp_path):
    write_coco(tmp_path, images=[{"id": 1, "file_name": "missing.jpg"}])
    with pytest.raises(DataError, match="names image 'missing.jpg'.*does not exist"):
        coco_captions(tmp_path)


@pytest.mark.parametrize("file_name", ["../x.jpg", "sub/../../x.jpg", "/etc/x.jpg", "C:\\x.jpg", "..\\x.jpg", ""])
def test_file_name_escaping_the_image_folder(tmp_path, file_name):
    write_coco(tmp_path / "coco", images=[{"id": 1, "file_name": file_name}])
    Image.new("RGB", (4, 4)).save(tmp_path / "x.jpg")  # exists, so only the escape check can stop it
    with pytest.raises(DataError, match="not inside the image folder"):
        coco_captions(tmp_path / "coco")


def test_corrupt_image_is_caught_at_construction(tmp_path):
    write_coco(tmp_path)
    (tmp_path / "images" / "a.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(DataError, match="cannot be read"):
        coco_captions(tmp_path)
    coco_captions(tmp_path, validate=False)  # documented: only existence is checked


def test_truncated_jpeg_needs_full_validation(tmp_path):
    write_coco(tmp_path)
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "images" / "a.jpg", quality=95)
    data = (tmp_path / "images" / "a.jpg").read_bytes()
    (tmp_path / "images" / "a.jpg").write_bytes(data[: len(data) // 2])
    read_annotations(tmp_path, validate=True)  # the header alone looks fine
    with pytest.raises(DataError, match="cannot be read"):
        read_annotations(tmp_path, validate="full")
    # Not validated in full, it is named when it is decoded.
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"zoo.data: image file.*a\.jpg.*is truncated"):
        next(iter(coco_captions(tmp_path)))


def test_jpeg_with_bytes_after_its_end_marker_still_decodes(tmp_path):
    write_coco(tmp_path)
    path = tmp_path / "images" / "a.jpg"
    path.write_bytes(path.read_bytes() + b"\0" * 100)  # padding some cameras write
    assert next(iter(coco_captions(tmp_path)))["image"].shape == (4, 6, 3)


@pytest.mark.parametrize("caption", ["", "   \n", None, 3])
def test_empty_caption(tmp_path, caption):
    annotations = [{"id": i, "image_id": 1, "caption": c} for i, c in enumerate(CAPTIONS[:4] + [caption])]
    write_coco(tmp_path, annotations=annotations)
    with pytest.raises(DataError, match="annotation 4 has an empty or missing caption"):
        coco_captions(tmp_path)


@pytest.mark.parametrize("bad", [{"num_captions": 0}, {"validate": "yes"}])
def test_bad_arguments(tmp_path, bad):
    write_coco(tmp_path)
    with pytest.raises(DataError, match="must be"):
        coco_captions(tmp_path, **bad)
