"""Comparing uint8 images that two computations of the same model made.

oneDNN picks its convolution kernels by the input's shape and the CPU's instruction set, and a
SavedModel's graph is rewritten by grappler (convolution, bias and activation fused) where the
eager model is not, so the same image may differ by float rounding: one image alone against the
same image in a batch, or the served signature against the Python model. After scaling to uint8,
that shows as an off-by-one in a few values (a CI machine with AVX-512 gave 1 of 3072 values 105
instead of 106; an exported inpainter gave 1 of 9216 values 143 instead of 144). Runs of one
computation stay bit-equal and are compared exactly.
"""
import numpy as np


def assert_same_up_to_rounding(actual, expected, max_share=0.01):
    """At most one uint8 level apart anywhere, and apart at all in at most `max_share` of values."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == expected.dtype == np.uint8
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    assert difference.max() <= 1, f"values differ by up to {difference.max()} levels"
    assert np.mean(difference > 0) <= max_share, f"{np.mean(difference > 0):.2%} of values differ"
