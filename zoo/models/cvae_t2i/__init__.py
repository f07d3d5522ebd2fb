"""`cvae_t2i`: a conditional variational autoencoder, text to image (Sohn et al. 2015).

`model.py`: the task, its config and presets; `steps.py`: its training step (imported by training only).
"""

from zoo.models.cvae_t2i.model import CVAEText2Image, CVAEText2ImageConfig  # noqa: F401
