"""The captioner with a `keras.applications` backbone: weights from a local file (never downloaded),
frozen, and trained on COCO-format data with the data's vocabulary."""

import os

import numpy as np
import pytest

import zoo
from zoo.local_weights import LocalWeightsError
from zoo.training.config import TrainConfig
from zoo.text import Vocabulary
from zoo.training.runs import VOCABULARY_FILE, load_trained
from zoo.training.trainer import Trainer

# MobileNetV3Small at a quarter width, random weights: the smallest keras.applications backbone.
BACKBONE = {"image_size": 64, "grid_size": 2, "image_backbone": "MobileNetV3Small", "backbone_alpha": 0.25}


def test_backbone_weights_come_from_a_local_file_or_a_one_line_error(tmp_path):
    model = zoo.build("captioner_tiny", **BACKBONE)
    backbone = model.image_encoder.get_layer("backbone")
    assert not backbone.trainable_weights and model.image_encoder.trainable_weights  # frozen; the projection trains
    path = str(tmp_path / "mobilenet.weights.h5")
    backbone.get_layer("MobileNetV3Small").save_weights(path)
    loaded = zoo.build("captioner_tiny", **BACKBONE, backbone_weights=path)
    for mine, theirs in zip(loaded.image_encoder.get_layer("backbone").weights, backbone.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    with pytest.raises(LocalWeightsError, match=r"Cannot load .*mobilenet.weights.h5.* into MobileNetV3Small"):
        zoo.build("captioner_tiny", **{**BACKBONE, "backbone_alpha": 0.5}, backbone_weights=path)  # other widths
    with pytest.raises(LocalWeightsError, match=r"No MobileNetV3Small weights file 'missing.h5'.*never downloads"):
        zoo.build("captioner_tiny", **BACKBONE, backbone_weights="missing.h5")
    with pytest.raises(LocalWeightsError, match="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        zoo.build("captioner_coco")  # the preset names Keras' own file; no download is tried
    with pytest.raises(ValueError, match="set grid_size=2, got 4"):
        zoo.build("captioner_tiny", **{**BACKBONE, "grid_size": 4})


def test_coco_captioner_with_a_frozen_backbone_trains_and_reads_back(shared_data, tmp_path):
    coco = str(shared_data / "coco-mini")
    workdir = str(tmp_path / "run")
    trainer = Trainer(TrainConfig(model="captioner_tiny", workdir=workdir, data="coco", data_path=coco, steps=3,
                                  batch_size=2, progress=False, learning_rate=1e-3, model_overrides=BACKBONE))
    frozen = [v.numpy() for v in trainer.task.image_encoder.get_layer("backbone").weights]
    decoder = [v.numpy() for v in trainer.task.decoder.trainable_variables]
    losses = trainer.fit()
    assert all(np.isfinite(v) for v in losses.values()), losses
    for variable, before in zip(trainer.task.image_encoder.get_layer("backbone").weights, frozen):
        np.testing.assert_array_equal(variable.numpy(), before)
    assert any(np.abs(v.numpy() - b).max() > 0 for v, b in zip(trainer.task.decoder.trainable_variables, decoder))
    vocabulary, _ = zoo.data.default_vocabulary("coco", coco)
    assert trainer.task.vocabulary == vocabulary == Vocabulary.load(os.path.join(workdir, VOCABULARY_FILE))
    # Its export (README, "Pretrained encoders": measured, not tested here, for time) reads the run back:
    restored = load_trained(workdir)
    assert restored.vocabulary == vocabulary
    for mine, theirs in zip(restored.weights, trainer.task.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
