"""pix2pix paired-image loader: real facades checks and bad-input checks on tmp_path fixtures."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.data.errors import DataError
from zoo.data.pix2pix import pair_files, paired_images

FACADES = Path(__file__).resolve().parents[3] / "shared" / "data" / "facades"
needs_facades = pytest.mark.skipif(not FACADES.is_dir(), reason=f"real test data not found at {FACADES}")


def colour_concentration(image: np.ndarray, top: int = 64) -> float:
    """Share of pixels whose exact colour is among the `top` most frequent ones.

    A label map is a few flat colours, so its pixels pile up on few colour values. A
    plain count of unique colours does not tell the halves apart on these JPEGs: the
    compression rings around every label edge in many hues, while photos are mostly grey.
    """
    codes = image.astype(np.int64) @ np.array([65536, 256, 1])
    _, counts = np.unique(codes, return_counts=True)
    return np.sort(counts)[::-1][:top].sum() / codes.size


def write_pairs(root: Path, split="train", sizes=((8, 4),)):
    (root / split).mkdir(parents=True, exist_ok=True)
    for index, size in enumerate(sizes, start=1):
        Image.new("RGB", size, (index, 0, 0)).save(root / split / f"{index}.png")
    return root


@needs_facades
@pytest.mark.parametrize("split, count", [("train", 400), ("test", 106)])
def test_facades_counts_shapes_and_natural_order(split, count):
    dataset = paired_images(FACADES, split)
    assert dataset.element_spec["image"].shape.as_list() == [256, 256, 3]
    assert dataset.element_spec["label_map"].shape.as_list() == [256, 256, 3]
    assert int(dataset.cardinality()) == count
    assert [p.name for p in pair_files(FACADES, split)[:3]] == ["1.jpg", "2.jpg", "3.jpg"]


@needs_facades
def test_facades_label_map_is_the_right_half_with_few_colours():
    examples = list(paired_images(FACADES, "train").take(10).as_numpy_iterator())
    for example in examples:
        assert example["image"].shape == example["label_map"].shape == (256, 256, 3)
        assert example["image"].dtype == example["label_map"].dtype == np.uint8
        pair = np.asarray(Image.open(FACADES / "train" / example["id"].decode()))
        np.testing.assert_array_equal(example["label_map"], pair[:, 256:])  # decoded as PIL does
        np.testing.assert_array_equal(example["image"], pair[:, :256])
        assert colour_concentration(example["label_map"]) > colour_concentration(example["image"])


@needs_facades
def test_input_side_left_swaps_the_halves():
    right = next(paired_images(FACADES, "test", input_side="right").as_numpy_iterator())
    left = next(paired_images(FACADES, "test", input_side="left").as_numpy_iterator())
    np.testing.assert_array_equal(left["image"], right["label_map"])
    np.testing.assert_array_equal(left["label_map"], right["image"])


@needs_facades
def test_resize_keeps_label_colours_exact():
    full = next(paired_images(FACADES, "test").as_numpy_iterator())
    small = next(paired_images(FACADES, "test", image_size=64).as_numpy_iterator())
    assert small["image"].shape == small["label_map"].shape == (64, 64, 3)
    colours = lambda a: {tuple(c) for c in a.reshape(-1, 3)}  # noqa: E731
    assert colours(small["label_map"]) <= colours(full["label_map"])


def test_non_square_halves_and_rectangular_resize(tmp_path):
    write_pairs(tmp_path, sizes=((10, 3),))
    example = next(paired_images(tmp_path, input_side="left").as_numpy_iterator())
    assert example["image"].shape == example["label_map"].shape == (3, 5, 3)
    assert paired_images(tmp_path, image_size=(2, 4)).element_spec["image"].shape.as_list() == [2, 4, 3]


def test_files_of_different_sizes_give_a_dynamic_shape(tmp_path):
    write_pairs(tmp_path, sizes=((8, 4), (6, 3)))
    dataset = paired_images(tmp_path)
    assert dataset.element_spec["image"].shape.as_list() == [None, None, 3]
    assert [e["image"].shape for e in dataset.as_numpy_iterator()] == [(4, 4, 3), (3, 3, 3)]


def test_missing_root(tmp_path):
    with pytest.raises(DataError, match="pix2pix root .* does not exist"):
        paired_images(tmp_path / "nowhere")


def test_unknown_split(tmp_path):
    write_pairs(tmp_path, "train")
    write_pairs(tmp_path, "test")
    with pytest.raises(DataError, match="unknown pix2pix split 'val'.*accepted: 'test', 'train'"):
        paired_images(tmp_path, "val")


def test_odd_width(tmp_path):
    write_pairs(tmp_path, sizes=((8, 4), (9, 4)))
    with pytest.raises(DataError, match="9 pixels wide, which is odd.*even width"):
        paired_images(tmp_path)


def test_corrupt_file(tmp_path):
    write_pairs(tmp_path)
    (tmp_path / "train" / "1.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DataError, match="cannot be read"):
        paired_images(tmp_path)


def test_empty_split_folder(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="no images in"):
        paired_images(tmp_path)


@pytest.mark.parametrize("bad, match", [({"input_side": "top"}, "input_side"), ({"image_size": 0}, "image_size")])
def test_bad_arguments(tmp_path, bad, match):
    write_pairs(tmp_path)
    with pytest.raises(DataError, match=match):
        paired_images(tmp_path, **bad)


def test_random_jitter_crops_and_mirrors_both_halves_alike_and_differs_per_position(tmp_path):
    """A pair whose halves are the same picture stays a pair of equal halves after the jitter."""
    import zoo

    rng = np.random.default_rng(0)
    root = tmp_path / "pairs"
    (root / "train").mkdir(parents=True)
    for index in range(2):
        # Flat 8x8-pixel blocks: nearest and bilinear resizing agree away from the block edges.
        half = np.kron(rng.integers(0, 256, (4, 4, 3)), np.ones((8, 8, 1))).astype(np.uint8)
        Image.fromarray(np.concatenate([half, half], axis=1)).save(root / "train" / f"{index}.png")
    data = zoo.data.load("facades", split="train", path=str(root), image_size=32, batch_size=2, shuffle=False)
    batches = [next(iter(data.skip(k))) for k in range(3)]
    plain = next(iter(zoo.data.load("facades", split="train", path=str(root), image_size=32, batch_size=2,
                                    shuffle=False, augment=False)))
    for batch in batches:
        photo, label_map = np.round((batch["image"].numpy() + 1) * 127.5), batch["label_map"].numpy().astype(float)
        # Cropped and flipped alike: far closer than the same halves one pixel or a mirror apart.
        aligned = np.abs(photo - label_map).mean()
        assert aligned < 0.3 * np.abs(photo - np.roll(label_map, 1, axis=2)).mean(), aligned
        assert aligned < 0.3 * np.abs(photo - label_map[:, :, ::-1]).mean(), aligned
    crops = [np.round((b["image"].numpy() + 1) * 127.5) for b in batches]
    original = np.round((plain["image"].numpy() + 1) * 127.5)
    assert any(not np.allclose(c, original, atol=2) for c in crops)  # jittered: not the plain pair
    assert not np.allclose(crops[0], crops[1], atol=2)  # each position draws its own crop and flip
    with pytest.raises(DataError, match="augment applies to pix2pix pairs"):
        zoo.data.load("shapes", split="train", augment=True)
