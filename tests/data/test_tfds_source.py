"""TFDS source: tiny builders prepared into a tmp folder, read back without any download."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from zoo.data.errors import DataError
from zoo.data.tfds_source import from_tfds, prepared_builder


def _image(value, channels=3):
    return np.full((4 + value, 6, channels), value, np.uint8)


class ZooTinyCaptions(tfds.core.GeneratorBasedBuilder):
    """Four images shaped like `coco_captions`: image, image/filename, captions {text, id}."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "image/filename": tfds.features.Text(),
                    "captions": tfds.features.Sequence({"text": tfds.features.Text(), "id": np.int64}),
                }
            )
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(7, 5, 2, 0), "val": self._generate_examples(5)}

    def _generate_examples(self, *caption_counts):
        for index, count in enumerate(caption_counts):
            ids = list(range(count))[::-1]  # stored in reverse id order, read back by id
            yield index, {
                "image": _image(index),
                "image/filename": f"{index}.jpg",
                "captions": {"text": [f"{index}-{i}" for i in ids], "id": ids},
            }


class ZooTinyGreyCaption(tfds.core.GeneratorBasedBuilder):
    """Grayscale images with one `caption` text each and no file name feature."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {"image": tfds.features.Image(shape=(None, None, 1)), "caption": tfds.features.Text()}
            )
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for index in range(2):
            yield index, {"image": _image(index + 1, channels=1), "caption": f"grey {index}"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tfds")
    for builder_class in (ZooTinyCaptions, ZooTinyGreyCaption):
        builder_class(data_dir=str(directory)).download_and_prepare()
    return directory


def test_coco_like_features_map_into_the_raw_layout(data_dir):
    dataset = from_tfds("zoo_tiny_captions", "train", data_dir=data_dir)
    assert set(dataset.element_spec) == {"image", "captions", "id"}
    assert dataset.element_spec["captions"].shape.as_list() == [5]
    examples = sorted(dataset.as_numpy_iterator(), key=lambda e: e["id"])
    assert [e["id"] for e in examples] == [b"0.jpg", b"1.jpg", b"2.jpg"]  # 3.jpg had no captions
    captions = [[c.decode() for c in e["captions"]] for e in examples]
    assert captions[0] == ["0-0", "0-1", "0-2", "0-3", "0-4"]  # 7 captions: first five by id
    assert captions[1] == ["1-0", "1-1", "1-2", "1-3", "1-4"]
    assert captions[2] == ["2-0", "2-1", "2-0", "2-1", "2-0"]  # 2 captions: padded by repeating
    for index, example in enumerate(examples):
        assert example["image"].dtype == np.uint8
        np.testing.assert_array_equal(example["image"], _image(index))


def test_num_captions_and_sliced_split(data_dir):
    [example] = from_tfds("zoo_tiny_captions", "val[:1]", data_dir=data_dir, num_captions=2).as_numpy_iterator()
    assert list(example["captions"]) == [b"0-0", b"0-1"]


def test_grey_images_single_caption_and_tfds_ids(data_dir):
    examples = list(from_tfds("zoo_tiny_grey_caption", "train", data_dir=data_dir, num_captions=3).as_numpy_iterator())
    assert len(examples) == 2
    for example in examples:
        assert example["image"].shape[-1] == 3 and example["image"].dtype == np.uint8
        assert len(set(example["captions"])) == 1 and example["captions"][0].startswith(b"grey")
        assert b"zoo_tiny_grey_caption" in example["id"]  # TFDS's own example id
    assert examples[0]["id"] != examples[1]["id"]


def test_not_prepared_says_how_to_prepare(tmp_path):
    with pytest.raises(DataError, match="not available offline.*tfds build coco_captions.*data_dir="):
        from_tfds("coco_captions", "train", data_dir=tmp_path)


def test_unknown_name(tmp_path):
    with pytest.raises(DataError, match="no TFDS data set named 'zoo_no_such_set'"):
        prepared_builder("zoo_no_such_set", data_dir=tmp_path)


def test_unknown_split(data_dir):
    with pytest.raises(DataError, match="unknown split 'test'.*accepted: train, val"):
        from_tfds("zoo_tiny_captions", "test", data_dir=data_dir)


def test_bad_num_captions(data_dir):
    with pytest.raises(DataError, match="num_captions"):
        from_tfds("zoo_tiny_captions", "train", data_dir=data_dir, num_captions=0)
