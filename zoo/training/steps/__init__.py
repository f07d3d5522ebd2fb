"""One training step per family, behind one small interface the Trainer drives.

A family registers a `FamilySteps` in its folder's `steps.py` (`zoo/models/<family>/steps.py`,
imported here on first use):
- `optimizer_groups(task)`: {group name: list of trainable variables}; the Trainer
  makes one optimizer per group (Adam with the run's learning rate and betas unless
  the family's `optimizer_defaults` say otherwise) and builds it before the first
  compiled step (XLA cannot create variables).
- `train_step(task, optimizers, batch, seed, hparams)`: one batch, returns a dict of
  scalar losses. A plain function of its arguments, compiled by the Trainer with
  `tf.function`, and with XLA where `TrainConfig.xla` says so (so it must compile
  with XLA). `seed` is an int32 [2] tensor for stateless randomness
  (`tf.random.stateless_*`), different every step. It applies its gradients with
  `apply_gradients` (zoo.training.steps.common), which handles loss scaling under
  mixed precision.
- `hparams`: loss weights and switches with their defaults (`--set` overrides them).
- `ema_networks(task)`: the networks whose weights the Trainer averages (EMA) for
  sampling and export (the generator of a GAN); empty for none.
- `dataset_options`: keyword arguments for `zoo.data.load` (e.g. `masks="mix"`).
- `pretrained_networks`: the networks a run takes from its `init_from` run (a pretraining
  stage), those of them the task has; default the shared text encoder.

Example:
    steps = get_steps("cgan_t2i")
    losses = steps.train_step(task, optimizers, batch, seed, steps.hparams)
"""

import dataclasses
import importlib
from typing import Callable

_STEPS = {}


@dataclasses.dataclass
class FamilySteps:
    family: str
    train_step: Callable
    optimizer_groups: Callable
    hparams: dict = dataclasses.field(default_factory=dict)
    ema_networks: Callable = lambda task: []
    optimizer_defaults: dict = dataclasses.field(default_factory=dict)
    dataset_options: dict = dataclasses.field(default_factory=dict)
    pretrained_networks: tuple = ("text_encoder",)


def register_steps(steps):
    if steps.family in _STEPS:
        raise ValueError(f"Steps for family {steps.family!r} are already registered.")
    _STEPS[steps.family] = steps
    return steps


def get_steps(family):
    """The `FamilySteps` of `family` (a task's `family` attribute)."""
    if family not in _STEPS:
        try:
            importlib.import_module(f"zoo.models.{family}.steps")  # registers itself
        except ModuleNotFoundError as error:
            if error.name not in (f"zoo.models.{family}", f"zoo.models.{family}.steps"):
                raise
            raise ValueError(f"No training steps for family {family!r}: there is no zoo/models/{family}/steps.py."
                             ) from None
    return _STEPS[family]
