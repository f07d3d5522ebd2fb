"""Every custom layer of zoo through the shared `run_layer_test` (tests/layers/layer_test.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.layer_test import run_layer_test
from zoo.layers.conditioning import ConditioningAugmentation, CoordinateChannels, FiLM, TileText
from zoo.layers.convolution import GatedConv2D, SpectralNormalization
from zoo.models.captioner.layers import AttentionLSTMCell, GridPositionEmbedding, TeacherForcedDecoding
from zoo.models.cgan_inpaint.model import WordAttention
from zoo.models.matcher.model import L2Normalize
from zoo.text.encoder import MaskedMean

B = 2


def normal(*shape, seed=0):
    return tf.random.stateless_normal(shape, seed=[seed, 1])


TOKENS = tf.constant([[1, 5, 6, 2, 0, 0], [1, 7, 2, 0, 0, 0]], tf.int32)

CASES = {
    "ConditioningAugmentation": (ConditioningAugmentation, {"units": 4, "noise_scale": 0.5},
                                 [normal(B, 6), normal(B, 4, seed=1)], [(B, 4)] * 3, 2, 0),
    "FiLM": (FiLM, {}, [normal(B, 4, 4, 3), normal(B, 5, seed=1)], (B, 4, 4, 3), 4, 0),
    "TileText": (TileText, {}, [normal(B, 5), normal(B, 3, 4, 2, seed=1)], (B, 3, 4, 5), 0, 0),
    "CoordinateChannels": (CoordinateChannels, {}, normal(B, 3, 5, 2), (B, 3, 5, 4), 0, 0),
    "GatedConv2D": (GatedConv2D, {"filters": 3, "kernel_size": 3, "strides": 2, "activation": "elu"},
                    normal(B, 8, 8, 4), (B, 4, 4, 3), 2, 0),
    "WordAttention": (WordAttention, {"num_heads": 2},
                      [normal(B, 3, 3, 4), normal(B, 6, 5, seed=1), TOKENS, tf.constant([[1.0], [0.0]])],
                      (B, 3, 3, 4), 8, 0),
    "GridPositionEmbedding": (GridPositionEmbedding, {}, normal(B, 9, 4), (B, 9, 4), 1, 0),
    "AttentionLSTMCell": (AttentionLSTMCell, {"units": 6, "attention_units": 5, "vocabulary_size": 7},
                          [normal(B, 3), normal(B, 6, seed=1), normal(B, 6, seed=2), normal(B, 9, 4, seed=3),
                           normal(B, 9, 5, seed=4)], [(B, 7), (B, 9), (B, 6), (B, 6)], 10, 0),
    "MaskedMean": (MaskedMean, {}, [normal(B, 6, 4), TOKENS], (B, 4), 0, 0),
    "L2Normalize": (L2Normalize, {}, normal(B, 5), (B, 5), 0, 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer(name):
    layer_class, kwargs, inputs, shape, trainable, non_trainable = CASES[name]
    run_layer_test(layer_class, kwargs, inputs, shape, trainable, non_trainable)


def test_coordinate_channels_are_x_then_y_from_minus_one_to_one():
    features = normal(B, 3, 5, 2)
    out = CoordinateChannels()(features).numpy()
    np.testing.assert_array_equal(out[..., :2], features.numpy())
    np.testing.assert_allclose(out[1, 2, :, 2], [-1.0, -0.5, 0.0, 0.5, 1.0])  # x along the width
    np.testing.assert_allclose(out[0, :, 4, 3], [-1.0, 0.0, 1.0])  # y along the height
    assert CoordinateChannels(dtype="mixed_bfloat16")(tf.cast(features, tf.bfloat16)).dtype == tf.bfloat16


def test_teacher_forced_decoding_runs_its_cell_and_round_trips_it():
    cell = AttentionLSTMCell(6, 5, vocabulary_size=7, name="cell")
    inputs = [normal(B, 4, 3), normal(B, 9, 4, seed=1), normal(B, 9, 5, seed=2), normal(B, 6, seed=3),
              normal(B, 6, seed=4)]
    # Its config holds the cell, serialised: every round trip rebuilds the cell too.
    layer = run_layer_test(TeacherForcedDecoding, {"cell": cell}, inputs, [(B, 4, 7), (B, 4, 9)], 10)
    # Step 0 of teacher forcing is the cell's own step from the initial state.
    logits, attention, _, _ = layer.cell([inputs[0][:, 0], inputs[3], inputs[4], inputs[1], inputs[2]])
    sequence_logits, sequence_attention = layer(inputs)
    np.testing.assert_allclose(sequence_logits[:, 0], logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sequence_attention[:, 0], attention, rtol=1e-5, atol=1e-6)


def test_spectral_normalization_wrapper():
    # Training calls update u and the kernel; compared at inference, after one training call.
    layer = run_layer_test(SpectralNormalization, {"layer": keras.layers.Conv2D(3, 3)}, normal(B, 6, 6, 2),
                           (B, 4, 4, 3), 2, 1)
    assert layer.vector_u.shape == (1, 3)
