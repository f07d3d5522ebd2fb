"""Recipes: the configs that train the pretrained `shapes` models, one or more stages each.

A recipe is `zoo/recipes/<name>.json`, or any JSON file of the same form: a list of
stages, each the fields of a `TrainConfig` (without `workdir`), and optionally `"defaults"`:
fields every stage starts from, which a stage's own fields override (a dict field, such as
`hparams` or `model_overrides`, is merged key by key). A stage may start from an earlier one
with `"init_from": "@<stage>"`. Stage `s` of a run in `workdir` trains in
`workdir/s`; a stage starts only once the stages before it reached their last step.

Example:
    zoo train --recipe cgan_t2i_shapes --workdir runs/t2i --dry-run     # the stages and their steps
    zoo train --recipe cgan_t2i_shapes --workdir runs/try --steps 20    # every stage capped at 20 steps
    zoo train --recipe my_recipe.json --workdir runs/mine
"""

import json
import os

from zoo.training.config import TrainConfig

RECIPE_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "recipes")


def list_recipes():
    return sorted(f[:-5] for f in os.listdir(RECIPE_DIR) if f.endswith(".json"))


def is_recipe_file(name):
    """Whether `--recipe` was given a file (`path/to/recipe.json`) rather than a name of `zoo/recipes`."""
    return str(name).endswith(".json") or os.sep in str(name)


def load_recipe(name):
    """The recipe's stages as `(stage name, fields)` pairs: `name` of `zoo/recipes`, or a `.json` file."""
    if is_recipe_file(name):
        path = name
        if not os.path.isfile(path):
            raise ValueError(f"No recipe file {path!r}; --recipe takes a name of {list_recipes()} or a .json file.")
    else:
        path = os.path.join(RECIPE_DIR, f"{name}.json")
        if not os.path.exists(path):
            raise ValueError(f"Unknown recipe {name!r}; recipes: {list_recipes()} (or a path to a .json file).")
    with open(path) as f:
        try:
            recipe = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"Recipe {path!r} is not valid JSON ({error}).") from None
    if not isinstance(recipe, dict) or not isinstance(recipe.get("stages"), list) or not all(
            isinstance(stage, dict) and "stage" in stage for stage in recipe["stages"]) or not recipe["stages"]:
        raise ValueError(f"Recipe {path!r} must be {{\"stages\": [{{\"stage\": NAME, \"model\": ..., ...}}, ...]}}.")
    defaults = recipe.get("defaults", {})
    if not isinstance(defaults, dict) or "stage" in defaults:
        raise ValueError(f"Recipe {path!r}: \"defaults\" must be an object of fields every stage starts from "
                         f"(any field of a stage but \"stage\"), got {defaults!r}.")
    return [(stage.pop("stage"), _with_defaults(defaults, stage)) for stage in recipe["stages"]]


def _with_defaults(defaults, stage):
    """A stage's fields over the recipe's defaults; dict fields (`hparams`, ...) merge key by key."""
    fields = dict(defaults)
    for key, value in stage.items():
        if isinstance(value, dict) and isinstance(fields.get(key), dict):
            value = {**fields[key], **value}
        fields[key] = value
    return fields


def stage_configs(name, workdir, overrides=(), max_steps=None):
    """A `TrainConfig` per stage; `overrides` (`key=value`) apply to the last stage.

    `max_steps` caps every stage (`zoo train --recipe ... --steps N`: a quick try of the whole
    recipe). A capped run is a try: its later stages start from short earlier ones, so train the
    full recipe in a new workdir rather than resuming the capped one without the cap.
    """
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"--steps must be a positive int, got {max_steps!r}.")
    stages = load_recipe(name)
    configs = []
    for index, (stage, fields) in enumerate(stages):
        fields = dict(fields)
        if str(fields.get("init_from", "")).startswith("@"):
            fields["init_from"] = os.path.join(workdir, fields["init_from"][1:])
        config = TrainConfig(workdir=os.path.join(workdir, stage), **fields)
        if index == len(stages) - 1:
            config = config.with_overrides(overrides)
        if max_steps is not None:
            config.steps = min(config.steps, max_steps)
        configs.append((stage, config))
    return configs


def trained_steps(workdir):
    """The step of the newest checkpoint file in `workdir/checkpoints`, or None when there is none.

    Read from the files as well as the index, so a damaged index does not restart a stage.
    """
    from zoo.training.checkpoints import checkpoint_paths

    paths = checkpoint_paths(os.path.join(workdir, "checkpoints"))
    return int(paths[0].rsplit("-", 1)[-1]) if paths else None
