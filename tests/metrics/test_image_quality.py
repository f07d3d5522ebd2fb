"""FID and KID: checked against scipy's sqrtm and a plain loop over the kernel."""

import numpy as np
import pytest
import scipy.linalg

from zoo.metrics.image_quality import (
    FID,
    KID,
    InceptionFeatures,
    KerasFeatures,
    fid_from_features,
    frechet_distance,
    kid_from_features,
    laplacian_variance,
    polynomial_mmd2_unbiased,
    sharpness,
    to_uint8,
)


def scipy_frechet_distance(mu1, sigma1, mu2, sigma2):
    """The reference formula of the original FID code, with scipy's sqrtm."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2)
                 - 2.0 * np.trace(covmean.real))


def gaussian_stats(features):
    return features.mean(axis=0), np.cov(features, rowvar=False)


@pytest.mark.parametrize("dimension, samples", [(2, 40), (16, 200), (64, 300), (64, 66)])
def test_frechet_distance_matches_scipy_sqrtm(dimension, samples):
    rng = np.random.default_rng(dimension + samples)
    a = rng.normal(size=(samples, dimension))
    b = rng.normal(size=(samples, dimension)) @ rng.normal(size=(dimension, dimension)) * 0.3 + 0.5
    args = (*gaussian_stats(a), *gaussian_stats(b))
    assert frechet_distance(*args) == pytest.approx(scipy_frechet_distance(*args), rel=1e-6)


@pytest.mark.parametrize("dimension", [8, 48])
def test_frechet_distance_matches_scipy_on_near_singular_covariances(dimension):
    rng = np.random.default_rng(dimension)
    low_rank_a = rng.normal(size=(dimension, 3))
    low_rank_b = rng.normal(size=(dimension, 5))
    sigma1 = low_rank_a @ low_rank_a.T + 1e-6 * np.eye(dimension)
    sigma2 = low_rank_b @ low_rank_b.T + 1e-6 * np.eye(dimension)
    mu1, mu2 = rng.normal(size=dimension), rng.normal(size=dimension)
    assert np.linalg.cond(sigma1) > 1e5
    expected = scipy_frechet_distance(mu1, sigma1, mu2, sigma2)
    assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_of_shifted_unit_gaussians_is_the_squared_shift():
    mu, sigma = np.zeros(4), np.eye(4)
    assert frechet_distance(mu, sigma, mu + 2.0, sigma) == pytest.approx(16.0)


def test_identical_feature_sets_give_zero_fid():
    features = np.random.default_rng(0).normal(size=(50, 32))
    assert abs(fid_from_features(features, features)) < 1e-8


@pytest.mark.parametrize("samples_a, samples_b", [(20, 30), (40, 12), (64, 64)])
def test_fid_of_fewer_samples_than_dimensions_matches_the_frechet_distance(samples_a, samples_b):
    """Below D samples, fid_from_features takes the singular values of the samples' cross product."""
    rng = np.random.default_rng(samples_a)
    a = rng.normal(size=(samples_a, 96))
    b = rng.normal(size=(samples_b, 96)) @ rng.normal(size=(96, 96)) * 0.2 + 0.3
    expected = frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
    # frechet_distance takes square roots of the rounding noise of zero eigenvalues: 1e-8 apart.
    assert fid_from_features(a, b) == pytest.approx(expected, rel=1e-6)
    assert abs(fid_from_features(a, a)) < 1e-9
    constant = np.repeat(a[:1], 5, axis=0)  # a constant image's features: zero covariance
    assert fid_from_features(a, constant) == pytest.approx(
        frechet_distance(*gaussian_stats(a), *gaussian_stats(constant)), rel=1e-6)


def opencv_laplacian_variance(image):
    import cv2

    grey = cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2GRAY).astype(np.float64)
    return cv2.Laplacian(grey, cv2.CV_64F).var()


def test_laplacian_variance_matches_opencv_and_scipy():
    import scipy.ndimage

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(3, 20, 17, 3), dtype=np.uint8)
    images[1] = np.clip(np.arange(17)[None, :, None] * 15 + np.arange(20)[:, None, None] ** 2, 0, 255)
    ours = laplacian_variance(images)
    for image, value in zip(images, ours):
        assert value == pytest.approx(opencv_laplacian_variance(image), rel=1e-5)
        grey = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        assert value == pytest.approx(scipy.ndimage.laplace(grey, mode="mirror").var(), rel=1e-9)
    # Float images in [-1, 1] are read on the same 0-255 scale.
    np.testing.assert_allclose(laplacian_variance(images / 127.5 - 1.0), ours, rtol=1e-9)


def test_sharpness_is_one_for_the_reference_and_lower_when_blurred():
    import scipy.ndimage

    rng = np.random.default_rng(4)
    photos = rng.integers(0, 256, size=(4, 24, 24, 3), dtype=np.uint8)
    blurred = scipy.ndimage.uniform_filter(photos.astype(float), size=(1, 3, 3, 1)).round().astype(np.uint8)
    assert sharpness(photos, photos) == 1.0
    expected = np.mean([opencv_laplacian_variance(i) for i in blurred]) / np.mean(
        [opencv_laplacian_variance(i) for i in photos])
    assert sharpness(blurred, photos) == pytest.approx(expected, rel=1e-5) and expected < 0.5
    assert sharpness(np.full_like(photos[:2], 90), photos) == 0.0  # a constant image; batches may differ in size
    with pytest.raises(ValueError, match="flat"):
        sharpness(photos, np.zeros_like(photos))


def test_fid_rejects_bad_shapes():
    with pytest.raises(ValueError, match="same extractor"):
        fid_from_features(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="N >= 2"):
        fid_from_features(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))


def loop_mmd2_unbiased(x, y):
    """The unbiased MMD^2 estimator written out term by term."""
    def kernel(u, v):
        return (np.dot(u, v) / len(u) + 1.0) ** 3

    m, n = len(x), len(y)
    within_x = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    within_y = sum(kernel(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    across = sum(kernel(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return within_x + within_y - 2.0 * across


def test_polynomial_mmd2_matches_the_loop_estimator():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 5)), rng.normal(size=(15, 5)) + 0.3
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(loop_mmd2_unbiased(x, y), rel=1e-10)


def test_kid_with_one_full_subset_is_the_mmd_of_the_sets():
    # MMD^2 ignores row order, so a full-size subset (a permutation) gives the loop's value.
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(20, 6)), rng.normal(size=(20, 6)) * 1.5
    mean, std = kid_from_features(a, b, num_subsets=3, subset_size=20)
    assert mean == pytest.approx(loop_mmd2_unbiased(a, b), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_is_seeded_and_separates_distributions():
    rng = np.random.default_rng(3)
    a, same, shifted = (rng.normal(size=(60, 4)) for _ in range(3))
    near = kid_from_features(a, same, num_subsets=20, subset_size=30, seed=7)
    far = kid_from_features(a, shifted + 1.0, num_subsets=20, subset_size=30, seed=7)
    assert near == kid_from_features(a, same, num_subsets=20, subset_size=30, seed=7)
    assert abs(near[0]) < 3 * near[1] + 1e-3 and far[0] > 10 * abs(near[0])
    with pytest.raises(ValueError, match="subset_size"):
        kid_from_features(a, same, subset_size=61)


def test_to_uint8_accepts_uint8_and_minus_one_to_one_floats_only():
    floats = np.array([-1.0, 0.0, 1.0], np.float32).reshape(1, 1, 1, 3)
    assert to_uint8(floats).ravel().tolist() == [0, 128, 255]
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        to_uint8(floats * 255)
    with pytest.raises(ValueError, match="dtype int32"):
        to_uint8(np.zeros((1, 2, 2, 3), np.int32))
    with pytest.raises(ValueError, match=r"\[N, H, W, 3\]"):
        to_uint8(np.zeros((2, 2, 3), np.uint8))


def mean_colour_features(images):
    """A tiny feature extractor: the mean colour of each image, in [0, 1]."""
    return to_uint8(images).astype(np.float64).mean(axis=(1, 2)) / 255.0


def test_fid_and_kid_accumulate_over_batches():
    rng = np.random.default_rng(4)
    real = rng.integers(0, 256, size=(40, 8, 8, 3), dtype=np.uint8)
    generated = rng.uniform(-1.0, 0.5, size=(40, 8, 8, 3)).astype(np.float32)
    fid, kid = FID(mean_colour_features), KID(mean_colour_features, num_subsets=5, subset_size=30)
    for start in (0, 20):
        fid.update_state(real[start:start + 20], generated[start:start + 20])
        kid.update_state(real[start:start + 20], generated[start:start + 20])
    real_features, generated_features = mean_colour_features(real), mean_colour_features(generated)
    assert fid.result() == pytest.approx(fid_from_features(real_features, generated_features))
    assert kid.result() == pytest.approx(
        kid_from_features(real_features, generated_features, num_subsets=5, subset_size=30)
    )
    fid.reset_state()
    with pytest.raises(ValueError, match="update_state"):
        fid.result()
    with pytest.raises(ValueError, match="same image shape"):
        fid.update_state(real, real[:, :4])


def test_keras_features_resizes_preprocesses_and_batches():
    import keras

    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D()])
    extractor = KerasFeatures(model, 16, lambda x: x / 127.5 - 1.0, batch_size=2)
    flat = np.full((5, 8, 8, 3), 255, np.uint8)
    features = extractor(flat)
    assert features.shape == (5, 3)
    np.testing.assert_allclose(features, 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="image_size"):
        KerasFeatures(model, (16,), lambda x: x)


def test_inception_features_need_a_local_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        InceptionFeatures(tmp_path / "missing.weights.h5")


@pytest.mark.slow
def test_inception_features_load_local_weights_and_give_2048_features(tmp_path):
    """Uses a randomly initialised InceptionV3 saved to a temporary file: standard FID
    needs the official ImageNet weights, which are not available offline. This checks
    the plumbing (local loading, clean-fid resizing, preprocessing, pooling), not the scores."""
    import keras
    import tensorflow as tf

    reference = keras.applications.InceptionV3(
        include_top=False, weights=None, input_shape=(299, 299, 3), pooling="avg"
    )
    weights_path = str(tmp_path / "inception_random.weights.h5")
    reference.save_weights(weights_path)
    extractor = InceptionFeatures(weights_path)
    images = np.random.default_rng(5).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    features = extractor(images)
    resized = tf.image.resize(images.astype(np.float32), (299, 299), method="bicubic", antialias=True)
    expected = reference(keras.applications.inception_v3.preprocess_input(resized))
    assert features.shape == (2, 2048)
    np.testing.assert_allclose(features, np.asarray(expected), rtol=1e-4, atol=1e-5)
