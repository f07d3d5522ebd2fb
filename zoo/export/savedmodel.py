"""Versioned SavedModel export in TF Serving's layout, and its `models.config`.

    savedmodels/
      models.config                     (ModelServerConfig text proto, every model below)
      cgan_t2i_shapes/1/saved_model.pb
      cgan_t2i_shapes/1/variables/...

Example:
    path = export_run("runs/t2i/gan", "savedmodels")            # savedmodels/cgan_t2i_gan/1
    path = export(task, "savedmodels", name="my_t2i")           # a task in memory
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


def export_run(workdir, out_dir, name=None, version=None, raw_weights=False, replace_pretrained=False, best=False):
    """Export the run trained in `workdir` to `out_dir/name/version/`; returns the path.

    The weights are those of its newest intact checkpoint (with `best`, of the one the run kept as
    its best, `TrainConfig.keep_best`, and `zoo.json` says on what), their moving average where the
    run kept one (unless `raw_weights`). `zoo.json` records the step that checkpoint was saved at
    (`trained_steps`; with `total_trained_steps`, those of the runs it started from by `init_from` too), the run's
    training config (paths relative to the workdir) and which weights it holds. `name` defaults to
    `<model>_<workdir folder>` (runs/t2i/gan: cgan_t2i_gan); a pretrained model's name is refused
    unless `replace_pretrained`, since the new version would replace the shipped one wherever it is
    loaded.
    """
    from zoo.training.config import TrainConfig
    from zoo.training.runs import keeps_ema, load_trained, read_best, steps_before

    config = TrainConfig.load(os.path.join(workdir, "config.json"))
    name = name or default_export_name(workdir, config.model)
    if not replace_pretrained:
        refuse_to_hide_a_pretrained_model(name)
    task, checkpoint = load_trained(workdir, use_ema=not raw_weights, return_checkpoint=True, best=best)
    metadata = {"trained_steps": int(tf.train.load_variable(checkpoint, "step/.ATTRIBUTES/VARIABLE_VALUE")),
                "training": config.portable_dict(),
                "weights": "ema" if keeps_ema(task, config) and not raw_weights else "raw"}
    before = steps_before(config)
    if before:  # a fine-tune or a recipe's later stage: the steps of the runs it started from too
        metadata["total_trained_steps"] = metadata["trained_steps"] + before
    if best:
        chosen = read_best(workdir)
        metadata["selected"] = {key: chosen[key] for key in ("metric", "value", "step")}
    return export(task, out_dir, name, version=version, metadata=metadata)


def default_export_name(workdir, model):
    """A run's own export name, `<model>_<workdir folder>`, never a pretrained model's by default."""
    run = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.path.basename(os.path.abspath(workdir))).strip("_.-")
    return f"{model}_{run}" if run else model


def refuse_to_hide_a_pretrained_model(name):
    """A FileExistsError for an export named like a shipped pretrained model: it would shadow it (`zoo.load`
    and TF Serving take the newest version; `zoo quickstart` would show an untrained or half-trained model)."""
    from zoo.pretrained import resolve
    from zoo.training.recipes import list_recipes

    if name not in list_recipes():
        return
    try:
        pretrained = resolve(name)
    except FileNotFoundError:
        return  # not there: the export gives it (quickstart's "missing models" commands)
    raise FileExistsError(
        f"{name!r} is a pretrained model ({pretrained}); exporting yours under the same name would make zoo.load, "
        f"zoo quickstart and TF Serving load one in place of the other. Give your export its own name with "
        f"--name NAME (default: <model>_<workdir folder>), or add --replace-pretrained to replace it on purpose.")


def portable_config(task):
    """The task's config as an export records it: pretrained files by name, not by this machine's path."""
    from zoo.local_weights import LOCAL_FILE_FIELDS, portable_name

    return {k: portable_name(v) if k in LOCAL_FILE_FIELDS else v for k, v in task.config.to_dict().items()}


def write_metadata(task, path, extra=None):
    """`assets.extra/zoo.json`: the family, kind and config (TF Serving ignores `assets.extra`)."""
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    # The pretrained files a model started from, by name: the export needs none of them, and a
    # path would be the training machine's.
    metadata = {"family": task.family, "task": task.task_name,
                "image_size": int(task.config.image_size), "config": portable_config(task), **(extra or {})}
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
