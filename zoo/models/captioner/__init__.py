"""`captioner`: image to text with soft attention (Show, Attend and Tell).

`model.py`: the task, its config and presets; `layers.py`, `network.py` and `decoding.py`: its
layers, networks and decoding; `steps.py`: its training step (imported by training only).
"""

from zoo.models.captioner.model import Captioner, CaptionerConfig  # noqa: F401
