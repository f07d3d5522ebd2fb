"""`zoo` on the command line: parse, call the library, print.

    zoo data show shapes --out shapes.png
    zoo data prepare shapes
    zoo text vectors --data coco --data-path ../shared/data/coco-mini --out coco.kv
    zoo models
    zoo train cgan_t2i --data shapes --steps 2000 --batch-size 32 --workdir runs/t2i
"""

import argparse
import logging
import os
import sys
import textwrap

from zoo.quiet import quiet_python_logs, verbose_requested


def _data_show(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zoo.data import shapes

    if args.name != "shapes":
        raise SystemExit(f"zoo data show: only 'shapes' can be shown, got {args.name!r}.")
    columns = 4
    rows = -(-args.count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.6 * rows))
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= args.count:
            continue
        scene = shapes.scene(args.split, index)
        axis.imshow(scene["image"])
        axis.set_title(textwrap.fill(scene["captions"][0], 34), fontsize=8)
    figure.tight_layout()
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.count} {args.split} scenes to {args.out}")


def _data_prepare(args):
    from zoo.data import shapes, shapes_cache
    from zoo.data.errors import DataError

    if args.name != "shapes":
        raise DataError(f"only 'shapes' is rendered and can be prepared (the others are read from files), got {args.name!r}.")
    splits = args.splits or list(shapes.SPLITS)
    unknown = [split for split in splits if split not in shapes.SPLITS]
    if unknown:
        raise DataError(f"unknown split(s) {unknown}; shapes has {list(shapes.SPLITS)}.")
    for split in splits:
        written = shapes_cache.prepare(split, args.image_size, data_dir=args.data_dir, workers=args.workers)
        print(f"shapes {split} at {args.image_size} px: " + (f"{written} shard(s) written" if written else "already prepared"))
    print(f"in {shapes_cache.cache_root(args.data_dir)}")


def _text_vectors(args):
    from zoo.data import split_captions
    from zoo.text.word_vectors import train_word_vectors

    captions = split_captions(args.data, args.data_path, split="train")
    vectors = train_word_vectors(captions, dimensions=args.dim, window=args.window, min_count=args.min_count,
                                 epochs=args.epochs, seed=args.seed)
    vectors.save(args.out)
    print(f"{len(vectors)} words, {vectors.vector_size} dimensions, Word2Vec on the {len(captions)} training "
          f"captions of {args.data}: wrote {args.out} (use it with --set model.word_vectors={args.out} "
          f"model.embedding_dim={vectors.vector_size})")


def _models(args):
    import zoo
    from zoo.local_weights import LocalWeightsError
    from zoo.models.base import count_params
    from zoo.registry import get_entry

    rows = [("name", "task", "params", "inputs", "outputs")]
    for name in zoo.list_models(pattern=args.pattern, task=args.task):
        try:
            task = zoo.build(name, initial_weights=False)  # sizes only: no word vectors or backbone weights read
        except LocalWeightsError as error:  # a BERT preset folder, which sets the sizes, is not on this machine
            rows.append((name, get_entry(name).task, "?", "-", str(error).split(";")[0]))
            continue
        inputs = task.example_inputs(1)
        outputs = task(inputs)  # builds every network
        rows.append((name, get_entry(name).task, f"{count_params(task):,}", _shapes(inputs), _shapes(outputs)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def _shapes(tensors):
    if not isinstance(tensors, dict):
        tensors = {"output": tensors}
    return ", ".join(f"{k} {list(v.shape)[1:]}" for k, v in tensors.items())


# Caps for trying the README's commands quickly (its examples run in CI with them): at most
# ZOO_MAX_STEPS training steps per run or recipe stage, ZOO_MAX_EXAMPLES examples per evaluation.
def env_cap(name):
    """The positive int in environment variable `name`, or None when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer (or unset), got {value!r}.")
    print(f"{name}={value}: capped for a quick try; unset it for a real run.", file=sys.stderr)
    return int(value)


def _capped(value, name):
    cap = env_cap(name)
    return value if cap is None else cap if value is None else min(value, cap)


def _train(args):
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    if args.recipe:
        if args.name:
            raise ValueError(f"Give a model NAME or --recipe, not both (got NAME {args.name!r} and --recipe "
                             f"{args.recipe!r}); several overrides go as --set a=1 b=2 or --set a=1 --set b=2.")
        return _train_recipe(args)
    if not args.name:
        raise ValueError("zoo train needs a model NAME or --recipe RECIPE.")
    config_path = os.path.join(args.workdir, "config.json")
    if args.resume and os.path.exists(config_path):
        config = TrainConfig.load(config_path)
        if config.model != args.name:
            raise ValueError(f"--resume: {args.workdir!r} trains {config.model!r}, not {args.name!r}.")
    else:
        config = TrainConfig(model=args.name, workdir=args.workdir)
    config = _apply_flags(config, args)
    config.steps = _capped(config.steps, "ZOO_MAX_STEPS")
    if args.dry_run:
        print(f"{config.model}, {config.steps} steps, batch {config.batch_size}, in {config.workdir}\n"
              "dry run: nothing trained")
        return 0
    return _fit(Trainer(config, resume=args.resume))


def _apply_flags(config, args):
    flags = {"steps": args.steps}
    config = config.with_overrides([f"{k}={v}" for k, v in flags.items() if v is not None])
    return _apply_stage_flags(config, args).with_overrides(args.set or [])


def _apply_stage_flags(config, args):
    """The flags that apply to every stage of a recipe alike (not `--steps`, a cap there, nor `--set`)."""
    if args.batch_size is not None:
        config = config.with_overrides([f"batch_size={args.batch_size}"])
    for key in ("data", "data_path", "masks", "precision", "strategy"):
        if getattr(args, key) is not None:
            setattr(config, key, getattr(args, key))
    if args.no_xla:
        config.xla = False
    return config


def _fit(trainer):
    """Train; returns the exit status: 0 when the run reached its last step, 128 + the signal when stopped early."""
    import signal

    losses = trainer.fit()
    config = trainer.config
    print(f"step {int(trainer.step_counter)} of {config.steps}; " + ", ".join(f"{k}={v:.4g}" for k, v in losses.items()))
    print(f"checkpoint: {trainer.manager.latest_checkpoint}")
    if trainer.stopped_by:
        # Not 0: `zoo train ... && zoo export ...` must not export a half-trained model.
        print(f"zoo train: stopped by {trainer.stopped_by} at step {int(trainer.step_counter)} of {config.steps}; "
              f"the checkpoint is saved, continue with --resume.", file=sys.stderr)
        return 128 + signal.Signals[trainer.stopped_by].value
    return 0


def _train_recipe(args):
    """Each stage in turn, each only once the one before reached its last step; `--resume` continues a started one."""
    import signal

    from zoo.training.recipes import stage_configs, trained_steps
    from zoo.training.trainer import Trainer

    stages = [(stage, _apply_stage_flags(config, args))
              for stage, config in stage_configs(args.recipe, args.workdir, args.set or [],
                                                 max_steps=_capped(args.steps, "ZOO_MAX_STEPS"))]
    if args.dry_run:
        return _print_stages(args, stages)
    for index, (stage, config) in enumerate(stages):
        done = trained_steps(config.workdir)
        if done is not None and not args.resume:
            raise FileExistsError(f"{config.workdir!r} already holds stage {stage!r} of this recipe (step {done} of "
                                  f"{config.steps}); add --resume to continue the recipe, or choose another workdir.")
        print(f"== stage {stage}: {config.model}, {config.steps} steps, in {config.workdir}")
        trainer = Trainer(config, resume=done is not None)
        status = _fit(trainer)
        if int(trainer.step_counter) < config.steps:
            # The next stage would start from a half-trained model: the whole recipe stops here.
            later = ", ".join(name for name, _ in stages[index + 1:])
            print(f"zoo train: the recipe stops at stage {stage!r}" + (f" (not started: {later})" if later else "") +
                  f"; continue it with: {_resume_command(args)}", file=sys.stderr)
            return status or 1
        if trainer.stop_requested and index < len(stages) - 1:
            # The signal came as the stage ended: it is complete, and the next one does not start.
            print(f"zoo train: {trainer.stop_requested} came as stage {stage!r} finished (it is complete); the recipe "
                  f"stops before stage {stages[index + 1][0]!r}; continue it with: {_resume_command(args)}", file=sys.stderr)
            return 128 + signal.Signals[trainer.stop_requested].value
    return 0


def _resume_command(args):
    return f"zoo train --recipe {args.recipe} --workdir {args.workdir} --resume" + (
        f" --steps {args.steps}" if args.steps else "")


def _print_stages(args, stages):
    """`zoo train --recipe ... --dry-run`: what each stage would train, and where the run stands."""
    from zoo.training.recipes import load_recipe, trained_steps

    recipe_steps = [fields.get("steps") for _, fields in load_recipe(args.recipe)]
    print(f"recipe {args.recipe}: {len(stages)} stage(s) in {args.workdir}" +
          (f", each capped at {args.steps} steps (--steps)" if args.steps else ""))
    for (stage, config), full in zip(stages, recipe_steps):
        done = trained_steps(config.workdir)
        state = "not started" if done is None else "done" if done >= config.steps else f"at step {done}"
        capped = f" (recipe: {full})" if full is not None and config.steps != full else ""
        start = f", starts from {os.path.basename(config.init_from)!r}" if config.init_from else ""
        print(f"  {stage}: {config.model}, {config.steps} steps{capped}, batch {config.batch_size}{start}, "
              f"in {config.workdir}: {state}")
    print("dry run: nothing trained")
    return 0


def _export(args):
    import zoo
    from zoo.export import export, export_run
    from zoo.export.savedmodel import refuse_to_hide_a_pretrained_model
    from zoo.training.runs import check_weights_choice

    if args.workdir:
        path = export_run(args.workdir, args.out, name=args.export_name, version=args.version,
                          raw_weights=args.raw_weights, replace_pretrained=args.replace_pretrained, best=args.best)
    else:
        check_weights_choice(args.workdir, args.raw_weights, args.best)
        name = args.export_name or args.name
        if not args.replace_pretrained:
            refuse_to_hide_a_pretrained_model(name)
        path = export(zoo.build(args.name).build_all(), args.out, name, version=args.version)
    print(f"exported {path}")


def _evaluate(args):
    from zoo.evaluation.command import evaluate_command

    evaluate_command(args.name, workdir=args.workdir, savedmodel=args.savedmodel, data=args.data, split=args.split,
                     num_examples=_capped(args.num_examples, "ZOO_MAX_EXAMPLES"), batch_size=args.batch_size,
                     seed=args.seed, out=args.out, plot=args.plot, raw_weights=args.raw_weights,
                     data_path=args.data_path, masks=args.masks, baselines=args.baseline,
                     inception_weights=args.inception_weights, mask_kinds=args.mask_kinds, best=args.best)


def _read_image(path, mode):
    """The pixels of image file `path`; a missing, empty, damaged or non-image file is one clear error."""
    from PIL import Image, UnidentifiedImageError
    import numpy as np

    from zoo.errors import error_reason
    from zoo.pretrained import IMAGE_FORMATS

    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a directory, not an image; give a {IMAGE_FORMATS} file.")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No image file {path!r}.")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert(mode))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        # PIL says "cannot identify image file", "image file is truncated", ...: the file is not usable.
        reason = "empty file" if os.path.getsize(path) == 0 else error_reason(error)
        raise ValueError(f"{path!r} is not a readable image ({reason}); give a {IMAGE_FORMATS} file.") from None


def _write_images(images, out):
    """One PNG per image: `out` itself for one, `stem_0.png`, `stem_1.png`, ... for several."""
    from PIL import Image

    stem, ext = os.path.splitext(out)
    paths = [out] if len(images) == 1 else [f"{stem}_{i}{ext or '.png'}" for i in range(len(images))]
    for image, path in zip(images, paths):
        Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image).save(path)
    return paths


def _generate(args):
    import zoo

    model = zoo.load(args.model, path=args.savedmodels)
    images = model.generate(args.captions, seeds=args.seed, strict=args.strict)
    for caption, path in zip(args.captions, _write_images(images, args.out)):
        print(f"{path}: {caption}")


def _caption(args):
    import zoo

    model = zoo.load(args.model, path=args.savedmodels)
    captions, scores = model.caption(args.images, return_scores=True)
    for path, caption, score in zip(args.images, captions, scores):
        print(f"{path}: {caption}  (log-probability {score:.3f})")


def _inpaint(args):
    import zoo

    model = zoo.load(args.model, path=args.savedmodels)
    image = _read_image(args.image, "RGB")
    mask = _read_image(args.mask, "L")[..., None]
    restored = model.inpaint(image[None], mask[None], [args.caption or ""], strict=args.strict)
    print(f"wrote {_write_images(restored, args.out)[0]}")


EXAMPLE_LABEL_MAP = os.path.join(os.path.dirname(__file__), "assets", "examples", "label_map.png")
LABEL_MAP_HELP = ("a label map: a one-channel (greyscale) PNG of the model's size (64x64 for cgan_i2i_shapes), "
                  "each pixel a class index: 0 background, then 1 red, 2 orange, 3 yellow, 4 green, 5 cyan, "
                  "6 blue, 7 purple, 8 white (the shapes spec's label map). Not an RGB picture, nor a 0/255 mask.")


def _translate(args):
    import zoo

    if (args.label_map is None) == (not args.example):
        raise ValueError("zoo translate takes a LABEL_MAP file or --example (the one shipped in the package), "
                         "one of the two.")
    path = EXAMPLE_LABEL_MAP if args.example else args.label_map
    model = zoo.load(args.model, path=args.savedmodels)
    label_map = _read_image(path, "L" if model.input_channels == 1 else "RGB")
    print(f"wrote {_write_images(model.translate(label_map), args.out)[0]}")


def _quickstart(args):
    from zoo.quickstart import quickstart

    summary = quickstart(args.out, train=args.train, steps=args.steps, model=args.model, workdir=args.workdir,
                         xla=False if args.no_xla else "auto", savedmodels=args.savedmodels)
    if summary["workdir"]:
        from zoo.quickstart import export_command

        print(f"trained in {summary['workdir']}; to export it: {export_command(summary['workdir'], args.model)}")
    print(f"wrote {summary['out']}")
    print(summary["score"])


def _add_pretrained_commands(commands):
    """`zoo generate/caption/inpaint/translate`: run a pretrained SavedModel (`zoo.load`)."""
    def command(name, help, default_model, run):
        parser = commands.add_parser(name, help=help)
        parser.add_argument("--model", default=default_model, help=f"exported model name (default {default_model})")
        parser.add_argument("--savedmodels", help="folder of exported models (default: the repository's savedmodels/)")
        parser.set_defaults(run=run)
        return parser

    generate = command("generate", "images from captions", "cgan_t2i_shapes", _generate)
    generate.add_argument("captions", nargs="+")
    generate.add_argument("--out", default="generated.png")
    generate.add_argument("--seed", type=int, help="seed of the first image (the next get seed+1, ...)")
    generate.add_argument("--strict", action="store_true", help="a caption with no known word is an error, not a warning")
    caption = command("caption", "captions of image files", "captioner_shapes", _caption)
    caption.add_argument("images", nargs="+")
    inpaint = command("inpaint", "fill an image's holes, guided by a caption", "cgan_inpaint_shapes", _inpaint)
    inpaint.add_argument("image")
    inpaint.add_argument("--mask", required=True, help="PNG, nonzero = hole, same size as the image")
    inpaint.add_argument("--caption", default="", help="what the image shows (empty: plain completion)")
    inpaint.add_argument("--out", default="inpainted.png")
    inpaint.add_argument("--strict", action="store_true", help="a caption with no known word is an error, not a warning")
    translate = command("translate", "an image from a label map", "cgan_i2i_shapes", _translate)
    translate.add_argument("label_map", nargs="?", help=LABEL_MAP_HELP)
    translate.add_argument("--example", action="store_true",
                           help="translate the example label map shipped in the package (two objects of a test scene)")
    translate.add_argument("--out", default="translated.png")


def _accept_verbose(parser):
    """`--verbose` before or after the command: TensorFlow's logs and warnings too (zoo/quiet.py)."""
    # SUPPRESS: a subcommand's default would otherwise overwrite `zoo --verbose caption ...`.
    parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show TensorFlow's logs and warnings (also: ZOO_VERBOSE=1)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                _accept_verbose(subparser)


def build_parser():
    parser = argparse.ArgumentParser(prog="zoo", description="A model zoo for cross-modal generation.")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="look at data sets").add_subparsers(dest="action", required=True)
    show = data.add_parser("show", help="write a PNG grid of scenes with their captions")
    show.add_argument("name")
    show.add_argument("--split", default="train")
    show.add_argument("--count", type=int, default=12)
    show.add_argument("--out", default="shapes.png")
    show.set_defaults(run=_data_show)
    prepare = data.add_parser("prepare", help="render shapes scenes once to disk (TFDS's data directory); "
                                              "training then reads them instead of rendering")
    prepare.add_argument("name")
    prepare.add_argument("--splits", nargs="+", help="default: every split")
    prepare.add_argument("--image-size", type=int, default=64, choices=[32, 64, 128])
    prepare.add_argument("--data-dir", help="default: $TFDS_DATA_DIR or ~/tensorflow_datasets")
    prepare.add_argument("--workers", type=int, help="processes rendering at once (default: one per core)")
    prepare.set_defaults(run=_data_prepare)

    text = commands.add_parser("text", help="text encoders' files").add_subparsers(dest="action", required=True)
    vectors = text.add_parser("vectors", help="train Word2Vec on a data set's training captions (gensim), for "
                              "model.word_vectors")
    vectors.add_argument("--data", default="shapes", help="shapes or coco")
    vectors.add_argument("--data-path", help="the data set's folder (coco)")
    vectors.add_argument("--out", required=True, help="the gensim KeyedVectors file to write (.kv)")
    vectors.add_argument("--dim", type=int, default=64, help="vector width: the model's embedding_dim (default 64)")
    vectors.add_argument("--epochs", type=int, default=10)
    vectors.add_argument("--window", type=int, default=5)
    vectors.add_argument("--min-count", type=int, default=1)
    vectors.add_argument("--seed", type=int, default=0)
    vectors.set_defaults(run=_text_vectors)

    models = commands.add_parser("models", help="table of registered models")
    models.add_argument("--pattern")
    models.add_argument("--task")
    models.set_defaults(run=_models)

    train = commands.add_parser("train", help="train a model (by name, or a recipe's stages)")
    train.add_argument("name", nargs="?")
    train.add_argument("--recipe", help="train a recipe's stages in turn: a name of zoo/recipes (e.g. "
                       "cgan_t2i_shapes) or a recipe .json file; --set reaches its last stage, the other flags every stage")
    train.add_argument("--data")
    train.add_argument("--data-path")
    train.add_argument("--masks", metavar="FOLDER",
                       help="hole masks for an inpainting family on data other than shapes (e.g. ../shared/data/masks; "
                            "its train masks, augmented)")
    train.add_argument("--steps", type=int, metavar="N",
                       help="total training steps; with --recipe: caps every stage at N (e.g. --steps 20 to try it)")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--workdir", required=True)
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --workdir (with --recipe: the stage that was stopped)")
    train.add_argument("--dry-run", action="store_true",
                       help="print what would train (with --recipe: each stage, its steps, where the run stands); train nothing")
    train.add_argument("--no-xla", action="store_true")
    train.add_argument("--precision", choices=["auto", "float32", "mixed_float16", "mixed_bfloat16"],
                       help="auto (the default): mixed_bfloat16 on a CPU with avx512_bf16 or amx_bf16, a GPU of "
                            "compute capability 8.0+ or a TPU, float32 elsewhere")
    train.add_argument("--strategy", choices=["default", "mirrored", "multi_worker"])
    train.add_argument("--set", action="extend", nargs="+", metavar="KEY=VALUE",
                       help="override a config field (learning_rate=1e-4, hparams.loss=hinge, model.image_size=32)")
    train.set_defaults(run=_train)

    export = commands.add_parser("export", help="write a SavedModel for TF Serving")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a training workdir (its last checkpoint, EMA weights)")
    source.add_argument("name", nargs="?", help="a registered model, untrained")
    export.add_argument("--out", default="savedmodels")
    export.add_argument("--name", dest="export_name",
                        help="model folder name (default: <model>_<workdir folder>, e.g. cgan_t2i_gan; a registered "
                             "model: its name); a pretrained model's name needs --replace-pretrained")
    export.add_argument("--replace-pretrained", action="store_true",
                        help="export under the name of a pretrained model (e.g. cgan_t2i_shapes): the new version "
                             "replaces the shipped one for zoo.load, zoo quickstart and TF Serving")
    export.add_argument("--version", type=int)
    export.add_argument("--raw-weights", action="store_true",
                        help="export the trained weights instead of their moving average (EMA lags short runs)")
    export.add_argument("--best", action="store_true",
                        help="with --workdir: the checkpoint the run kept as its best (trained with keep_best)")
    export.set_defaults(run=_export)

    evaluate = commands.add_parser("evaluate", help="score a model on shapes or real photos next to baselines")
    evaluate.add_argument("name", help="the registered model name (e.g. cgan_t2i); alone: evaluated untrained")
    evaluated = evaluate.add_mutually_exclusive_group()
    evaluated.add_argument("--workdir", help="a training workdir (its last checkpoint, EMA weights)")
    evaluated.add_argument("--savedmodel", help="an exported SavedModel (version folder or model folder)")
    evaluate.add_argument("--raw-weights", action="store_true",
                          help="with --workdir: the trained weights instead of their moving average")
    evaluate.add_argument("--best", action="store_true",
                          help="with --workdir: the checkpoint the run kept as its best (trained with keep_best)")
    evaluate.add_argument("--data", default="shapes",
                          help="shapes (every kind, exact truth) or facades (real photos: image to image, inpainting)")
    evaluate.add_argument("--data-path", help="real data: the data set's folder (e.g. ../shared/data/facades)")
    evaluate.add_argument("--masks", help="inpainting on real data: a mask folder, of which the held-out test "
                                          "masks are used (e.g. ../shared/data/masks)")
    evaluate.add_argument("--baseline", action="append", metavar="NAME=DIR",
                          help="real data: another model of the same kind as a column NAME (a SavedModel or "
                               "training workdir), e.g. \"l1 only=runs/l1only/pix2pix\"; repeatable")
    evaluate.add_argument("--inception-weights", metavar="FILE",
                          help="real data: a local InceptionV3 (notop) weights file, for FID and KID rows")
    evaluate.add_argument("--mask-kinds", nargs="+", metavar="KIND",
                          help="inpainting on shapes: the mask kinds scored (box, stroke, object; default all)")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--num-examples", type=int,
                          help="scenes (shapes, default 1000) or photos (real data, default all)")
    evaluate.add_argument("--batch-size", type=int, default=100)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--out", help="write the results as JSON")
    evaluate.add_argument("--plot", help="write a PNG of samples")
    evaluate.set_defaults(run=_evaluate)

    from zoo.quickstart import TRAIN_STEPS

    quickstart = commands.add_parser("quickstart", help="the pretrained models on one PNG sheet (or --train one)")
    quickstart.add_argument("--out", default="quickstart.png")
    quickstart.add_argument("--train", action="store_true", help="train a small cgan_t2i for a few minutes instead")
    quickstart.add_argument("--steps", type=int, default=TRAIN_STEPS, help=f"--train: training steps (default {TRAIN_STEPS})")
    quickstart.add_argument("--model", default="cgan_t2i", help="--train: the text-to-image model (default cgan_t2i)")
    quickstart.add_argument("--workdir", help="--train: the run's folder (default: a new temporary folder)")
    quickstart.add_argument("--no-xla", action="store_true",
                            help="--train: no XLA, even with a GPU (on a CPU it is off anyway)")
    quickstart.add_argument("--savedmodels", help="folder of exported models (default: the repository's savedmodels/)")
    quickstart.set_defaults(run=_quickstart)

    _add_pretrained_commands(commands)
    _accept_verbose(parser)
    return parser


def _expected_errors():
    """Errors raised on purpose or by the user's files and disks: one line, no traceback.

    Anything else is a bug of ours and keeps its traceback.
    """
    from zoo.training.trainer import NonFiniteLossError
    from zoo.training.workdir import WorkdirLockedError

    return (ValueError, OSError, NonFiniteLossError, WorkdirLockedError)


def main(argv=None):
    import warnings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    quiet_python_logs(getattr(args, "verbose", False) or verbose_requested([]))
    show_warning = warnings.showwarning

    def one_line_warning(message, category, *rest, **kwargs):
        # Our warnings are for the user: one line, without the source line that raised them.
        if not str(getattr(category, "__module__", "")).startswith("builtins"):
            return show_warning(message, category, *rest, **kwargs)
        print(f"zoo {args.command}: warning: {message}", file=sys.stderr)

    warnings.showwarning = one_line_warning
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if not isinstance(error, _expected_errors()):
            raise
        print(f"zoo {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = show_warning


def _one_line(error):
    """An OSError from the system names its file; ours carry their message."""
    if isinstance(error, OSError) and error.strerror and error.filename and str(error.filename) not in str(error.strerror):
        return f"{error.strerror}: {error.filename!r}"
    return " ".join(str(error).split()) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
