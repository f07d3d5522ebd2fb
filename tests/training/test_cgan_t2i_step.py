import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.models.cgan_t2i import steps as step_module
from zoo.training.steps import get_steps
from zoo.training.steps.common import apply_together

SHAPE_WORDS = [["circle", "square", "triangle", "diamond"]]


def _setup(precision_wrapper=None, **overrides):
    keras.utils.set_random_seed(0)
    task = zoo.build("cgan_t2i_tiny", **overrides).build_all()
    steps = get_steps("cgan_t2i")
    optimizers = {}
    for group, variables in steps.optimizer_groups(task).items():
        optimizer = keras.optimizers.Adam(2e-3, beta_1=0.0, beta_2=0.9)
        if precision_wrapper:
            optimizer = precision_wrapper(optimizer)
        optimizer.build(variables)
        optimizers[group] = optimizer
    batch = next(iter(zoo.data.load("shapes", split="validation", batch_size=8, image_size=32, masks=None)))
    return task, steps, optimizers, {"image": batch["image"], "tokens": batch["tokens"]}


def test_compiled_step_overfits_one_batch():
    """With the generator held still, the discriminator overfits one fixed batch, hard negatives included.

    (Held still because a generator that learns keeps the discriminator's loss near
    its equilibrium, which is what a GAN should do, and says nothing about fitting.)
    The mismatched pairs are the batch's real images with their own captions, one shape word
    swapped (`hard_negative_words`): the discriminator must learn the shape a caption names.
    Without them (another example's caption) the same gap stays near 0 (measured: within 0.02).
    With a patch head (`patch_resolution`), every patch, not only the image's logit, learns to tell
    real images from generated ones.
    """
    task, steps, optimizers, batch = _setup(patch_resolution=8)
    with pytest.raises(ValueError, match=r"patch_resolution must be 0 or one of .*\[16, 8\]"):
        zoo.build("cgan_t2i_tiny", patch_resolution=4)
    optimizers["generator"].learning_rate.assign(0.0)
    hparams = {**steps.hparams, "hard_negative_words": SHAPE_WORDS, "hard_negative_share": 1.0}
    # A graph without XLA, as the Trainer runs it on CPU (XLA compiles slowly there; the
    # eager == compiled test covers XLA).
    step = tf.function(lambda b, s: steps.train_step(task, optimizers, b, s, hparams))
    first = step(batch, tf.constant([0, 0]))
    for i in range(1, 60):
        last = step(batch, tf.constant([0, i]))
    assert float(last["discriminator_loss"]) < float(first["discriminator_loss"]) / 4, (
        float(first["discriminator_loss"]), float(last["discriminator_loss"]))
    assert float(last["applied"]) == 1.0
    swapped, _ = step_module.swapped_tokens(batch["tokens"], step_module.word_groups(task, SHAPE_WORDS),
                                            tf.constant([3, 4]))
    scores = [task.discriminator({"images": batch["image"], "sentence": task.text_encoder(t)["sentence"]})[:, 0]
              for t in (batch["tokens"], swapped)]
    gap = float(tf.reduce_mean(scores[0] - scores[1]))
    assert gap > 1.0, gap  # about 3 logits
    sentence = task.text_encoder(batch["tokens"])["sentence"]
    noise, condition_noise = step_module._noise(task, 8, tf.constant([0, 99]))
    fake = task.generator({"noise": noise, "sentence": sentence, "condition_noise": condition_noise})["images"]
    real_logits = task.discriminator({"images": batch["image"], "sentence": sentence})
    fake_logits = task.discriminator({"images": fake, "sentence": sentence})
    assert real_logits.shape == (8, 1 + 8 * 8)
    patch_gap = float(tf.reduce_mean(real_logits[:, 1:]) - tf.reduce_mean(fake_logits[:, 1:]))
    assert patch_gap > 1.0, patch_gap


def test_reconstruction_term_teaches_the_generator_one_batch():
    """With the L1 reconstruction term on, the generator fits one batch's real images."""
    task, steps, optimizers, batch = _setup()
    optimizers["discriminator"].learning_rate.assign(0.0)
    optimizers["generator"].learning_rate.assign(2e-3)
    hparams = {**steps.hparams, "reconstruction_weight": 20.0}
    # A graph without XLA, as the Trainer runs it on CPU (XLA compiles slowly there; the
    # eager == compiled test covers XLA).
    step = tf.function(lambda b, s: steps.train_step(task, optimizers, b, s, hparams))
    first = step(batch, tf.constant([0, 0]))
    for i in range(1, 40):
        last = step(batch, tf.constant([0, i]))
    assert float(last["reconstruction"]) < float(first["reconstruction"]) / 2, (
        float(first["reconstruction"]), float(last["reconstruction"]))
    # Off by default: the reported term does not enter the pure GAN's generator loss.
    assert steps.hparams["reconstruction_weight"] == 0.0


def test_reconstruction_weight_decays_to_its_floor():
    hparams = {**get_steps("cgan_t2i").hparams, "reconstruction_weight": 20.0, "reconstruction_decay_steps": 100,
               "reconstruction_floor": 0.1}
    weights = [float(step_module.reconstruction_weight(hparams, tf.constant(s, tf.int64))) for s in (0, 50, 100, 500)]
    assert weights == pytest.approx([20.0, 10.0, 2.0, 2.0])
    assert float(step_module.reconstruction_weight({**hparams, "reconstruction_decay_steps": 0}, 500)) == 20.0


def test_mode_seeking_term_makes_the_noise_matter():
    """With mode seeking alone, one caption's images for two noises move apart on one batch."""
    task, steps, optimizers, batch = _setup()
    optimizers["discriminator"].learning_rate.assign(0.0)
    hparams = {**steps.hparams, "mode_seeking_weight": 1.0}
    step = tf.function(lambda b, s: steps.train_step(task, optimizers, b, s, hparams))
    first = step(batch, tf.constant([0, 0]))
    for i in range(1, 12):
        last = step(batch, tf.constant([0, i]))
    assert float(last["mode_seeking"]) < float(first["mode_seeking"]) / 2, (
        float(first["mode_seeking"]), float(last["mode_seeking"]))
    assert float(step_module._mode_seeking_loss(task, None, None, None, None, None, steps.hparams)) == 0.0


def test_capped_mode_seeking_moves_images_apart_up_to_its_cap():
    """DSGAN's bounded form: -min(ratio, cap) falls while the ratio is below the cap, and is -cap beyond it."""
    task, steps, optimizers, batch = _setup()
    optimizers["discriminator"].learning_rate.assign(0.0)
    hparams = {**steps.hparams, "mode_seeking_weight": 1.0, "mode_seeking_cap": 10.0}
    step = tf.function(lambda b, s: steps.train_step(task, optimizers, b, s, hparams))
    first = step(batch, tf.constant([0, 0]))
    for i in range(1, 12):
        last = step(batch, tf.constant([0, i]))
    ratio_first, ratio_last = -float(first["mode_seeking"]), -float(last["mode_seeking"])
    assert 0.0 < ratio_first < ratio_last, (ratio_first, ratio_last)
    sentence = task.text_encoder(batch["tokens"])["sentence"]
    noise, condition_noise = step_module._noise(task, 8, tf.constant([0, 5]))
    images = task.generator({"noise": noise, "sentence": sentence, "condition_noise": condition_noise})["images"]
    args = (task, images, noise, sentence, condition_noise, tf.constant([0, 6]))
    below = float(step_module._mode_seeking_loss(*args, {**hparams, "mode_seeking_cap": 10.0}))
    assert -10.0 < below < 0.0
    # A cap under every example's ratio: the term is -cap, and its gradient 0.
    assert float(step_module._mode_seeking_loss(*args, {**hparams, "mode_seeking_cap": 1e-4})) == \
        pytest.approx(-1e-4)
    assert float(step_module._mode_seeking_loss(*args, {**hparams, "mode_seeking_cap": 0.0})) > 0.0  # MSGAN's 1 / ratio
    for bad in (-1.0, "10", True):
        with pytest.raises(ValueError, match="mode_seeking_cap must be a number >= 0"):
            step_module._mode_seeking_loss(*args, {**hparams, "mode_seeking_cap": bad})


def test_bicycle_branches_redraw_one_batch_and_recover_the_noise():
    """BicycleGAN: the encoded branch fits one batch's images; the latent regression drops."""
    task, steps, optimizers, batch = _setup(latent_encoder=True)
    assert set(optimizers) == {"discriminator", "generator", "encoder"}
    optimizers["discriminator"].learning_rate.assign(0.0)
    hparams = {**steps.hparams, "encoded_reconstruction_weight": 20.0, "latent_regression_weight": 1.0}
    # Without XLA: its CPU compile would cost more than the steps (the other tests cover XLA).
    step = tf.function(lambda b, s: steps.train_step(task, optimizers, b, s, hparams))
    first = step(batch, tf.constant([0, 0]))
    encoder_before = [v.numpy().copy() for v in task.encoder.trainable_variables]
    for i in range(1, 30):
        last = step(batch, tf.constant([0, i]))
    assert float(last["encoded_reconstruction"]) < float(first["encoded_reconstruction"]) / 2, (
        float(first["encoded_reconstruction"]), float(last["encoded_reconstruction"]))
    assert float(last["latent_kl"]) > 0.0 and float(last["applied"]) == 1.0
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(encoder_before, task.encoder.trainable_variables))


def test_latent_regression_updates_the_generator_only():
    """cLR-GAN's term moves the generator; the encoder, which it flows through, is not moved by it (BicycleGAN)."""
    after = []
    for weight in (0.0, 1.0):
        task, steps, optimizers, batch = _setup(latent_encoder=True)
        hparams = {**steps.hparams, "encoded_reconstruction_weight": 1.0, "latent_regression_weight": weight}
        losses = steps.train_step(task, optimizers, batch, tf.constant([0, 0]), hparams)
        assert float(losses["latent_regression"]) > 0.0
        after.append([[v.numpy() for v in network.trainable_variables] for network in (task.encoder, task.generator)])
    for without, with_term in zip(after[0][0], after[1][0]):
        np.testing.assert_allclose(with_term, without, rtol=1e-6, atol=1e-7)
    assert any(not np.allclose(a, b) for a, b in zip(after[0][1], after[1][1]))


def test_bicycle_terms_need_the_encoder():
    task, steps, optimizers, batch = _setup()
    hparams = {**steps.hparams, "latent_regression_weight": 0.5}
    with pytest.raises(ValueError, match="latent_encoder=True"):
        steps.train_step(task, optimizers, batch, tf.constant([0, 0]), hparams)


@pytest.mark.slow  # about 55 s of XLA compiling on CPU; eager against XLA for cgan_i2i and cgan_inpaint stays in CI
def test_eager_and_compiled_steps_agree_without_noise(monkeypatch):
    def zero_noise(task, batch_size, seed):
        return tf.zeros([batch_size, task.config.noise_dim]), tf.zeros([batch_size, task.config.condition_dim])

    monkeypatch.setattr(step_module, "_noise", zero_noise)
    results = []
    for compiled in (False, True):
        task, steps, optimizers, batch = _setup()
        fn = lambda b, s: steps.train_step(task, optimizers, b, s, steps.hparams)  # noqa: E731
        fn = tf.function(fn, jit_compile=True) if compiled else fn
        losses = fn(batch, tf.constant([0, 0]))
        second = fn(batch, tf.constant([0, 1]))  # sees the first update's weights
        results.append({k: float(v) for k, v in {**losses, **{f"next_{k}": v for k, v in second.items()}}.items()})
    for key in results[0]:
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-3, atol=1e-4, err_msg=key)


def test_overflow_skips_both_optimizers_together():
    task, steps, optimizers, batch = _setup(keras.optimizers.LossScaleOptimizer)
    d_vars, g_vars = steps.optimizer_groups(task)["discriminator"], steps.optimizer_groups(task)["generator"]
    before = [v.numpy().copy() for v in d_vars + g_vars]
    scales = [float(o.dynamic_scale) for o in optimizers.values()]
    with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
        d_loss = tf.reduce_sum(task.discriminator({"images": batch["image"], "sentence": tf.zeros([8, 16])}))
        g_loss = tf.reduce_sum(task.generator({"noise": tf.zeros([8, 8]), "sentence": tf.zeros([8, 16]),
                                               "condition_noise": tf.zeros([8, 8])})["images"]) * np.inf
    applied = apply_together([(optimizers["discriminator"], d_tape, d_loss, d_vars),
                              (optimizers["generator"], g_tape, g_loss, g_vars)])
    assert not bool(applied)
    for old, new in zip(before, [v.numpy() for v in d_vars + g_vars]):
        np.testing.assert_array_equal(old, new)  # the finite discriminator update was skipped too
    assert [float(o.dynamic_scale) for o in optimizers.values()] == [s / 2 for s in scales]


def test_patch_terms_add_to_the_image_terms_and_skip_mismatched_pairs():
    """Hinge terms by hand: the image's logit (column 0) as before, the patch logits by `patch_weight`."""
    real = tf.constant([[0.5, 2.0, 0.0]])      # image 0.5; patches 2 and 0
    mismatch = tf.constant([[-0.5, 9.0, 9.0]])  # its patches are not judged: they ignore the caption
    fake = tf.constant([[0.0, -3.0, 1.0]])
    real_term, fake_term = step_module._discriminator_loss(real, mismatch, fake, "hinge", 0.5, patch_weight=2.0)
    # real: relu(1 - 0.5) + 2 * mean(relu(1 - 2), relu(1 - 0)) = 0.5 + 2 * 0.5
    np.testing.assert_allclose(float(real_term), 1.5)
    # fake: 0.5 * relu(1 + 0) + 0.5 * relu(1 - 0.5) + 2 * mean(relu(1 - 3), relu(1 + 1)) = 0.5 + 0.25 + 2
    np.testing.assert_allclose(float(fake_term), 2.75)
    np.testing.assert_allclose(float(step_module._generator_adversarial(fake, "hinge", 2.0)), 0.0 + 2 * 1.0)
    # Without patch logits nothing changes.
    plain = step_module._discriminator_loss(real[:, :1], mismatch[:, :1], fake[:, :1], "hinge", 0.5, patch_weight=2.0)
    np.testing.assert_allclose([float(t) for t in plain], [0.5, 0.75])


def test_hard_negatives_swap_one_word_for_another_of_its_group():
    task = zoo.build("cgan_t2i_tiny")
    captions = ["a small red circle in the center", "a large blue square on the left and a small red diamond at the top",
                "in the center"]
    tokens = task.tokenize(captions)
    groups = step_module.word_groups(task, SHAPE_WORDS)
    seen = {0: set(), 1: set()}
    for i in range(40):
        swapped, has_word = step_module.swapped_tokens(tokens, groups, tf.constant([i, 5]))
        assert has_word.numpy().tolist() == [True, True, False]
        for row in (0, 1):
            changed = np.flatnonzero(swapped[row].numpy() != tokens[row].numpy())
            assert len(changed) == 1  # one word, a shape word, for another shape word
            old, new = (task.vocabulary.tokens[int(t[row, changed[0]])] for t in (tokens, swapped))
            assert old in SHAPE_WORDS[0] and new in SHAPE_WORDS[0] and new != old
            seen[row].add((int(changed[0]), new))
        np.testing.assert_array_equal(swapped[2], tokens[2])
    assert len(seen[0]) == 3 and len(seen[1]) == 6  # every other word, at either shape of a two-object caption
    with pytest.raises(ValueError, match=r"\['hexagon'\] are not words"):
        step_module.word_groups(task, [["circle", "hexagon"]])
    with pytest.raises(ValueError, match="two or more words"):
        step_module.word_groups(task, [["circle"]])
