"""`evaluate`: score a model on `shapes` with exact truth, next to baselines and the real-data ceiling.

On real photos (`data="facades"`: pix2pix label maps to photos, photo inpainting with
held-out masks), `evaluate` hands over to `zoo.evaluation.real`; the rest of this module
is `shapes`.

What is measured depends on the model's task kind:
- text to image: the strict reader's reading of generated images against the
  caption's scene (`objects_right`, `scenes_right`, per attribute and per size),
  `diversity` (how much one caption's images differ over seeds, against real
  renders of it), and FID/KID on the probe's features;
- image to text: BLEU-1..4, CIDEr-D, and captions parsed back into scenes;
- inpainting, for each mask kind (box, stroke, object): PSNR/L1 in the hole and
  over the image, SSIM, and for object masks the strict reader's reading of the
  hidden object, with the caption and without (plain completion);
- image to image: PSNR/SSIM/L1 and the strict reader's reading of every object.
Images are read by `zoo.metrics.shapes_reader`, which knows only the spec's geometry
and colours; the learned probe gives only the feature space of FID/KID (and of the
nearest-neighbour captioner).
Baselines: `real` (real images or captions, the ceiling), OpenCV Telea and
Navier-Stokes (inpainting), a nearest-neighbour captioner (captioning).

Example:
    from zoo.evaluation import evaluate
    from zoo.training.runs import load_trained
    result = evaluate(load_trained("runs/t2i/gan"), split="test", num_examples=1000)
    print(result.table())
"""

import dataclasses
import time

import numpy as np

import zoo
from zoo.data import shapes
from zoo.evaluation.probe import PROBE_DIR, ProbeReader, read_probe_metadata
from zoo.evaluation.real import REAL_DATASETS, evaluate_real
from zoo.evaluation.results import EvaluationResult, Row, apply_targets
from zoo.evaluation.scenes import hidden_objects, objects_from_arrays
from zoo.evaluation.subjects import as_subject, in_batches
from zoo.metrics import (
    NearestNeighbourCaptioner,
    caption_match,
    cider_d,
    corpus_bleu,
    fid_and_kid,
    inpainting_scores,
    l1,
    opencv_inpaint,
    parse_caption,
    psnr,
    ssim,
)
from zoo.metrics.shapes_reader import object_verdicts, read_images, reader_scores
from zoo.models.base import to_uint8

DATASETS = ("shapes",)
SAMPLE_COUNT = 8  # examples kept for plots
SEED_STRIDE = 1 << 20  # generation seeds: index + seed * SEED_STRIDE (more than any split's size)
KID_SUBSETS = 20
DIVERSITY_CAPTIONS = 48  # the first captions of the evaluated scenes (fewer if fewer are evaluated)
DIVERSITY_SEEDS = 8
# Row name -> (score key, description). The keys are reader_scores' and caption_match's
# ("position": exactly one object is found in the object's cell).
ALIGNMENT_ROWS = {
    "objects_right": ("object", "objects with colour, shape, size and cell all right"),
    "scenes_right": ("scene", "scenes with every object right and nothing else"),
    "colour": ("colour", "objects whose colour is right in their cell"),
    "shape": ("shape", "objects whose shape is right in their cell"),
    "size": ("size", "objects whose size is right in their cell"),
    "cell": ("position", "objects found alone in their cell"),
    "colour+shape": ("colour+shape", "objects whose colour and shape are both right"),
    "object_small": ("object_small", "small (14 px) objects fully right"),
    "object_large": ("object_large", "large (24 px) objects fully right"),
}
READER_ROWS = ("objects_right", "scenes_right", "colour", "shape", "size", "cell", "object_small", "object_large")


@dataclasses.dataclass
class _Settings:
    split: str
    num_examples: int
    batch_size: int
    seed: int
    baseline_examples: int
    mask_kinds: tuple
    image_size: int = None


def evaluate(model, data="shapes", split="test", num_examples=None, batch_size=100, seed=0,
             probe=None, baseline_examples=2000, mask_kinds=None, name=None,
             data_path=None, masks=None, baselines=None, inception_weights=None):
    """Score `model` on the first `num_examples` scenes of `split`, with baselines and the ceiling.

    Args:
        model: a zoo Task (`zoo.build`, `load_trained`) or an exported SavedModel directory
            (a version folder, or a model folder whose newest version is used).
        data: `shapes` (exact scene truth, every kind), or `facades` (real photos, image to
            image and inpainting models: `zoo.evaluation.real`, which the last four arguments
            are for).
        split: `train`, `validation`, `test` or `test_compositional` (facades: `test`).
        num_examples: scenes scored (the first ones of the split, always the same); default
            1000 on shapes, every photo of the split on real data.
        batch_size: examples per model call.
        seed: seeds the generators' noise, the caption drawn per scene and the masks.
        probe: the `ShapesProbe` whose features FID/KID and the nearest-neighbour captioner use
            (default: the one shipped in the package). Images are read by the strict reader.
        baseline_examples: training scenes the nearest-neighbour captioner draws from.
        mask_kinds: the inpainting mask kinds scored (default: all of the spec's, box, stroke, object).
        name: how the model is named in the result (default: its family or path).
        data_path: real data: the data set's folder (e.g. ../shared/data/facades).
        masks: real data, inpainting: a folder of mask PNGs whose held-out test masks are used.
        baselines: real data: {column name: model} (a Task, SavedModel or training workdir)
            of the same kind and size, scored as extra columns (e.g. an ablation).
        inception_weights: real data: a local InceptionV3 weights file, for `fid` and `kid` rows.

    Returns:
        an `EvaluationResult`: rows (metric, model, baselines), targets and the config.

    Example:
        result = evaluate(zoo.build("cgan_t2i_tiny"), num_examples=16)
        result.value("objects_right"), result.value("objects_right", "real")
    """
    if data != "shapes":
        return _evaluate_real_data(model, data, split, num_examples, batch_size, seed, probe, mask_kinds, name,
                                   data_path, masks, baselines, inception_weights)
    for label, value in (("data_path", data_path), ("masks", masks), ("baselines", baselines),
                         ("inception_weights", inception_weights)):
        if value:
            raise ValueError(f"{label} is for real data ({list(REAL_DATASETS)}); shapes needs no files, and its "
                             "inpainting masks are the spec's kinds (mask_kinds).")
    num_examples = 1000 if num_examples is None else num_examples
    settings = _check_arguments(data, split, num_examples, batch_size, seed, baseline_examples, mask_kinds)
    subject = as_subject(model)
    if subject.kind == "image-to-image" and subject.input_channels != 1:
        raise ValueError(f"{subject.description} translates {subject.input_channels}-channel inputs; `shapes` "
                         "label maps have 1 channel (class indices).")
    settings.image_size = subject.image_size
    reader = ProbeReader(probe)
    started = time.time()
    columns, rows, samples = _EVALUATORS[subject.kind](subject, reader, settings)
    apply_targets(subject.kind, split, rows)
    config = {
        "model": name or subject.description, "kind": subject.kind, "data": data, "split": split,
        "num_examples": num_examples, "batch_size": batch_size, "seed": seed, "image_size": subject.image_size,
        "reader": "strict (zoo.metrics.shapes_reader)",
        "probe": "shipped" if probe is None else "given", "probe_image_size": reader.image_size,
        "seconds": round(time.time() - started, 1), "zoo_version": zoo.__version__,
    }
    if probe is None:
        config["probe_metadata"] = read_probe_metadata(PROBE_DIR)
    if subject.kind == "image-to-text":
        config["baseline_examples"] = baseline_examples
    if subject.kind == "inpainting":
        config["mask_kinds"] = list(settings.mask_kinds)
    return EvaluationResult(subject.kind, columns, rows, config, samples)


def _unknown_data(data):
    return ValueError(f"Cannot evaluate on data {data!r}: only {list(DATASETS)} has the exact scene truth of "
                      f"every kind's scores, and {list(REAL_DATASETS)} real photos for image-to-image and "
                      "inpainting models.")


def _evaluate_real_data(model, data, split, num_examples, batch_size, seed, probe, mask_kinds, name,
                        data_path, masks, baselines, inception_weights):
    if data not in REAL_DATASETS:
        raise _unknown_data(data)
    for label, value in (("probe", probe), ("mask_kinds", mask_kinds)):
        if value is not None:
            raise ValueError(f"{label} is for shapes; on {data!r} give masks (a mask folder) and "
                             "inception_weights (FID) instead.")
    return evaluate_real(model, data=data, split=split, num_examples=num_examples, batch_size=batch_size,
                         seed=seed, data_path=data_path, masks=masks, baselines=baselines,
                         inception_weights=inception_weights, name=name)


def _check_arguments(data, split, num_examples, batch_size, seed, baseline_examples, mask_kinds):
    if data not in DATASETS:
        raise _unknown_data(data)
    if split not in shapes.SPLITS:
        raise ValueError(f"Unknown shapes split {split!r}; splits are {list(shapes.SPLITS)}.")
    for label, value, low, high in (("num_examples", num_examples, 1, shapes.SPLITS[split]),
                                    ("batch_size", batch_size, 1, None),
                                    ("baseline_examples", baseline_examples, 1, shapes.SPLITS["train"]),
                                    ("seed", seed, 0, None)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (
                high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f">= {low}"
            where = f" (split {split!r} has {high} scenes)" if label == "num_examples" else ""
            raise ValueError(f"{label} must be an int {bounds}{where}, got {value!r}.")
    mask_kinds = shapes.MASK_KINDS if mask_kinds is None else (
        (mask_kinds,) if isinstance(mask_kinds, str) else tuple(mask_kinds))
    unknown = [kind for kind in mask_kinds if kind not in shapes.MASK_KINDS]
    if unknown or not mask_kinds:
        raise ValueError(f"mask_kinds must be some of {list(shapes.MASK_KINDS)}, got {list(mask_kinds)}.")
    return _Settings(split, int(num_examples), int(batch_size), int(seed), int(baseline_examples), mask_kinds)


# === Data and batching ===
def load_scenes(split, num_examples, image_size, masks=None, seed=0, skip_examples=0, batch_size=100):
    """Scenes `skip_examples` .. `num_examples - 1` of `split` as numpy: the `zoo.data.load` pipeline, unbatched.

    Returns a dict: `image` uint8 [N, S, S, 3], `label_map` uint8 [N, S, S, 1], `mask` uint8
    [N, S, S, 1], `captions` (N lists of 3 str), `caption` (N str, one drawn per scene by
    `seed`), `objects` (dict of int arrays [N, 2]) and `index` int64 [N].
    """
    dataset = zoo.data.load("shapes", split=split, batch_size=batch_size, image_size=image_size, masks=masks,
                            shuffle=False, repeat=False, seed=seed, num_examples=num_examples,
                            drop_remainder=False, skip_examples=skip_examples)
    parts = {key: [] for key in ("image", "label_map", "mask", "captions", "caption", "index")}
    objects = {key: [] for key in ("colour", "shape", "size", "cell")}
    for batch in dataset.as_numpy_iterator():
        parts["image"].append(to_uint8(batch["image"]))
        parts["label_map"].append(batch["label_map"])
        parts["mask"].append(batch["mask"].astype(np.uint8))
        parts["captions"] += [[c.decode("utf-8") for c in row] for row in batch["captions"]]
        parts["caption"] += [c.decode("utf-8") for c in batch["caption"]]
        parts["index"].append(batch["index"])
        for key in objects:
            objects[key].append(batch["objects"][key])
    scenes = {key: value if key in ("captions", "caption") else np.concatenate(value) for key, value in parts.items()}
    scenes["objects"] = {key: np.concatenate(value) for key, value in objects.items()}
    return scenes


def strict_scores(images, truth):
    """The strict reader's scores (`reader_scores`) of uint8 images against their scenes' objects."""
    return reader_scores(read_images(images), truth)


def _alignment_rows(scores_by_column, names, prefix="reader", description_prefix="strict reader: "):
    """Rows of alignment scores: `objects_right` and `scenes_right` as they are, the others under `prefix/`."""
    rows = []
    for name in names:
        key, description = ALIGNMENT_ROWS[name]
        metric = name if name in ("objects_right", "scenes_right") else f"{prefix}/{name}"
        rows.append(Row(metric, {c: s[key] for c, s in scores_by_column.items()}, description_prefix + description))
    return rows


# === Text to image ===
def _evaluate_text_to_image(subject, reader, settings):
    scenes = load_scenes(settings.split, settings.num_examples, settings.image_size, seed=settings.seed,
                         batch_size=settings.batch_size)
    truth = objects_from_arrays(scenes["objects"])
    seeds = scenes["index"].astype(np.int64) + settings.seed * SEED_STRIDE
    generated = in_batches(subject.generate, settings.batch_size, scenes["caption"], seeds)
    readings = read_images(generated)
    scores = {"model": reader_scores(readings, truth), "real": strict_scores(scenes["image"], truth)}
    rows = _alignment_rows(scores, READER_ROWS)
    rows += _diversity_rows(subject, scenes["caption"], truth, scenes["index"], settings)
    rerendered = np.concatenate([real_renders(objects, index, 1, settings.seed + 1, settings.image_size)
                                 for objects, index in zip(truth, scenes["index"])])
    rows += _distribution_rows(reader, scenes["image"], generated, rerendered, settings.seed)
    samples = {"captions": scenes["caption"][:SAMPLE_COUNT], "generated": generated[:SAMPLE_COUNT],
               "real": scenes["image"][:SAMPLE_COUNT], "readings": readings[:SAMPLE_COUNT],
               "truth": truth[:SAMPLE_COUNT]}
    return ["model", "real"], rows, samples


def mean_pairwise_l1(images, right=None):
    """Mean absolute difference (0-255) over all pairs of images [K, S, S, 3].

    With `right` (K bools), a pair counts only when both images are right; other pairs count 0.
    """
    pixels = np.asarray(images, np.float32).reshape(len(images), -1)
    right = np.ones(len(pixels), bool) if right is None else np.asarray(right, bool)
    pairs = [(a, b) for a in range(len(pixels)) for b in range(a + 1, len(pixels))]
    return float(np.mean([np.mean(np.abs(pixels[a] - pixels[b])) if right[a] and right[b] else 0.0
                          for a, b in pairs]))


def real_renders(objects, scene_index, count, seed=0, image_size=shapes.REFERENCE_SIZE):
    """`count` new real images of one scene's objects (fresh jitter, colours, background, noise)."""
    base = (int(seed) * SEED_STRIDE + int(scene_index)) * count
    return np.stack([shapes.render(objects, base + k, image_size) for k in range(count)])


def diversity_ratios(generated_by_caption, real_by_caption, right_by_caption=None):
    """Per caption, the mean pairwise L1 of its generated images over that of its real renders.

    With `right_by_caption` (per caption, a bool per generated image), only pairs of right
    images count: a model cannot buy diversity with images the reader reads wrong.
    """
    right_by_caption = right_by_caption or [None] * len(generated_by_caption)
    return [mean_pairwise_l1(g, right) / max(mean_pairwise_l1(r), 1e-9)
            for g, r, right in zip(generated_by_caption, real_by_caption, right_by_caption)]


def scenes_read_right(images, objects):
    """Whether the strict reader reads each of `images` as exactly `objects` (one scene's objects)."""
    verdicts = object_verdicts(read_images(images), [objects] * len(images))
    return [bool(verdict["scene"]) for verdict in verdicts]


def _diversity_rows(subject, captions, truth, indices, settings):
    """`diversity` and `diversity_right`: for each of the first captions, how much its images differ over
    seeds, against real renders; `diversity_right` only over pairs of images the strict reader reads right.

    The model draws DIVERSITY_SEEDS images of each caption; real data, as many new renders
    of its scene (what a caption leaves free: jitter, colour jitter, background, noise).
    A model that ignores its noise scores 0; real data scores 1 (the `real` column compares
    a second set of real renders with the first: the score's own sampling spread).
    """
    count, k = min(DIVERSITY_CAPTIONS, len(captions)), DIVERSITY_SEEDS
    repeated = [caption for caption in captions[:count] for _ in range(k)]
    seeds = (np.repeat(indices[:count].astype(np.int64), k) * k + np.tile(np.arange(k), count)
             + (settings.seed + 1) * SEED_STRIDE * k)
    generated = in_batches(subject.generate, settings.batch_size, repeated, seeds)
    generated = generated.reshape(count, k, *generated.shape[1:])
    real = [real_renders(truth[n], indices[n], 2 * k, settings.seed, settings.image_size) for n in range(count)]
    # Each column's images per caption, against the first k real renders.
    reference, columns = [r[:k] for r in real], {"model": generated, "real": [r[k:] for r in real]}
    values, values_right = {}, {}
    for column, images in columns.items():
        right = [scenes_read_right(images[n], truth[n]) for n in range(count)]
        values[column] = float(np.mean(diversity_ratios(images, reference)))
        values_right[column] = float(np.mean(diversity_ratios(images, reference, right)))
    return [Row("diversity", values, f"mean pairwise L1 of {k} images of a caption over that of {k} real renders "
                                     f"of its scene, averaged over {count} captions (0: one image per caption)"),
            Row("diversity_right", values_right, "diversity counting only pairs of images the strict reader "
                                                 "reads right (other pairs count 0): variety a model cannot buy "
                                                 "with stray marks")]


def _distribution_rows(reader, real_images, generated, rerendered, seed):
    """FID and KID on probe features, of the model's images and of new real renders, against the real images.

    The reference is the real images of the evaluated scenes, and both columns draw the same
    scenes: the `model` column its images of their captions, the `real` column a new render of
    each scene (fresh jitter, colours, background and noise, `rerendered`): the floor, what
    sampling alone gives. With the same scenes on both sides, the distance measures how the
    images are drawn, not which objects the scenes happen to hold: against the real images of
    other scenes (the measure before 2026-12-03), the real images of `validation` scenes 0-499
    and 500-999 scored 0.10 and 0.43 against those of scenes 1000-1999, more than the models differ. KID is an unbiased estimate, so at the floor it
    scatters around 0 and can be slightly negative.
    """
    reference = reader.features(real_images)
    # One scale for all sets: the reference's root mean square. KID's cubic kernel then sees
    # values of order 1, as with Inception features, instead of raw activations of order 10.
    scale = max(float(np.sqrt(np.mean(reference**2))), 1e-12)
    reference = reference / scale
    values = {"model": fid_and_kid(reference, reader.features(generated) / scale, KID_SUBSETS, seed),
              "real": fid_and_kid(reference, reader.features(rerendered) / scale, KID_SUBSETS, seed)}
    return [
        Row("fid_probe", {c: v[0] for c, v in values.items()},
            "FID on probe features (scaled to unit RMS) against the real images of the evaluated scenes; "
            "real: a new real render of each scene, the floor"),
        Row("kid_probe", {c: v[1] for c, v in values.items()},
            "KID (mean over subsets) on probe features, same sets as fid_probe; unbiased, so it scatters "
            "around 0 at the floor and can be slightly negative"),
    ]


# === Image to text ===
def caption_scores(captions, references, truth):
    """BLEU-1..4 and CIDEr-D against `references`, `parsed` and `caption_match`'s scores against `truth`."""
    scores = corpus_bleu(captions, references)
    scores["cider_d"] = cider_d(captions, references)
    scores["parsed"] = float(np.mean([parse_caption(c, strict=False) is not None for c in captions]))
    scores.update(caption_match(captions, truth))
    return scores


def _evaluate_image_to_text(subject, reader, settings):
    scenes = load_scenes(settings.split, settings.num_examples, settings.image_size, seed=settings.seed,
                         batch_size=settings.batch_size)
    truth = objects_from_arrays(scenes["objects"])
    references = scenes["captions"]
    captions = in_batches(subject.caption, settings.batch_size, scenes["image"])
    train = load_scenes("train", settings.baseline_examples, settings.image_size, seed=settings.seed,
                        batch_size=settings.batch_size)
    # Per-cell probe features, so that the nearest training scene has its objects in the same cells.
    neighbours = NearestNeighbourCaptioner(reader.cell_features(train["image"]), [c[0] for c in train["captions"]])
    neighbour_captions = neighbours.caption(reader.cell_features(scenes["image"]))
    scores = {
        "model": caption_scores(captions, references, truth),
        "nearest neighbour": caption_scores(neighbour_captions, references, truth),
        # A true caption (each scene's first) scored the same way: the most a caption can get.
        "real": caption_scores([c[0] for c in references], references, truth),
    }
    rows = [Row(key, {c: s[key] for c, s in scores.items()}, description) for key, description in (
        *((f"bleu_{n}", f"corpus BLEU-{n} against the scene's 3 captions (real: its first caption)")
          for n in range(1, 5)),
        ("cider_d", "CIDEr-D against the scene's 3 captions (real: its first caption)"),
        ("parsed", "captions that parse as a shapes caption"),
    )]
    rows += _alignment_rows(scores, ("objects_right", "scenes_right", "colour", "shape", "size", "cell"),
                            prefix="caption", description_prefix="caption parsed: ")
    samples = {"images": scenes["image"][:SAMPLE_COUNT], "captions": captions[:SAMPLE_COUNT],
               "truth": [c[0] for c in references[:SAMPLE_COUNT]]}
    return ["model", "nearest neighbour", "real"], rows, samples


# === Inpainting ===
INPAINT_COLUMNS = ("model", "model (no caption)", "opencv telea", "opencv ns", "real")
RECONSTRUCTION_DESCRIPTIONS = {
    "psnr_hole": "PSNR (dB) over the hole", "l1_hole": "mean absolute error over the hole ([0, 1] scale)",
    "psnr": "PSNR (dB) over the whole image", "l1": "mean absolute error over the whole image",
    "ssim": "SSIM over the whole image",
}
HIDDEN_ROWS = {"objects_right": "object", "object/hidden_colour": "colour", "object/hidden_shape": "shape",
               "object/hidden_size": "size", "object/hidden_small": "object_small",
               "object/hidden_large": "object_large"}


def _evaluate_inpainting(subject, reader, settings):
    rows, samples = [], {}
    for kind in settings.mask_kinds:
        scenes = load_scenes(settings.split, settings.num_examples, settings.image_size, masks=kind,
                             seed=settings.seed, batch_size=settings.batch_size)
        truth, masks = scenes["image"], scenes["mask"]
        masked = truth * (1 - masks)  # no method sees the hidden pixels
        empty = [""] * len(truth)
        outputs = {
            "model": in_batches(subject.inpaint, settings.batch_size, masked, masks, scenes["caption"]),
            "model (no caption)": in_batches(subject.inpaint, settings.batch_size, masked, masks, empty),
            "opencv telea": opencv_inpaint(masked, masks, method="telea"),
            "opencv ns": opencv_inpaint(masked, masks, method="ns"),
            "real": truth,
        }
        scores = {column: inpainting_scores(truth, output, masks) for column, output in outputs.items()}
        rows += [Row(f"{kind}/{key}", {c: s[key] for c, s in scores.items()}, f"{kind} masks: {description}")
                 for key, description in RECONSTRUCTION_DESCRIPTIONS.items()]
        count = SAMPLE_COUNT // 2
        samples[kind] = {"inputs": masked[:count], "masks": masks[:count], "outputs": outputs["model"][:count],
                         "truth": truth[:count], "captions": scenes["caption"][:count]}
        if kind == "object":
            hidden = hidden_objects(objects_from_arrays(scenes["objects"]), masks)
            read = {column: strict_scores(output, hidden) for column, output in outputs.items()}
            # The plot shows each sample's verdict on its hidden object.
            samples[kind].update(readings=read_images(outputs["model"][:count]), hidden=hidden[:count])
            rows += [Row(metric, {c: s[key] for c, s in read.items()}, "object masks: hidden objects, strict "
                         f"reader: {ALIGNMENT_ROWS['objects_right' if key == 'object' else key][1]}")
                     for metric, key in HIDDEN_ROWS.items()]
    return list(INPAINT_COLUMNS), rows, samples


# === Image to image ===
def _evaluate_image_to_image(subject, reader, settings):
    scenes = load_scenes(settings.split, settings.num_examples, settings.image_size, seed=settings.seed,
                         batch_size=settings.batch_size)
    truth = objects_from_arrays(scenes["objects"])
    outputs = in_batches(subject.translate, settings.batch_size, scenes["label_map"])
    real = scenes["image"]
    rows = [Row(key, {"model": function(real, outputs), "real": function(real, real)}, description)
            for key, function, description in (("psnr", psnr, "PSNR (dB) against the real image"),
                                                ("ssim", ssim, "SSIM against the real image"),
                                                ("l1", l1, "mean absolute error against the real image"))]
    scores = {"model": strict_scores(outputs, truth), "real": strict_scores(real, truth)}
    rows += _alignment_rows(scores, (*READER_ROWS, "colour+shape"))
    samples = {"inputs": scenes["label_map"][:SAMPLE_COUNT], "outputs": outputs[:SAMPLE_COUNT],
               "truth": real[:SAMPLE_COUNT]}
    return ["model", "real"], rows, samples


_EVALUATORS = {
    "text-to-image": _evaluate_text_to_image,
    "image-to-text": _evaluate_image_to_text,
    "inpainting": _evaluate_inpainting,
    "image-to-image": _evaluate_image_to_image,
}
