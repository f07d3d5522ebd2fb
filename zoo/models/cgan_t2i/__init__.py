"""`cgan_t2i`: a text-conditioned GAN (StackGAN conditioning, DF-GAN fusion, GAN-CLS matching, BicycleGAN latents).

`model.py`: the task, its config and presets; `steps.py`: its training step (imported by training only).
"""

from zoo.models.cgan_t2i.model import CGANText2Image, CGANText2ImageConfig  # noqa: F401
