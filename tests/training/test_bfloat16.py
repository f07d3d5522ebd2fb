"""Every family trains under `mixed_bfloat16` as it does under float32, and `precision="auto"` decides from the machine.

Each tiny family is built under `mixed_bfloat16` and its compiled step (a plain
`tf.function`, as the Trainer runs on CPU) overfits one fixed batch: the family's content
loss must fall by a stated factor, with float32 losses, variables and optimizer slots.
The float32 overfit test of each family is in its own step test (`test_<family>_step.py`).
One trace per family is most of this file's time, so each runs once, in bfloat16 only.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.training.resettable_step import build_optimizers
from zoo.training.config import TrainConfig
from zoo.training.precision import auto_precision, resolve_precision
from zoo.training.steps import get_steps
from zoo.training.trainer import _STEP_KEYS, Trainer, _global_dtype_policy

STEPS = 40
# tiny model: (the loss that carries the content, the factor it must fall by in STEPS steps,
# learning rate, hparams). The float32 tests of each family state their own, longer runs.
FAMILIES = {  # about half the factor seen in one run
    "shapes_probe_tiny": ("loss", 2, 1e-2, {}),  # 2.6x seen
    "matcher_tiny": ("loss", 5, 3e-3, {}),  # 590x
    "regression_t2i_tiny": ("loss", 3, 3e-3, {}),  # 4.5x
    "cvae_t2i_tiny": ("reconstruction", 4, 3e-3, {"kl_warmup_steps": 10}),  # 15x
    "cgan_t2i_tiny": ("reconstruction", 2.5, 3e-3, {"reconstruction_weight": 50.0}),  # 4.1x
    "cgan_i2i_tiny": ("l1", 3, 2e-3, {}),  # 5.2x
    "cgan_inpaint_tiny": ("hole_l1", 3, 3e-3, {}),  # 6.5x
    "captioner_tiny": ("cross_entropy", 2, 1e-2, {}),  # 3.0x
}


@pytest.fixture(scope="module")
def batches():
    """One fixed batch per set of dataset options (the families share most of them)."""
    cache = {}

    def batch_for(steps):
        key = tuple(sorted(steps.dataset_options.items()))
        if key not in cache:
            data = zoo.data.load("shapes", split="train", batch_size=8, image_size=32, shuffle=False,
                                 **steps.dataset_options)
            cache[key] = {k: v for k, v in next(iter(data)).items() if k in _STEP_KEYS}
        return cache[key]

    return batch_for


# One GAN (two optimizers, a step that skips together) in CI; every family with `-m slow`.
@pytest.mark.parametrize("name", [pytest.param(name, marks=() if name == "cgan_i2i_tiny" else pytest.mark.slow)
                                  for name in sorted(FAMILIES)])
def test_each_tiny_family_overfits_one_batch_under_bfloat16(name, batches):
    key, factor, learning_rate, hparams = FAMILIES[name]
    keras.utils.set_random_seed(0)
    with _global_dtype_policy("mixed_bfloat16"):
        task = zoo.build(name).build_all()
    steps = get_steps(task.family)
    optimizers = build_optimizers(task, learning_rate, beta_1=0.5)
    hparams = {**steps.hparams, **hparams}
    step = tf.function(lambda b, s: steps.train_step(task, optimizers, b, s, hparams))
    batch = batches(steps)
    history = [step(batch, tf.constant([index, 0])) for index in range(STEPS)]
    first, last = float(history[0][key]), float(history[-1][key])
    assert all(np.isfinite(float(v)) for losses in history for v in losses.values()), history[-1]
    assert last < first / factor, (key, first, last)
    # Losses, variables and optimizer slots are float32; most layers compute in bfloat16.
    assert {losses[key].dtype for losses in history} == {tf.float32}
    slots = [v for o in optimizers.values() for v in o.variables]
    assert {str(v.dtype) for v in task.weights + slots if "int" not in str(v.dtype)} == {"float32"}
    computing = [layer.compute_dtype for network in task.networks().values() for layer in network.layers
                 if layer.weights]
    assert computing.count("bfloat16") > len(computing) // 2, computing


@pytest.mark.parametrize("flags, devices, onednn, expected", [
    ({"avx2", "avx512f", "avx512_bf16"}, (None, []), True, "mixed_bfloat16"),  # Zen 4, Cooper Lake
    ({"avx2", "amx_bf16", "amx_tile"}, (None, []), True, "mixed_bfloat16"),  # Sapphire Rapids
    ({"avx2", "fma"}, (None, []), True, "float32"),  # Zen 3, Skylake: bfloat16 would be emulated
    ({"avx512_bf16"}, (None, []), False, "float32"),  # TF_ENABLE_ONEDNN_OPTS=0
    (None, (None, []), True, "float32"),  # flags unreadable (macOS, Windows)
    ({"avx2"}, ("GPU", [("NVIDIA A100", (8, 0))]), True, "mixed_bfloat16"),
    ({"avx512_bf16"}, ("GPU", [("NVIDIA A100", (8, 0)), ("Tesla V100", (7, 0))]), True, "float32"),
    ({"avx2"}, ("TPU", [("TPU:0", None)]), True, "mixed_bfloat16"),
])
def test_auto_precision_follows_the_hardware(flags, devices, onednn, expected, monkeypatch):
    if flags is None:  # flags=None reads this machine's: make them unreadable, whatever CPU runs the test
        monkeypatch.setattr("zoo.training.precision.cpu_flags", lambda: None)
    precision, reason = auto_precision(flags=flags, devices=devices, onednn=onednn)
    assert precision == expected, reason
    assert reason


def test_auto_resolves_to_this_machines_choice_and_explicit_precisions_stay(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_AUTO_PRECISION", "mixed_bfloat16")
    assert resolve_precision("auto") == ("mixed_bfloat16", "$ZOO_AUTO_PRECISION is mixed_bfloat16")
    monkeypatch.setenv("ZOO_AUTO_PRECISION", "float16")
    with pytest.raises(ValueError, match="must be float32 or mixed_bfloat16"):
        resolve_precision("auto")
    monkeypatch.delenv("ZOO_AUTO_PRECISION")
    assert resolve_precision("float32") == ("float32", "asked for")
    with pytest.raises(ValueError, match="precision must be"):
        resolve_precision("bfloat16")
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(model="matcher_tiny", workdir=str(tmp_path), precision="bf16")
    assert TrainConfig(model="matcher_tiny", workdir=str(tmp_path)).precision == "auto"
    trainer = Trainer(TrainConfig(model="matcher_tiny", workdir=str(tmp_path / "run"), progress=False))
    try:
        assert trainer.precision == auto_precision()[0]
        dense = [layer for layer in trainer.task.layers if layer.weights]
        assert {layer.compute_dtype for layer in dense} >= {"bfloat16" if trainer.precision == "mixed_bfloat16"
                                                            else "float32"}
    finally:
        trainer.close()


def test_resume_may_switch_between_float32_and_bfloat16_but_not_to_a_loss_scale(tmp_path):
    """The check runs before anything is built: a saved config is enough to refuse."""
    workdir = str(tmp_path / "run")
    os.makedirs(workdir)
    TrainConfig(model="matcher_tiny", workdir=workdir, precision="float32").save(f"{workdir}/config.json")
    with pytest.raises(ValueError, match="only mixed_float16 checkpoints hold a loss scale"):
        Trainer(TrainConfig(model="matcher_tiny", workdir=workdir, precision="mixed_float16"), resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):  # past the check: nothing to resume from
        Trainer(TrainConfig(model="matcher_tiny", workdir=workdir, precision="mixed_bfloat16"), resume=True)
