"""Pretrained files the user has on disk: word vectors, a keras-hub preset folder, backbone weights.

zoo never downloads weights. A config names such a file by path; a relative path is looked for
in the current folder, then in the weights folder: `$ZOO_WEIGHTS_DIR`, by default the folder
where `keras.applications` keeps the weights it downloaded (`$KERAS_HOME/models`, that is
`~/.keras/models`), so a machine that ever used `keras.applications.ResNet50(weights="imagenet")`
already has them. A file that is not there is a `LocalWeightsError` naming it and what is accepted,
which the `zoo` command prints as one line.

Example:
    path = resolve_local_file("glove.6B.50d.txt", "word vectors", "a word2vec or GloVe file")
"""

import os

# The model config fields that name such files (`zoo.models`): `config.json` stores them relative to
# the workdir when they name a path, an export's metadata only the file's name.
LOCAL_FILE_FIELDS = ("word_vectors", "bert_preset", "backbone_weights")


class LocalWeightsError(ValueError):
    """A pretrained file or folder that is missing or does not fit the model."""


def weights_dir():
    """The folder searched for relative names: $ZOO_WEIGHTS_DIR, else $KERAS_HOME/models (~/.keras/models)."""
    folder = os.environ.get("ZOO_WEIGHTS_DIR") or os.path.join(
        os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"), "models")
    return os.path.expanduser(folder)


def resolve_local_file(path, what, accepted, folder=False):
    """The existing file (or, with `folder`, directory) that `path` names; a `LocalWeightsError` if none.

    `what` names the thing ("word vectors"), `accepted` says what may be given, both for the error.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise LocalWeightsError(f"{what}: expected a path, got {path!r}; {accepted}.")
    path = os.path.expanduser(str(path))
    candidates = [path] if os.path.isabs(path) else [path, os.path.join(weights_dir(), path)]
    exists = os.path.isdir if folder else os.path.isfile
    for candidate in candidates:
        if exists(candidate):
            return candidate
    kind = "folder" if folder else "file"
    places = "" if os.path.isabs(path) else f" (looked in the current folder and in {weights_dir()}, $ZOO_WEIGHTS_DIR)"
    raise LocalWeightsError(f"No {what} {kind} {path!r}{places}; {accepted}. zoo never downloads weights.")


def portable_name(path):
    """What an export's metadata records of a local file: its name, not the machine's path to it."""
    return os.path.basename(os.path.normpath(str(path))) if path else path
