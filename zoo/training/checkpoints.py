"""A run's checkpoints, newest intact first: what resume, export and evaluate restore from.

A checkpoint can be cut short (a full disk, a copy interrupted, a file truncated by hand) or
hold non-finite weights; `tf.train.latest_checkpoint` names it anyway and restoring it fails
with `IndexError: Read less bytes than requested`. Here every tensor of a candidate is read
before it is used, and when the newest is damaged the next older one is taken, with a warning
that names both. The candidates come from the `checkpoint` index and from the `ckpt-N.index`
files on disk, so a damaged index file does not hide intact checkpoints either.

Example:
    path = restore_newest_intact(tf.train.Checkpoint(task=task), "runs/t2i/checkpoints")
"""

import logging
import os
import re

import numpy as np
import tensorflow as tf

from zoo.errors import error_reason

log = logging.getLogger("zoo.training")

_NUMBERED = re.compile(r"^(.*-(\d+))\.index$")


class NoIntactCheckpointError(FileNotFoundError):
    """A workdir has checkpoints, but none can be read."""


def checkpoint_paths(checkpoint_dir):
    """The checkpoint prefixes in `checkpoint_dir`, newest (highest step) first."""
    paths = set()
    if tf.io.gfile.isdir(checkpoint_dir):
        for name in tf.io.gfile.listdir(checkpoint_dir):
            match = _NUMBERED.match(name)
            if match:
                paths.add(os.path.join(checkpoint_dir, match.group(1)))
    try:
        state = tf.train.get_checkpoint_state(checkpoint_dir)
    except (tf.errors.OpError, ValueError, UnicodeDecodeError):
        state = None  # a damaged index: the files on disk are the candidates
    if state is not None:
        # Only names inside this folder: an index written elsewhere (absolute paths) must not lead
        # a copied or moved run back to the original's checkpoints.
        paths.update(os.path.join(checkpoint_dir, os.path.basename(p)) for p in state.all_model_checkpoint_paths)
    return sorted(paths, key=_step_of, reverse=True)


def _step_of(path):
    match = re.search(r"-(\d+)$", path)
    return int(match.group(1)) if match else -1


def damage(path):
    """Why checkpoint `path` cannot be used (a short text), or None when every tensor reads back finite."""
    try:
        reader = tf.train.load_checkpoint(path)
        for name, dtype in reader.get_variable_to_dtype_map().items():
            value = reader.get_tensor(name)
            if dtype.is_floating and not np.all(np.isfinite(value)):
                return f"non-finite values in {name.split('/.ATTRIBUTES')[0]}"
    except (tf.errors.OpError, IndexError, ValueError, OSError) as error:
        return f"{type(error).__name__}: {error_reason(error)}"
    return None


def newest_intact(checkpoint_dir, purpose="restore", quiet=False):
    """The newest checkpoint of `checkpoint_dir` that reads back whole, or None when there is none at all.

    Skipped (damaged) checkpoints are logged as warnings (unless `quiet`) naming the file and what is wrong;
    `NoIntactCheckpointError` when there are checkpoints but every one is damaged.
    """
    paths = checkpoint_paths(checkpoint_dir)
    skipped = []
    for path in paths:
        problem = damage(path)
        if problem is None:
            if skipped and not quiet:
                log.warning("%s: using %s, the newest intact checkpoint (skipped %s)", purpose, path,
                            "; ".join(f"{p}: {why}" for p, why in skipped))
            return path
        if not quiet:
            log.warning("%s: checkpoint %s is damaged (%s); trying the one before it", purpose, path, problem)
        skipped.append((path, problem))
    if skipped:
        raise NoIntactCheckpointError(
            f"No intact checkpoint in {checkpoint_dir!r}: " + "; ".join(f"{p}: {why}" for p, why in skipped) + ".")
    return None


def restore_newest_intact(checkpoint, checkpoint_dir, purpose="restore", partial=False):
    """Restore `checkpoint` (a `tf.train.Checkpoint`) from the newest intact checkpoint; returns its path.

    `partial`: the checkpoint holds more than `checkpoint` asks for (optimizer slots when only
    the model is needed). Returns None when `checkpoint_dir` holds no checkpoint.
    """
    path = newest_intact(checkpoint_dir, purpose)
    if path is None:
        return None
    status = checkpoint.restore(path)
    if partial:
        status.expect_partial()
    else:
        status.assert_existing_objects_matched()
    return path


def all_finite(variables):
    """Whether every floating-point variable holds only finite values (checked before a save)."""
    checks = [tf.reduce_all(tf.math.is_finite(v)) for v in variables if tf.as_dtype(v.dtype).is_floating]
    return bool(tf.reduce_all(checks)) if checks else True
