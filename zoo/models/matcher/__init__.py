"""`matcher`: a text-image matching model (AttnGAN's DAMSM at sentence level, CLIP-style loss).

`model.py`: the task, its config and presets; `steps.py`: its training step (imported by training only).
"""

from zoo.models.matcher.model import TextImageMatcher, MatcherConfig  # noqa: F401
