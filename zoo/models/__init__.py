"""Model families: each is a folder here, and importing this package registers them all.

A family's folder holds `model.py` (its task class, config and presets, registered
with `zoo.registry.register_presets`) and `steps.py` (its training step, registered
with `zoo.training.steps.register_steps`; imported only by training, so that models
never import training code). Adding a family is adding a folder: the families are
found here, never listed by hand.
"""

import importlib
import pkgutil

from zoo.models.base import Task, TaskConfig  # noqa: F401


def family_names():
    """The families: the packages of this folder, sorted."""
    return sorted(module.name for module in pkgutil.iter_modules(__path__) if module.ispkg)


for _family in family_names():
    importlib.import_module(f"zoo.models.{_family}.model")
