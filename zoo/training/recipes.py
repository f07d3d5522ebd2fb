"""Recipes: the configs that train the pretrained `shapes` models, one or more stages each.

A recipe is `zoo/recipes/<name>.json`: a list of stages, each the fields of a
`TrainConfig` (without `workdir`). A stage may start from an earlier one with
`"init_from": "@<stage>"`. Stage `s` of a run in `workdir` trains in `workdir/s`.

Example:
    zoo train --recipe cgan_t2i_shapes --workdir runs/t2i
"""

import json
import os

from zoo.training.config import TrainConfig

RECIPE_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "recipes")


def list_recipes():
    return sorted(f[:-5] for f in os.listdir(RECIPE_DIR) if f.endswith(".json"))


def load_recipe(name):
    """The recipe's stages as `(stage name, fields)` pairs."""
    path = os.path.join(RECIPE_DIR, f"{name}.json")
    if not os.path.exists(path):
        raise ValueError(f"Unknown recipe {name!r}; recipes: {list_recipes()}.")
    with open(path) as f:
        recipe = json.load(f)
    return [(stage.pop("stage"), stage) for stage in recipe["stages"]]


def stage_configs(name, workdir, overrides=()):
    """A `TrainConfig` per stage; `overrides` (`key=value`) apply to the last stage."""
    stages = load_recipe(name)
    configs = []
    for index, (stage, fields) in enumerate(stages):
        fields = dict(fields)
        if str(fields.get("init_from", "")).startswith("@"):
            fields["init_from"] = os.path.join(workdir, fields["init_from"][1:])
        config = TrainConfig(workdir=os.path.join(workdir, stage), **fields)
        if index == len(stages) - 1:
            config = config.with_overrides(overrides)
        configs.append((stage, config))
    return configs
