"""Model registry: builders recorded by name, built with overrides.

A family is one folder of `zoo/models` (its model, presets and steps). It
registers its presets, each a name with config defaults, with `register_presets`:

    register_presets(CGANText2Image, {
        "cgan_t2i": ("Conditional GAN, text to image (64x64 shapes)", {}),
        "cgan_t2i_tiny": ("Tiny cgan_t2i for tests (32x32)", {"image_size": 32, ...}),
    })

then `zoo.build("cgan_t2i_tiny", noise_dim=4)` builds it with overrides. Any other
builder (a function of keyword overrides returning a ready task model, which also takes
the preset builders' `text_encoder=None`, `vocabulary=None` and `initial_weights=True`, as the
Trainer and `load_trained` pass them) registers with the `register_model` decorator.
"""

import dataclasses
import difflib
import fnmatch
from typing import Callable

from zoo.kinds import KINDS

# The four kinds with a public method and serving signatures, and two helper tasks (the probe
# behind FID/KID, and the matcher that pretrains text encoders) that have neither.
TASKS = KINDS + ("image-classification", "text-image-matching")


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    name: str
    task: str
    builder: Callable
    description: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name, task, description=""):
    """Decorator recording a model builder under `name` for `task`."""
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r} for model {name!r}; tasks are {TASKS}.")

    def decorator(builder):
        if name in _REGISTRY:
            raise ValueError(
                f"A model named {name!r} is already registered "
                f"(by {_REGISTRY[name].builder.__module__}); names must be unique."
            )
        doc = description or (builder.__doc__ or "").strip().split("\n")[0]
        _REGISTRY[name] = ModelEntry(name, task, builder, doc)
        return builder

    return decorator


def register_presets(task_class, presets):
    """Register `task_class`'s presets: {name: (description, config defaults)}.

    Each preset builds `task_class(task_class.config_class(defaults + overrides))`,
    with an optional shared `text_encoder` (ignored by a task that reads no text) and `vocabulary`;
    `initial_weights=False` blanks the config's `initial_weight_fields` (word vectors, backbone
    weights: files that only seed weights a checkpoint then restores).
    """
    for name, (description, defaults) in presets.items():
        register_model(name, task=task_class.task_name, description=description)(
            _preset_builder(task_class, name, defaults))


def _preset_builder(task_class, name, defaults):
    def build(text_encoder=None, vocabulary=None, initial_weights=True, **overrides):
        if not initial_weights:
            # Restored from a checkpoint next: the pretrained files that only seed the weights are not read.
            overrides = {**overrides, **{field: "" for field in task_class.config_class.initial_weight_fields}}
        config = task_class.config_class.from_overrides(overrides, **defaults)
        return task_class(config, vocabulary=vocabulary, text_encoder=text_encoder)

    build.__name__ = name
    return build


def _ensure_models_imported():
    # Builders register themselves when their module is imported.
    import zoo.models  # noqa: F401


def get_entry(name):
    """The registry entry for `name`, or a ValueError naming the closest matches."""
    _ensure_models_imported()
    if not isinstance(name, str):
        raise TypeError(f"Model name must be a string, got {type(name).__name__}.")
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.4)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"Unknown model {name!r}.{hint} Known models: {', '.join(sorted(_REGISTRY))}."
        )
    return _REGISTRY[name]


def build(name, **overrides):
    """Build the registered model `name`, with config fields overridden by keyword.

    Example:
        model = zoo.build("cgan_t2i_tiny", image_size=32)
    """
    return get_entry(name).builder(**overrides)


def list_models(pattern=None, task=None):
    """Sorted names of registered models, filtered by a glob `pattern` and `task`."""
    _ensure_models_imported()
    if task is not None and task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; tasks are {TASKS}.")
    names = sorted(_REGISTRY)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatch(n, pattern)]
    if task is not None:
        names = [n for n in names if _REGISTRY[n].task == task]
    return names
