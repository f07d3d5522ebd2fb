"""Versioned SavedModel export in TF Serving's layout, and its `models.config`.

    savedmodels/
      models.config                     (ModelServerConfig text proto, every model below)
      cgan_t2i_shapes/1/saved_model.pb
      cgan_t2i_shapes/1/variables/...

Example:
    path = export(task, "savedmodels", name="cgan_t2i_shapes")
    reloaded = tf.saved_model.load(path)
    reloaded.signatures["seeded"](captions=tf.constant(["a red circle"]), seeds=tf.constant([1], tf.int64))
"""

import json
import os
import re

import tensorflow as tf

CONFIG_FILE = "models.config"
SERVING_ROOT = "/models"  # where the TF Serving Docker image expects models (`-v $PWD/savedmodels:/models`)


def next_version(model_dir):
    versions = [int(d) for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    return max(versions, default=0) + 1


def export(task, out_dir, name, version=None, metadata=None):
    """Write `task` to `out_dir/name/version/` and list it in `out_dir/models.config`; returns the path.

    `metadata` (a dict, e.g. the training steps) is stored with the family and config in
    `assets.extra/zoo.json`, which `zoo.load` reads.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"Model name {name!r} must be letters, digits, '_', '.' or '-' (it becomes a folder).")
    model_dir = os.path.join(out_dir, name)
    version = version or next_version(model_dir)
    path = os.path.join(model_dir, str(version))
    if os.path.exists(path):
        raise FileExistsError(f"{path!r} exists; TF Serving versions are immutable, choose another version.")
    module = task.serving_module()
    tf.saved_model.save(module, path, signatures=module.signatures())
    write_metadata(task, path, metadata)
    write_models_config(out_dir)
    return path


def write_metadata(task, path, extra=None):
    """`assets.extra/zoo.json`: the family, kind and config (TF Serving ignores `assets.extra`)."""
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    metadata = {"family": task.family, "task": task.task_name,
                "image_size": int(task.config.image_size), "config": task.config.to_dict(), **(extra or {})}
    with open(os.path.join(path, "assets.extra", "zoo.json"), "w") as f:
        json.dump(metadata, f, indent=1, default=str)


def write_models_config(out_dir):
    """Rewrite `models.config` to list every model folder of `out_dir` that holds a version."""
    names = sorted(
        d for d in os.listdir(out_dir)
        if os.path.isdir(os.path.join(out_dir, d)) and any(v.isdigit() for v in os.listdir(os.path.join(out_dir, d)))
    )
    entries = "".join(
        f'  config {{\n    name: "{n}"\n    base_path: "{SERVING_ROOT}/{n}"\n    model_platform: "tensorflow"\n  }}\n'
        for n in names
    )
    with open(os.path.join(out_dir, CONFIG_FILE), "w") as f:
        f.write("model_config_list {\n" + entries + "}\n")
    return names
