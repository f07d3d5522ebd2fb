"""The BERT text encoder (keras-hub `BertBackbone`): from a local preset the test writes, or random and
tiny, as the shared encoder of every text family; its export serves the same; bad presets are errors."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.data import shapes
from zoo.export import export
from zoo.local_weights import LocalWeightsError
from zoo.models import family_names
from zoo.text import shapes_vocabulary
from zoo.training.steps import get_steps

keras_hub = pytest.importorskip("keras_hub")

SPLIT = {"circle": ["circ", "##le"], "diamond": ["dia", "##mond"]}  # words the preset splits into pieces
CAPTIONS = [shapes.scene("test", i)["captions"][0] for i in range(3)]
TINY_BERT = {"text_model": "bert", "bert_layers": 1, "bert_heads": 2}  # width 2 * text_units = 16
TEXT_FAMILIES = [f"{family}_tiny" for family in family_names() if zoo.build(f"{family}_tiny").uses_text]


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    """A keras-hub BERT preset folder (1 layer, width 16) whose WordPiece vocabulary splits two shapes words."""
    words = [w for w in shapes_vocabulary().tokens[4:] if w not in SPLIT]
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + [p for ps in SPLIT.values() for p in ps]
    folder = str(tmp_path_factory.mktemp("bert_preset"))
    keras_hub.models.BertBackbone(vocabulary_size=len(vocabulary), num_layers=1, num_heads=2, hidden_dim=16,
                                  intermediate_dim=32, max_sequence_length=64).save_to_preset(folder)
    keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True).save_to_preset(folder)
    return folder, vocabulary


def test_a_preset_encoder_is_bert_over_each_words_pieces(preset):
    folder, vocabulary = preset
    model = zoo.build("regression_t2i_tiny", text_model="bert", bert_preset=folder)
    encoder = model.text_encoder
    tokens = model.tokenize(["a small red circle in the center"])
    table = encoder.token_embedding.table.numpy()
    assert table[model.vocabulary.id("circle")].tolist() == [vocabulary.index("circ"), vocabulary.index("##le")]
    assert table[model.vocabulary.id("red")].tolist() == [vocabulary.index("red"), 0]
    # [CLS] a small red circ ##le in the center [SEP]: what BERT itself gives for the caption's pieces.
    pieces = [2] + [vocabulary.index(p) for p in ["a", "small", "red", "circ", "##le", "in", "the", "center"]] + [3]
    ids = np.zeros((1, encoder.max_length * 2), np.int32)
    ids[0, :len(pieces)] = pieces
    sequence = encoder.backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids),
                                 "padding_mask": ids != 0})["sequence_output"].numpy()[0]
    expected = np.stack([*sequence[:4], (sequence[4] + sequence[5]) / 2, *sequence[6:10]])
    words = encoder(tokens)["words"].numpy()[0]
    np.testing.assert_allclose(words[:9], expected, atol=1e-5)
    assert np.all(words[9:] == 0)  # padding


def test_a_preset_model_round_trips_and_its_export_serves_the_same(preset, tmp_path):
    folder, _ = preset
    model = zoo.build("regression_t2i_tiny", text_model="bert", bert_preset=folder).build_all()
    expected = model.generate(CAPTIONS, seeds=0)
    clone = type(model).from_config(model.get_config()).build_all()
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.generate(CAPTIONS, seeds=0), expected)
    path = export(model, str(tmp_path), "bert_t2i")
    served = tf.saved_model.load(path).signatures["seeded"]
    images = served(captions=tf.constant(CAPTIONS), seeds=tf.constant([0, 1, 2], tf.int64))["images"].numpy()
    np.testing.assert_array_equal(images, expected)
    with open(os.path.join(path, "assets.extra", "zoo.json")) as f:
        config = json.load(f)["config"]
    assert config["text_model"] == "bert" and config["bert_preset"] == os.path.basename(folder)  # no machine path


@pytest.fixture(scope="module")
def batch():
    """One shapes batch with everything a text family's step reads (captions' tokens, hole masks)."""
    batch = next(iter(zoo.data.load("shapes", batch_size=2, image_size=32, masks="mix")))
    return {k: v for k, v in batch.items() if k in ("image", "tokens", "mask")}


# One family in CI (the inpainter: text and images in); every family with `-m slow`.
@pytest.mark.parametrize("name", [pytest.param(name, marks=() if name == "cgan_inpaint_tiny" else pytest.mark.slow)
                                  for name in TEXT_FAMILIES])
def test_every_text_family_trains_compiled_steps_with_a_tiny_random_bert(name, batch):
    task = zoo.build(name, **TINY_BERT).build_all()
    steps = get_steps(task.family)
    optimizers = {group: keras.optimizers.Adam(1e-3) for group in steps.optimizer_groups(task)}
    for group, variables in steps.optimizer_groups(task).items():
        optimizers[group].build(variables)
    bert = task.text_encoder.backbone
    before = [v.numpy() for v in bert.trainable_variables]
    step = tf.function(lambda b, seed: steps.train_step(task, optimizers, b, seed, steps.hparams))
    losses = [{k: float(v) for k, v in step(batch, tf.constant([0, i])).items()} for i in range(3)]
    assert all(np.isfinite(v) for step_losses in losses for v in step_losses.values()), losses
    assert any(np.abs(v.numpy() - b).max() > 0 for v, b in zip(bert.trainable_variables, before)), \
        "the step trains the BERT (the captioner: its token embedding, the decoder's input)"
    if "loss" in losses[0]:  # the GANs' losses need not fall; the others fit one batch
        assert losses[-1]["loss"] < losses[0]["loss"], losses


def test_bad_presets_are_errors_naming_them_and_nothing_is_downloaded(preset, tmp_path):
    with pytest.raises(LocalWeightsError, match=r"No keras-hub BERT preset folder 'bert_tiny_en_uncased'"):
        zoo.build("cgan_t2i_coco")  # a bare name keras-hub would fetch from Kaggle: only looked for locally
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LocalWeightsError, match="not a keras-hub preset folder"):
        zoo.build("matcher_tiny", text_model="bert", bert_preset=str(empty))
    with pytest.raises(ValueError, match="bert_preset=.* is for text_model='bert'"):
        zoo.build("matcher_tiny", bert_preset=preset[0])
    with pytest.raises(ValueError, match="text_model must be one of"):
        zoo.build("matcher_tiny", text_model="gpt")
