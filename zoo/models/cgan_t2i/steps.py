"""The `cgan_t2i` training step: a matching-aware discriminator and the generator, updated together.

The discriminator sees three pairs: real image + its caption (real), real image +
another example's caption (fake: GAN-CLS), generated image + its caption (fake).
Losses are hinge or non-saturating; an optional matching-aware gradient penalty
(DF-GAN) and R1 regularise it; the generator adds the conditioning-augmentation KL, optionally a DAMSM-style matching
loss and an L1 reconstruction term.
The text encoder learns through the discriminator's matching loss (or stays
frozen, e.g. after pretraining: hparam `train_text_encoder=False`).

With a model built with `latent_encoder=True`, BicycleGAN's two branches (Zhu et al.
2017) join: cVAE-GAN (encode a real image with its caption to z ~ q(z | x, caption),
redraw it, L1 to the real image, KL of q to the prior; the redrawn image is a second
fake for the discriminator) and cLR-GAN (recover the noise of a generated image:
|E(G(z)) - z|, which updates the generator only, so the encoder cannot hide it).
"""

import contextlib

import tensorflow as tf

from zoo.losses import contrastive_loss, discriminator_term, gaussian_kl, generator_adversarial
from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_together, mismatched, non_negative_hparam, split_seed

HPARAMS = {
    "loss": "hinge",  # or "non_saturating"
    "mismatch_weight": 0.5,  # share of the fake term given to real images with the wrong caption
    "ma_gp_weight": 0.0,  # DF-GAN uses 2.0 with power 6
    "ma_gp_power": 6.0,
    "r1_weight": 0.0,
    "kl_weight": 1.0,
    "train_text_encoder": True,
    "matching_weight": 0.0,  # DAMSM-style loss through the frozen matcher (needs model use_matcher)
    "matching_scale": 10.0,  # inverse temperature of that loss
    # L1 between the image generated for a caption and that caption's real image (pix2pix's
    # reconstruction term applied to text to image). On data where the caption fixes most
    # of the picture (shapes), it teaches the layout in hundreds of steps instead of
    # thousands; the adversarial term keeps the images sharp.
    "reconstruction_weight": 0.0,
    # The L1 term pulls every image towards the mean of what a caption allows (rounded
    # small shapes, one image per caption). With `reconstruction_decay_steps` > 0 its
    # weight falls linearly over that many generator steps to `reconstruction_floor` times
    # its start, leaving the adversarial term to sharpen what the L1 term laid out.
    "reconstruction_decay_steps": 0,
    "reconstruction_floor": 0.0,
    # Mode seeking (MSGAN, Mao et al. 2019): a second image for the same captions from other
    # noise; the generator loss gets weight / (mean |G(z1) - G(z2)| / mean |z1 - z2| + eps),
    # so images of one caption must differ as their noise does.
    "mode_seeking_weight": 0.0,
    # > 0: the bounded form of that term (DSGAN, Yang et al. 2019): -min(ratio, cap), which pushes
    # images apart only until the ratio reaches `cap`. MSGAN's 1 / ratio is unbounded: from a
    # generator that ignores its noise (a VAE's decoder) it starts near 1e5 and, at weight 1,
    # turned a shapes GAN's images into coloured noise within 250 steps.
    "mode_seeking_cap": 0.0,
    # BicycleGAN (needs model latent_encoder=true): L1 of the image redrawn from its encoded
    # noise, the KL of the encoder's posterior to N(0, I), and the latent regression.
    "encoded_reconstruction_weight": 0.0,
    "latent_kl_weight": 0.01,
    "latent_regression_weight": 0.0,
    # With a model built with `patch_resolution`: the weight of the patch logits' terms (real,
    # generated) beside the image's logit. They ignore the caption, so mismatched pairs are
    # judged by the image's logit alone.
    "patch_weight": 1.0,
    # Hard negatives for the matching-aware discriminator: groups of words of the vocabulary (e.g.
    # [["circle", "square", "triangle", "diamond"]]). Of the mismatched pairs, `hard_negative_share`
    # pair a real image with its own caption with one such word swapped for another of its group
    # (a small square called a diamond), instead of another example's caption, which mostly differs
    # in colour or place and so teaches the discriminator little about shape.
    "hard_negative_words": [],
    "hard_negative_share": 0.5,
}


def word_groups(task, groups):
    """Token-id groups ([[int]]) of `hard_negative_words`, checked: words of the vocabulary, two or more a group."""
    if task.config.text_model != "bilstm":
        raise ValueError(f"hparams.hard_negative_words swaps words of the model's word vocabulary; a "
                         f"{task.config.text_model!r} text encoder tokenizes otherwise. Leave it empty ([]).")
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, (list, tuple)) and len(g) >= 2 for g in groups):
        raise ValueError(f"hparams.hard_negative_words must be a list of word groups of two or more words each, e.g. "
                         f"[[\"circle\", \"square\"]], got {groups!r}.")
    unknown = [w for g in groups for w in g if w not in task.vocabulary]
    if unknown:
        raise ValueError(f"hparams.hard_negative_words: {unknown} are not words of the model's vocabulary.")
    return [[task.vocabulary.id(w) for w in g] for g in groups]


def swapped_tokens(tokens, id_groups, seed):
    """(tokens [B, L] with one word of `id_groups` per caption swapped for another word of its group,
    whether the caption had such a word [B] bool); the word and its replacement drawn uniformly."""
    flat = tf.constant([i for g in id_groups for i in g], tokens.dtype)
    starts = [sum(map(len, id_groups[:n])) for n in range(len(id_groups))]
    start_of = tf.constant([starts[n] for n, g in enumerate(id_groups) for _ in g], tf.int32)
    size_of = tf.constant([len(g) for g in id_groups for _ in g], tf.int32)
    position_seed, word_seed = split_seed(seed, 2)
    matches = tf.equal(tokens[..., None], flat)  # [B, L, K]
    swappable = tf.reduce_any(matches, axis=-1)
    has_word = tf.reduce_any(swappable, axis=-1)
    # A random swappable position: every such position outscores every other.
    score = tf.random.stateless_uniform(tf.shape(tokens), position_seed) + tf.cast(swappable, tf.float32)
    position = tf.argmax(score, axis=1, output_type=tf.int32)
    word = tf.argmax(tf.cast(tf.gather(matches, position, batch_dims=1), tf.int32), axis=-1, output_type=tf.int32)
    start, size = tf.gather(start_of, word), tf.gather(size_of, word)
    shift = 1 + tf.cast(tf.random.stateless_uniform(tf.shape(word), word_seed) * tf.cast(size - 1, tf.float32), tf.int32)
    replacement = tf.gather(flat, start + (word - start + tf.minimum(shift, size - 1)) % size)
    at = tf.logical_and(tf.one_hot(position, tf.shape(tokens)[1], on_value=True, off_value=False), has_word[:, None])
    return tf.where(at, replacement[:, None], tokens), has_word


def _mismatched_sentence(task, tokens, sentence, seed, hparams):
    """The captions of the mismatched pairs: another example's, or (a share) the example's own with one word
    of `hard_negative_words` swapped."""
    rolled = mismatched(sentence)
    if not hparams["hard_negative_words"]:
        return rolled
    swap_seed, share_seed = split_seed(tf.random.experimental.stateless_fold_in(seed, 23), 2)
    swapped, has_word = swapped_tokens(tokens, word_groups(task, hparams["hard_negative_words"]), swap_seed)
    hard = task.text_encoder(swapped, training=True)["sentence"]
    chosen = tf.logical_and(has_word, tf.random.stateless_uniform(tf.shape(has_word), share_seed)
                            < hparams["hard_negative_share"])
    return tf.where(chosen[:, None], tf.cast(hard, rolled.dtype), rolled)


def _image_and_patches(logits):
    """(the image's logit [B, 1], the patch logits [B, P*P] or None) of a discriminator's output."""
    if logits.shape[-1] == 1:
        return logits, None
    return logits[:, :1], logits[:, 1:]


def _discriminator_loss(real, mismatch, fake, kind, mismatch_weight, patch_weight=1.0):
    """(real term, fake term); the fakes (which may outnumber the batch) and the mismatched reals
    share the fake term. Patch logits (if any) add their own real and fake terms, by `patch_weight`."""
    if kind not in ("hinge", "non_saturating"):
        raise ValueError(f"loss must be 'hinge' or 'non_saturating', got {kind!r}.")
    (real, real_patches), (mismatch, _), (fake, fake_patches) = map(_image_and_patches, (real, mismatch, fake))
    fake_term = ((1.0 - mismatch_weight) * discriminator_term(fake, kind, real=False)
                 + mismatch_weight * discriminator_term(mismatch, kind, real=False))
    real_term = discriminator_term(real, kind)
    if real_patches is not None:
        real_term += patch_weight * discriminator_term(real_patches, kind)
        fake_term += patch_weight * discriminator_term(fake_patches, kind, real=False)
    return real_term, fake_term


def _generator_adversarial(fake_logits, kind, patch_weight):
    image, patches = _image_and_patches(fake_logits)
    loss = generator_adversarial(image, kind)
    return loss if patches is None else loss + patch_weight * generator_adversarial(patches, kind)


def _penalties(task, images, sentence, hparams):
    """Matching-aware gradient penalty (on image and sentence) and R1 (on image) for real pairs."""
    penalty = tf.constant(0.0)
    if not hparams["ma_gp_weight"] and not hparams["r1_weight"]:
        return penalty
    with tf.GradientTape() as tape:
        tape.watch([images, sentence])
        logits = task.discriminator({"images": images, "sentence": sentence}, training=True)
    # The image's logit only: the patch logits (if any) ignore the caption.
    image_grad, sentence_grad = tape.gradient(tf.reduce_sum(logits[:, :1]), [images, sentence])
    image_norm2 = tf.reduce_sum(tf.square(image_grad), axis=[1, 2, 3])
    if hparams["ma_gp_weight"]:
        norm = tf.sqrt(image_norm2 + tf.reduce_sum(tf.square(sentence_grad), axis=-1) + 1e-12)
        penalty += hparams["ma_gp_weight"] * tf.reduce_mean(tf.pow(norm, hparams["ma_gp_power"]))
    if hparams["r1_weight"]:
        penalty += 0.5 * hparams["r1_weight"] * tf.reduce_mean(image_norm2)
    return penalty


def _matching_loss(task, images, sentence, hparams):
    """Contrastive loss of generated images against the batch's captions, in the frozen matcher's space."""
    if not hparams["matching_weight"]:
        return tf.constant(0.0)
    if not task.config.use_matcher:
        raise ValueError("hparams.matching_weight needs a model built with use_matcher=True (model.use_matcher=true).")
    image_embedding = task.image_encoder(images, training=False)
    text_embedding = tf.stop_gradient(task.text_projection(sentence, training=False))
    logits = hparams["matching_scale"] * tf.matmul(image_embedding, text_embedding, transpose_b=True)
    return contrastive_loss(logits)


def reconstruction_weight(hparams, generator_steps):
    """The L1 weight at a generator step count (float32 scalar), after `reconstruction_decay_steps`."""
    weight = tf.constant(float(hparams["reconstruction_weight"]), tf.float32)
    decay = hparams["reconstruction_decay_steps"]
    if not decay:
        return weight
    progress = tf.cast(generator_steps, tf.float32) / float(decay)
    return weight * tf.maximum(float(hparams["reconstruction_floor"]), 1.0 - progress)


def _mode_seeking_loss(task, images, noise, sentence, condition_noise, seed, hparams):
    """MSGAN's term: 1 / (image distance over noise distance), for a second noise per caption; with
    `mode_seeking_cap`, DSGAN's bounded -min(ratio, cap)."""
    non_negative_hparam(hparams, "mode_seeking_cap", "MSGAN's unbounded 1 / ratio")
    if not hparams["mode_seeking_weight"]:
        return tf.constant(0.0)
    other_noise = tf.random.stateless_normal(tf.shape(noise), tf.random.experimental.stateless_fold_in(seed, 7))
    others = task.generator({"noise": other_noise, "sentence": sentence, "condition_noise": condition_noise},
                            training=True)["images"]
    image_distance = tf.reduce_mean(tf.abs(tf.cast(images, tf.float32) - tf.cast(others, tf.float32)), axis=[1, 2, 3])
    noise_distance = tf.reduce_mean(tf.abs(other_noise - noise), axis=-1)
    ratio = image_distance / noise_distance
    if hparams["mode_seeking_cap"]:
        return -tf.reduce_mean(tf.minimum(ratio, float(hparams["mode_seeking_cap"])))
    return tf.reduce_mean(1.0 / (ratio + 1e-5))


def uses_encoder(task, hparams):
    """Whether the step trains BicycleGAN's encoder; a clear error when the model has none."""
    wanted = bool(hparams["encoded_reconstruction_weight"] or hparams["latent_regression_weight"])
    if wanted and not task.config.latent_encoder:
        raise ValueError("hparams encoded_reconstruction_weight and latent_regression_weight need a model built "
                         "with latent_encoder=True (model.latent_encoder=true).")
    return wanted


def _encoded_branch(task, images, sentence, condition_noise, seed):
    """cVAE-GAN: images redrawn from z ~ q(z | image, caption); returns (images, KL to the prior)."""
    posterior = task.encoder({"images": images, "sentence": sentence}, training=True)
    mean = tf.cast(posterior["mean"], tf.float32)
    log_variance = tf.clip_by_value(tf.cast(posterior["log_variance"], tf.float32), -10.0, 10.0)
    epsilon = tf.random.stateless_normal(tf.shape(mean), tf.random.experimental.stateless_fold_in(seed, 11))
    latent = mean + tf.exp(0.5 * log_variance) * epsilon
    redrawn = task.generator({"noise": latent, "sentence": sentence, "condition_noise": condition_noise},
                             training=True)["images"]
    return redrawn, gaussian_kl(mean, log_variance)


def _latent_regression(task, generated, sentence, noise):
    """cLR-GAN: mean |E(G(z), caption) - z| (the encoder's posterior mean)."""
    recovered = task.encoder({"images": generated, "sentence": sentence}, training=True)["mean"]
    return tf.reduce_mean(tf.abs(tf.cast(recovered, tf.float32) - noise))


def _noise(task, batch_size, seed):
    noise_seed, condition_seed = split_seed(seed, 2)
    noise = tf.random.stateless_normal([batch_size, task.config.noise_dim], noise_seed)
    condition_noise = tf.random.stateless_normal([batch_size, task.config.condition_dim], condition_seed)
    return noise, condition_noise


def train_step(task, optimizers, batch, seed, hparams):
    """One simultaneous discriminator and generator update on `batch`; returns the losses.

    One generator pass serves both losses: the discriminator's gradient ignores the
    generator, and the generator's flows through the discriminator's fake logits.
    Both updates are applied together (or both skipped on a mixed-precision overflow).
    """
    images, tokens = batch["image"], batch["tokens"]
    noise, condition_noise = _noise(task, images.shape[0], seed)
    train_text = hparams["train_text_encoder"]
    d_variables = task.discriminator.trainable_variables + (task.text_encoder.trainable_variables if train_text else [])
    g_variables = task.generator.trainable_variables
    bicycle = uses_encoder(task, hparams)
    zero = tf.constant(0.0)
    encoded_reconstruction = latent_kl = latent_regression = zero
    # The encoder's tape only when it trains: a tape records every op of the step.
    e_tape = tf.GradientTape() if bicycle else contextlib.nullcontext()
    with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape, e_tape:
        sentence = task.text_encoder(tokens, training=True)["sentence"]
        if not train_text:
            sentence = tf.stop_gradient(sentence)
        fixed_sentence = tf.stop_gradient(sentence)
        outputs = task.generator({"noise": noise, "sentence": fixed_sentence, "condition_noise": condition_noise},
                                 training=True)
        real_logits = task.discriminator({"images": images, "sentence": sentence}, training=True)
        mismatch_sentence = _mismatched_sentence(task, tokens, sentence, seed, hparams)
        if not train_text:
            mismatch_sentence = tf.stop_gradient(mismatch_sentence)
        mismatch_logits = task.discriminator({"images": images, "sentence": mismatch_sentence}, training=True)
        fake_images = outputs["images"]
        if bicycle:
            redrawn, latent_kl = _encoded_branch(task, images, fixed_sentence, condition_noise, seed)
            encoded_reconstruction = tf.reduce_mean(
                tf.abs(tf.cast(redrawn, tf.float32) - tf.cast(images, tf.float32)))
            latent_regression = _latent_regression(task, outputs["images"], fixed_sentence, noise)
            # One discriminator call on both fakes: sampled and redrawn, each half the fake term.
            fake_images = tf.concat([outputs["images"], redrawn], axis=0)
        fake_logits = task.discriminator(
            {"images": fake_images, "sentence": tf.concat([fixed_sentence] * (2 if bicycle else 1), axis=0)},
            training=True)
        real_loss, fake_loss = _discriminator_loss(
            real_logits, mismatch_logits, fake_logits, hparams["loss"], hparams["mismatch_weight"],
            hparams["patch_weight"])
        penalty = _penalties(task, images, sentence, hparams)
        d_loss = real_loss + fake_loss + penalty
        adversarial = _generator_adversarial(fake_logits, hparams["loss"], hparams["patch_weight"])
        kl = gaussian_kl(outputs["mean"], outputs["log_variance"]) if "mean" in outputs else zero
        matching = _matching_loss(task, outputs["images"], fixed_sentence, hparams)
        reconstruction = tf.reduce_mean(tf.abs(tf.cast(outputs["images"], tf.float32) - tf.cast(images, tf.float32)))
        l1_weight = reconstruction_weight(hparams, optimizers["generator"].iterations)
        mode_seeking = _mode_seeking_loss(task, outputs["images"], noise, fixed_sentence, condition_noise, seed,
                                          hparams)
        g_loss = (adversarial + hparams["kl_weight"] * kl + hparams["matching_weight"] * matching
                  + l1_weight * reconstruction + hparams["mode_seeking_weight"] * mode_seeking)
        # The encoder learns from the redrawn branch (adversarial, L1, KL), not from the latent regression.
        e_loss = g_loss + hparams["encoded_reconstruction_weight"] * encoded_reconstruction \
            + hparams["latent_kl_weight"] * latent_kl
        g_loss = e_loss + hparams["latent_regression_weight"] * latent_regression
    updates = [(optimizers["discriminator"], d_tape, d_loss, d_variables),
               (optimizers["generator"], g_tape, g_loss, g_variables)]
    if bicycle:
        updates.append((optimizers["encoder"], e_tape, e_loss, task.encoder.trainable_variables))
    applied = apply_together(updates)
    # The keys of every GAN step: generator_loss and discriminator_loss, then their parts.
    return {"discriminator_loss": d_loss, "d_real": real_loss, "d_fake": fake_loss, "d_penalty": penalty,
            "generator_loss": g_loss, "g_adversarial": adversarial, "kl": kl, "matching": matching,
            "reconstruction": reconstruction, "reconstruction_weight": l1_weight, "mode_seeking": mode_seeking,
            "encoded_reconstruction": encoded_reconstruction, "latent_kl": latent_kl,
            "latent_regression": latent_regression,
            "real_minus_mismatch": tf.reduce_mean(real_logits[:, :1] - mismatch_logits[:, :1]),
            "applied": tf.cast(applied, tf.float32)}


def optimizer_groups(task):
    groups = {"discriminator": task.discriminator.trainable_variables + task.text_encoder.trainable_variables,
              "generator": task.generator.trainable_variables}
    if task.config.latent_encoder:
        groups["encoder"] = task.encoder.trainable_variables
    return groups


register_steps(FamilySteps(
    family="cgan_t2i",
    train_step=train_step,
    optimizer_groups=optimizer_groups,
    hparams=HPARAMS,
    ema_networks=lambda task: [task.generator],
    optimizer_defaults={"learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.9},
    dataset_options={"masks": None},
    # A matcher run pretrains the text encoder and, for the matching loss, the image side too.
    pretrained_networks=("text_encoder", "image_encoder", "text_projection"),
))
