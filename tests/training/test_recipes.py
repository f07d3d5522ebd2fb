"""Every recipe in zoo/recipes resolves to stages that build and train: known models, overrides and hparams."""

import os

import pytest

import zoo
from zoo.training.recipes import list_recipes, load_recipe, stage_configs
from zoo.training.steps import get_steps


def test_the_pretrained_models_have_recipes():
    assert set(list_recipes()) >= {"captioner_shapes", "cgan_i2i_shapes", "cgan_inpaint_shapes", "cgan_t2i_shapes",
                                   "cvae_t2i_shapes", "regression_t2i_shapes", "shapes_probe_shapes"}


@pytest.mark.parametrize("name", list_recipes())
def test_recipe_stages_build_and_start_from_earlier_stages(name, tmp_path):
    configs = stage_configs(name, str(tmp_path), overrides=["steps=7"])
    recipe_steps = [fields["steps"] for _, fields in load_recipe(name)]
    earlier = set()
    for index, (stage, config) in enumerate(configs):
        assert config.workdir == os.path.join(str(tmp_path), stage)
        task = zoo.build(config.model, **config.model_overrides)  # unknown overrides fail here
        family_hparams = get_steps(task.family).hparams
        assert set(config.hparams) <= set(family_hparams), f"{name}/{stage}: unknown hparams"
        if config.init_from:
            assert config.init_from in earlier, f"{name}/{stage} starts from {config.init_from}, not an earlier stage"
        earlier.add(config.workdir)
        # The overrides reach the last stage only.
        assert config.steps == (7 if index == len(configs) - 1 else recipe_steps[index])


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(ValueError, match="recipes: .*cgan_t2i_shapes"):
        stage_configs("cgan_t2i_shape", "runs")


def test_zoo_train_takes_several_overrides_after_one_set_and_refuses_a_name_with_a_recipe(tmp_path, capsys):
    from zoo import cli

    args = cli.build_parser().parse_args(["train", "--recipe", "cgan_t2i_shapes", "--workdir", "w",
                                          "--set", "xla=auto", "steps=8000", "--set", "seed=1"])
    assert args.set == ["xla=auto", "steps=8000", "seed=1"] and args.name is None
    status = cli.main(["train", "cgan_t2i", "--recipe", "cgan_t2i_shapes", "--workdir", str(tmp_path)])
    assert status == 2 and "not both" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written
