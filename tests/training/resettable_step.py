"""A family's training step compiled once, with a reset to the starting weights and optimizer state.

An XLA compile takes most of a step test's time, so a test module compiles one
step and its tests share it; `reset()` makes each test start from the same state.

Example:
    harness = ResettableStep(task, steps, hparams, learning_rate=2e-3)
    harness.reset()
    losses = harness.compiled(batch, tf.constant([0, 0]))
"""

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo.training.steps import get_steps


def numeric_batch(batch_size=8, image_size=32):
    """One fixed `shapes` training batch without its strings (they stay outside XLA)."""
    data = zoo.data.load("shapes", split="train", batch_size=batch_size, image_size=image_size, masks=None,
                         shuffle=False)
    return {key: value for key, value in next(iter(data)).items() if key not in ("caption", "captions")}


def build_optimizers(task, learning_rate, beta_1=0.9):
    """An Adam per optimizer group of the task's family, built before any compiled step."""
    optimizers = {}
    for group, variables in get_steps(task.family).optimizer_groups(task).items():
        optimizers[group] = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
        optimizers[group].build(variables)  # XLA cannot create the slots inside the compiled step
    return optimizers


class ResettableStep:
    def __init__(self, task, steps, hparams, learning_rate, beta_1=0.5):
        self.task, self.steps, self.hparams = task, steps, hparams
        self.optimizers = build_optimizers(task, learning_rate, beta_1)
        self.compiled = tf.function(self.eager, jit_compile=True)
        self._weights = task.get_weights()
        self._slots = {group: [v.numpy() for v in opt.variables] for group, opt in self.optimizers.items()}

    def eager(self, batch, seed):
        return self.steps.train_step(self.task, self.optimizers, batch, seed, self.hparams)

    def reset(self):
        self.task.set_weights(self._weights)
        for group, optimizer in self.optimizers.items():
            for variable, value in zip(optimizer.variables, self._slots[group]):
                variable.assign(value)

    def run_both(self, batch, steps=2):
        """[(losses per step, generator weights)] of `steps` eager then compiled steps, each from the reset state."""
        runs = []
        for step_function in (self.eager, self.compiled):
            self.reset()
            losses = [step_function(batch, tf.constant([step, 0])) for step in range(steps)]
            runs.append(([{k: float(v) for k, v in loss.items()} for loss in losses],
                         self.task.generator.get_weights()))
        return runs


def assert_runs_agree(runs, rel=1e-4):
    """Eager and compiled losses equal to `rel` (relative), weights to 1e-3."""
    (eager_losses, eager_weights), (compiled_losses, compiled_weights) = runs
    for eager, compiled in zip(eager_losses, compiled_losses):
        for key in eager:
            assert abs(compiled[key] - eager[key]) <= rel * abs(eager[key]) + 1e-6, (key, eager[key], compiled[key])
    for eager, compiled in zip(eager_weights, compiled_weights):
        np.testing.assert_allclose(compiled, eager, rtol=1e-3, atol=1e-5)
