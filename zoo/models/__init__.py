"""Model families; importing this package registers every builder."""

import importlib

from zoo.models.base import Task, TaskConfig  # noqa: F401

FAMILY_MODULES = (
    "cgan_t2i", "cgan_i2i", "cgan_inpaint", "captioner", "cvae_t2i", "regression_t2i", "shapes_probe", "matcher",
)

for _module in FAMILY_MODULES:
    importlib.import_module(f"zoo.models.{_module}")
