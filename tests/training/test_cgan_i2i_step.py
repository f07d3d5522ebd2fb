"""cgan_i2i training step: registration, overfitting one batch compiled, eager == compiled.

The step is compiled once per module (an XLA compile takes most of this file's
time) and shared by the tests, which reset weights and optimizer state first.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.training.steps import get_steps

NUMERIC_KEYS = ("image", "label_map")


@pytest.fixture(scope="module")
def setup():
    steps = get_steps("cgan_i2i")
    # Dropout off: XLA and eager draw different stateless random numbers, so the
    # eager == compiled comparison needs a step without noise.
    task = zoo.build("cgan_i2i_tiny", dropout_rate=0.0)
    batch = next(iter(zoo.data.load("shapes", split="train", batch_size=8, image_size=32, num_examples=8,
                                    shuffle=False, **steps.dataset_options)))
    batch = {key: batch[key] for key in NUMERIC_KEYS}  # strings cannot enter an XLA step
    groups = steps.optimizer_groups(task)
    optimizers = {name: keras.optimizers.Adam(2e-3, beta_1=0.5) for name in groups}
    for name, variables in groups.items():
        optimizers[name].build(variables)  # before the compiled step: XLA cannot create variables
    compiled = tf.function(
        lambda batch, seed, hparams: steps.train_step(task, optimizers, batch, seed, hparams), jit_compile=True
    )
    initial_weights = task.get_weights()
    initial_slots = {name: [v.numpy() for v in opt.variables] for name, opt in optimizers.items()}

    def reset():
        task.set_weights(initial_weights)
        for name, opt in optimizers.items():
            for variable, value in zip(opt.variables, initial_slots[name]):
                variable.assign(value)

    return {"steps": steps, "task": task, "batch": batch, "optimizers": optimizers, "compiled": compiled,
            "reset": reset}


def test_steps_are_registered(setup):
    steps, task = setup["steps"], setup["task"]
    assert steps.hparams["l1_weight"] == 100.0
    assert steps.hparams["gan_loss"] in ("non_saturating", "lsgan")
    assert steps.dataset_options == {"masks": None}
    assert steps.ema_networks(task) == [task.generator]
    groups = steps.optimizer_groups(task)
    assert set(groups) == {"generator", "discriminator"}
    assert len(groups["generator"]) == len(task.generator.trainable_variables)


def test_compiled_step_overfits_one_batch(setup):
    setup["reset"]()
    hparams = setup["steps"].hparams
    losses = [setup["compiled"](setup["batch"], tf.constant([step, 0]), hparams) for step in range(40)]
    l1 = [float(loss["l1"]) for loss in losses]
    assert all(np.isfinite(float(v)) for loss in losses for v in loss.values())
    # The L1 to the target (the loss that carries the content) falls at least 3x (about 5x seen).
    assert l1[-1] < l1[0] / 3, l1


def test_eager_and_compiled_steps_agree(setup):
    task, hparams = setup["task"], setup["steps"].hparams
    runs = []
    for step_function in (lambda b, s, h: setup["steps"].train_step(task, setup["optimizers"], b, s, h),
                          setup["compiled"]):
        setup["reset"]()
        losses = [step_function(setup["batch"], tf.constant([step, 0]), hparams) for step in range(2)]
        runs.append(([{k: float(v) for k, v in loss.items()} for loss in losses], task.generator.get_weights()))
    (eager_losses, eager_weights), (compiled_losses, compiled_weights) = runs
    for eager, compiled in zip(eager_losses, compiled_losses):
        for key in eager:
            assert compiled[key] == pytest.approx(eager[key], rel=1e-4, abs=1e-6), key
    for eager, compiled in zip(eager_weights, compiled_weights):
        np.testing.assert_allclose(compiled, eager, rtol=1e-3, atol=1e-5)


def test_lsgan_and_bad_gan_loss(setup):
    setup["reset"]()
    task, optimizers, batch = setup["task"], setup["optimizers"], setup["batch"]
    hparams = {**setup["steps"].hparams, "gan_loss": "lsgan"}
    losses = setup["steps"].train_step(task, optimizers, batch, tf.constant([0, 0]), hparams)
    assert all(np.isfinite(float(v)) for v in losses.values())
    with pytest.raises(ValueError, match="gan_loss"):
        setup["steps"].train_step(task, optimizers, batch, tf.constant([0, 0]), {**hparams, "gan_loss": "wgan"})
