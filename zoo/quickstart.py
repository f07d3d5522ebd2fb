"""`zoo quickstart`: each pretrained model once, on one PNG sheet.

Offline, in well under a minute on a CPU: images generated for a few captions (fixed
seeds) and captioned back, an object of a `shapes` scene hidden and restored from its
caption, and label maps turned into scenes. With `train=True` it trains a small
`cgan_t2i` on `shapes` for a few minutes instead, and samples that.

Example:
    from zoo.quickstart import quickstart
    summary = quickstart("quickstart.png")
    print(summary["score"])   # "score: 4/4 generated images captioned back correctly (...)"
"""

import os
import shlex
import tempfile

import numpy as np

# The exported models the sheet shows; each is also the name of the recipe that trains it.
PRETRAINED = {
    "text_to_image": "cgan_t2i_shapes",
    "captioner": "captioner_shapes",
    "inpainter": "cgan_inpaint_shapes",
    "translator": "cgan_i2i_shapes",
}
CAPTIONS = (
    "a large red circle on the left",
    "a small blue square in the top right corner",
    "there is a large green triangle at the bottom",
    "a small yellow diamond at the top and a large white circle at the bottom",
)
SEEDS = (0, 1, 2, 3)
INPAINT_SCENE = ("test", 4)  # a two-object scene: one object is hidden, the other stays in view
INPAINT_MASK_SEED = 0
LABEL_MAP_SCENES = (("test", 1), ("test", 2))
TRAIN_MODEL = "cgan_t2i"
TRAIN_MODELS = ("cgan_t2i", "cgan_t2i_tiny")  # the tiny one for tests
TRAIN_RECONSTRUCTION_WEIGHT = 20.0
TRAIN_LEARNING_RATE = 5e-4  # as the pretrained recipe
TRAIN_STEPS = 1200
TRAIN_BATCH_SIZE = 32
TRAIN_IMAGE_SIZE = 32  # a quarter of the pixels of the pretrained model: 4x the steps in the same time
TRAIN_SAMPLE_SCENES = 6  # validation scenes whose captions the trained model draws
SCORE_RULE = "same objects: colour, shape, size and position, read with zoo.metrics.parse_caption"


# === Pretrained models ===
def missing_pretrained(path=None):
    """Names in `PRETRAINED` that no search folder of `zoo.load` holds."""
    from zoo.pretrained import available

    found = set(available(path))
    return [name for name in PRETRAINED.values() if name not in found]


def missing_message(missing, path=None):
    """How to get the `missing` pretrained models: the recipe and export commands, or `--train`."""
    from zoo.pretrained import savedmodel_roots
    from zoo.training.recipes import load_recipe

    commands = "\n".join(
        f"  zoo train --recipe {name} --workdir runs/{name} && "
        f"zoo export --workdir runs/{name}/{load_recipe(name)[-1][0]} --out savedmodels --name {name}"
        for name in missing)
    return (f"zoo quickstart needs the pretrained models {missing}, which are not in {savedmodel_roots(path)}.\n"
            f"Train and export them with their recipes (hours on a 2-core CPU):\n{commands}\n"
            "or set $ZOO_SAVEDMODELS to a folder that holds them; `zoo quickstart --train` needs none.")


def load_pretrained(path=None):
    """The `PRETRAINED` models as `zoo.load` wrappers, by role; a FileNotFoundError saying how to get missing ones."""
    import zoo

    missing = missing_pretrained(path)
    if missing:
        raise FileNotFoundError(missing_message(missing, path))
    return {role: zoo.load(name, path=path) for role, name in PRETRAINED.items()}


# === What the sheet shows ===
def same_objects(caption, other):
    """Whether two `shapes` captions name the same objects (any template, any order)."""
    from zoo.metrics import parse_caption

    parsed = [parse_caption(c, strict=False) for c in (caption, other)]
    if any(p is None for p in parsed):
        return False
    first, second = ({(o["colour"], o["shape"], o["size"], o["cell"]) for o in p} for p in parsed)
    return first == second


def caption_round_trip(images, captions, captioner):
    """`images` generated for `captions`, captioned back by `captioner` (a `zoo.load` image-to-text model).

    Returns the images, the captions, the captions read back and, per image, whether
    both name the same objects (`same_objects`).
    """
    captions_back = captioner.caption(images)
    matches = [same_objects(c, back) for c, back in zip(captions, captions_back)]
    return {"images": images, "captions": list(captions), "captions_back": captions_back, "matches": matches}


def restore_object(inpainter, split, index, mask_seed):
    """A scene with one object hidden (`shapes.mask("object")`), restored with its caption and without."""
    from zoo.data import shapes

    scene = shapes.scene(split, index, image_size=inpainter.image_size)
    mask = shapes.mask("object", mask_seed, scene=scene)
    caption = scene["captions"][0]
    images, masks = np.stack([scene["image"]] * 2), np.stack([mask] * 2)
    with_caption, without_caption = inpainter.inpaint(images, masks, [caption, ""])
    return {"image": scene["image"], "mask": mask, "masked": scene["image"] * (1 - mask), "caption": caption,
            "with_caption": with_caption, "without_caption": without_caption}


def colour_label_map(label_map):
    """A `shapes` label map (class indices [S, S, 1]) drawn in the objects' colours on black."""
    from zoo.data import shapes

    palette = np.array([(0, 0, 0)] + list(shapes.COLOURS.values()), np.uint8)
    return palette[np.asarray(label_map)[..., 0]]


def translate_scenes(translator, scenes):
    """(label map, translated image) for each `(split, index)` scene."""
    from zoo.data import shapes

    rendered = [shapes.scene(split, index, image_size=translator.image_size) for split, index in scenes]
    translated = translator.translate(np.stack([s["label_map"] for s in rendered]))
    return [(s["label_map"], image) for s, image in zip(rendered, translated)]


def score_line(matches):
    return f"score: {sum(matches)}/{len(matches)} generated images captioned back correctly ({SCORE_RULE})"


# === The sheet ===
def write_sheet(rows, out, title):
    """One PNG of `rows`: (row title, [(image, caption above, caption below, colour below)]) each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = max(len(panels) for _, panels in rows)
    figure = plt.figure(figsize=(3.0 * columns, 3.5 * len(rows)), layout="constrained")
    figure.suptitle(title, fontsize=14)
    for subfigure, (row_title, panels) in zip(np.atleast_1d(figure.subfigures(len(rows), 1)), rows):
        subfigure.suptitle(row_title, fontsize=12, fontweight="bold")
        for axis, panel in zip(np.atleast_1d(subfigure.subplots(1, columns)), panels + [None] * columns):
            axis.axis("off")
            if panel is None:
                continue
            image, above, below, colour = panel
            axis.imshow(image, interpolation="nearest")
            axis.set_title(_wrap(above), fontsize=8)
            if below:
                axis.text(0.5, -0.04, _wrap(below), transform=axis.transAxes, ha="center", va="top",
                          fontsize=8, color=colour)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    figure.savefig(out, dpi=90)
    plt.close(figure)


def _wrap(text, width=32):
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) if text else ""


def _round_trip_panels(round_trip):
    return [(image, f"\"{caption}\"", f"captioned: {back}", "green" if match else "red")
            for image, caption, back, match in zip(round_trip["images"], round_trip["captions"],
                                                   round_trip["captions_back"], round_trip["matches"])]


def pretrained_rows(models):
    """The sheet's rows for the pretrained models, and the caption round trip that gives the score."""
    t2i, captioner = models["text_to_image"], models["captioner"]
    round_trip = caption_round_trip(t2i.generate(list(CAPTIONS), seeds=list(SEEDS)), CAPTIONS, captioner)
    restored = restore_object(models["inpainter"], *INPAINT_SCENE, INPAINT_MASK_SEED)
    translated = translate_scenes(models["translator"], LABEL_MAP_SCENES)
    rows = [
        (f"text to image ({t2i.name}), then image to text ({captioner.name}): green = same objects",
         _round_trip_panels(round_trip)),
        (f"text-guided inpainting ({models['inpainter'].name}): the whole object is hidden",
         [(restored["image"], "the scene", restored["caption"], "black"),
          (restored["masked"], "one object hidden", "", None),
          (restored["with_caption"], "restored from the caption", "", None),
          (restored["without_caption"], "completed without a caption", "", None)]),
        (f"label map to image ({models['translator'].name})",
         [panel for label_map, image in translated
          for panel in ((colour_label_map(label_map), "label map", "", None), (image, "generated", "", None))]),
    ]
    return rows, round_trip


# === --train ===
def train_text_to_image(workdir, steps=TRAIN_STEPS, model=TRAIN_MODEL, xla="auto"):
    """Train `model` (`TRAIN_MODELS`) on `shapes` with the Trainer's progress bar; returns the task."""
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    overrides = {"image_size": TRAIN_IMAGE_SIZE} if model == TRAIN_MODEL else {}
    # An L1 term pulls each image towards the real scene of its caption: the layout and colours
    # come within a few hundred steps, where the adversarial loss alone takes thousands.
    # The conditioning-augmentation KL pulls every caption's condition to the same prior early on;
    # without it the generator reads the text sooner (the pretrained recipe turns it off too).
    hparams = {"reconstruction_weight": TRAIN_RECONSTRUCTION_WEIGHT, "kl_weight": 0.0}
    config = TrainConfig(model=model, workdir=workdir, steps=steps, batch_size=TRAIN_BATCH_SIZE, xla=xla,
                         learning_rate=TRAIN_LEARNING_RATE,
                         model_overrides=overrides, hparams=hparams, checkpoint_every=steps,
                         summary_every=min(50, steps), sample_every=steps,
                         # A short run: 0.999 would leave the average half made of the initial weights.
                         ema_decay=0.99)
    trainer = Trainer(config)
    trainer.fit()
    return trainer.export_task()


def trained_rows(task, steps, captioner=None):
    """Real validation scenes and what the trained `task` draws for their captions (captioned back if it can be)."""
    from zoo.data import shapes

    scenes = [shapes.scene("validation", i, image_size=task.config.image_size) for i in range(TRAIN_SAMPLE_SCENES)]
    captions = [s["captions"][0] for s in scenes]
    images = task.generate(captions, seeds=0)  # caption k gets seed k
    real = [(s["image"], "real", c, "black") for s, c in zip(scenes, captions)]
    if captioner is None:
        return [("validation scenes", real),
                (f"generated after {steps} steps", [(image, "generated", "", None) for image in images])], None
    round_trip = caption_round_trip(images, captions, captioner)
    return [("validation scenes", real),
            (f"generated after {steps} steps, captioned back by {captioner.name}: green = same objects",
             _round_trip_panels(round_trip))], round_trip


def export_command(workdir, model=TRAIN_MODEL):
    """The command that exports a `--train` run under its own name, `<model>_quickstart`.

    Not `cgan_t2i_shapes`: a new version under a pretrained model's name would take its place.

    Example:
        export_command("/tmp/zoo-quickstart-1")
        # 'zoo export --workdir /tmp/zoo-quickstart-1 --out savedmodels --name cgan_t2i_quickstart'
    """
    return f"zoo export --workdir {shlex.quote(str(workdir))} --out savedmodels --name {model}_quickstart"


# === The command ===
def _check_arguments(out, steps, model):
    if not str(out).lower().endswith(".png"):
        raise ValueError(f"out must be a .png file, got {out!r}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}.")
    if model not in TRAIN_MODELS:
        raise ValueError(f"model must be one of {list(TRAIN_MODELS)}, got {model!r}.")


def quickstart(out="quickstart.png", train=False, steps=None, model=TRAIN_MODEL, workdir=None, xla="auto",
               savedmodels=None):
    """Write the sheet to `out`; returns {"out", "score", "matches", "workdir"}.

    Args:
        out: the PNG to write.
        train: instead of the pretrained models, train `model` on `shapes` for `steps` steps (default
            `TRAIN_STEPS`) in `workdir` (default: a new temporary folder, kept) and sample it; the
            pretrained captioner scores it when it is there.
        xla: compile the training step with XLA: True, False or "auto" (with a GPU or TPU); `train` only.
        savedmodels: a folder holding the pretrained models (default: `zoo.load`'s search folders).
    """
    import zoo
    from zoo.pretrained import available

    steps = TRAIN_STEPS if steps is None else steps
    _check_arguments(out, steps, model)
    if train:
        workdir = workdir or tempfile.mkdtemp(prefix="zoo-quickstart-")
        task = train_text_to_image(workdir, steps=steps, model=model, xla=xla)
        captioner_name = PRETRAINED["captioner"]
        captioner = zoo.load(captioner_name, path=savedmodels) if captioner_name in available(savedmodels) else None
        rows, round_trip = trained_rows(task, steps, captioner)
        title = f"zoo quickstart --train: {model} after {steps} steps on shapes"
    else:
        rows, round_trip = pretrained_rows(load_pretrained(savedmodels))
        title = "zoo quickstart: the pretrained shapes models"
    write_sheet(rows, out, title)
    score = score_line(round_trip["matches"]) if round_trip else (
        f"score: not measured ({PRETRAINED['captioner']} is not exported, so nothing captions the images back)")
    return {"out": out, "score": score, "matches": round_trip["matches"] if round_trip else None, "workdir": workdir}
