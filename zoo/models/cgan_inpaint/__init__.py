"""`cgan_inpaint`: text-guided inpainting (DeepFill v2 gated convolutions, SN-PatchGAN, text fusion).

`model.py`: the task, its config and presets; `steps.py`: its training step (imported by training only).
"""

from zoo.models.cgan_inpaint.model import CGANInpaint, CGANInpaintConfig  # noqa: F401
