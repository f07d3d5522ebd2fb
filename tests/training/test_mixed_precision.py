"""The Trainer under mixed precision: float32 variables, low-precision compute, loss scaling, resume.

The runs here use a plain `tf.function` (`xla=False`): the precision logic is the same
compiled or not, and an XLA compile of the mixed-precision GAN step costs ~3x the CPU.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.training.config import TrainConfig
from zoo.training.trainer import Trainer

COMPUTE_DTYPES = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def gan_config(tmp_path, precision, **fields):
    defaults = dict(model="cgan_t2i_tiny", workdir=str(tmp_path / precision), precision=precision, steps=2,
                    batch_size=4, checkpoint_every=2, summary_every=2, sample_every=100, progress=False,
                    xla=False, model_overrides={"image_size": 32})
    return TrainConfig(**{**defaults, **fields})


def _float_dtypes(variables):
    return {v.dtype for v in variables if "int" not in str(v.dtype)}


@pytest.mark.slow
# mixed_bfloat16 takes the same path without the loss scale; `test_bfloat16.py` trains every
# family under it (its resume is float32's: the same float32 variables and slots).
@pytest.mark.parametrize("precision", ["mixed_float16"])
def test_mixed_precision_trains_resumes_and_restores_the_global_policy(tmp_path, precision):
    assert keras.mixed_precision.global_policy().name == "float32"
    config = gan_config(tmp_path, precision)
    trainer = Trainer(config)
    assert keras.mixed_precision.global_policy().name == "float32"  # set for the build only
    networks = [trainer.task.generator, trainer.task.discriminator, trainer.task.text_encoder]
    layers = [layer for network in networks for layer in network.layers if layer.weights]
    # Most layers compute in the low precision; the output heads stay float32 on purpose.
    compute = [layer.compute_dtype for layer in layers]
    assert compute.count(COMPUTE_DTYPES[precision]) > len(layers) // 2, compute
    loss_scaled = precision == "mixed_float16"
    assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) == loss_scaled
               for o in trainer.optimizers.values())

    losses = trainer.fit()
    assert all(np.isfinite(v) for v in losses.values()), losses
    iterations = {g: int(o.iterations) for g, o in trainer.optimizers.items()}
    # The dynamic loss scale may start too high and skip a step (both optimizers together); not every one.
    assert iterations["generator"] == iterations["discriminator"] >= (1 if loss_scaled else 2), iterations
    optimizer_variables = [v for o in trainer.optimizers.values() for v in o.variables]
    assert _float_dtypes(trainer.task.weights + optimizer_variables) == {"float32"}
    weights = trainer.task.get_weights()
    scales = {g: float(o.dynamic_scale) for g, o in trainer.optimizers.items()} if loss_scaled else {}

    resumed = Trainer(config.with_overrides(["steps=3"]), resume=True)
    assert int(resumed.step_counter) == 2
    assert {g: int(o.iterations) for g, o in resumed.optimizers.items()} == iterations
    if loss_scaled:
        assert {g: float(o.dynamic_scale) for g, o in resumed.optimizers.items()} == scales
    for a, b in zip(weights, resumed.task.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(v) for v in resumed.fit().values())
    assert int(resumed.step_counter) == 3
    assert keras.mixed_precision.global_policy().name == "float32"


def test_float16_overflow_in_one_network_skips_both_optimizers(tmp_path):
    """A loss scale that overflows only the generator's float16 gradients: neither network moves.

    Without spectral norm, whose forward pass rescales the discriminator's kernels even on a skipped step.
    """
    trainer = Trainer(gan_config(tmp_path, "mixed_float16", steps=1,
                                 model_overrides={"image_size": 32, "spectral_norm": False}))
    trainer.optimizers["generator"].dynamic_scale.assign(1e30)  # float16 holds at most 65504
    before = [v.numpy() for v in trainer.task.trainable_variables]
    losses = trainer.fit()
    assert losses["applied"] == 0.0
    assert all(np.isfinite(v) for v in losses.values()), losses  # the losses themselves are fine
    for a, b in zip(before, trainer.task.trainable_variables):
        np.testing.assert_array_equal(a, b.numpy())
    assert {g: int(o.iterations) for g, o in trainer.optimizers.items()} == {"discriminator": 0, "generator": 0}
    assert float(trainer.optimizers["discriminator"].dynamic_scale) == 2.0 ** 14  # lowered with the generator's
    assert float(trainer.optimizers["generator"].dynamic_scale) == pytest.approx(5e29)


@pytest.mark.parametrize("model", ["cgan_t2i_tiny", "cgan_inpaint_tiny"])
def test_spectral_norm_keeps_float32_kernels_exact_under_mixed_precision(model):
    """A training call rescales each kernel in float32, not rounded to the 16-bit compute dtype."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        discriminator = zoo.build(model).discriminator
    finally:
        keras.mixed_precision.set_global_policy("float32")
    inputs = keras.tree.map_structure(lambda x: tf.random.uniform([2, *x.shape[1:]]), discriminator.input)
    discriminator(inputs, training=True)
    wrappers = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert wrappers
    for wrapper in wrappers:
        kernel = wrapper.kernel.numpy()
        assert wrapper.kernel.dtype == "float32" and wrapper.layer.compute_dtype == "bfloat16"
        rounded = tf.cast(tf.cast(kernel, tf.bfloat16), tf.float32).numpy()
        assert not np.array_equal(kernel, rounded), f"{wrapper.name}'s kernel was rounded to bfloat16"


@pytest.mark.parametrize("name", zoo.list_models(pattern="*_tiny"))
def test_every_tiny_model_runs_under_mixed_bfloat16(name):
    """A forward pass in bfloat16 compute: `cvae_t2i` used to fail here, mixing its float32
    posterior heads with bfloat16 noise ("cannot compute Mul ... is a bfloat16 tensor")."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = zoo.build(name).build_all()
        outputs = model(model.example_inputs(2))
        for value in tf.nest.flatten(outputs):
            assert np.all(np.isfinite(np.asarray(tf.cast(value, tf.float32)))), name
    finally:
        keras.mixed_precision.set_global_policy("float32")
