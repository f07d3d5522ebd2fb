"""`shapes_probe`: a small per-cell classifier that reads a `shapes` image back into its scene.

`model.py`: the task, its config and presets; `steps.py`: its training step (imported by training only).
"""

from zoo.models.shapes_probe.model import ShapesProbe, ShapesProbeConfig  # noqa: F401
