"""A finished or running training run's workdir, read back as a model (for evaluation, export, init_from).

Reads `config.json` and the newest intact checkpoint; imports no Trainer.
"""

import json
import os

import tensorflow as tf

import zoo
from zoo.training.checkpoints import checkpoint_paths, restore_newest_intact
from zoo.training.config import TrainConfig
from zoo.training.ema import ExponentialMovingAverage
from zoo.training.steps import get_steps
from zoo.text import Vocabulary

VOCABULARY_FILE = "vocabulary.txt"  # a run's words, when they are not the model's default (shapes)
BEST_DIR, BEST_FILE = "best", "best.json"  # TrainConfig.keep_best: the best checkpoint and what made it so


def read_best(workdir):
    """What `workdir/best/best.json` says of the run's best checkpoint ({"metric", "value", "step",
    "checkpoint"}), or None when the run kept none."""
    path = os.path.join(workdir, BEST_DIR, BEST_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as file:
        return json.load(file)


def check_weights_choice(workdir, raw_weights=False, best=False):
    """`--raw-weights` and `--best` choose between a run's weights: without a workdir, one clear error."""
    for flag, given in (("--raw-weights", raw_weights), ("--best", best)):
        if given and not workdir:
            raise ValueError(f"{flag} chooses between a workdir's weights; it needs --workdir.")


def load_trained(workdir, use_ema=True, return_checkpoint=False, best=False):
    """The task trained in `workdir` (its newest intact checkpoint), with EMA weights where the run kept them.

    A damaged newest checkpoint is skipped with a warning (`checkpoints.newest_intact`).
    With `best`, the checkpoint the run kept as its best (`TrainConfig.keep_best`) instead.
    With `return_checkpoint`, returns `(task, checkpoint path)`.

    Example:
        task = load_trained("runs/t2i/gan")
        images = task.generate(["a large red circle on the left"], seeds=0)
    """
    config = TrainConfig.load(os.path.join(workdir, "config.json"))
    checkpoint_dir = os.path.join(workdir, "checkpoints")
    chosen = read_best(workdir) if best else None
    if best and chosen is None:
        raise FileNotFoundError(f"No best checkpoint in {workdir!r}: the run kept none (train it with keep_best, "
                                "e.g. --set keep_best=reader/objects_right).")
    if not best and not checkpoint_paths(checkpoint_dir):
        raise FileNotFoundError(f"No checkpoint in {workdir!r}: has this run trained yet?")
    # The checkpoint holds every weight: word vectors and backbone weights files are not read again.
    task = zoo.build(config.model, vocabulary=run_vocabulary(workdir), initial_weights=False,
                     **config.model_overrides).build_all()
    ema = ExponentialMovingAverage(get_steps(task.family).ema_networks(task), config.ema_decay)
    # Optimizer slots and the step counter are not needed to use the model.
    weights = tf.train.Checkpoint(task=task, ema=ema.checkpointable())
    if best:
        latest = os.path.join(workdir, BEST_DIR, chosen["checkpoint"])
        weights.read(latest).assert_existing_objects_matched().expect_partial()  # written by `write`; and the step
    else:
        latest = restore_newest_intact(weights, checkpoint_dir, f"loading {workdir}", partial=True)
    if use_ema and keeps_ema(task, config):
        ema.copy_to_networks()
    return (task, latest) if return_checkpoint else task


def run_vocabulary(workdir):
    """The vocabulary a run trained with, from `workdir/vocabulary.txt`; None (the model's default,
    `shapes`) when the run has none."""
    path = os.path.join(workdir, VOCABULARY_FILE)
    return Vocabulary.load(path) if os.path.exists(path) else None


def exported_version(path):
    """The SavedModel version folder `path` names (itself, or a model folder's newest version), or None
    when `path` is not an export (a training workdir, say)."""
    from zoo.pretrained import METADATA_FILE, _versions

    if path is None or not os.path.isdir(path):
        return None
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        version = path
    else:
        versions = _versions(path)
        if not versions:
            return None
        version = os.path.join(path, str(versions[-1]))
    if not os.path.exists(os.path.join(version, METADATA_FILE)):
        raise ValueError(f"init_from: {version!r} is a SavedModel but not a zoo export (no {METADATA_FILE}); "
                         "give a folder written by `zoo export`, or a training workdir.")
    return version


def export_metadata(version):
    """An export's `assets.extra/zoo.json` (family, config, trained_steps, ...)."""
    from zoo.pretrained import METADATA_FILE

    with open(os.path.join(version, METADATA_FILE)) as file:
        return json.load(file)


def steps_before(config, _depth=0):
    """The training steps behind a run's `init_from`: an export's total (`total_trained_steps`, else
    its `trained_steps`), or a workdir's newest checkpoint step plus the steps behind that run's own
    `init_from`. 0 without `init_from`; None when they cannot be read (the source is gone)."""
    from zoo.training.recipes import trained_steps

    if not config.init_from:
        return 0
    if _depth > 20 or not os.path.isdir(config.init_from):
        return None
    try:
        version = exported_version(config.init_from)
    except ValueError:
        return None
    if version:
        metadata = export_metadata(version)
        return metadata.get("total_trained_steps", metadata.get("trained_steps"))
    own = trained_steps(config.init_from)
    try:
        source = TrainConfig.load(os.path.join(config.init_from, "config.json"))
    except (OSError, ValueError):
        return None
    before = steps_before(source, _depth + 1)
    return None if own is None or before is None else own + before


def export_vocabulary(version):
    """The vocabulary an export's tokenizer holds, or None for a model without text."""
    reader = tf.train.load_checkpoint(os.path.join(version, "variables", "variables"))
    key = "tokenizer/_token_strings/.ATTRIBUTES/VARIABLE_VALUE"
    if not reader.has_tensor(key):
        return None
    return Vocabulary([token.decode("utf-8") for token in reader.get_tensor(key)[4:]])


def data_vocabulary(config):
    """The vocabulary a new run on `config.data` builds its model with: None (the model's default) on
    `shapes`, else the words of the data's training captions (COCO), or None for data without captions."""
    if config.data == "shapes":
        return None
    return zoo.data.default_vocabulary(config.data, config.data_path)[0]


def keeps_ema(task, config):
    """Whether a run of `config` keeps a moving average of some of `task`'s networks (the GANs' generators)."""
    return config.ema_decay > 0 and bool(get_steps(task.family).ema_networks(task))
