"""`init_from` an export: fine-tune a model `zoo export` wrote (a pretrained one, or a run whose workdir is gone)."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.export import export
from zoo.text import Vocabulary
from zoo.training.config import TrainConfig
from zoo.training.runs import VOCABULARY_FILE, steps_before
from zoo.training.trainer import Trainer

WORDS = ["a", "red", "blue", "circle", "square", "small", "large", "on", "the", "left"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An export of cgan_t2i_tiny with its own words and weights unlike any fresh model's."""
    task = zoo.build("cgan_t2i_tiny", vocabulary=Vocabulary(WORDS)).build_all()
    for k, variable in enumerate(task.variables):
        if "float" in str(variable.dtype):
            variable.assign(tf.random.stateless_normal(variable.shape, seed=[7, k], dtype=variable.dtype) * 0.1)
    out = tmp_path_factory.mktemp("exports")
    return str(out), task, export(task, str(out), "fine", metadata={"trained_steps": 5})


def _weights(task):
    return {name: [w.numpy() for w in network.weights] for name, network in task.networks().items()}


def test_a_run_starts_from_every_weight_and_the_words_of_an_export(exported, tmp_path):
    out, source, version = exported
    # The model folder (its newest version) or the version folder, as zoo.load takes them.
    for k, init_from in enumerate([os.path.join(out, "fine"), version]):
        workdir = tmp_path / f"run{k}"
        trainer = Trainer(TrainConfig(model="cgan_t2i_tiny", workdir=str(workdir), steps=1, batch_size=4,
                                      init_from=init_from, progress=False))
        task = trainer.task
        assert task.vocabulary == source.vocabulary  # the embeddings are indexed by the export's words
        assert Vocabulary.load(str(workdir / VOCABULARY_FILE)) == source.vocabulary  # for resume and export
        ours, theirs = _weights(task), _weights(source)
        assert sorted(ours) == sorted(theirs) == ["discriminator", "generator", "text_encoder"]
        for name in ours:
            for a, b in zip(ours[name], theirs[name]):
                np.testing.assert_array_equal(a, b, err_msg=name)
        trainer.close()


def test_an_export_of_another_model_is_one_clear_error(exported, tmp_path):
    _, _, version = exported
    with pytest.raises(ValueError, match=r"is an export of 'cgan_t2i'; this run trains 'cgan_inpaint_tiny'"):
        Trainer(TrainConfig(model="cgan_inpaint_tiny", workdir=str(tmp_path / "a"), steps=1, init_from=version))
    with pytest.raises(ValueError, match=r"other settings than 'cgan_t2i_tiny': noise_dim 8 there, 16 here"):
        Trainer(TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "b"), steps=1, init_from=version,
                            model_overrides={"noise_dim": 16}))
    with pytest.raises(ValueError, match="an export given as init_from restores the whole model"):
        Trainer(TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "c"), steps=1, init_from=version,
                            init_networks={"generator": "generator"}))


def test_the_steps_behind_a_run_count_those_of_the_export_it_started_from(exported, tmp_path):
    out, _, version = exported
    config = TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "run"), init_from=version)
    assert steps_before(config) == 5  # the export's trained_steps
    chained = tmp_path / "chained"  # an export of a fine-tune records its total, which the next one counts
    shutil.copytree(version, chained)
    metadata_path = chained / "assets.extra" / "zoo.json"
    metadata = json.loads(metadata_path.read_text())
    metadata_path.write_text(json.dumps({**metadata, "trained_steps": 3, "total_trained_steps": 8}))
    assert steps_before(TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "run"), init_from=str(chained))) == 8
    assert steps_before(TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "run"))) == 0
    assert steps_before(TrainConfig(model="cgan_t2i_tiny", workdir=str(tmp_path / "run"),
                                    init_from=str(tmp_path / "gone"))) is None
