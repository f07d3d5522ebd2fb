"""`captioner`: image to text with soft attention (Show, Attend and Tell).

`model.py`: the task, its config and presets; `steps.py`: its training step (imported by training only).
"""

from zoo.models.captioner.model import Captioner, CaptionerConfig  # noqa: F401
