"""Hole-mask folder loader: real NVIDIA irregular masks and bad-input checks on tmp_path fixtures."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoo.data.errors import DataError
from zoo.data.mask_folder import HOLE_BINS, augment_mask, hole_masks, hole_ratio_bin, mask_files, read_mask

MASKS = Path(__file__).resolve().parents[3] / "shared" / "data" / "masks"
needs_masks = pytest.mark.skipif(not MASKS.is_dir(), reason=f"real test data not found at {MASKS}")


def write_mask(path: Path, pixels, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).convert(mode).save(path)
    return path


def square_hole(size=8, value=255):
    pixels = np.zeros((size, size), np.uint8)
    pixels[: size // 2, : size // 2] = value
    return pixels


@needs_masks
def test_nvidia_masks_are_binary_and_in_their_hole_ratio_bins():
    dataset = hole_masks(MASKS)
    assert dataset.element_spec["mask"].shape.as_list() == [512, 512, 1]
    count = 0
    for example in dataset.as_numpy_iterator():
        mask, number = example["mask"], int(example["id"].decode()[:5])
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
        low = number // 2000 / 10  # README: files 00000-01999 hide 0-10%, ... 10000-11999 50-60%
        assert low <= mask.mean() <= low + 0.1, example["id"]
        count += 1
    assert count == len(mask_files(MASKS)) == 600


@needs_masks
def test_read_mask_matches_the_dataset_and_resizes_with_nearest():
    assert 0 <= read_mask(MASKS / "00000.png").mean() <= 0.1
    assert 0.5 <= read_mask(MASKS / "10000.png").mean() <= 0.6
    first = next(hole_masks(MASKS, image_size=256, validate=False).as_numpy_iterator())
    small = read_mask(MASKS / "00000.png", image_size=256)
    assert small.shape == (256, 256, 1) and set(np.unique(small)) <= {0, 1}
    np.testing.assert_array_equal(first["mask"], small)
    assert abs(small.mean() - read_mask(MASKS / "00000.png").mean()) < 0.01


def test_black_holes_with_hole_value_zero(tmp_path):
    path = write_mask(tmp_path / "m.png", 255 - square_hole())
    assert read_mask(path, hole_value=0).mean() == 0.25
    assert read_mask(path).mean() == 0.75


def test_soft_edges_are_thresholded(tmp_path):
    pixels = square_hole(32)
    pixels[16, :16] = 200  # anti-aliased edge rows: a few grey pixels, on either side of 127
    pixels[17, :16] = 60
    mask = read_mask(write_mask(tmp_path / "m.png", pixels))
    assert mask[16, 0, 0] == 1 and mask[17, 0, 0] == 0


def test_one_bit_png(tmp_path):
    path = write_mask(tmp_path / "m.png", square_hole(), mode="1")
    assert Image.open(path).mode == "1"
    example = next(hole_masks(tmp_path).as_numpy_iterator())
    np.testing.assert_array_equal(example["mask"][..., 0], square_hole() // 255)


def test_masks_of_several_sizes_need_image_size(tmp_path):
    write_mask(tmp_path / "a.png", square_hole(8))
    write_mask(tmp_path / "b.png", square_hole(16))
    with pytest.raises(DataError, match="'b.png' is 16x16 but 'a.png' is 8x8.*image_size="):
        hole_masks(tmp_path)
    masks = [e["mask"] for e in hole_masks(tmp_path, image_size=4).as_numpy_iterator()]
    assert [m.shape for m in masks] == [(4, 4, 1)] * 2 and all(m.mean() == 0.25 for m in masks)


def test_missing_root_and_empty_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        hole_masks(tmp_path / "nowhere")
    (tmp_path / "readme.txt").write_text("not a mask")
    with pytest.raises(DataError, match="no mask images"):
        hole_masks(tmp_path)


def test_colour_mask_is_rejected(tmp_path):
    write_mask(tmp_path / "m.png", square_hole(), mode="RGB")
    with pytest.raises(DataError, match="mode 'RGB'; accepted: a single-channel image"):
        hole_masks(tmp_path)
    with pytest.raises(DataError, match="single-channel"):
        read_mask(tmp_path / "m.png")


def test_grey_image_is_not_binary(tmp_path):
    gradient = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))
    write_mask(tmp_path / "m.png", gradient)
    with pytest.raises(DataError, match="not binary"):
        hole_masks(tmp_path)
    hole_masks(tmp_path, validate=False)  # documented: the pixel check is what validate pays for


def test_zero_one_mask_names_the_fix(tmp_path):
    path = write_mask(tmp_path / "m.png", square_hole(value=1))
    with pytest.raises(DataError, match="0/1 values.*hole_value=1, threshold=0"):
        read_mask(path)
    assert read_mask(path, hole_value=1, threshold=0).mean() == 0.25


def test_corrupt_mask_file(tmp_path):
    (tmp_path / "m.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DataError, match="cannot be read"):
        hole_masks(tmp_path)


@pytest.mark.parametrize(
    "bad, match",
    [({"image_size": -1}, "image_size"), ({"hole_value": 127}, "hole_value"), ({"threshold": 300}, "threshold")],
)
def test_bad_arguments(tmp_path, bad, match):
    write_mask(tmp_path / "m.png", square_hole())
    with pytest.raises(DataError, match=match):
        hole_masks(tmp_path, **bad)


def test_read_mask_of_a_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_mask(tmp_path / "m.png")


@needs_masks
def test_test_masks_are_every_hundredth_file_and_never_train_masks():
    test = [p.name for p in mask_files(MASKS, split="test")]
    train = [p.name for p in mask_files(MASKS, split="train")]
    assert len(test) == 120 and len(train) == 480 and not set(test) & set(train)
    assert test[:3] == ["00000.png", "00100.png", "00200.png"] and all(int(n[:5]) % 100 == 0 for n in test)
    # 20 per hole-ratio bin, read from the pixels.
    bins = [hole_ratio_bin(read_mask(MASKS / name)) for name in test]
    assert [bins.count(b) for b in range(len(HOLE_BINS))] == [20] * 6
    assert [p.name for p in mask_files(MASKS)] == sorted(test + train)


def test_unnumbered_folders_hold_nothing_out_and_bad_splits_are_refused(tmp_path, caplog):
    for name in ("a.png", "b.png"):
        write_mask(tmp_path / name, square_hole())
    with caplog.at_level("WARNING", logger="zoo.data"):
        assert [p.name for p in mask_files(tmp_path, split="test")] == ["a.png", "b.png"]
    assert "no masks are held out" in caplog.text
    with pytest.raises(DataError, match="mask split 'val' is not one of"):
        mask_files(tmp_path, split="val")
    numbered = tmp_path / "numbered"
    write_mask(numbered / "00020.png", square_hole())
    with pytest.raises(DataError, match="no test masks: test masks are the files numbered in multiples of 100"):
        mask_files(numbered, split="test")


def test_augmented_masks_are_binary_seeded_and_varied():
    mask = np.zeros((64, 64, 1), np.uint8)
    mask[8:40, 16:24] = 1  # an off-centre bar: rotations and flips move it
    views = [augment_mask(mask, 0, position, 32).numpy() for position in range(8)]
    for view in views:
        assert view.shape == (32, 32, 1) and view.dtype == np.uint8 and set(np.unique(view)) <= {0, 1}
        assert view.any()
    np.testing.assert_array_equal(augment_mask(mask, 0, 3, 32).numpy(), views[3])
    assert len({view.tobytes() for view in views}) == 8
    assert not np.array_equal(augment_mask(mask, 1, 3, 32).numpy(), views[3])
    # A crop keeps 1/2 to all of the side, so the hole's share of the view stays near the mask's
    # (rotations cut off at most the corners).
    assert all(0.02 < view.mean() < 0.5 for view in views), [view.mean() for view in views]


def test_augmented_training_masks_check_their_files_and_follow_the_hole_rule(tmp_path):
    from zoo.data.mask_folder import augmented_masks

    folder = tmp_path / "masks"
    write_mask(folder / "00000.png", square_hole(16))  # held out: never drawn
    write_mask(folder / "00001.png", square_hole(16))  # white quarter; with hole_value=0 the hole is 3/4
    write_mask(tmp_path / "only_test" / "00100.png", square_hole(16))
    with pytest.raises(DataError, match="has no train masks"):
        augmented_masks(tmp_path / "only_test", 8)
    views = [m for m in augmented_masks(folder, 8, seed=0, hole_value=0).take(4).as_numpy_iterator()]
    assert all(v.shape == (8, 8, 1) and set(np.unique(v)) <= {0, 1} for v in views)
    assert np.mean(views) > 0.4  # read with hole_value=255 it hides a quarter (less after rotations)
    write_mask(folder / "00002.png", np.full((16, 16), 128))  # mid-grey: not a mask
    with pytest.raises(DataError, match="00002.png' is not binary"):
        augmented_masks(folder, 8)


def test_resizing_a_read_mask_is_reading_it_at_that_size(tmp_path):
    from zoo.data.mask_folder import resize_mask

    pixels = np.zeros((40, 40), np.uint8)
    pixels[3:29, 11:17] = 255
    path = write_mask(tmp_path / "00001.png", pixels)
    for size in (16, (8, 24)):
        np.testing.assert_array_equal(resize_mask(read_mask(path), size).numpy(), read_mask(path, image_size=size))
