"""The Trainer: resume, kill and resume, non-finite losses, summaries, distribution."""

import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.training.config import TrainConfig
from zoo.training.trainer import NonFiniteLossError, Trainer


def tiny_config(tmp_path, **fields):
    defaults = dict(model="cgan_t2i_tiny", workdir=str(tmp_path / "run"), steps=6, batch_size=4,
                    checkpoint_every=3, summary_every=2, sample_every=3, validation_scenes=8, progress=False,
                    model_overrides={"image_size": 32})
    return TrainConfig(**{**defaults, **fields})


def test_resume_continues_from_the_exact_step_with_optimizer_state(tmp_path):
    # Two optimizers, as every GAN has; pix2pix's step traces in a fraction of cgan_t2i's (24 s for this
    # test against 73 s). Samples: test_samples_log_the_strict_readers_scores_on_shapes.
    config = tiny_config(tmp_path, sample_every=100, model="cgan_i2i_tiny")
    first = Trainer(config)
    first.fit()
    iterations = {g: int(o.iterations) for g, o in first.optimizers.items()}
    weights = first.task.generator.get_weights()
    assert iterations == {"discriminator": 6, "generator": 6}
    resumed = Trainer(config.with_overrides(["steps=8"]), resume=True)
    assert int(resumed.step_counter) == 6
    assert {g: int(o.iterations) for g, o in resumed.optimizers.items()} == iterations
    for a, b in zip(weights, resumed.task.generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    resumed.fit()
    assert int(resumed.step_counter) == 8
    assert json.load(open(os.path.join(config.workdir, "config.json")))["steps"] == 8
    assert os.listdir(os.path.join(config.workdir, "summaries"))


# The tests of the Trainer's own logic (not of a family) train the cheapest family: a
# one-network regression traces in half the time of a GAN step.
CHEAP = "regression_t2i_tiny"


def test_existing_run_is_not_overwritten(tmp_path):
    config = tiny_config(tmp_path, steps=3, model=CHEAP)
    Trainer(config).fit()
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(config)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    config = tiny_config(tmp_path, steps=3, model=CHEAP)
    Trainer(config).fit()

    class PoisonedTrainer(Trainer):
        def dataset(self, split="train", skip_examples=0, **options):
            clean = super().dataset(split, skip_examples, **options)
            return clean.map(lambda b: {**b, "image": b["image"] * np.nan})

    trainer = PoisonedTrainer(config.with_overrides(["steps=6"]), resume=True)
    with pytest.raises(NonFiniteLossError, match="Non-finite loss at step 3"):
        trainer.fit()
    assert tf.train.latest_checkpoint(os.path.join(config.workdir, "checkpoints")).endswith("ckpt-3")


def test_bad_config_values():
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(model="x", workdir="y", precision="float8")
    with pytest.raises(ValueError, match="Unknown config field 'lr'"):
        TrainConfig(model="x", workdir="y").with_overrides(["lr=3"])
    config = TrainConfig(model="x", workdir="y").with_overrides(["learning_rate=1e-3", "hparams.loss=hinge"])
    assert config.learning_rate == 1e-3 and config.hparams == {"loss": "hinge"}


def test_a_fresh_run_starts_from_its_seeds_weights(tmp_path):
    def initial_weights(name, seed):
        trainer = Trainer(TrainConfig(model="regression_t2i_tiny", workdir=str(tmp_path / name), seed=seed,
                                      progress=False))
        trainer.close()
        return trainer.task.get_weights()

    first, again, other = initial_weights("a", 0), initial_weights("b", 0), initial_weights("c", 1)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, c) for a, c in zip(first, other))


def _run_zoo(args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "zoo.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def test_sigkill_mid_run_then_resume(tmp_path):
    """A kill at any moment leaves a readable checkpoint; --resume reaches the same final step.

    Runs without XLA to keep the two process start-ups short; the checkpoint logic is the same.
    """
    workdir = str(tmp_path / "killed")
    args = ["train", CHEAP, "--steps", "400", "--batch-size", "4", "--workdir", workdir, "--no-xla",
            "--set", "checkpoint_every=2", "--set", "progress=false", "--set", "model.image_size=32"]
    process = _run_zoo(args)
    checkpoints = os.path.join(workdir, "checkpoints")
    deadline = time.time() + 240
    while time.time() < deadline and not (tf.train.latest_checkpoint(checkpoints) or "").endswith(("ckpt-6", "ckpt-8", "ckpt-10")):
        time.sleep(0.2)
        assert process.poll() is None, process.stdout.read()
    process.send_signal(signal.SIGKILL)
    process.wait()
    latest = tf.train.latest_checkpoint(checkpoints)
    assert latest is not None
    tf.train.load_checkpoint(latest).get_variable_to_shape_map()  # readable, not corrupt
    finish = _run_zoo([*args[:3], "12", *args[4:], "--resume"])
    output = finish.communicate(timeout=300)[0]
    assert finish.returncode == 0, output
    assert "step 12 of 12" in output
    assert tf.train.latest_checkpoint(checkpoints).endswith("ckpt-12")


def test_sigterm_checkpoints_the_current_step_and_exits_non_zero(tmp_path):
    workdir = str(tmp_path / "terminated")
    process = _run_zoo(["train", CHEAP, "--steps", "100000", "--batch-size", "4", "--workdir", workdir,
                        "--no-xla", "--set", "checkpoint_every=100000", "--set", "progress=false",
                        "--set", "model.image_size=32", "--set", "summary_every=1"])
    summaries = os.path.join(workdir, "summaries")
    deadline = time.time() + 240
    while time.time() < deadline and not (os.path.isdir(summaries) and os.listdir(summaries)
                                          and os.path.getsize(os.path.join(summaries, os.listdir(summaries)[0])) > 2000):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    # Saved, but not finished: non-zero, so `zoo train ... && zoo export ...` exports no half-trained model.
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "Traceback" not in output
    latest = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    step = int(latest.rsplit("-", 1)[1])
    assert step > 0 and f"step {step} of 100000" in output
    assert f"stopped by SIGTERM at step {step} of 100000; the checkpoint is saved, continue with --resume" in output


MIRRORED_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer
    config = TrainConfig(model="cgan_t2i_tiny", workdir=sys.argv[1], steps=3, batch_size=4, strategy="mirrored",
                         devices=2, progress=False, model_overrides={"image_size": 32})
    trainer = Trainer(config)
    assert trainer.strategy.num_replicas_in_sync == 2
    trainer.fit()
    for variable in trainer.task.generator.weights + trainer.task.discriminator.weights:
        values = [v.numpy() for v in variable.value.values] if hasattr(variable.value, "values") else [variable.numpy()]
        assert len(values) == 2, variable.path
        np.testing.assert_array_equal(values[0], values[1])
    print("replicas in sync", trainer.strategy.num_replicas_in_sync)
""")


@pytest.mark.slow  # about 100 s on 2 cores: with `-m slow`, as the multi-worker test
def test_mirrored_strategy_on_two_logical_cpus_keeps_replicas_in_sync(tmp_path):
    result = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(tmp_path / "mirrored")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replicas in sync 2" in result.stdout


def test_samples_log_the_strict_readers_scores_on_shapes(tmp_path):
    from zoo.training import samples

    task = zoo.build("cgan_t2i_tiny").build_all()
    batch = next(iter(zoo.data.load("shapes", split="validation", batch_size=8, image_size=32, masks=None)))
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        samples.write(task, 1, batch)
    writer.flush()
    tags = {}
    for path in glob.glob(str(tmp_path / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags[value.tag] = float(tf.make_ndarray(value.tensor)) if value.tensor.dtype == 1 else None
    assert {"reader/objects_right", "reader/scenes_right", "samples/generated"} <= set(tags)
    assert 0.0 <= tags["reader/objects_right"] <= 1.0


def test_the_reader_scores_every_validation_scene_a_batch_at_a_time(tmp_path, monkeypatch):
    from zoo.evaluation.scenes import objects_from_arrays
    from zoo.models.base import to_uint8
    from zoo.training import samples

    # 10 scenes at batch 4: three whole batches. The model under test draws the real scene for the
    # scenes of its first call, and a blank image after: the score counts every object of all 12.
    trainer = Trainer(tiny_config(tmp_path, model=CHEAP, validation_scenes=10))
    calls = []

    def outputs_for(batch):
        calls.append(len(batch["image"]))
        images = to_uint8(batch["image"])
        return images if len(calls) == 1 else np.zeros_like(images)

    monkeypatch.setattr(trainer.task, "outputs_for", outputs_for)
    inputs = trainer._sample_inputs()
    scenes = objects_from_arrays({k: v.numpy() for k, v in inputs["objects"].items()})
    for index in (0, 11):  # the validation split's first scenes, in order
        truth = zoo.data.shapes.scene("validation", index)["objects"]
        assert [(o["colour"], o["shape"], o["cell"]) for o in truth] == [
            (o["colour"], o["shape"], o["cell"]) for o in scenes[index]]
    scores = samples.write(trainer.task, 1, inputs, batch_size=4)
    assert calls[:3] == [4, 4, 4]  # then the panels' first 8 scenes
    drawn = sum(len(scene) for scene in scenes[:4])
    assert scores["object"] == pytest.approx(drawn / sum(len(scene) for scene in scenes))
