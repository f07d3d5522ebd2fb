"""The OpenCV inpainting and nearest-neighbour captioning baselines."""

import numpy as np
import pytest

from zoo.metrics.baselines import NearestNeighbourCaptioner, opencv_inpaint


def gradient_images(count=2, size=32):
    ramp = np.linspace(40, 200, size)
    image = np.stack([ramp[None, :].repeat(size, 0), ramp[:, None].repeat(size, 1),
                      np.full((size, size), 120.0)], axis=-1)
    return np.repeat(np.rint(image)[None], count, axis=0).astype(np.uint8)


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_inpainting_fills_a_hole_in_a_smooth_gradient(method):
    images = gradient_images()
    masks = np.zeros((*images.shape[:3], 1), np.uint8)
    masks[0, 10:18, 12:20] = 1
    masks[1, 4:9, 20:28] = 1
    damaged = np.where(masks > 0, 0, images).astype(np.uint8)
    filled = opencv_inpaint(damaged, masks, method=method, radius=3)
    hole = np.broadcast_to(masks > 0, images.shape)
    assert filled.dtype == np.uint8 and filled.shape == images.shape
    np.testing.assert_array_equal(filled[~hole], images[~hole])
    mean_hole_error = np.abs(filled[hole].astype(int) - images[hole]).mean()
    assert mean_hole_error < 6.0  # the hole was black: an error of ~120 before filling


def test_inpainting_validates_its_arguments():
    images = gradient_images(1)
    masks = np.zeros((1, 32, 32, 1), np.uint8)
    with pytest.raises(ValueError, match="'fast'"):
        opencv_inpaint(images, masks, method="fast")
    with pytest.raises(ValueError, match="uint8"):
        opencv_inpaint(images.astype(np.float32), masks)
    with pytest.raises(ValueError, match=r"\[N, H, W, 1\]"):
        opencv_inpaint(images, masks[..., 0])
    with pytest.raises(ValueError, match="radius"):
        opencv_inpaint(images, masks, radius=0)


def test_nearest_neighbour_captioner_returns_exact_matches():
    rng = np.random.default_rng(0)
    train_features = rng.normal(size=(6, 16))
    train_captions = [f"caption {i}" for i in range(6)]
    captioner = NearestNeighbourCaptioner(train_features, train_captions)
    order = [3, 0, 5, 5]
    # Scaling does not change the cosine, so scaled copies still match exactly.
    assert captioner.caption(train_features[order] * 2.5) == [train_captions[i] for i in order]


def test_nearest_neighbour_captioner_validates_its_inputs():
    with pytest.raises(ValueError, match="one caption per row"):
        NearestNeighbourCaptioner(np.eye(3), ["a", "b"])
    captioner = NearestNeighbourCaptioner(np.eye(3), ["a", "b", "c"])
    with pytest.raises(ValueError, match="same feature function"):
        captioner.caption(np.ones((1, 4)))
