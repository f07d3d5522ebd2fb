"""`evaluate` on real photos: pix2pix on the CMP facades, photo inpainting with held-out masks.

`evaluate(model, data="facades", data_path=...)` (zoo.evaluation.evaluate) lands here.
Real photos have no scene truth, so the scores are pixel-level, next to simple baselines:

Image to image, a model of colour label maps (e.g. `cgan_i2i_facades`): each test pair's
label map in, its photo the truth. Rows `l1`, `psnr`, `ssim` against the photo, and
`sharpness` (the variance of the Laplacian over the photos': blur is what L1 training
buys). Columns:
- `model`;
- `mean photo`: the mean of the training photos, one constant image whatever the input
  (the best an input-blind model can do in L1; PSNR rewards it, sharpness does not);
- each `baselines` model (e.g. pix2pix's L1-only ablation);
- `real`: the photos themselves, the ceiling (PSNR inf, SSIM 1, sharpness 1).

Inpainting (e.g. `cgan_inpaint_facades`): every test photo with every held-out test mask
of a mask folder (`zoo.data.mask_folder`: the files numbered in multiples of 100, 120 of
the 600 shipped NVIDIA masks, never trained on), the hole zeroed before any method sees it.
Each mask falls in a hole-ratio bin (`HOLE_BINS`, measured at the mask's full resolution).
Rows per bin, e.g. `0-10%/hole_psnr`, `0-10%/ssim` (whole image), `0-10%/hole_l1`, and
`mean/...`, the mean over the bins. Columns: `model`, `opencv telea`, `opencv ns`, and
each `baselines` model.

With `inception_weights` (a local InceptionV3 weights file; nothing is ever downloaded),
rows `fid` and `kid`: each column's images against the test photos on InceptionV3 pool
features (for inpainting, one pair per photo: photo i with test mask i mod the mask count).

Example:
    result = evaluate("savedmodels/cgan_i2i_facades", data="facades", data_path="../shared/data/facades",
                      baselines={"l1 only": "runs/l1only/pix2pix"})
    print(result.table())
"""

import dataclasses
import logging
import os
import time

import numpy as np

import zoo
from zoo.data.errors import DataError, require_directory
from zoo.data.mask_folder import HOLE_BINS, hole_ratio_bin, mask_files, read_mask, resize_mask
from zoo.data.pix2pix import pair_files
from zoo.evaluation.results import EvaluationResult, Row
from zoo.evaluation.subjects import Subject, TaskSubject, as_subject, in_batches, shown_path
from zoo.metrics import (
    fid_and_kid,
    inpainting_scores,
    l1,
    opencv_inpaint,
    psnr,
    sharpness,
    ssim,
)
from zoo.models.base import Task, to_uint8

log = logging.getLogger("zoo.evaluation")

REAL_DATASETS = ("facades",)
REAL_KINDS = ("image-to-image", "inpainting")
SAMPLE_COUNT = 4  # examples kept for plots
KID_SUBSETS = 50
# The columns a baseline model cannot be named after.
FIXED_COLUMNS = {"image-to-image": ("model", "mean photo", "real"),
                 "inpainting": ("model", "opencv telea", "opencv ns")}
# A pair's hole PSNR is capped here: an exact fill (e.g. a hole inside a photo's black border,
# which OpenCV fills with black) is inf, and one inf would make its bin's mean inf. No inexact
# uint8 fill of a hole under 51000 pixels reaches it (one level off in one pixel of a hole of P
# pixels: 48.1 dB + 10 log10(3 P)); a 60% hole at 256 px has 39000.
HOLE_PSNR_CAP = 100.0
HOLE_ROWS = {"hole_psnr": ("psnr_hole", f"PSNR (dB) over the hole, each pair's capped at {HOLE_PSNR_CAP:g}"),
             "ssim": ("ssim", "SSIM over the whole image"),
             "hole_l1": ("l1_hole", "mean absolute error over the hole ([0, 1] scale)")}
NOTES = {
    "image-to-image": (
        "l1, psnr, ssim: against the test photo; sharpness: variance of the Laplacian (grey, 0-255) over the "
        "test photos' (1 = as sharp; blur scores below 1)",
        "mean photo: the mean training photo, whatever the input; real: the photos themselves (the ceiling)",
    ),
    "inpainting": (
        "every test photo with every held-out test mask, the hole zeroed before any method sees it; rows per "
        "hole-ratio bin of the mask (at full resolution), mean/*: the mean over the bins",
        f"hole_psnr, hole_l1: over the hole (l1 on a [0, 1] scale; a pair's PSNR capped at {HOLE_PSNR_CAP:g} dB, "
        "an exact fill); ssim: the whole image",
    ),
}
FID_NOTE = ("fid, kid: InceptionV3 pool features (local weights) of each column's images against the test "
            "photos; lower is better")


@dataclasses.dataclass
class _Settings:
    data: str
    split: str
    data_path: str
    masks: str
    num_examples: int
    batch_size: int
    seed: int
    image_size: int = None


def evaluate_real(model, data="facades", split="test", num_examples=None, batch_size=100, seed=0,
                  data_path=None, masks=None, baselines=None, inception_weights=None, name=None):
    """Score `model` on real photos; `evaluate(..., data="facades")` calls this (see the module).

    Args:
        model: a zoo Task or an exported SavedModel directory, image to image or inpainting.
        data: `facades` (the pix2pix layout: `data_path/train`, `data_path/test`).
        split: the photos scored (the mean photo always comes from `train`).
        num_examples: the first N photos of `split` (None: all, 106 for the facades test split).
        batch_size: examples (inpainting: photo-mask pairs) per model call.
        seed: the KID subsets.
        data_path: the data set's folder (e.g. ../shared/data/facades).
        masks: inpainting: a folder of numbered mask PNGs (e.g. ../shared/data/masks); its
            held-out test masks are used.
        baselines: {column name: model} of the same kind and image size: a Task, a SavedModel
            directory or a training workdir (its EMA weights); or a list of "NAME=DIR".
        inception_weights: a local InceptionV3 (notop) weights file: adds `fid` and `kid` rows.
        name: how the model is named in the result.

    Returns:
        an `EvaluationResult`.
    """
    settings = _check_arguments(data, split, num_examples, batch_size, seed, data_path, inception_weights)
    subject = as_subject(model)
    _check_subject(subject, masks, data)
    settings.masks = masks
    settings.image_size = subject.image_size
    baseline_subjects, baseline_names = resolve_baselines(baselines, subject)
    available = len(pair_files(settings.data_path, split))
    if settings.num_examples is None:
        settings.num_examples = available
    elif settings.num_examples > available:
        raise ValueError(f"num_examples must be at most {available}: split {split!r} of {data!r} has "
                         f"{available} photos, got {settings.num_examples}.")
    features = _inception_features(inception_weights) if inception_weights else None
    started = time.time()
    evaluator = _image_to_image if subject.kind == "image-to-image" else _inpainting
    columns, rows, samples, details = evaluator(subject, baseline_subjects, settings, features)
    config = {
        "model": name or subject.description, "kind": subject.kind, "data": data, "split": split,
        "data_path": os.path.basename(os.path.normpath(settings.data_path)),
        "num_examples": settings.num_examples, "batch_size": settings.batch_size, "seed": settings.seed,
        "image_size": subject.image_size, **details, "baselines": baseline_names,
        "fid_features": (f"InceptionV3 ({os.path.basename(os.fspath(inception_weights))})"
                         if inception_weights else None),
        "seconds": round(time.time() - started, 1), "zoo_version": zoo.__version__,
    }
    notes = NOTES[subject.kind] + ((FID_NOTE,) if features is not None else ())
    return EvaluationResult(subject.kind, columns, rows, config, samples, notes=notes)


def _check_arguments(data, split, num_examples, batch_size, seed, data_path, inception_weights):
    if data not in REAL_DATASETS:
        raise ValueError(f"Cannot evaluate on real data {data!r}; real data sets are {list(REAL_DATASETS)}.")
    if data_path is None:
        raise DataError(f"data={data!r} is read from files: give its folder as data_path (zoo evaluate "
                        f"--data-path), e.g. ../shared/data/{data}.")
    path = str(require_directory(data_path, f"{data} folder"))
    for label, value, low in (("num_examples", num_examples, 1), ("batch_size", batch_size, 1), ("seed", seed, 0)):
        if value is None and label == "num_examples":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{label} must be an int >= {low}, got {value!r}.")
    if inception_weights is not None and not os.path.isfile(inception_weights):
        raise FileNotFoundError(f"InceptionV3 weights file not found: {os.fspath(inception_weights)!r}; FID needs "
                                "a local notop weights file (nothing is downloaded).")
    return _Settings(data, split, path, None, None if num_examples is None else int(num_examples),
                     int(batch_size), int(seed))


def _check_subject(subject, masks, data):
    if subject.kind not in REAL_KINDS:
        raise ValueError(f"{data!r} scores image-to-image and inpainting models; {subject.description} is a "
                         f"{subject.kind} model (those are scored on shapes).")
    if subject.kind == "image-to-image":
        if masks is not None:
            raise ValueError(f"masks (--masks) are for inpainting models; {subject.description} is an "
                             "image-to-image model.")
        _check_colour_inputs(subject, subject.description)
    elif masks is None:
        raise DataError(f"Inpainting on {data!r} needs hole masks: give masks (--masks), a folder of mask "
                        "PNGs such as ../shared/data/masks (its held-out test masks are used).")
    else:
        require_directory(masks, "mask folder")


def _check_colour_inputs(subject, what):
    if subject.input_channels != 3 or subject.input_classes:
        taken = (f"class-index maps ({subject.input_classes} classes)" if subject.input_classes
                 else f"{subject.input_channels}-channel inputs")
        raise ValueError(f"{what} translates {taken}; facades label maps are colour images (3 channels): "
                         "a model built with input_classes=0, input_channels=3, as cgan_i2i_facades.")


# === Baseline models ===
def parse_baselines(texts):
    """{name: folder} from "NAME=DIR" texts (`zoo evaluate --baseline`), in order; names are unique.

    Example: `parse_baselines(["l1 only=runs/l1only/pix2pix"]) == {"l1 only": "runs/l1only/pix2pix"}`.
    """
    parsed = {}
    for text in texts or ():
        name, separator, folder = str(text).partition("=")
        name, folder = name.strip(), folder.strip()
        if not separator or not name or not folder:
            raise ValueError(f"--baseline takes NAME=DIR (a column name, then a SavedModel or training "
                             f"workdir), e.g. \"l1 only=runs/l1only/pix2pix\"; got {text!r}.")
        if name in parsed:
            raise ValueError(f"Two baselines are named {name!r}; give each its own NAME.")
        parsed[name] = folder
    return parsed


def baseline_subject(model):
    """(Subject, description) of a baseline: a Task, a Subject, a training workdir or a SavedModel."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if os.path.isfile(os.path.join(path, "config.json")):  # a `zoo train` workdir: its EMA weights
            from zoo.training.runs import load_trained

            return TaskSubject(load_trained(path)), f"trained in {shown_path(path)}"
        subject = as_subject(path)
        return subject, f"SavedModel {shown_path(subject.path)}"
    if isinstance(model, (Task, Subject)):
        subject = as_subject(model)
        return subject, subject.description
    raise ValueError(f"A baseline is a zoo Task, a SavedModel directory or a training workdir, "
                     f"got {type(model).__name__}.")


def resolve_baselines(baselines, subject):
    """({name: Subject}, {name: description}) of the baseline models, checked against `subject`."""
    if not baselines:
        return {}, {}
    if not hasattr(baselines, "items"):
        if isinstance(baselines, (str, os.PathLike)):
            baselines = [baselines]
        baselines = parse_baselines(baselines)
    subjects, descriptions = {}, {}
    for name, model in baselines.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"A baseline's name is its column's name: a non-empty str, got {name!r}.")
        if name in FIXED_COLUMNS[subject.kind]:
            raise ValueError(f"A baseline cannot be named {name!r}: the columns {list(FIXED_COLUMNS[subject.kind])} "
                             "are taken.")
        baseline, description = baseline_subject(model)
        what = f"Baseline {name!r} ({description})"
        if baseline.kind != subject.kind:
            raise ValueError(f"{what} is of kind {baseline.kind}, but the model is of kind {subject.kind}: a "
                             "baseline must be of the same kind.")
        if baseline.image_size != subject.image_size:
            raise ValueError(f"{what} works at {baseline.image_size}x{baseline.image_size}, the model at "
                             f"{subject.image_size}x{subject.image_size}: a baseline must have the same image size.")
        if baseline.kind == "image-to-image":
            _check_colour_inputs(baseline, what)
        subjects[name], descriptions[name] = baseline, description
    return subjects, descriptions


# === Photos and masks ===
def load_photos(data, path, split, image_size, num_examples=None, batch_size=100):
    """(photos, label maps), uint8 [N, S, S, 3] each: the first `num_examples` pairs of `split`, in file order."""
    dataset = zoo.data.load(data, split=split, path=path, image_size=image_size, batch_size=batch_size, masks=None,
                            shuffle=False, repeat=False, drop_remainder=False, num_examples=num_examples,
                            augment=False)
    photos, label_maps = [], []
    for batch in dataset.as_numpy_iterator():
        photos.append(to_uint8(batch["image"]))
        label_maps.append(batch["label_map"])
    return np.concatenate(photos), np.concatenate(label_maps)


def mean_photo(data, path, image_size, batch_size=100):
    """(the mean training photo as uint8 [S, S, 3], the number of training photos)."""
    photos, _ = load_photos(data, path, "train", image_size, batch_size=batch_size)
    return np.round(photos.astype(np.float64).mean(axis=0)).astype(np.uint8), len(photos)


def held_out_masks(root, image_size):
    """The held-out test masks of a mask folder: (masks uint8 [M, S, S, 1], bin index [M], file names).

    Each mask's bin (`HOLE_BINS`) is its hole ratio at full resolution. A mask whose hole
    vanishes at `image_size` is left out (the hole scores need a hole).
    """
    masks, bins, names = [], [], []
    for path in mask_files(root, split="test"):
        full = read_mask(path)
        small = resize_mask(full, image_size).numpy()
        if small.any():
            masks.append(small)
            bins.append(hole_ratio_bin(full))
            names.append(path.name)
    if not masks:
        raise DataError(f"No test mask of {str(root)!r} keeps a hole at {image_size}x{image_size}.")
    return np.stack(masks), np.array(bins), names


def bin_label(index):
    """"0-10%" ... "50-60%": the name of hole-ratio bin `index` in the rows."""
    low, high = HOLE_BINS[index]
    return f"{round(low * 100)}-{round(high * 100)}%"


# === Image to image ===
def _image_to_image(subject, baselines, settings, features):
    real, label_maps = load_photos(settings.data, settings.data_path, settings.split, settings.image_size,
                                   settings.num_examples, settings.batch_size)
    mean, train_count = mean_photo(settings.data, settings.data_path, settings.image_size, settings.batch_size)
    outputs = {"model": in_batches(subject.translate, settings.batch_size, label_maps),
               "mean photo": np.repeat(mean[None], len(real), axis=0)}
    outputs.update({name: in_batches(b.translate, settings.batch_size, label_maps) for name, b in baselines.items()})
    outputs["real"] = real
    rows = [Row(key, {c: function(real, images) for c, images in outputs.items()}, description)
            for key, function, description in (
                ("l1", l1, "mean absolute error against the photo ([0, 1] scale)"),
                ("psnr", psnr, "PSNR (dB) against the photo"),
                ("ssim", ssim, "SSIM against the photo"))]
    rows.append(Row("sharpness", {c: sharpness(images, real) for c, images in outputs.items()},
                    "mean variance of the Laplacian (grey, 0-255) over that of the test photos"))
    if features is not None:
        generated = {c: images for c, images in outputs.items() if c != "real"}
        rows += _distribution_rows(features, real, generated, settings.seed, with_real=True)
    count = min(SAMPLE_COUNT, len(real))
    shown = ["mean photo", *baselines, "model"]
    samples = {"inputs": label_maps[:count], "input_labels": ["label map"] * count,
               "columns": {c: outputs[c][:count] for c in shown}, "truth": real[:count],
               "psnr": {c: psnr(real[:count], outputs[c][:count], per_image=True) for c in shown},
               "psnr_label": "PSNR"}
    return list(outputs), rows, samples, {"mean_photo_examples": train_count}


# === Inpainting ===
def _fillers(subject, baselines):
    """{column: function(masked images, masks) -> filled images}, in column order."""
    def model_filler(model):
        return lambda images, masks: model.inpaint(images, masks, [""] * len(images))

    return {"model": model_filler(subject),
            "opencv telea": lambda images, masks: opencv_inpaint(images, masks, method="telea"),
            "opencv ns": lambda images, masks: opencv_inpaint(images, masks, method="ns"),
            **{name: model_filler(b) for name, b in baselines.items()}}


def _inpainting(subject, baselines, settings, features):
    photos, _ = load_photos(settings.data, settings.data_path, settings.split, settings.image_size,
                            settings.num_examples, settings.batch_size)
    masks, bins, _ = held_out_masks(settings.masks, settings.image_size)
    fillers = _fillers(subject, baselines)
    photo_count, mask_count = len(photos), len(masks)
    total = photo_count * mask_count
    values = {c: {key: [] for key in HOLE_ROWS} for c in fillers}
    fid_images = {c: [] for c in fillers}
    started, reported = time.time(), 0
    # Pair p is photo p // M with mask p % M.
    for start in range(0, total, settings.batch_size):
        pairs = np.arange(start, min(start + settings.batch_size, total))
        photo_index, mask_index = pairs // mask_count, pairs % mask_count
        truth, holes = photos[photo_index], masks[mask_index]
        masked = truth * (1 - holes)  # no method sees the hidden pixels
        fid_pairs = mask_index == photo_index % mask_count
        for column, fill in fillers.items():
            filled = fill(masked, holes)
            scores = inpainting_scores(truth, filled, holes, per_image=True)
            for key, (score, _) in HOLE_ROWS.items():
                values[column][key].append(scores[score])
            if features is not None and fid_pairs.any():
                fid_images[column].append(filled[fid_pairs])
        done = int(pairs[-1]) + 1
        if done * 10 // total > reported:
            reported = done * 10 // total
            log.info("inpainting: %d of %d photo-mask pairs scored (%.0f s)", done, total, time.time() - started)
    values = {c: {key: np.concatenate(parts) for key, parts in by_key.items()} for c, by_key in values.items()}
    exact = {c: int(np.sum(np.isinf(v["hole_psnr"]))) for c, v in values.items()}
    for by_key in values.values():
        by_key["hole_psnr"] = np.minimum(by_key["hole_psnr"], HOLE_PSNR_CAP)
    pair_bins = np.tile(bins, photo_count)
    rows, bin_means = [], {c: {key: [] for key in HOLE_ROWS} for c in fillers}
    for index in range(len(HOLE_BINS)):
        in_bin = pair_bins == index
        label = bin_label(index)
        for key, (_, description) in HOLE_ROWS.items():
            row = {}
            for column in fillers:
                row[column] = float(np.mean(values[column][key][in_bin])) if in_bin.any() else float("nan")
                bin_means[column][key].append(row[column])
            rows.append(Row(f"{label}/{key}", row, f"masks hiding {label} of the image: {description}"))
    for key, (_, description) in HOLE_ROWS.items():
        row = {c: _mean_of_bins(bin_means[c][key]) for c in fillers}
        rows.append(Row(f"mean/{key}", row, f"the mean over the hole-ratio bins: {description}"))
    if features is not None:
        generated = {c: np.concatenate(images) for c, images in fid_images.items()}
        rows += _distribution_rows(features, photos, generated, settings.seed, with_real=False)
    samples = _inpainting_samples(photos, masks, fillers)
    details = {"masks": os.path.basename(os.path.normpath(os.fspath(settings.masks))), "mask_split": "test",
               "num_masks": mask_count, "num_pairs": total, "hole_psnr_cap": HOLE_PSNR_CAP, "exact_fills": exact,
               "masks_per_bin": {bin_label(i): int(np.sum(bins == i)) for i in range(len(HOLE_BINS))}}
    return list(fillers), rows, samples, details


def _mean_of_bins(values):
    present = [v for v in values if not np.isnan(v)]
    return float(np.mean(present)) if present else float("nan")


def _inpainting_samples(photos, masks, fillers):
    """The first photos, each with a test mask from across the hole ratios, filled by every column."""
    count = min(SAMPLE_COUNT, len(photos))
    ratios = masks.reshape(len(masks), -1).mean(axis=1)
    by_ratio = np.argsort(ratios, kind="stable")
    chosen = by_ratio[[int((k + 0.5) * len(masks) / count) for k in range(count)]]
    truth, holes = photos[:count], masks[chosen]
    masked = truth * (1 - holes)
    shown = ["opencv telea", "opencv ns", *(c for c in fillers if c not in FIXED_COLUMNS["inpainting"]), "model"]
    outputs = {c: fillers[c](masked, holes) for c in shown}
    return {"inputs": masked, "masks": holes, "input_labels": [f"hole {ratios[m]:.0%}" for m in chosen],
            "columns": outputs, "truth": truth,
            "psnr": {c: psnr(truth, outputs[c], mask=holes, per_image=True) for c in shown},
            "psnr_label": "hole PSNR"}


# === FID and KID ===
def _inception_features(weights_path):
    from zoo.metrics import InceptionFeatures

    return InceptionFeatures(weights_path)


def _distribution_rows(features, real, generated, seed, with_real):
    """`fid` and `kid` of each column's images against the real photos (`real` column: -, the same set)."""
    reference = features(real)
    values = {}
    for column, images in generated.items():
        values[column] = fid_and_kid(reference, features(images), KID_SUBSETS, seed)
    if with_real:
        values["real"] = (float("nan"), float("nan"))
    return [Row("fid", {c: v[0] for c, v in values.items()},
                f"FID on InceptionV3 pool features against the {len(real)} test photos"),
            Row("kid", {c: v[1] for c, v in values.items()},
                "KID (mean over subsets) on the same features; unbiased, so it can be slightly negative")]

