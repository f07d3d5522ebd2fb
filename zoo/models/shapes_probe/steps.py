"""Training step of `shapes_probe`: per-cell cross-entropies against the scene's objects.

`occupied` is learnt at every cell; `colour`, `shape` and `size` only where an
object is (their targets are -1 elsewhere), each averaged over the occupied cells.

Two augmentations, both drawn from the step's seed:
- `colour_permutation`: the fraction of images whose RGB channels are shuffled
  (one of the 5 non-identity orders). Their colour targets are dropped, but
  their shape, size and occupancy still count, so the trunk learns to read
  shapes in colours they never had in training, and unseen colour-shape pairs
  (the `test_compositional` split) read as well as seen ones.
- `input_noise`: Gaussian pixel noise (in [-1, 1] units), so that the probe does
  not rely on the renderer's exact noise level when it scores generated images.
  Off by default: under XLA on CPU, drawing an image-sized normal tensor
  (Philox) costs more than the whole probe's step.
"""

import itertools

import tensorflow as tf

from zoo.losses import masked_cross_entropy
from zoo.models.shapes_probe.model import ATTRIBUTES, grid_targets
from zoo.training.steps import FamilySteps, register_steps
from zoo.training.steps.common import apply_gradients, split_seed

HPARAMS = {"colour_permutation": 0.5, "input_noise": 0.0, "occupied_weight": 1.0, "attribute_weight": 1.0}
# The 6 orders of the RGB channels; index 0 is the identity.
CHANNEL_ORDERS = tuple(itertools.permutations(range(3)))


def optimizer_groups(task):
    return {"probe": task.trainable_variables}


def permute_channels(images, seed, fraction):
    """Images with their channels shuffled with probability `fraction`, and int32 [B] 1 where unchanged."""
    order_seed, apply_seed = split_seed(seed, 2)
    batch_size = tf.shape(images)[0]
    order = tf.random.stateless_uniform([batch_size], order_seed, minval=1, maxval=len(CHANNEL_ORDERS), dtype=tf.int32)
    shuffled = tf.random.stateless_uniform([batch_size], apply_seed) < fraction
    order = tf.where(shuffled, order, 0)
    # selection[b, out, in] = 1 where output channel `out` takes input channel `in`.
    selection = tf.one_hot(tf.gather(tf.constant(CHANNEL_ORDERS), order), 3, dtype=images.dtype)
    return tf.einsum("bhwi,boi->bhwo", images, selection), 1 - tf.cast(shuffled, tf.int32)


def probe_losses(logits, targets, colour_kept=None):
    """{head: cross-entropy}: `occupied` over all cells, attributes over occupied cells.

    `colour_kept` (int [B], optional) drops the colour loss of the images it marks 0.
    """
    occupied = targets["occupied"]
    losses = {"occupied": masked_cross_entropy(occupied, logits["occupied"], tf.ones_like(occupied))}
    for key in ATTRIBUTES:
        mask = occupied if key != "colour" or colour_kept is None else occupied * colour_kept[:, None, None]
        losses[key] = masked_cross_entropy(targets[key], logits[key], mask)
    return losses


def train_step(task, optimizers, batch, seed, hparams):
    optimizer = optimizers["probe"]
    variables = optimizer_groups(task)["probe"]
    images, colour_kept = batch["image"], None
    permutation_seed, noise_seed = split_seed(seed, 2)
    if hparams["colour_permutation"]:
        images, colour_kept = permute_channels(images, permutation_seed, hparams["colour_permutation"])
    if hparams["input_noise"]:
        images = images + hparams["input_noise"] * tf.random.stateless_normal(tf.shape(images), seed=noise_seed)
    targets = grid_targets(batch["objects"])
    with tf.GradientTape() as tape:
        losses = probe_losses(task({"images": images}, training=True), targets, colour_kept)
        attributes = tf.add_n([losses[key] for key in ATTRIBUTES])
        loss = hparams["occupied_weight"] * losses["occupied"] + hparams["attribute_weight"] * attributes
    apply_gradients(optimizer, tape, loss, variables)
    return {"loss": loss, **losses}


register_steps(
    FamilySteps(
        family="shapes_probe",
        train_step=train_step,
        optimizer_groups=optimizer_groups,
        hparams=HPARAMS,
        # Not a GAN: the usual Adam momentum (beta_1 = 0.9) rather than the GAN default of 0.5.
        optimizer_defaults={"learning_rate": 1e-3, "beta_1": 0.9},
        dataset_options={"masks": None},
    )
)
