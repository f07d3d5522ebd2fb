"""Prepared `shapes` scenes: the same batches as rendering, checked against the renderer, built in parallel."""

import logging
import os

import numpy as np
import pytest

import zoo
from zoo.data import shapes, shapes_cache
from zoo.data.errors import DataError


def _batches(data_dir, cache, masks, count=3):
    data = zoo.data.load("shapes", split="validation", batch_size=16, image_size=32, masks=masks, cache=cache,
                         data_dir=data_dir, shuffle=True, repeat=True, skip_examples=5)
    iterator = iter(data)
    return [next(iterator) for _ in range(count)]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The first two shards of `validation` at 32 px, written by two worker processes."""
    data_dir = str(tmp_path_factory.mktemp("tfds"))
    assert shapes_cache.prepare("validation", 32, count=2000, data_dir=data_dir, workers=2, progress=False) == 2
    return data_dir


def test_prepared_scenes_give_the_same_batches_as_rendering(prepared):
    root = shapes_cache.cache_root(prepared)
    assert root.startswith(os.path.join(prepared, "zoo_shapes", ""))
    assert sorted(os.listdir(os.path.join(root, "validation_32px"))) == ["shard-000.npz", "shard-001.npz"]
    for masks in ("mix",):  # a fifth of them are object masks, which need each scene's boxes (kept)
        cached, rendered = _batches(prepared, "auto", masks), _batches(prepared, False, masks)
        for a, b in zip(cached, rendered):
            assert set(a) == set(b)
            for key in ("image", "mask", "label_map", "captions", "caption", "tokens", "index"):
                np.testing.assert_array_equal(a[key].numpy(), b[key].numpy(), err_msg=key)
            for key in ("colour", "shape", "size", "cell"):
                np.testing.assert_array_equal(a["objects"][key].numpy(), b["objects"][key].numpy())
    scene = shapes.scene("validation", 1999, image_size=32)
    image, label_map, captions, _, _ = shapes_cache.PreparedScenes("validation", 32, data_dir=prepared).get(1999)
    np.testing.assert_array_equal(image, scene["image"])
    assert [c.decode() for c in captions] == scene["captions"]
    assert shapes_cache.prepare("validation", 32, count=2000, data_dir=prepared) == 0  # nothing left to do


def test_a_shard_that_differs_from_the_renderer_or_is_damaged_is_rendered_again(prepared, tmp_path, caplog):
    data_dir = str(tmp_path)
    shapes_cache.prepare("validation", 32, count=10, data_dir=data_dir, workers=1, progress=False)
    path = os.path.join(shapes_cache.cache_root(data_dir), "validation_32px", "shard-000.npz")
    with np.load(path) as f:
        arrays = {key: f[key] for key in f.files}
    arrays["image"][0] = 255 - arrays["image"][0]  # as an older renderer might have drawn it
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with caplog.at_level(logging.WARNING, logger="zoo.data"):
        image = shapes_cache.PreparedScenes("validation", 32, data_dir=data_dir).get(0)[0]
    np.testing.assert_array_equal(image, shapes.scene("validation", 0, image_size=32)["image"])
    assert "differs from what the renderer draws now" in caplog.text
    with open(path, "wb") as f:
        f.write(b"not a zip")
    with caplog.at_level(logging.WARNING, logger="zoo.data"):
        image = shapes_cache.PreparedScenes("validation", 32, data_dir=data_dir).get(3)[0]
    np.testing.assert_array_equal(image, shapes.scene("validation", 3, image_size=32)["image"])
    assert "cannot be read" in caplog.text


def test_scenes_without_a_prepared_shard_are_rendered_and_bad_options_say_so(tmp_path):
    scenes = shapes_cache.PreparedScenes("validation", 32, data_dir=str(tmp_path))
    assert scenes.get(0) is None
    assert shapes_cache.missing_shards("validation", 32, count=1500, data_dir=str(tmp_path)) == [0, 1]
    batch = next(iter(zoo.data.load("shapes", split="validation", batch_size=4, image_size=32, data_dir=str(tmp_path))))
    np.testing.assert_array_equal(batch["index"].numpy(), [0, 1, 2, 3])
    with pytest.raises(DataError, match="cache must be 'auto', True or False"):
        zoo.data.load("shapes", split="validation", cache="yes")


def test_zoo_data_prepare_writes_the_splits_asked_for_once(tmp_path, capsys):
    from zoo import cli

    argv = ["data", "prepare", "shapes", "--splits", "validation", "--image-size", "32", "--data-dir", str(tmp_path),
            "--workers", "1"]
    assert cli.main(argv) == 0
    assert "shapes validation at 32 px: 2 shard(s) written" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert "shapes validation at 32 px: already prepared" in capsys.readouterr().out
    assert cli.main(["data", "prepare", "shapes", "--splits", "val", "--data-dir", str(tmp_path)]) == 2
    assert "unknown split(s) ['val']; shapes has ['train', 'validation', 'test', 'test_compositional']" in \
        capsys.readouterr().err


def test_a_run_that_reads_the_training_split_once_prepares_it(tmp_path, monkeypatch):
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    asked = []
    monkeypatch.setattr(shapes_cache, "prepare", lambda split, image_size, **kw: asked.append((split, image_size)))
    for steps, expected in ((10, []), (625, [("train", 32)])):  # 625 x 32 = the 20000 training scenes
        trainer = Trainer(TrainConfig(model="matcher_tiny", workdir=str(tmp_path / str(steps)), steps=steps,
                                      batch_size=32, progress=False))
        try:
            trainer.dataset()
            trainer.dataset(split="validation", shuffle=False, repeat=False)  # sample batches: never prepared
        finally:
            trainer.close()
        assert asked == expected, steps
