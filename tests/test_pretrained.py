"""`zoo.load` and `zoo generate/caption/inpaint/translate` on exported tiny models."""

import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import cli
from zoo.data import shapes
from zoo.export import export
from zoo.pretrained import PretrainedModel
from tests.images import assert_same_up_to_rounding


@pytest.fixture(scope="module")
def savedmodels(tiny_exports, tmp_path_factory):
    """A copy of the session's tiny exports, with a version 2 of cgan_t2i_shapes."""
    shared, models, _ = tiny_exports
    out = str(tmp_path_factory.mktemp("savedmodels") / "savedmodels")
    shutil.copytree(shared, out)
    export(models["cgan_t2i_tiny"], out, "cgan_t2i_shapes")  # version 2
    return out, models


def _scenes(size, count=2):
    return [shapes.scene("test", i, image_size=size) for i in range(count)]


def test_load_picks_newest_version_and_reads_metadata(savedmodels):
    out, models = savedmodels
    model = zoo.load("cgan_t2i_shapes", path=out)
    assert isinstance(model, PretrainedModel)
    assert (model.name, model.version, model.kind) == ("cgan_t2i_shapes", 2, "text-to-image")
    assert model.metadata["family"] == "cgan_t2i" and model.image_size == models["cgan_t2i_tiny"].config.image_size
    first = zoo.load("cgan_t2i_shapes", path=out, version=1)
    assert first.version == 1 and first.metadata["trained_steps"] == 0
    assert zoo.load(os.path.join(out, "captioner_shapes", "1")).kind == "image-to-text"


def test_load_environment_variable(savedmodels, monkeypatch):
    out, _ = savedmodels
    monkeypatch.setenv("ZOO_SAVEDMODELS", out)
    assert zoo.load("cgan_i2i_shapes").kind == "image-to-image"


def test_generate_is_seeded_and_matches_the_python_model(savedmodels):
    out, models = savedmodels
    model = zoo.load("cgan_t2i_shapes", path=out)
    captions = ["a large red circle on the left", "a small blue square at the top"]
    first = model.generate(captions, seeds=[3, 4])
    assert first.dtype == np.uint8 and first.shape == (2, model.image_size, model.image_size, 3)
    np.testing.assert_array_equal(first, model.generate(captions, seeds=[3, 4]))
    assert model.generate("a red circle").shape[0] == 1
    assert not np.array_equal(model.generate(captions[:1], seeds=[1]), model.generate(captions[:1], seeds=[2]))


def test_built_and_loaded_models_take_the_same_arguments_and_agree(savedmodels):
    """One API for zoo.build and zoo.load: each kind's method, called the same way, answers the same."""
    import inspect

    out, models = savedmodels
    captions = ["a large red circle on the left", "a large red circle on the left"]
    built, loaded = models["cgan_t2i_tiny"], zoo.load("cgan_t2i_shapes", path=out)
    for name in ("generate", "caption", "inpaint", "translate"):
        shared = list(inspect.signature(getattr(PretrainedModel, name)).parameters)[1:]
        kind_model = next(m for m in models.values() if hasattr(m, name))
        assert list(inspect.signature(getattr(kind_model, name)).parameters)[:len(shared)] == shared, name
    # One int seeds caption i with seed + i, on both: equal captions give different images.
    images = loaded.generate(captions, seeds=5)
    np.testing.assert_array_equal(images, loaded.generate(captions, seeds=[5, 6]))
    np.testing.assert_array_equal(images, built.generate(captions, seeds=5))
    assert not np.array_equal(images[0], images[1])
    size = models["cgan_inpaint_tiny"].config.image_size
    pixels = np.stack([s["image"] for s in _scenes(size)])
    masks = np.stack([shapes.mask("box", seed, image_size=size) for seed in (0, 1)])
    with pytest.raises(ValueError, match="'xyzzy'"):
        models["cgan_inpaint_tiny"].inpaint(pixels, masks, ["xyzzy", ""], strict=True)
    with pytest.raises(ValueError, match="'xyzzy'"):
        zoo.load("cgan_inpaint_shapes", path=out).inpaint(pixels, masks, ["xyzzy", ""], strict=True)
    pixels = np.stack([s["image"] for s in _scenes(models["captioner_tiny"].config.image_size)])
    built_captions, built_scores = models["captioner_tiny"].caption(pixels, return_scores=True)
    loaded_captions, loaded_scores = zoo.load("captioner_shapes", path=out).caption(pixels, return_scores=True)
    assert built_captions == loaded_captions
    np.testing.assert_allclose(built_scores, loaded_scores, atol=1e-4)


def test_caption_from_pixels_and_from_files_agree(savedmodels, tmp_path):
    out, _ = savedmodels
    model = zoo.load("captioner_shapes", path=out)
    images = np.stack([s["image"] for s in _scenes(model.image_size)])
    captions, scores = model.caption(images, return_scores=True)
    assert len(captions) == 2 and all(isinstance(c, str) for c in captions) and scores.shape == (2,)
    paths = []
    for i, image in enumerate(images):
        paths.append(str(tmp_path / f"scene{i}.png"))
        Image.fromarray(image).save(paths[-1])
    assert model.caption(paths) == captions
    assert model.caption(images[0]) == captions[:1]


def test_inpaint_keeps_known_pixels(savedmodels):
    out, _ = savedmodels
    model = zoo.load("cgan_inpaint_shapes", path=out)
    scenes = _scenes(model.image_size)
    images = np.stack([s["image"] for s in scenes])
    masks = np.zeros(images.shape[:3] + (1,), np.uint8)
    masks[:, 4:12, 4:12] = 255
    restored = model.inpaint(images, masks, [scenes[0]["captions"][0], ""])
    known = masks[..., 0] == 0
    np.testing.assert_array_equal(restored[known], images[known])
    assert restored.shape == images.shape and model.inpaint(images, masks).shape == images.shape
    assert model.inpaint(images[:0], masks[:0], []).shape == (0,) + images.shape[1:]


def test_translate_label_maps(savedmodels):
    out, models = savedmodels
    model = zoo.load("cgan_i2i_shapes", path=out)
    label_maps = np.stack([s["label_map"] for s in _scenes(model.image_size)])
    images = model.translate(label_maps)
    assert images.shape == label_maps.shape[:3] + (3,) and images.dtype == np.uint8
    assert_same_up_to_rounding(model.translate(label_maps[0, ..., 0]), images[:1])
    # Seeds: test-time dropout through the `seeded` signature, the same images as the built model's.
    np.testing.assert_array_equal(model.translate(label_maps, seeds=7), models["cgan_i2i_tiny"].translate(label_maps,
                                                                                                          seeds=7))
    assert not np.array_equal(model.translate(label_maps, seeds=7), images)
    model.signatures = {"serving_default": model.signatures["serving_default"]}  # as an export before `seeded`
    with pytest.raises(ValueError, match="exported without the `seeded` signature .* re-export it"):
        model.translate(label_maps, seeds=7)


def test_bad_input_and_wrong_method_raise_clear_errors(savedmodels, tmp_path):
    out, _ = savedmodels
    with pytest.raises(FileNotFoundError, match="No exported model 'nope'.*found: .*captioner_shapes"):
        zoo.load("nope", path=out)
    with pytest.raises(ValueError, match=r"versions \[1, 2\]"):
        zoo.load("cgan_t2i_shapes", path=out, version=7)
    t2i = zoo.load("cgan_t2i_shapes", path=out)
    with pytest.raises(ValueError, match=r"text-to-image model: call .generate\(\), not .caption\(\)"):
        t2i.caption(np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="captions is an empty list"):
        t2i.generate([])
    inpaint = zoo.load("cgan_inpaint_shapes", path=out)
    size = inpaint.image_size
    with pytest.raises(ValueError, match="images must be uint8"):
        inpaint.inpaint(np.zeros((1, size, size, 3), np.float32), np.zeros((1, size, size, 1), np.uint8))
    with pytest.raises(ValueError, match="2 images but 1 masks"):
        inpaint.inpaint(np.zeros((2, size, size, 3), np.uint8), np.zeros((1, size, size, 1), np.uint8))
    with pytest.raises(ValueError, match=f"must be {size}x{size}"):
        inpaint.inpaint(np.zeros((1, 5, 5, 3), np.uint8), np.zeros((1, 5, 5, 1), np.uint8))


def test_cli_commands_write_and_print(savedmodels, tmp_path, capsys):
    out, _ = savedmodels
    generated = str(tmp_path / "img.png")
    assert cli.main(["generate", "a large red circle on the left", "--out", generated, "--seed", "0",
                     "--savedmodels", out]) == 0
    image = np.asarray(Image.open(generated))
    assert image.dtype == np.uint8 and image.ndim == 3
    assert cli.main(["caption", generated, "--savedmodels", out, "--model", "captioner_shapes"]) == 0
    assert f"{generated}: " in capsys.readouterr().out

    size = zoo.load("cgan_inpaint_shapes", path=out).image_size
    scene = shapes.scene("test", 0, image_size=size)
    Image.fromarray(scene["image"]).save(tmp_path / "scene.png")
    Image.fromarray(np.full((size, size), 255, np.uint8)).save(tmp_path / "mask.png")
    Image.fromarray(scene["label_map"][..., 0]).save(tmp_path / "labels.png")
    assert cli.main(["inpaint", str(tmp_path / "scene.png"), "--mask", str(tmp_path / "mask.png"),
                     "--caption", scene["captions"][0], "--out", str(tmp_path / "filled.png"), "--savedmodels", out]) == 0
    assert cli.main(["translate", str(tmp_path / "labels.png"), "--out", str(tmp_path / "t.png"),
                     "--savedmodels", out]) == 0
    assert np.asarray(Image.open(tmp_path / "t.png")).shape == (size, size, 3)
    assert cli.main(["caption", str(tmp_path / "missing.png"), "--savedmodels", out]) == 2
    assert "missing.png" in capsys.readouterr().err
    metadata = json.load(open(os.path.join(out, "cgan_t2i_shapes", "1", "assets.extra", "zoo.json")))
    assert metadata["task"] == "text-to-image"


# === Inputs that gave silent wrong results or tracebacks (issue 17, points 9, 10, 12) ===
def test_wrong_types_name_the_argument(savedmodels):
    out, _ = savedmodels
    t2i = zoo.load("cgan_t2i_shapes", path=out)
    with pytest.raises(TypeError, match="captions must be a str or a list of str; got NoneType at position 0"):
        t2i.generate([None])
    with pytest.raises(ValueError, match="Got 3 seeds for 2 captions"):
        t2i.generate(["a red circle", "a blue square"], seeds=[1, 2, 3])
    with pytest.raises(TypeError, match="seeds must be an int or a list of ints, got 'x'"):
        t2i.generate(["a red circle"], seeds="x")
    with pytest.raises(TypeError, match="image_size must be int .*got '64' \\(str\\)"):
        zoo.build("cgan_t2i_tiny", image_size="64")
    with pytest.raises(TypeError, match="Captions must be a str or a list of str; got NoneType at position 0"):
        zoo.build("cgan_t2i_tiny").generate([None])


def test_captions_without_a_known_word_warn_or_fail_when_strict(savedmodels, capsys):
    out, _ = savedmodels
    t2i = zoo.load("cgan_t2i_shapes", path=out)
    with pytest.warns(UserWarning, match="hold no word this model knows.*'xyzzy', 'plugh'.*caption 1: \\(no words\\)"):
        t2i.generate(["xyzzy plugh", "!!!", "a red circle"], seeds=[0, 1, 2])
    with pytest.raises(ValueError, match="'xyzzy'"):
        t2i.generate(["xyzzy plugh"], strict=True)
    with pytest.warns(UserWarning, match="'xyzzy'"):
        zoo.build("cgan_t2i_tiny").tokenize(["xyzzy"])
    assert cli.main(["generate", "xyzzy plugh", "--strict", "--savedmodels", out]) == 2
    assert_one_line(capsys.readouterr().err, "zoo generate: error:", "'plugh'")


def test_label_maps_outside_the_classes_and_wrong_channels_are_errors(savedmodels, tmp_path, capsys):
    out, _ = savedmodels
    model = zoo.load("cgan_i2i_shapes", path=out)
    size = model.image_size
    label_maps = np.zeros((1, size, size, 1), np.uint8)
    label_maps[0, 0, 0], label_maps[0, 1, 1] = 9, 200
    with pytest.raises(ValueError, match=r"class indices 0..8 \(this model's 9 classes\), got values \[9, 200\]"):
        model.translate(label_maps)
    with pytest.raises(ValueError, match="3 channels where the model takes 1"):
        model.translate(np.zeros((size, size, 3), np.uint8))
    Image.fromarray(label_maps[0, ..., 0]).save(tmp_path / "labels.png")
    assert cli.main(["translate", str(tmp_path / "labels.png"), "--savedmodels", out]) == 2
    assert_one_line(capsys.readouterr().err, "zoo translate: error:", "got values [9, 200]")


def test_a_tiny_image_warns_that_it_was_upscaled(savedmodels, tmp_path):
    out, _ = savedmodels
    captioner = zoo.load("captioner_shapes", path=out)
    with pytest.warns(UserWarning, match="images\\[0\\] is 1x1: upscaled from 1x1"):
        captioner.caption(np.zeros((1, 1, 1, 3), np.uint8))
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.warns(UserWarning, match="dot.png is 1x1"):
        captioner.caption([str(tmp_path / "dot.png")])


def test_bad_image_files_are_one_line_naming_the_file(savedmodels, tmp_path, capsys):
    out, _ = savedmodels
    noise = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "whole.jpg", quality=95)
    data = (tmp_path / "whole.jpg").read_bytes()
    files = {"truncated.jpg": data[: len(data) // 2], "empty.png": b"", "notes.png": b"just some text\n"}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "folder.png").mkdir()
    mask = tmp_path / "mask.png"
    Image.new("L", (32, 32)).save(mask)
    paths = {name: str(tmp_path / name) for name in [*files, "folder.png"]}
    # `zoo caption` decodes in the graph, `zoo inpaint` and `zoo translate` with PIL (the same reader).
    commands = [["caption", path] for path in paths.values()] + [
        ["inpaint", paths["truncated.jpg"], "--mask", str(mask)], ["inpaint", paths["folder.png"], "--mask", str(mask)],
        ["translate", paths["empty.png"]], ["translate", paths["notes.png"]]]
    for command in commands:
        assert cli.main([*command, "--savedmodels", out]) == 2, (command, capsys.readouterr())
        err = capsys.readouterr().err
        assert_one_line(err, f"zoo {command[0]}: error:", repr(command[1]), "JPEG, PNG, GIF or BMP")
        assert "function_node" not in err and "[Op:" not in err


def assert_one_line(err, *fragments):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_translate_documents_the_label_map_and_ships_an_example(capsys):
    with pytest.raises(SystemExit):
        cli.main(["translate", "--help"])
    assert "0 background" in " ".join(capsys.readouterr().out.split())
    with Image.open(cli.EXAMPLE_LABEL_MAP) as image:
        assert image.mode == "L" and image.size == (64, 64)
        values = set(np.unique(np.asarray(image)).tolist())
    assert 0 in values and len(values) == 3 and values <= set(range(9))  # background and two objects
    assert cli.main(["translate"]) == 2
    assert "LABEL_MAP file or --example" in capsys.readouterr().err
