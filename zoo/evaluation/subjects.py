"""What evaluation calls: one interface over a Keras task and an exported SavedModel.

`as_subject(model)` wraps either a `zoo.models.base.Task` (from `zoo.build` or
`load_trained`) or a SavedModel directory (through its serving signatures) in
a `Subject` with the task kind, the image size and the one method of that
kind, always on uint8 numpy images:
- text to image: `generate(captions, seeds)`;
- image to text: `caption(images)`;
- inpainting: `inpaint(images, masks, captions)` ("" = no caption);
- image to image: `translate(label_maps)`.
These are the kinds' own methods (`zoo.kinds`): a task and its export take the
same arguments and give the same outputs (the export tests check the signatures
against the models), so either can be scored.

Example:
    subject = as_subject("savedmodels/cgan_t2i_shapes/1")
    subject.kind, subject.image_size   # ('text-to-image', 64)
    images = subject.generate(["a large red circle on the left"], seeds=[0])
"""

import os

import numpy as np

from zoo.data.shapes import REFERENCE_SIZE
from zoo.kinds import KINDS
from zoo.models.base import Task
from zoo.pretrained import PretrainedModel


class Subject:
    """The model under evaluation: `kind`, `image_size`, `description` and the kind's method.

    Image-to-image subjects also say what label maps they take: `input_channels`, and
    `input_classes` (> 0: class-index maps of that many classes, as `shapes`; 0: colour
    images, as the facades label maps).
    """

    kind = None
    image_size = None
    description = None
    input_channels = None
    input_classes = None

    def generate(self, captions, seeds):
        raise NotImplementedError

    def caption(self, images):
        raise NotImplementedError

    def inpaint(self, images, masks, captions):
        raise NotImplementedError

    def translate(self, label_maps):
        raise NotImplementedError


class TaskSubject(Subject):
    """A Keras task, called through the same functions its serving module uses."""

    def __init__(self, task):
        if task.task_name not in KINDS:
            raise ValueError(f"Cannot evaluate {task.family}, a model of kind {task.task_name!r}; "
                             f"evaluation covers {list(KINDS)}.")
        self.task = task
        self.kind = task.task_name
        self.image_size = int(task.config.image_size)
        self.description = f"{task.family} (Keras task)"
        if self.kind == "image-to-image":
            self.input_classes = int(getattr(task.config, "input_classes", 0))
            self.input_channels = int(getattr(task.config, "input_channels", 1))

    def generate(self, captions, seeds):
        return self.task.generate(list(captions), seeds=seeds)

    def caption(self, images):
        return self.task.caption(images)  # with the beam its export decodes with

    def inpaint(self, images, masks, captions):
        if not self.task.uses_text:
            captions = None  # a model without a text path takes no captions at all
        return self.task.inpaint(images, masks, list(captions) if captions is not None else None)

    def translate(self, label_maps):
        return self.task.translate(label_maps)


class SavedModelSubject(Subject):
    """An exported zoo SavedModel, called through its signatures (by `zoo.pretrained.PretrainedModel`)."""

    def __init__(self, path):
        self.path = resolve_savedmodel(path)
        try:
            self.model = PretrainedModel(self.path)
        except KeyError as error:  # kind_of looks up serving_default first
            raise ValueError(f"{self.path!r} has no `serving_default` signature ({error}); evaluate a "
                             "SavedModel written by `zoo export`.") from error
        self.kind = self.model.kind
        self.metadata = self.model.metadata
        if self.kind == "image-to-image":
            self.input_channels = self.model.input_channels
            # An export without the config: one channel is a class-index map (as `shapes`), more are colours.
            classes = self.metadata.get("config", {}).get("input_classes")
            self.input_classes = int(classes) if classes is not None else (None if self.input_channels == 1 else 0)
        self.image_size = self._image_size()
        # The model's folder, name and version, not where this machine keeps it.
        self.description = "SavedModel " + "/".join(os.path.normpath(self.path).split(os.sep)[-3:])

    def _image_size(self):
        if self.model.image_size:
            return int(self.model.image_size)
        if self.kind == "text-to-image":  # an export without metadata: the size of what it draws
            return int(self.generate(["a small red circle in the center"], [0]).shape[1])
        return REFERENCE_SIZE  # a captioner resizes any image itself

    def generate(self, captions, seeds):
        return self.model.generate(list(captions), seeds=seeds)

    def caption(self, images):
        return self.model.caption(np.asarray(images, np.uint8))

    def inpaint(self, images, masks, captions):
        return self.model.inpaint(images, masks, list(captions))

    def translate(self, label_maps):
        return self.model.translate(label_maps)


def resolve_savedmodel(path):
    """`path` if it holds `saved_model.pb`, else its newest numbered version folder (TF Serving layout)."""
    path = os.fspath(path)
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    versions = sorted(int(d) for d in os.listdir(path) if d.isdigit()) if os.path.isdir(path) else []
    versions = [v for v in versions if os.path.exists(os.path.join(path, str(v), "saved_model.pb"))]
    if not versions:
        raise FileNotFoundError(f"No SavedModel at {path!r}: neither {path}/saved_model.pb nor "
                                f"{path}/<version>/saved_model.pb exists.")
    return os.path.join(path, str(versions[-1]))


def shown_path(path):
    """A path as results show it: as given when relative, its last three parts when absolute.

    A result names a model's or data set's folder, never where this machine keeps it.
    """
    path = os.path.normpath(os.fspath(path))
    return os.path.join(*path.split(os.sep)[-3:]) if os.path.isabs(path) else path


def as_subject(model):
    """A `Subject` for a Keras task, a SavedModel directory, or a Subject (returned as is)."""
    if isinstance(model, Subject):
        return model
    if isinstance(model, Task):
        return TaskSubject(model)
    if isinstance(model, (str, os.PathLike)):
        return SavedModelSubject(model)
    raise ValueError(f"Cannot evaluate {type(model).__name__}: give a zoo Task (zoo.build, load_trained) "
                     "or the directory of an exported SavedModel.")


def in_batches(function, batch_size, *inputs):
    """`function` applied to slices of `inputs` of `batch_size`; numpy outputs concatenated, lists joined.

    Example: `in_batches(subject.translate, 100, label_maps)` -> the images of every label map.
    """
    outputs = [function(*(x[start:start + batch_size] for x in inputs))
               for start in range(0, len(inputs[0]), batch_size)]
    if isinstance(outputs[0], list):
        return [item for output in outputs for item in output]
    return np.concatenate(outputs)
