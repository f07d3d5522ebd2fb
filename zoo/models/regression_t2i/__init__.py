"""`regression_t2i`: the simplest text-to-image baseline, a caption regressed onto pixels.

`model.py`: the task, its config and presets; `steps.py`: its training step (imported by training only).
"""

from zoo.models.regression_t2i.model import RegressionText2Image, RegressionText2ImageConfig  # noqa: F401
