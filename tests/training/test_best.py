"""keep_best: the checkpoint that scored best on the strict reader is kept, survives a resume, and exports."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.export import export_run
from zoo.training import samples
from zoo.training.config import TrainConfig
from zoo.training.ema import ExponentialMovingAverage
from zoo.training.runs import load_trained, read_best
from zoo.training.steps import get_steps
from zoo.training.trainer import Trainer


def scripted_reader(monkeypatch, values):
    """The reader's scores at each sample step, in order (`object` from `values`), instead of reading."""
    values = iter(values)
    monkeypatch.setattr(samples, "write_reader_scores",
                        lambda task, step, batch, batch_size=None: {"object": next(values), "scene": 0.0})


def restored(path):
    """The weights and moving averages of checkpoint `path`, restored as `load_trained` does."""
    task = zoo.build("cgan_i2i_tiny").build_all()
    ema = ExponentialMovingAverage(get_steps(task.family).ema_networks(task), 0.999)
    tf.train.Checkpoint(task=task, ema=ema.checkpointable()).restore(str(path)).expect_partial()
    return task.get_weights() + [average.numpy() for average in ema.averages]


def config(workdir, steps, **fields):
    return TrainConfig(model="cgan_i2i_tiny", workdir=str(workdir), steps=steps, batch_size=4,
                       sample_every=1, checkpoint_every=1, keep_checkpoints=10, progress=False,
                       keep_best="reader/objects_right", **fields)


def test_the_best_checkpoint_is_kept_through_a_resume_and_exports(tmp_path, monkeypatch):
    workdir = tmp_path / "run"
    scripted_reader(monkeypatch, [0.2, 0.5, 0.3])
    Trainer(config(workdir, 3)).fit()
    assert read_best(workdir) == {"metric": "reader/objects_right", "value": 0.5, "step": 2, "checkpoint": "ckpt-2"}
    assert sorted(os.listdir(workdir / "best")) == ["best.json", "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    # It holds step 2's weights and moving averages, as the run's own checkpoint of that step.
    best = restored(workdir / "best" / "ckpt-2")
    for kept, saved in zip(best, restored(workdir / "checkpoints" / "ckpt-2"), strict=True):
        np.testing.assert_array_equal(kept, saved)
    assert not all(np.array_equal(a, b) for a, b in zip(best, restored(workdir / "checkpoints" / "ckpt-3")))

    # A resumed run competes with the best so far: a tie keeps the earlier step.
    scripted_reader(monkeypatch, [0.5, 0.1])
    Trainer(config(workdir, 5), resume=True).fit()
    assert read_best(workdir)["step"] == 2

    task = load_trained(str(workdir), best=True, use_ema=False)
    for loaded, kept in zip(task.get_weights(), best):
        np.testing.assert_array_equal(loaded, kept)
    path = export_run(str(workdir), str(tmp_path / "savedmodels"), name="best_run", best=True)
    with open(os.path.join(path, "assets.extra", "zoo.json")) as file:
        metadata = json.load(file)
    assert metadata["trained_steps"] == 2
    assert metadata["selected"] == {"metric": "reader/objects_right", "value": 0.5, "step": 2}


def test_keep_best_refuses_what_it_cannot_score(tmp_path):
    with pytest.raises(ValueError, match="keep_best must be one of"):
        TrainConfig(model="regression_t2i_tiny", workdir=str(tmp_path / "a"), keep_best="fid")
    captioner = TrainConfig(model="captioner_tiny", workdir=str(tmp_path / "b"), keep_best="reader/objects_right")
    with pytest.raises(ValueError, match="only runs that draw `shapes` scenes"):
        Trainer(captioner)
    assert not os.path.exists(tmp_path / "b" / "checkpoints")


def test_a_run_that_kept_no_best_says_so(tmp_path):
    TrainConfig(model="cgan_i2i_tiny", workdir=str(tmp_path)).save(str(tmp_path / "config.json"))
    with pytest.raises(FileNotFoundError, match="kept none"):
        load_trained(str(tmp_path), best=True)
