import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import zoo
from zoo.data import DataError, shapes


def test_shapes_batches_are_training_ready():
    batch = next(iter(zoo.data.load("shapes", split="train", batch_size=8)))
    assert batch["image"].shape == (8, 64, 64, 3) and batch["image"].dtype == tf.float32
    assert -1.0 <= float(tf.reduce_min(batch["image"])) and float(tf.reduce_max(batch["image"])) <= 1.0
    assert batch["tokens"].shape == (8, 24) and batch["tokens"].dtype == tf.int32
    assert batch["mask"].shape == (8, 64, 64, 1)
    assert set(np.unique(batch["mask"].numpy())) <= {0.0, 1.0}
    assert batch["label_map"].shape == (8, 64, 64, 1)
    for caption, captions in zip(batch["caption"].numpy(), batch["captions"].numpy()):
        assert caption in captions.tolist()


def test_evaluation_split_is_in_order_and_matches_the_renderer():
    batch = next(iter(zoo.data.load("shapes", split="test_compositional", batch_size=4, image_size=32, masks=None)))
    assert batch["index"].numpy().tolist() == [0, 1, 2, 3]
    scene = shapes.scene("test_compositional", 2, image_size=32)
    np.testing.assert_allclose((batch["image"][2].numpy() + 1) * 127.5, scene["image"], atol=1e-3)
    assert float(tf.reduce_sum(batch["mask"])) == 0.0
    colour = batch["objects"]["colour"][2].numpy().tolist()
    assert colour[0] == shapes.COLOUR_NAMES.index(scene["objects"][0]["colour"])
    assert colour[1] == (-1 if len(scene["objects"]) == 1 else shapes.COLOUR_NAMES.index(scene["objects"][1]["colour"]))


def test_object_masks_hide_an_object():
    batch = next(iter(zoo.data.load("shapes", split="test", batch_size=4, masks="object")))
    for mask, label_map in zip(batch["mask"].numpy(), batch["label_map"].numpy()):
        hidden = label_map[mask[..., 0] > 0]
        assert (hidden > 0).any()


def test_mask_folder_gives_each_example_a_hole(shared_data):
    ds = zoo.data.load("facades", split="test", path=str(shared_data / "facades"), image_size=32, batch_size=4,
                       masks=str(shared_data / "masks"), shuffle=False, repeat=False)
    masks = next(iter(ds))["mask"].numpy()
    assert masks.shape == (4, 32, 32, 1) and masks.dtype == np.float32
    assert set(np.unique(masks).tolist()) <= {0.0, 1.0}
    assert all(0 < m.mean() < 0.7 for m in masks)  # the NVIDIA masks hide 0-60% of an image


def test_training_masks_from_a_folder_continue_where_a_resumed_run_stopped(shared_data):
    def masks(skip):
        ds = zoo.data.load("facades", split="train", path=str(shared_data / "facades"), image_size=32,
                           batch_size=2, masks=str(shared_data / "masks"), skip_examples=skip, num_examples=8)
        return [batch["mask"].numpy() for batch in ds.take(2)]

    first, second = masks(0)
    np.testing.assert_array_equal(masks(2)[0], second)
    assert not np.array_equal(first, second) and 0 < first.mean() < 0.7


def test_load_bad_input():
    with pytest.raises(DataError, match="Unknown data set 'shapez'"):
        zoo.data.load("shapez")
    with pytest.raises(ValueError, match="Unknown shapes split"):
        zoo.data.load("shapes", split="dev")
    with pytest.raises(DataError, match="batch_size"):
        zoo.data.load("shapes", batch_size=0)
    with pytest.raises(DataError, match="masks="):
        zoo.data.load("shapes", masks="blob")
    with pytest.raises(DataError, match="num_examples"):
        zoo.data.load("shapes", split="test", num_examples=5000)


def test_tfds_builder_yields_the_same_scenes(tmp_path):
    ds = tfds.load("shapes/mini", split="test_compositional", data_dir=str(tmp_path), shuffle_files=False)
    examples = list(tfds.as_numpy(ds))
    assert len(examples) == 20
    by_index = {}
    for i in range(20):
        by_index[shapes.scene("test_compositional", i)["image"].tobytes()] = i
    for example in examples:
        i = by_index[example["image"].tobytes()]
        scene = shapes.scene("test_compositional", i)
        assert [c.decode() for c in example["captions"]] == scene["captions"]
        np.testing.assert_array_equal(example["label_map"], scene["label_map"])


def test_a_split_smaller_than_one_batch_says_so(shared_data):
    coco = str(shared_data / "coco-mini")
    with pytest.raises(DataError, match=r"^Split 'val' of 'coco' has 25 examples, fewer than batch_size=32: with "
                       r"drop_remainder=True \(the default, for static shapes\) it gives no batch at all. Pass "
                       r"drop_remainder=False \(one batch of 25\) or a batch_size of at most 25.$"):
        zoo.data.load("coco", split="val", path=coco)
    with pytest.raises(DataError, match="'shapes' has 5 examples, fewer than batch_size=8"):
        zoo.data.load("shapes", split="test", num_examples=5, batch_size=8)
    assert int(zoo.data.load("coco", split="val", path=coco, drop_remainder=False).cardinality()) == 1


def test_the_readme_coco_example_gives_batches(shared_data):
    """The README's `zoo.data.load("coco", ...)` as written (its ../shared/data is the shared data here):
    COCO's `val` is the small real split that a default batch size would leave empty."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    arguments = re.search(r'zoo\.data\.load\(("coco".*?)\)`', readme).group(1)
    dataset = eval(f"zoo.data.load({arguments.replace('../shared/data', str(shared_data))})")
    assert next(iter(dataset))["image"].shape[0] > 0
