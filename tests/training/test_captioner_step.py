"""The `captioner` training step: loss pieces, eager vs compiled, overfitting one batch of shapes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.text import PAD_ID
from zoo.training.steps import get_steps
from zoo.losses import masked_cross_entropy
from zoo.models.captioner.steps import doubly_stochastic_penalty

BATCH_SIZE = 8
OVERFIT_STEPS = 150
LEARNING_RATE = 1e-2


@pytest.fixture(scope="module")
def batch():
    data = zoo.data.load("shapes", split="train", batch_size=BATCH_SIZE, image_size=32, masks=None, shuffle=False)
    example = next(iter(data))
    return {"image": example["image"], "tokens": example["tokens"], "caption": example["caption"]}


@pytest.fixture(scope="module")
def training():
    """A tiny captioner, its built optimizers, and the step compiled with XLA, built once."""
    keras.utils.set_random_seed(0)
    task = zoo.build("captioner_tiny")
    steps = get_steps("captioner")
    groups = steps.optimizer_groups(task)
    optimizers = {name: keras.optimizers.Adam(LEARNING_RATE) for name in groups}
    for name, optimizer in optimizers.items():
        optimizer.build(groups[name])  # before the compiled step: XLA cannot create variables

    def step(batch, seed):
        return steps.train_step(task, optimizers, batch, seed, steps.hparams)

    return {"task": task, "optimizers": optimizers, "step": step,
            "compiled": tf.function(step, jit_compile=True), "initial": _snapshot(task, optimizers)}


def _trained_variables(task):
    return get_steps("captioner").optimizer_groups(task)["captioner"]


def _snapshot(task, optimizers):
    weights = [v.numpy() for v in _trained_variables(task)]
    return weights, {name: [v.numpy() for v in o.variables] for name, o in optimizers.items()}


def _restore(task, optimizers, snapshot):
    weights, states = snapshot
    for variable, value in zip(_trained_variables(task), weights):
        variable.assign(value)
    for name, optimizer in optimizers.items():
        for variable, value in zip(optimizer.variables, states[name]):
            variable.assign(value)


def _step_inputs(batch):
    return {"image": batch["image"], "tokens": batch["tokens"]}


# === Registration ===
def test_registered_steps():
    steps = get_steps("captioner")
    assert steps.hparams == {"attention_weight": 1.0}
    assert steps.dataset_options == {"masks": None}
    assert steps.ema_networks(zoo.build("captioner_tiny")) == []


def test_optimizer_group_has_every_variable_the_loss_reaches(training, batch):
    task = training["task"]
    variables = get_steps("captioner").optimizer_groups(task)["captioner"]
    ids = {id(v) for v in variables}
    assert id(task.text_encoder.token_embedding.embeddings) in ids
    assert all(id(v) in ids for v in task.image_encoder.trainable_variables + task.decoder.trainable_variables)
    with tf.GradientTape() as tape:
        outputs = task({"images": batch["image"], "tokens": batch["tokens"]}, training=True)
        loss = tf.reduce_mean(outputs["logits"]) + tf.reduce_mean(outputs["attention"] ** 2)
    assert all(g is not None for g in tape.gradient(loss, variables))


# === Loss pieces ===
def test_masked_cross_entropy_ignores_padding():
    targets = tf.constant([[5, 6, PAD_ID, PAD_ID]])
    mask = tf.cast(targets != PAD_ID, tf.float32)
    logits = tf.zeros([1, 4, 10])
    np.testing.assert_allclose(masked_cross_entropy(targets, logits, mask), np.log(10.0), rtol=1e-6)
    noisy_padding = tf.concat([logits[:, :2], tf.random.stateless_normal([1, 2, 10], seed=[0, 1]) * 5], axis=1)
    np.testing.assert_allclose(masked_cross_entropy(targets, noisy_padding, mask), np.log(10.0), rtol=1e-6)


def test_doubly_stochastic_penalty():
    # Two real steps attending fully to cell 0, then one padded step attending to cell 1.
    attention = tf.constant([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    mask = tf.constant([[1.0, 1.0, 0.0]])
    # Cell 0 gets 2 (penalty 1), cell 1 gets 0 (penalty 1); the padded step does not count.
    np.testing.assert_allclose(doubly_stochastic_penalty(attention, mask), 1.0)
    balanced = tf.constant([[[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]])
    np.testing.assert_allclose(doubly_stochastic_penalty(balanced, mask), 0.0)


def test_attention_weight_zero_turns_penalty_off(training, batch):
    task, steps = training["task"], get_steps("captioner")
    snapshot = _snapshot(task, training["optimizers"])
    losses = steps.train_step(task, training["optimizers"], _step_inputs(batch), tf.constant([0, 0]),
                              {"attention_weight": 0.0})
    _restore(task, training["optimizers"], snapshot)
    assert float(losses["attention_penalty"]) > 0.0
    np.testing.assert_allclose(losses["loss"], losses["cross_entropy"], rtol=1e-6)


# === Compiled step ===
@pytest.mark.slow  # XLA against eager: cgan_i2i, cgan_inpaint and shapes_probe in CI, this family with `-m slow`
def test_eager_and_compiled_steps_agree(training, batch):
    task, optimizers = training["task"], training["optimizers"]
    _restore(task, optimizers, training["initial"])
    eager = training["step"](_step_inputs(batch), tf.constant([3, 4]))
    eager_weights = [v.numpy() for v in _trained_variables(task)]
    _restore(task, optimizers, training["initial"])
    compiled = training["compiled"](_step_inputs(batch), tf.constant([3, 4]))
    for name in ("loss", "cross_entropy", "attention_penalty"):
        assert compiled[name].dtype == tf.float32 and compiled[name].shape == ()
        np.testing.assert_allclose(compiled[name], eager[name], rtol=1e-4)
    # Adam's first step moves each weight by about the learning rate times the sign of its
    # gradient; a tolerance of a tenth of that allows for signs of near-zero gradients.
    for after_eager, variable in zip(eager_weights, _trained_variables(task)):
        np.testing.assert_allclose(variable.numpy(), after_eager, atol=LEARNING_RATE / 10)


@pytest.fixture(scope="module")
def overfitted(training, batch):
    """The compiled step run OVERFIT_STEPS times on one fixed batch, from the initial weights."""
    task, optimizers = training["task"], training["optimizers"]
    _restore(task, optimizers, training["initial"])
    history = [training["compiled"](_step_inputs(batch), tf.constant([0, step])) for step in range(OVERFIT_STEPS)]
    return task, [{name: float(value) for name, value in losses.items()} for losses in history]


def test_overfit_one_batch_loss_falls(overfitted):
    _, history = overfitted
    first, last = history[0], history[-1]
    # The cross-entropy starts near log(32) = 3.47 and must fall at least 20-fold.
    assert first["cross_entropy"] > 3.0
    assert last["cross_entropy"] < first["cross_entropy"] / 20, (first, last)
    assert last["token_accuracy"] > 0.95
    assert last["attention_penalty"] < first["attention_penalty"]


def test_overfit_one_batch_greedy_reproduces_captions(overfitted, batch):
    task, _ = overfitted
    truth = [caption.decode("utf-8") for caption in batch["caption"].numpy()]
    greedy = task.caption(batch["image"], beam_size=1)
    beam = task.caption(batch["image"], beam_size=3)
    # At least 6 of the 8 training captions (75%) come back word for word.
    assert sum(g == t for g, t in zip(greedy, truth)) >= 6, list(zip(greedy, truth))
    assert sum(b == t for b, t in zip(beam, truth)) >= 6, list(zip(beam, truth))
