"""Imports every family's step module so that each registers itself."""

import importlib

for _module in ("cgan_t2i", "cgan_i2i", "cgan_inpaint", "captioner", "cvae_t2i", "regression_t2i", "shapes_probe",
                "matcher"):
    importlib.import_module(f"zoo.training.steps.{_module}")
