"""`zoo evaluate` on real photos: pix2pix on the facades, photo inpainting with the held-out test masks.

Tiny untrained models at 32 px on a few of the real facades photos (../shared/data).
"""

import json
import math
import re

import numpy as np
import pytest
from PIL import Image

import zoo
from zoo import cli
from zoo.data.mask_folder import HOLE_BINS, hole_ratio_bin, mask_files, read_mask
from zoo.data.pix2pix import pair_files
from zoo.evaluation import evaluate, plot_samples
from zoo.evaluation.real import HOLE_PSNR_CAP, bin_label, load_photos, parse_baselines
from zoo.evaluation.subjects import Subject
from zoo.export import export
from zoo.metrics import l1, opencv_inpaint, psnr

SIZE = 32
PHOTOS = 4
BINS = ["0-10%", "10-20%", "20-30%", "30-40%", "40-50%", "50-60%"]
HOLE_METRICS = ["hole_psnr", "ssim", "hole_l1"]


def colour_i2i(**overrides):
    """A tiny pix2pix of colour label maps, as cgan_i2i_facades (input_classes=0, 3 channels)."""
    settings = {"image_size": SIZE, "input_classes": 0, "input_channels": 3, **overrides}
    return zoo.build("cgan_i2i_tiny", **settings).build_all()


@pytest.fixture(scope="module")
def models():
    return {"i2i": colour_i2i(), "i2i other": colour_i2i(),
            "inpaint": zoo.build("cgan_inpaint_tiny", use_text=False, image_size=SIZE).build_all()}


@pytest.fixture(scope="module")
def exported(models, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("real_data_savedmodels"))
    return {"i2i": export(models["i2i"], out, "cgan_i2i_facades"),
            "inpaint": export(models["inpaint"], out, "cgan_inpaint_facades")}


@pytest.fixture(scope="module")
def cache():
    return {}


@pytest.fixture
def facades(shared_data):
    return str(shared_data / "facades")


@pytest.fixture
def masks(shared_data):
    return str(shared_data / "masks")


@pytest.fixture
def i2i_result(models, facades, cache):
    if "i2i" not in cache:
        cache["i2i"] = evaluate(models["i2i"], data="facades", data_path=facades, num_examples=PHOTOS,
                                batch_size=PHOTOS, baselines={"l1 only": models["i2i other"]})
    return cache["i2i"]


@pytest.fixture
def inpaint_result(models, facades, masks, cache):
    if "inpaint" not in cache:
        cache["inpaint"] = evaluate(models["inpaint"], data="facades", data_path=facades, masks=masks,
                                    num_examples=PHOTOS, batch_size=160)
    return cache["inpaint"]


def pil_photos(facades, split, count=None):
    """The photos (left halves) of a facades split at SIZE, read with PIL (antialiased bilinear), float64."""
    photos = []
    for path in pair_files(facades, split)[:count]:
        with Image.open(path) as image:
            width, height = image.size
            photo = image.convert("RGB").crop((0, 0, width // 2, height)).resize((SIZE, SIZE), Image.BILINEAR)
        photos.append(np.asarray(photo, np.float64))
    return np.stack(photos)


# === Image to image ===
def test_image_to_image_columns_and_the_real_ceiling(i2i_result):
    result = i2i_result
    assert result.kind == "image-to-image"
    assert result.columns == ["model", "mean photo", "l1 only", "real"]
    assert [row.metric for row in result.rows] == ["l1", "psnr", "ssim", "sharpness"]
    assert result.value("psnr", "real") == math.inf and result.value("ssim", "real") == pytest.approx(1.0)
    assert result.value("l1", "real") == 0.0 and result.value("sharpness", "real") == 1.0
    for column in ("model", "mean photo", "l1 only"):
        assert 0 < result.value("psnr", column) < 40 and 0 < result.value("l1", column) < 1
    # A constant image has no edges; the untrained model's noise has more than the photos.
    assert result.value("sharpness", "mean photo") < 0.1 < 1 < result.value("sharpness", "model")
    config = result.config
    assert config["data"] == "facades" and config["split"] == "test" and config["num_examples"] == PHOTOS
    assert config["data_path"] == "facades" and config["mean_photo_examples"] == 400
    assert config["fid_features"] is None and "fid" not in [row.metric for row in result.rows]


def test_mean_photo_column_is_the_mean_of_the_training_photos(i2i_result, facades):
    expected = np.round(pil_photos(facades, "train").mean(axis=0))
    shown = i2i_result.samples["columns"]["mean photo"]
    assert np.all(shown == shown[0])  # one image, whatever the input
    assert np.abs(shown[0].astype(int) - expected).max() <= 1  # PIL's and TF's resizing round apart
    test_photos = pil_photos(facades, "test", PHOTOS)
    expected_l1 = np.mean(np.abs(test_photos - expected)) / 255
    assert i2i_result.value("l1", "mean photo") == pytest.approx(expected_l1, abs=2e-3)


def test_a_baseline_column_scores_as_that_model_would(i2i_result, models, facades):
    alone = evaluate(models["i2i other"], data="facades", data_path=facades, num_examples=PHOTOS, batch_size=PHOTOS)
    for metric in ("l1", "psnr", "ssim", "sharpness"):
        assert i2i_result.value(metric, "l1 only") == alone.value(metric)
    assert i2i_result.value("psnr", "l1 only") != i2i_result.value("psnr")  # two models, two columns


# === Inpainting ===
def test_inpainting_rows_per_hole_ratio_bin(inpaint_result):
    result = inpaint_result
    assert result.kind == "inpainting" and result.columns == ["model", "opencv telea", "opencv ns"]
    expected = [f"{b}/{m}" for b in BINS for m in HOLE_METRICS] + [f"mean/{m}" for m in HOLE_METRICS]
    assert [row.metric for row in result.rows] == expected
    assert [bin_label(i) for i in range(len(HOLE_BINS))] == BINS
    config = result.config
    assert config["num_examples"] == PHOTOS and config["num_masks"] == 120 and config["num_pairs"] == PHOTOS * 120
    assert config["masks_per_bin"] == {b: 20 for b in BINS} and config["masks"] == "masks"
    for column in result.columns:
        for metric in HOLE_METRICS:
            per_bin = [result.value(f"{b}/{metric}", column) for b in BINS]
            assert all(np.isfinite(per_bin))
            assert result.value(f"mean/{metric}", column) == pytest.approx(np.mean(per_bin))
    # Larger holes are harder: OpenCV's hole PSNR and SSIM fall from the first bin to the last.
    assert result.value("0-10%/ssim", "opencv ns") > result.value("50-60%/ssim", "opencv ns")
    assert "on facades/test, 4 photos x 120 masks" in result.table().split("\n")[0]


def test_a_bin_row_is_the_mean_over_every_photo_with_every_mask_of_the_bin(inpaint_result, facades, masks):
    photos, _ = load_photos("facades", facades, "test", SIZE, PHOTOS)
    files = [path for path in mask_files(masks, split="test") if hole_ratio_bin(read_mask(path)) == 3]
    assert len(files) == 20
    holes = np.stack([read_mask(path, image_size=SIZE) for path in files])
    truth = np.repeat(photos, len(holes), axis=0)
    holes = np.tile(holes, (len(photos), 1, 1, 1))
    filled = opencv_inpaint(truth * (1 - holes), holes, method="telea")
    assert inpaint_result.value("30-40%/hole_psnr", "opencv telea") == pytest.approx(psnr(truth, filled, mask=holes))
    assert inpaint_result.value("30-40%/hole_l1", "opencv telea") == pytest.approx(l1(truth, filled, mask=holes))


def test_inpainted_outputs_keep_the_known_pixels(inpaint_result, tmp_path):
    samples = inpaint_result.samples
    known = samples["masks"] == 0
    assert samples["masks"].mean() > 0.05 and np.all(samples["inputs"][~np.repeat(known, 3, -1)] == 0)
    for column, images in samples["columns"].items():
        assert np.array_equal(np.where(known, images, 0), np.where(known, samples["truth"], 0)), column
    # The samples span the hole ratios; the plot titles each output with its hole PSNR.
    ratios = samples["masks"].reshape(len(samples["masks"]), -1).mean(axis=1)
    assert np.all(np.diff(ratios) > 0) and samples["input_labels"][0] == f"hole {ratios[0]:.0%}"
    path = plot_samples(inpaint_result, str(tmp_path / "inpaint.png"))
    with Image.open(path) as image:
        assert image.size[0] > 400 and np.asarray(image).std() > 0


class Oracle(Subject):
    """An inpainting "model" that knows the photos: it returns the one whose known pixels match."""

    kind, image_size, description = "inpainting", SIZE, "oracle"

    def __init__(self, photos):
        self.photos = photos

    def inpaint(self, images, masks, captions):
        assert captions == [""] * len(images)  # a model without text gets empty captions
        known = masks == 0
        return np.stack([next(p for p in self.photos if np.array_equal(np.where(k, p, 0), np.where(k, i, 0)))
                         for i, k in zip(images, known)])


def test_an_exact_fill_scores_the_capped_psnr(facades, masks):
    photos, _ = load_photos("facades", facades, "test", SIZE, 2)
    result = evaluate(Oracle(photos), data="facades", data_path=facades, masks=masks, num_examples=2, batch_size=240)
    assert result.config["num_pairs"] == 240 and result.config["exact_fills"]["model"] == 240
    for b in (*BINS, "mean"):
        assert result.value(f"{b}/hole_psnr") == HOLE_PSNR_CAP and result.value(f"{b}/hole_l1") == 0.0
        assert result.value(f"{b}/ssim") == pytest.approx(1.0)
    assert result.value("mean/hole_psnr", "opencv telea") < HOLE_PSNR_CAP


# === CLI ===
def test_cli_prints_the_table_and_writes_json_and_plot(tmp_path, exported, facades, capsys):
    out, plot = tmp_path / "results.json", tmp_path / "grid.png"
    model_dir = exported["i2i"].rsplit("/", 1)[0]  # the model folder: its newest version
    status = cli.main(["evaluate", "cgan_i2i_facades", "--savedmodel", model_dir, "--data", "facades",
                       "--data-path", facades, "--num-examples", "3", "--batch-size", "2",
                       "--baseline", f"l1 only={exported['i2i']}", "--out", str(out), "--plot", str(plot)])
    assert status == 0
    printed = capsys.readouterr().out
    assert "mean photo" in printed and "l1 only" in printed and "sharpness" in printed and f"wrote {out}" in printed
    text = out.read_text()
    assert facades not in text and facades.rsplit("/", 2)[0] not in text  # no path of this machine
    written = json.loads(text)
    assert written["kind"] == "image-to-image" and written["columns"] == ["model", "mean photo", "l1 only", "real"]
    rows = {row["metric"]: row["values"] for row in written["rows"]}
    assert rows["psnr"]["real"] == "inf" and rows["sharpness"]["real"] == 1.0
    assert rows["psnr"]["l1 only"] == rows["psnr"]["model"]  # the same SavedModel twice
    assert written["config"]["num_examples"] == 3 and written["config"]["data_path"] == "facades"
    assert written["config"]["baselines"]["l1 only"].startswith("SavedModel ")
    with Image.open(plot) as image:
        assert image.size[0] > 300


def test_cli_inpainting_savedmodel_with_a_baseline_column(tmp_path, exported, facades, masks, capsys):
    out = tmp_path / "inpaint.json"
    status = cli.main(["evaluate", "cgan_inpaint_facades", "--savedmodel", exported["inpaint"], "--data", "facades",
                       "--data-path", facades, "--masks", masks, "--num-examples", "1", "--batch-size", "120",
                       "--baseline", f"again={exported['inpaint']}", "--out", str(out)])
    assert status == 0
    assert "mean/hole_psnr" in capsys.readouterr().out
    rows = {row["metric"]: row["values"] for row in json.loads(out.read_text())["rows"]}
    assert rows["mean/hole_psnr"]["again"] == rows["mean/hole_psnr"]["model"]
    assert set(rows["0-10%/ssim"]) == {"model", "opencv telea", "opencv ns", "again"}


@pytest.mark.slow
def test_a_training_workdir_as_model_and_as_baseline(tmp_path, facades, capsys):
    """One training step on the facades (about 12 s of the test's 14: the pipeline and the step's tracing)."""
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    workdir = str(tmp_path / "pix2pix")
    Trainer(TrainConfig(model="cgan_i2i_tiny", workdir=workdir, data="facades", data_path=facades, steps=1,
                        batch_size=2, progress=False, checkpoint_every=1, sample_every=100,
                        model_overrides={"image_size": SIZE, "input_classes": 0, "input_channels": 3})).fit()
    out = tmp_path / "results.json"
    status = cli.main(["evaluate", "cgan_i2i_tiny", "--workdir", workdir, "--data", "facades", "--data-path", facades,
                       "--num-examples", "2", "--baseline", f"same run={workdir}", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    written = json.loads(out.read_text())
    shown = "/".join(workdir.split("/")[-3:])  # an absolute path's last three parts: no machine's layout
    assert written["config"]["baselines"] == {"same run": f"trained in {shown}"}
    assert written["config"]["model"] == f"cgan_i2i_tiny trained in {shown}"
    rows = {row["metric"]: row["values"] for row in written["rows"]}
    assert rows["l1"]["same run"] == rows["l1"]["model"]  # both the run's EMA weights


# === Bad input: one clear line ===
@pytest.mark.parametrize("case, message", [
    ("no data path", "data='facades' is read from files: give its folder as data_path \\(zoo evaluate --data-path\\)"),
    ("masks for image to image", "masks \\(--masks\\) are for inpainting models"),
    ("inpainting without masks", "Inpainting on 'facades' needs hole masks: give masks \\(--masks\\)"),
    ("baseline of another kind", "is of kind inpainting, but the model is of kind image-to-image"),
    ("baseline of another size", "works at 64x64, the model at 32x32"),
    ("baseline without a name", "--baseline takes NAME=DIR"),
    ("class-index label maps", "translates class-index maps .9 classes.; facades label maps are colour images"),
    ("unknown data", "Cannot evaluate on data 'cityscapes': only \\['shapes'\\] .* \\['facades'\\] real photos"),
    ("text-to-image model", "'facades' scores image-to-image and inpainting models"),
    ("shapes with masks", "masks is for real data"),
    ("missing weights", "InceptionV3 weights file not found"),
])
def test_bad_input_is_one_clear_line(case, message, exported, facades, masks, tmp_path, capsys):
    i2i, inpaint = exported["i2i"], exported["inpaint"]
    real = ["--data", "facades", "--data-path", facades]
    argv = {
        "no data path": ["cgan_i2i_facades", "--savedmodel", i2i, "--data", "facades"],
        "masks for image to image": ["cgan_i2i_facades", "--savedmodel", i2i, *real, "--masks", masks],
        "inpainting without masks": ["cgan_inpaint_facades", "--savedmodel", inpaint, *real],
        "baseline of another kind": ["cgan_i2i_facades", "--savedmodel", i2i, *real, "--baseline", f"x={inpaint}"],
        "baseline of another size": ["cgan_i2i_facades", "--savedmodel", i2i, *real, "--baseline", "big=BIG"],
        "baseline without a name": ["cgan_i2i_facades", "--savedmodel", i2i, *real, "--baseline", i2i],
        "class-index label maps": ["cgan_i2i_tiny", *real],
        "unknown data": ["cgan_i2i_facades", "--savedmodel", i2i, "--data", "cityscapes"],
        "text-to-image model": ["cgan_t2i_tiny", *real],
        "shapes with masks": ["cgan_inpaint_tiny", "--masks", masks],
        "missing weights": ["cgan_i2i_facades", "--savedmodel", i2i, *real, "--inception-weights",
                            str(tmp_path / "inception.weights.h5")],
    }[case]
    if "big=BIG" in argv:  # a model of another size, exported only for this case
        argv[-1] = f"big={export(colour_i2i(image_size=64), str(tmp_path), 'big')}"
    assert cli.main(["evaluate", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("zoo evaluate: error: "), captured.err
    assert re.search(message, lines[0]), lines[0]
    assert "table" not in captured.out and "metric" not in captured.out


def test_baseline_names_and_models_are_checked_before_any_scoring(models, facades):
    assert parse_baselines(["l1 only=runs/a", " b = runs/b=c "]) == {"l1 only": "runs/a", "b": "runs/b=c"}
    with pytest.raises(ValueError, match="Two baselines are named 'a'"):
        parse_baselines(["a=x", "a=y"])
    for baselines, message in (({"real": models["i2i other"]}, "cannot be named 'real'"),
                               ({"": models["i2i other"]}, "a non-empty str"),
                               ({"other": 3}, "A baseline is a zoo Task, a SavedModel directory or a training workdir"),
                               ({"inpainting": models["inpaint"]}, "is of kind inpainting")):
        with pytest.raises(ValueError, match=message):
            evaluate(models["i2i"], data="facades", data_path=facades, baselines=baselines)
    with pytest.raises(ValueError, match="num_examples must be at most 106"):
        evaluate(models["i2i"], data="facades", data_path=facades, num_examples=107)
    with pytest.raises(ValueError, match="mask_kinds is for shapes"):
        evaluate(models["inpaint"], data="facades", data_path=facades, mask_kinds="box")


# === FID and KID ===
def test_fid_and_kid_rows_with_local_inception_weights(models, facades, tmp_path, monkeypatch):
    """A random-weights InceptionV3 saved to a file: the wiring, not the scores (no ImageNet weights offline).

    At 75 px (InceptionV3's smallest input) instead of 299, to stay fast; the weights are the same shapes.
    """
    import keras

    from zoo.metrics import image_quality

    monkeypatch.setattr(image_quality, "INCEPTION_IMAGE_SIZE", 75)
    inception = keras.applications.InceptionV3(include_top=False, weights=None, input_shape=(75, 75, 3),
                                               pooling="avg")
    weights = str(tmp_path / "inception_random.weights.h5")
    inception.save_weights(weights)
    result = evaluate(models["i2i"], data="facades", data_path=facades, num_examples=PHOTOS, batch_size=PHOTOS,
                      inception_weights=weights)
    assert [row.metric for row in result.rows][-2:] == ["fid", "kid"]
    for column in ("model", "mean photo"):
        assert np.isfinite(result.value("fid", column)) and result.value("fid", column) > 0
        assert np.isfinite(result.value("kid", column))
    assert math.isnan(result.value("fid", "real"))  # the photos against themselves: not a score
    assert result.config["fid_features"] == "InceptionV3 (inception_random.weights.h5)"
    assert any("fid, kid" in note for note in result.notes)


def test_inpainting_fid_takes_one_pair_per_photo(models, facades, masks, tmp_path, monkeypatch):
    """The wiring, with a cheap stand-in for InceptionV3: per column, photo i filled under test mask i."""
    from zoo.evaluation import real

    seen = []

    def features(images):
        seen.append(np.array(images))
        pixels = np.asarray(images, np.float64).reshape(len(images), -1, 3)
        return np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1)

    monkeypatch.setattr(real, "_inception_features", lambda path: features)
    weights = tmp_path / "stand_in.weights.h5"
    weights.write_bytes(b"")
    result = evaluate(models["inpaint"], data="facades", data_path=facades, masks=masks, num_examples=3,
                      batch_size=100, inception_weights=str(weights))
    assert [len(images) for images in seen] == [3] * 4  # the photos, then model, telea, ns
    photos, _ = load_photos("facades", facades, "test", SIZE, 3)
    assert np.array_equal(seen[0], photos)
    first_masks = np.stack([read_mask(path, image_size=SIZE) for path in mask_files(masks, split="test")[:3]])
    assert np.array_equal(seen[2], opencv_inpaint(photos * (1 - first_masks), first_masks, method="telea"))
    assert set(result.row("fid").values) == {"model", "opencv telea", "opencv ns"}
    assert result.value("fid", "opencv telea") < result.value("fid", "model")
