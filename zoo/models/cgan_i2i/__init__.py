"""`cgan_i2i`: pix2pix (Isola et al. 2017), a conditional GAN from label maps to images.

`model.py`: the task, its config and presets; `steps.py`: its training step (imported by training only).
"""

from zoo.models.cgan_i2i.model import CGANImage2Image, CGANImage2ImageConfig  # noqa: F401
