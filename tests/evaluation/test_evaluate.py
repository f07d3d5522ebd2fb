"""`zoo evaluate`: every tiny family scored as a Keras task and as its export, with the shipped probe."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import zoo
from zoo import cli
from zoo.data import shapes
from zoo.evaluation import (
    ProbeReader,
    evaluate,
    hidden_objects,
    load_scenes,
    objects_from_arrays,
    plot_samples,
)
from zoo.evaluation.command import model_to_evaluate
from zoo.evaluation.evaluate import (
    _distribution_rows,
    diversity_ratios,
    mean_pairwise_l1,
    real_renders,
    scenes_read_right,
)
from zoo.export import export
from zoo.metrics import attribute_accuracy, read_images, reader_scores

FAMILIES = ("cgan_t2i_tiny", "captioner_tiny", "cgan_inpaint_tiny", "cgan_i2i_tiny")
READER_ROWS = ["objects_right", "scenes_right", "reader/colour", "reader/shape", "reader/size", "reader/cell",
               "reader/object_small", "reader/object_large"]
EXPECTED_ROWS = {
    "text-to-image": READER_ROWS + ["diversity", "diversity_right", "fid_probe", "kid_probe"],
    "image-to-text": ["bleu_1", "bleu_2", "bleu_3", "bleu_4", "cider_d", "parsed", "objects_right", "scenes_right",
                      "caption/colour", "caption/shape", "caption/size", "caption/cell"],
    "inpainting": [f"{kind}/{key}" for kind in shapes.MASK_KINDS
                   for key in ("psnr_hole", "l1_hole", "psnr", "l1", "ssim")] + [
        "objects_right", "object/hidden_colour", "object/hidden_shape", "object/hidden_size",
        "object/hidden_small", "object/hidden_large"],
    "image-to-image": ["psnr", "ssim", "l1"] + READER_ROWS + ["reader/colour+shape"],
}
TARGET_ROWS = {"text-to-image": {"objects_right", "diversity_right"}, "image-to-text": {"scenes_right"},
               "inpainting": {"object/hidden_colour", "object/hidden_shape", "stroke/psnr_hole"},
               "image-to-image": {"reader/colour+shape"}}


# Per family: evaluate's arguments, the same for the task and its export.
SETTINGS = {
    "cgan_t2i_tiny": dict(num_examples=8, batch_size=8),
    "captioner_tiny": dict(num_examples=24, batch_size=24, baseline_examples=300),
    "cgan_inpaint_tiny": dict(num_examples=8, batch_size=8),
    "cgan_i2i_tiny": dict(num_examples=4, batch_size=4),
}


@pytest.fixture(scope="module")
def models(tiny_exports):
    return {name: tiny_exports[1][name] for name in FAMILIES}


@pytest.fixture(scope="module")
def exported(tiny_exports):
    return {name: tiny_exports[2][name] for name in FAMILIES}


@pytest.fixture(scope="module")
def results(models, exported):
    """Per family, (the task's result, its export's result); the export's inpainting on stroke masks only."""
    cache = {}

    def get(name):
        if name not in cache:
            kinds = "stroke" if name == "cgan_inpaint_tiny" else None
            cache[name] = (evaluate(models[name], **SETTINGS[name]),
                           evaluate(exported[name], mask_kinds=kinds, **SETTINGS[name]))
        return cache[name]

    return get


def check_in_range(result):
    for row in result.rows:
        for column, value in row.values.items():
            name = row.metric.split("/")[-1]
            if name.startswith("psnr"):
                assert value > 0, (row.metric, column, value)
            elif name.startswith("fid") or name.startswith("kid"):
                assert math.isfinite(value), (row.metric, column, value)
            elif name == "cider_d":
                assert 0 <= value <= 10, (row.metric, column, value)
            elif name == "ssim":  # an untrained model's images can be anti-correlated with the truth
                assert -1 <= value <= 1, (row.metric, column, value)
            elif name.startswith("diversity"):  # a ratio to real data's spread: above 1 for noise
                assert value >= 0, (row.metric, column, value)
            elif name.startswith(("object_", "hidden_small", "hidden_large")) and math.isnan(value):
                # no object of that size among a few scenes
                continue
            else:  # fractions, BLEU, L1 on [0, 1] values
                assert 0 <= value <= 1, (row.metric, column, value)


@pytest.mark.parametrize("name", FAMILIES)
def test_task_and_its_export_get_the_same_rows_and_values(name, models, results):
    from_task, from_export = results(name)
    assert from_task.kind == from_export.kind == models[name].task_name
    assert [row.metric for row in from_task.rows] == EXPECTED_ROWS[from_task.kind]
    assert from_task.columns[0] == "model" and "real" in from_task.columns
    assert {row.metric for row in from_task.target_rows()} == TARGET_ROWS[from_task.kind]
    check_in_range(from_task)
    check_in_range(from_export)
    # The export runs the same graphs: the same seeds, captions and masks give the same scores (up to
    # float rounding between eager and graph kernels, which can move a pixel by one level).
    for row in from_export.rows:
        for column, value in row.values.items():
            expected = from_task.value(row.metric, column)
            assert value == pytest.approx(expected, rel=1e-3, abs=1e-3, nan_ok=True), (row.metric, column)
    assert from_task.config["num_examples"] == SETTINGS[name]["num_examples"]
    assert from_task.config["split"] == "test"


@pytest.mark.parametrize("name", ["cvae_t2i_tiny", "regression_t2i_tiny"])
def test_other_text_to_image_families(name):
    result = evaluate(zoo.build(name).build_all(), split="test_compositional", num_examples=4, batch_size=4)
    assert [row.metric for row in result.rows] == EXPECTED_ROWS["text-to-image"]
    check_in_range(result)
    assert result.row("objects_right").target == ">= 0.93"  # the compositional target
    # Real renders of a caption differ as much as other real renders of it do.
    assert 0.8 < result.value("diversity", "real") < 1.25
    assert result.value("diversity_right", "real") == pytest.approx(result.value("diversity", "real"))
    assert result.value("diversity_right") <= result.value("diversity")
    if name == "regression_t2i_tiny":  # no noise input: one image per caption, whatever the seed
        assert result.value("diversity") == 0.0
    else:
        assert result.value("diversity") > 0.0


def test_diversity_is_mean_pairwise_l1_over_that_of_real_renders():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 8, 8, 3)).astype(np.uint8)
    pairs = [np.abs(images[a].astype(int) - images[b].astype(int)).mean() for a in range(5) for b in range(a + 1, 5)]
    assert mean_pairwise_l1(images) == pytest.approx(np.mean(pairs))
    same = np.repeat(images[:1], 4, axis=0)
    assert diversity_ratios([same, images], [images, images]) == [0.0, pytest.approx(1.0)]
    truth = shapes.scene("test", 3)["objects"]
    renders = real_renders(truth, 3, 4)
    assert len({r.tobytes() for r in renders}) == 4  # new jitter, background and noise each time


def test_diversity_right_counts_only_pairs_of_images_read_right():
    truth = shapes.scene("test", 3)["objects"]
    renders = real_renders(truth, 3, 4)
    assert scenes_read_right(renders, truth) == [True] * 4
    # Stray marks: varied, but wrong scenes, so they buy no diversity.
    marked = renders.copy()
    marked[1:, :6, :6] = [[[255, 255, 255]]], [[[0, 255, 0]]], [[[255, 0, 0]]]
    right = scenes_read_right(marked, truth)
    assert right == [True, False, False, False]
    assert diversity_ratios([marked], [renders], [right]) == [0.0]
    two_right = [True, True, False, False]
    expected = np.abs(renders[0].astype(float) - renders[1].astype(float)).mean() / 6 / mean_pairwise_l1(renders)
    assert diversity_ratios([renders], [renders], [two_right]) == [pytest.approx(expected)]
    assert reader_scores(read_images(renders), [truth] * 4)["scene"] == 1.0  # the same caption


def test_fid_probe_holds_a_model_to_the_scenes_of_its_captions():
    # Real images of other scenes are drawn as real ones are, but not of these captions: fid_probe
    # compares with the evaluated scenes' own images, so they score far above the floor (a new
    # render of each scene). (KID's subsets of 32 are too small to tell them apart.)
    scenes = load_scenes("validation", 128, 64)
    truth = objects_from_arrays({key: value[:64] for key, value in scenes["objects"].items()})
    rerendered = np.concatenate([real_renders(objects, index, 1, 1) for objects, index in zip(truth, scenes["index"])])
    rows = {row.metric: row.values for row in _distribution_rows(
        ProbeReader(), scenes["image"][:64], scenes["image"][64:], rerendered, seed=0)}
    assert rows["fid_probe"]["real"] < 0.4 * rows["fid_probe"]["model"]  # 0.18 against 0.84


def test_shipped_probe_reads_real_scenes_with_the_converter():
    reader = ProbeReader()
    for split, count in (("test", 200), ("test_compositional", 100)):
        scenes = load_scenes(split, count, 64)
        scores = attribute_accuracy(reader.read(scenes["image"]), objects_from_arrays(scenes["objects"]))
        assert scores["object"] >= 0.99 and scores["scene"] >= 0.98, (split, scores)


def test_converter_matches_the_renderer():
    scenes = load_scenes("test", 12, 32)
    for index, objects in zip(scenes["index"], objects_from_arrays(scenes["objects"])):
        rendered = shapes.scene("test", int(index), image_size=32)["objects"]
        assert objects == [{key: o[key] for key in ("colour", "shape", "size", "cell")} for o in rendered]


def test_hidden_object_is_the_one_whose_box_the_object_mask_covers():
    scenes = load_scenes("test", 10, 64, masks="object")
    hidden = hidden_objects(objects_from_arrays(scenes["objects"]), scenes["mask"])
    for index, mask, (obj,) in zip(scenes["index"], scenes["mask"], hidden):
        rendered = shapes.scene("test", int(index))["objects"]
        (x0, y0, x1, y1), = [o["bbox"] for o in rendered if o["cell"] == obj["cell"]]
        assert mask[y0:y1, x0:x1].all() and mask.mean() < 0.3
    with pytest.raises(ValueError, match="covers the cell centres of 0 objects"):
        hidden_objects(objects_from_arrays(scenes["objects"]), np.zeros_like(scenes["mask"]))


def test_real_ceiling_and_baselines(results):
    t2i, _ = results("cgan_t2i_tiny")
    assert t2i.value("objects_right", "real") == 1.0 and t2i.value("scenes_right", "real") == 1.0
    assert t2i.value("fid_probe", "real") < t2i.value("fid_probe")  # untrained images are far from real ones
    i2i, _ = results("cgan_i2i_tiny")
    assert i2i.value("reader/colour+shape", "real") == 1.0 and i2i.value("psnr", "real") == math.inf
    captioner, _ = results("captioner_tiny")
    assert captioner.value("bleu_4", "nearest neighbour") > 0.3
    assert captioner.value("caption/cell", "nearest neighbour") > 0.5
    assert captioner.value("scenes_right", "real") == 1.0
    assert captioner.value("bleu_4", "real") == 1.0 and captioner.value("cider_d", "real") > 5


def test_inpainting_ceiling_and_opencv(results):
    result, _ = results("cgan_inpaint_tiny")
    assert result.value("stroke/psnr_hole", "real") == math.inf
    assert 15 < result.value("stroke/psnr_hole", "opencv telea") < result.value("stroke/psnr_hole", "real")
    assert result.value("object/hidden_colour", "real") == 1.0 and result.value("objects_right", "real") == 1.0
    # Nothing of a hidden object is left to fill in from: OpenCV cannot bring back its colour.
    assert result.value("object/hidden_colour", "opencv telea") < 0.5
    row = result.row("stroke/psnr_hole")
    assert row.target.startswith(">= opencv telea + 4") and row.met is False


@pytest.mark.parametrize("arguments, message", [
    (dict(split="testing"), "Unknown shapes split 'testing'"),
    (dict(num_examples=0), "num_examples must be an int from 1 to 2000"),
    (dict(num_examples=2001), "split 'test' has 2000 scenes"),
    (dict(batch_size=0), "batch_size"),
    (dict(data="coco"), "only \\['shapes'\\]"),
    (dict(mask_kinds=("box", "blob")), "mask_kinds"),
])
def test_bad_arguments(models, arguments, message):
    with pytest.raises(ValueError, match=message):
        evaluate(models["cgan_i2i_tiny"], **arguments)


def test_bad_models(tmp_path, exported):
    with pytest.raises(ValueError, match="Cannot evaluate shapes_probe, a model of kind 'image-classification'"):
        evaluate(zoo.build("shapes_probe_tiny"), num_examples=2)
    tf.saved_model.save(tf.Module(), str(tmp_path / "bare"))
    with pytest.raises(ValueError, match="no `serving_default` signature"):
        evaluate(str(tmp_path / "bare"), num_examples=2)
    with pytest.raises(FileNotFoundError, match="No SavedModel"):
        evaluate(str(tmp_path / "missing"), num_examples=2)
    kinds = "'captioner_tiny' is a model of kind image-to-text, but the SavedModel .* of kind text-to-image"
    with pytest.raises(ValueError, match=kinds):
        model_to_evaluate("captioner_tiny", savedmodel=exported["cgan_t2i_tiny"])
    with pytest.raises(ValueError, match="exported from 'cgan_t2i', not 'cvae_t2i_tiny'"):
        model_to_evaluate("cvae_t2i_tiny", savedmodel=exported["cgan_t2i_tiny"])
    with pytest.raises(ValueError, match="--raw-weights .* needs --workdir"):
        model_to_evaluate("cgan_t2i_tiny", savedmodel=exported["cgan_t2i_tiny"], raw_weights=True)


def test_cli_writes_table_json_and_png(tmp_path, exported, capsys):
    out, plot = tmp_path / "results.json", tmp_path / "grid.png"
    savedmodel = exported["cgan_i2i_tiny"].rsplit("/", 1)[0]  # the model folder: its newest version
    status = cli.main(["evaluate", "cgan_i2i_tiny", "--savedmodel", savedmodel, "--num-examples", "4",
                       "--batch-size", "4", "--out", str(out), "--plot", str(plot)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "reader/colour+shape" in printed and ">= 0.95 MISS" in printed
    written = json.loads(out.read_text())
    assert written["kind"] == "image-to-image" and written["config"]["num_examples"] == 4
    psnr_row = next(row for row in written["rows"] if row["metric"] == "psnr")
    assert psnr_row["values"]["real"] == "inf" and isinstance(psnr_row["values"]["model"], float)
    assert written["targets"]["reader/colour+shape"]["met"] is False
    with Image.open(plot) as image:
        assert image.size[0] > 200 and image.size[1] > 200


def test_cli_scores_the_mask_kinds_asked_for(exported, capsys):
    status = cli.main(["evaluate", "cgan_inpaint_tiny", "--savedmodel", exported["cgan_inpaint_tiny"],
                       "--num-examples", "2", "--batch-size", "2", "--mask-kinds", "stroke"])
    printed = capsys.readouterr().out
    rows = [line.split()[0] for line in printed.splitlines() if "/" in line.split(" ")[0]]
    assert status == 0 and "stroke/psnr_hole" in rows and all(row.startswith("stroke/") for row in rows), rows
    assert cli.main(["evaluate", "cgan_inpaint_tiny", "--savedmodel", exported["cgan_inpaint_tiny"],
                     "--mask-kinds", "blob"]) == 2
    assert "mask_kinds must be some of ['box', 'stroke', 'object'], got ['blob']" in capsys.readouterr().err


def test_plots_of_every_kind(tmp_path, results):
    for name in FAMILIES:
        path = plot_samples(results(name)[0], str(tmp_path / f"{name}.png"))
        with Image.open(path) as image:
            assert np.asarray(image).std() > 0, name
    # The inpainting plot labels each `object` sample with the reader's verdict on the hidden object.
    from zoo.evaluation.plots import _inpainting
    samples = results("cgan_inpaint_tiny")[0].samples
    labels = [label for row in _inpainting({"object": samples["object"]}) for _, label in row[1:2]]
    assert labels and all(label.split(":")[0] in ("right", "WRONG") and "read there:" in label for label in labels)


def test_cli_reports_a_name_that_does_not_match_the_savedmodel(exported, capsys):
    status = cli.main(["evaluate", "captioner_tiny", "--savedmodel", exported["cgan_i2i_tiny"]])
    assert status == 2 and "is a model of kind image-to-text" in capsys.readouterr().err


def test_workdir_gives_ema_or_trained_weights(tmp_path):
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    workdir = str(tmp_path / "run")
    Trainer(TrainConfig(model="cgan_t2i_tiny", workdir=workdir, steps=3, batch_size=8, learning_rate=0.01,
                        ema_decay=0.5, progress=False, checkpoint_every=3, sample_every=100)).fit()
    ema, ema_name = model_to_evaluate("cgan_t2i_tiny", workdir=workdir)
    raw, raw_name = model_to_evaluate("cgan_t2i_tiny", workdir=workdir, raw_weights=True)
    assert raw_name == ema_name + " (raw weights)"
    captions = [shapes.scene("test", i)["captions"][0] for i in range(2)]
    assert np.abs(ema.generate(captions, seeds=0).astype(int) - raw.generate(captions, seeds=0).astype(int)).max() > 0
    with pytest.raises(ValueError, match="trained 'cgan_t2i_tiny', not 'cvae_t2i_tiny'"):
        model_to_evaluate("cvae_t2i_tiny", workdir=workdir)
