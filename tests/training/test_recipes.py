"""Every recipe in zoo/recipes resolves to stages that build and train: known models, overrides and hparams."""

import json
import logging
import os
import signal
import subprocess
import sys
import time

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


def test_recipe_defaults_start_every_stage_and_a_stage_overrides_them(tmp_path):
    recipe = {"defaults": {"model": "cvae_t2i", "steps": 9, "batch_size": 4, "hparams": {"kl_weight": 0.5}},
              "stages": [{"stage": "a"},
                         {"stage": "b", "steps": 3, "init_from": "@a", "hparams": {"reconstruction_weight": 2.0}},
                         {"stage": "c", "model": "regression_t2i", "hparams": {"kl_weight": 0.25}}]}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    a, b, c = (config for _, config in stage_configs(str(path), str(tmp_path / "run")))
    assert (a.model, a.steps, a.batch_size, a.hparams) == ("cvae_t2i", 9, 4, {"kl_weight": 0.5})
    assert (b.steps, b.init_from, b.hparams) == (3, str(tmp_path / "run" / "a"),
                                                 {"kl_weight": 0.5, "reconstruction_weight": 2.0})
    assert (c.model, c.steps, c.hparams) == ("regression_t2i", 9, {"kl_weight": 0.25})
    for bad in ([1], {"stage": "x"}):
        path.write_text(json.dumps({**recipe, "defaults": bad}))
        with pytest.raises(ValueError, match='"defaults" must be an object of fields'):
            load_recipe(str(path))


def test_zoo_train_takes_several_overrides_after_one_set_and_refuses_a_name_with_a_recipe(tmp_path, capsys):
    from zoo import cli

    args = cli.build_parser().parse_args(["train", "--recipe", "cgan_t2i_shapes", "--workdir", "w",
                                          "--set", "xla=auto", "steps=8000", "--set", "seed=1"])
    assert args.set == ["xla=auto", "steps=8000", "seed=1"] and args.name is None
    status = cli.main(["train", "cgan_t2i", "--recipe", "cgan_t2i_shapes", "--workdir", str(tmp_path)])
    assert status == 2 and "not both" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


# A recipe of two tiny stages, the second starting from the first; far more steps than a test
# runs, so only a signal or `--steps` ends a stage.
TINY_STAGE = {"model": "matcher_tiny", "steps": 100000, "batch_size": 8, "checkpoint_every": 1,
              "summary_every": 1000, "sample_every": 100000, "ema_decay": 0.0, "progress": False}
TINY_RECIPE = {"description": "Two tiny stages (tests).",
               "stages": [{"stage": "first", **TINY_STAGE}, {"stage": "second", **TINY_STAGE, "init_from": "@first"}]}


@pytest.fixture
def tiny_recipe(tmp_path):
    path = tmp_path / "tiny_recipe.json"
    path.write_text(json.dumps(TINY_RECIPE))
    return str(path)


def test_steps_caps_every_stage_and_dry_run_trains_nothing(tiny_recipe, tmp_path, capsys):
    from zoo import cli

    workdir = tmp_path / "run"
    assert cli.main(["train", "--recipe", "cgan_t2i_shapes", "--workdir", str(workdir), "--steps", "20", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "each capped at 20 steps (--steps)" in printed
    assert f"matcher: matcher, 20 steps (recipe: 1500), batch 64, in {workdir}/matcher: not started" in printed
    gan = dict(load_recipe("cgan_t2i_shapes"))["gan"]
    assert (f"gan: cgan_t2i, 20 steps (recipe: {gan['steps']}), batch 32, starts from '{gan['init_from'][1:]}'"
            in printed)
    assert "dry run: nothing trained" in printed and not workdir.exists()
    # A recipe file's stages, capped by --steps (a stage with fewer steps keeps its own).
    configs = stage_configs(tiny_recipe, str(workdir), max_steps=3)
    assert [(stage, config.steps) for stage, config in configs] == [("first", 3), ("second", 3)]
    assert configs[1][1].init_from == str(workdir / "first")
    assert [c.steps for _, c in stage_configs("cgan_t2i_shapes", "w", max_steps=2000)] == [1500, 2000, 2000]
    train_help = cli.build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert "caps every stage" in " ".join(train_help.split())
    with pytest.raises(ValueError, match="No recipe file 'nowhere/r.json'; --recipe takes a name of"):
        load_recipe("nowhere/r.json")


def test_an_interrupted_recipe_stops_whole_and_resume_continues_the_stage(tiny_recipe, tmp_path, capsys, caplog):
    """Ctrl-C in stage one: it saves, the recipe exits 130 without starting stage two; --resume finishes both."""
    from zoo import cli
    from zoo.training.recipes import trained_steps

    workdir = tmp_path / "run"
    script = os.path.join(os.path.dirname(sys.executable), "zoo")
    process = subprocess.Popen([script, "train", "--recipe", tiny_recipe, "--workdir", str(workdir), "--no-xla"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not (workdir / "first" / "checkpoints" / "checkpoint").exists():  # stage one is training
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "stopped by SIGINT" in stderr and "the recipe stops at stage 'first' (not started: second)" in stderr
    assert f"continue it with: zoo train --recipe {tiny_recipe} --workdir {workdir} --resume" in stderr
    assert not (workdir / "second").exists()
    stopped_at = trained_steps(str(workdir / "first"))
    assert 1 <= stopped_at < TINY_STAGE["steps"]

    argv = ["train", "--recipe", tiny_recipe, "--workdir", str(workdir), "--no-xla", "--steps", str(stopped_at + 1)]
    assert cli.main(argv + ["--dry-run"]) == 0
    assert f"first: matcher_tiny, {stopped_at + 1} steps (recipe: 100000), batch 8, in {workdir}/first: " \
           f"at step {stopped_at}" in capsys.readouterr().out
    assert cli.main(argv) == 2  # without --resume nothing is overwritten
    assert "already holds stage 'first' of this recipe" in capsys.readouterr().err
    # A signal that comes as stage one ends (here: in its last save) leaves it complete, and stage two unstarted.
    from zoo.training.trainer import Trainer

    save = Trainer._save

    def save_then_signal(trainer):
        save(trainer)
        if int(trainer.step_counter) == trainer.config.steps:
            trainer._stop_requested = "SIGTERM"

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "_save", save_then_signal)
        assert cli.main(argv + ["--resume"]) == 128 + signal.SIGTERM
    assert "SIGTERM came as stage 'first' finished (it is complete); the recipe stops before stage 'second'" \
        in capsys.readouterr().err
    assert trained_steps(str(workdir / "first")) == stopped_at + 1 and not (workdir / "second").exists()
    caplog.set_level(logging.INFO, logger="zoo.training")
    assert cli.main(argv + ["--resume"]) == 0
    assert trained_steps(str(workdir / "first")) == stopped_at + 1 == trained_steps(str(workdir / "second"))
    assert f"initialised image_encoder, text_encoder, text_projection from {workdir}/first/checkpoints/" \
           f"ckpt-{stopped_at + 1}" in caplog.text


def test_inpainting_off_shapes_without_masks_is_one_line_and_trains_nothing(tmp_path, capsys, shared_data):
    from zoo import cli

    status = cli.main(["train", "cgan_inpaint_tiny", "--data", "facades", "--data-path", str(shared_data / "facades"),
                       "--workdir", str(tmp_path / "run"), "--steps", "1", "--set", "model.use_text=false"])
    err = capsys.readouterr().err
    assert status == 2 and "needs hole masks: give a folder of mask images with --masks" in err
    assert "Traceback" not in err and not (tmp_path / "run" / "checkpoints").exists()
    args = cli.build_parser().parse_args(["train", "--recipe", "cgan_inpaint_facades", "--workdir", "w",
                                          "--masks", "../shared/data/masks"])
    assert args.masks == "../shared/data/masks"
