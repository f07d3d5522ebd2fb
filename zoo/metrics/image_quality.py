"""Distribution-level image quality: FID and KID over features of a network.

FID (Heusel et al., 2017) is the Frechet distance between Gaussians fitted to the
features of real and of generated images; KID (Binkowski et al., 2018) is the
unbiased squared MMD between them under a cubic polynomial kernel. Both are
computed here in float64 numpy from features any `FeatureExtractor` produces:
`InceptionFeatures` for the standard (clean-fid style) setting, or
`KerasFeatures` around any Keras model, such as a probe trained on `shapes`.
`sharpness` compares the variance of the Laplacian of images with that of real ones.

Example:
    extractor = KerasFeatures(probe_trunk, image_size=64,
                              preprocess=lambda x: x / 127.5 - 1.0)
    fid = FID(extractor)
    for real, generated in batches:
        fid.update_state(real, generated)
    print(fid.result())
"""

import os
from typing import Callable, Protocol

import numpy as np
import tensorflow as tf

from zoo.data.errors import size_pair

INCEPTION_IMAGE_SIZE = 299


# === Frechet distance and kernel distance on features ===
def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Frechet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    d^2 = |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr((sigma1 sigma2)^(1/2)).
    The trace of the matrix square root is taken from the eigenvalues of the
    symmetric matrix sqrt(sigma1) sigma2 sqrt(sigma1), which has the same
    eigenvalues as sigma1 sigma2; unlike `scipy.linalg.sqrtm` on the
    non-symmetric product, this stays real and stable when the covariances are
    singular (fewer samples than feature dimensions).

    Example:
        >>> mu, sigma = np.zeros(3), np.eye(3)
        >>> round(frechet_distance(mu, sigma, mu + 1.0, sigma), 6)
        3.0
    """
    mu1, mu2 = _as_mean(mu1, "mu1"), _as_mean(mu2, "mu2")
    sigma1, sigma2 = _as_covariance(sigma1, "sigma1"), _as_covariance(sigma2, "sigma2")
    if not mu1.shape[0] == mu2.shape[0] == sigma1.shape[0] == sigma2.shape[0]:
        raise ValueError(
            f"Dimensions disagree: mu1 {mu1.shape}, sigma1 {sigma1.shape}, mu2 {mu2.shape}, "
            f"sigma2 {sigma2.shape}; all must describe the same feature dimension."
        )
    sqrt_sigma1 = _symmetric_sqrt(sigma1)
    product = sqrt_sigma1 @ sigma2 @ sqrt_sigma1
    # The product is positive semi-definite; rounding can make tiny eigenvalues negative.
    eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    trace_sqrt_product = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    mean_term = np.sum((mu1 - mu2) ** 2)
    return float(mean_term + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product)


def fid_from_features(feats_a, feats_b):
    """FID between two feature sets of shape [N, D] (N may differ between them).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> feats = rng.normal(size=(100, 8))
        >>> abs(fid_from_features(feats, feats)) < 1e-9
        True
    """
    feats_a, feats_b = _check_feature_pair(feats_a, feats_b, min_samples=2)
    if min(len(feats_a), len(feats_b)) < feats_a.shape[1]:
        return _low_rank_fid(feats_a, feats_b)
    return frechet_distance(
        feats_a.mean(axis=0), np.cov(feats_a, rowvar=False),
        feats_b.mean(axis=0), np.cov(feats_b, rowvar=False),
    )


def _low_rank_fid(feats_a, feats_b):
    """FID from the samples when a set has fewer rows than dimensions (e.g. 106 images, 2048 features).

    With A, B the centred features over sqrt(N - 1), the covariances are A'A and B'B, and
    the non-zero eigenvalues of A'A B'B are the squared singular values of A B' [Na, Nb]:
    tr((sigma_a sigma_b)^(1/2)) is the sum of those singular values. The same value as
    `frechet_distance`, without the eigendecompositions of two D x D matrices.
    """
    mean_a, mean_b = feats_a.mean(axis=0), feats_b.mean(axis=0)
    a = (feats_a - mean_a) / np.sqrt(len(feats_a) - 1)
    b = (feats_b - mean_b) / np.sqrt(len(feats_b) - 1)
    trace_sqrt_product = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    return float(np.sum((mean_a - mean_b) ** 2) + np.sum(a**2) + np.sum(b**2) - 2.0 * trace_sqrt_product)


def polynomial_mmd2_unbiased(x, y):
    """Unbiased squared MMD between samples x [M, D] and y [N, D].

    Uses the kernel k(u, v) = (u.v / D + 1)^3 of Binkowski et al. (2018): the
    within-set kernel sums leave out the diagonal (k(u, u) terms) so that the
    estimate is unbiased; it can therefore be slightly negative.
    """
    x, y = _check_feature_pair(x, y, min_samples=2, names=("x", "y"))
    dimension = x.shape[1]
    k_xx = (x @ x.T / dimension + 1.0) ** 3
    k_yy = (y @ y.T / dimension + 1.0) ** 3
    k_xy = (x @ y.T / dimension + 1.0) ** 3
    m, n = len(x), len(y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * k_xy.mean())


def fid_and_kid(reference_features, other_features, num_subsets, seed=0):
    """(FID, KID) of two feature sets as the evaluation reports them: KID over `num_subsets`
    subsets of half the smaller set (at least 2); both nan when a set has fewer than 2 rows.

    Example: `fid, kid = fid_and_kid(real_features, generated_features, num_subsets=20)`.
    """
    smaller = min(len(reference_features), len(other_features))
    if smaller < 2:
        return float("nan"), float("nan")
    kid, _ = kid_from_features(reference_features, other_features, num_subsets=num_subsets,
                               subset_size=max(2, smaller // 2), seed=seed)
    return fid_from_features(reference_features, other_features), kid


def kid_from_features(feats_a, feats_b, num_subsets=100, subset_size=None, seed=0):
    """KID between two feature sets: mean and std of the MMD^2 over random subsets.

    Each of `num_subsets` rounds draws `subset_size` rows of each set without
    replacement (seeded by `seed`) and takes `polynomial_mmd2_unbiased`.
    `subset_size=None` uses min(1000, N_a, N_b), the usual 1000 capped by
    what is there.

    Returns:
        (mean, std) as floats.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(size=(50, 4)), rng.normal(size=(60, 4)) + 1.0
        >>> mean, std = kid_from_features(a, b, num_subsets=10, subset_size=40)
        >>> mean > 0.1
        True
    """
    feats_a, feats_b = _check_feature_pair(feats_a, feats_b, min_samples=2)
    available = min(len(feats_a), len(feats_b))
    if subset_size is None:
        subset_size = min(1000, available)
    if not _is_int(subset_size) or not 2 <= subset_size <= available:
        raise ValueError(
            f"subset_size must be an int from 2 to {available} (the smaller feature set), "
            f"got {subset_size!r}."
        )
    if not _is_int(num_subsets) or num_subsets < 1:
        raise ValueError(f"num_subsets must be a positive int, got {num_subsets!r}.")
    rng = np.random.default_rng(seed)
    values = [
        polynomial_mmd2_unbiased(
            feats_a[rng.choice(len(feats_a), subset_size, replace=False)],
            feats_b[rng.choice(len(feats_b), subset_size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def _symmetric_sqrt(matrix):
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def _as_mean(mu, name):
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim != 1 or not np.all(np.isfinite(mu)):
        raise ValueError(f"{name} must be a finite vector [D], got shape {mu.shape}.")
    return mu


def _as_covariance(sigma, name):
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or not np.all(np.isfinite(sigma)):
        raise ValueError(f"{name} must be a finite square matrix [D, D], got shape {sigma.shape}.")
    if not np.allclose(sigma, sigma.T, rtol=1e-6, atol=1e-9 * max(1.0, np.abs(sigma).max())):
        raise ValueError(f"{name} must be symmetric (a covariance matrix); it is not.")
    return sigma


def _check_feature_pair(feats_a, feats_b, min_samples, names=("feats_a", "feats_b")):
    checked = []
    for feats, name in zip((feats_a, feats_b), names):
        feats = np.asarray(feats, dtype=np.float64)
        if feats.ndim != 2 or len(feats) < min_samples:
            raise ValueError(
                f"{name} must be features [N, D] with N >= {min_samples}, got shape {feats.shape}."
            )
        if not np.all(np.isfinite(feats)):
            raise ValueError(f"{name} contains NaN or infinite values.")
        checked.append(feats)
    if checked[0].shape[1] != checked[1].shape[1]:
        raise ValueError(
            f"{names[0]} has {checked[0].shape[1]} features per row and {names[1]} has "
            f"{checked[1].shape[1]}; they must come from the same extractor."
        )
    return checked


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# === Images in, features out ===
def to_uint8(images, name="images"):
    """Images as uint8 [N, H, W, 3], from uint8 or from float in [-1, 1].

    Float images (the zoo's generator range) are quantised to 256 levels, as if
    saved to a file, so that generated images are measured the way real (uint8)
    images are.

    Example:
        >>> to_uint8(np.array([[[[-1.0, 0.0, 1.0]]]]))[0, 0, 0]
        array([  0, 128, 255], dtype=uint8)
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise ValueError(f"{name} must be a non-empty batch [N, H, W, 3], got shape {images.shape}.")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 or float in [-1, 1], got dtype {images.dtype}.")
    low, high = float(images.min()), float(images.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < -1.0 - 1e-3 or high > 1.0 + 1e-3:
        raise ValueError(
            f"Float {name} must lie in [-1, 1], found values in [{low:.4g}, {high:.4g}]; "
            "pass uint8 images or rescale (x / 127.5 - 1)."
        )
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


# === Sharpness ===
GREY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601 luma, as OpenCV's RGB2GRAY


def laplacian_variance(images):
    """Per image, the variance of the Laplacian of its grey version on the 0-255 scale (float64 [N]).

    Grey is the BT.601 luma of the RGB pixels (uint8, or float in [-1, 1] quantised as
    `to_uint8` does); the Laplacian is the 3 x 3 kernel [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    with mirrored borders (the edge pixel not repeated): `cv2.Laplacian(grey, cv2.CV_64F).var()`.
    Blur lowers it; noise raises it.

    Example:
        >>> flat = np.full((1, 8, 8, 3), 128, np.uint8)
        >>> laplacian_variance(flat)
        array([0.])
    """
    pixels = to_uint8(images).astype(np.float64)
    grey = pixels @ np.array(GREY_WEIGHTS)
    if min(grey.shape[1:3]) < 2:
        raise ValueError(f"The Laplacian needs images of at least 2 x 2 pixels, got {grey.shape[1:3]}.")
    padded = np.pad(grey, ((0, 0), (1, 1), (1, 1)), mode="reflect")
    laplacian = (padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]
                 - 4.0 * grey)
    return laplacian.reshape(len(laplacian), -1).var(axis=1)


def sharpness(images, reference_images):
    """The mean variance of the Laplacian of `images` over that of `reference_images`.

    1 is as sharp as the reference (e.g. real photos); a blurry generator scores below 1,
    a constant image 0, and noise above 1. The two batches may differ in size.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> photos = rng.integers(0, 256, (2, 16, 16, 3), np.uint8)
        >>> sharpness(photos, photos)
        1.0
    """
    reference = float(np.mean(laplacian_variance(to_uint8(reference_images, "reference_images"))))
    if reference <= 0:
        raise ValueError("reference_images are flat (their Laplacian is 0 everywhere): nothing to compare with.")
    return float(np.mean(laplacian_variance(images))) / reference


class FeatureExtractor(Protocol):
    """Anything that maps images (uint8, or float in [-1, 1]) [N, H, W, 3] to features [N, D]."""

    def __call__(self, images) -> np.ndarray: ...


class KerasFeatures:
    """Features from any Keras model whose output is [N, D].

    Images (uint8, or float in [-1, 1]) become float pixel values in [0, 255], resized to
    `image_size` with antialiased bicubic resampling on float values (the
    clean-fid recipe, which avoids the aliasing of resizing uint8 images),
    passed through `preprocess`, then through `model` in batches.

    Args:
        model: a Keras model returning [N, D] (called with training=False).
        image_size: int or (height, width) the model expects.
        preprocess: function from float pixel values [0, 255] to the model's input,
            e.g. `keras.applications.inception_v3.preprocess_input` (x / 127.5 - 1,
            which is also the zoo's own [-1, 1] image range).
        batch_size: images per forward pass.

    Example:
        trunk = keras.Model(probe.input, probe.get_layer("features").output)
        extractor = KerasFeatures(trunk, 64, lambda x: x / 127.5 - 1.0)
        feats = extractor(images_uint8)  # [N, D] float64
    """

    def __init__(self, model, image_size, preprocess: Callable, batch_size=32):
        self.model = model
        if image_size is None:
            raise ValueError("image_size is required: the model's input (height, width).")
        self.image_size = size_pair(image_size)
        if not callable(preprocess):
            raise ValueError(f"preprocess must be a callable, got {preprocess!r}.")
        self.preprocess = preprocess
        if not _is_int(batch_size) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")
        self.batch_size = batch_size

    def __call__(self, images):
        pixels = to_uint8(images).astype(np.float32)
        batches = [
            self._features(pixels[start:start + self.batch_size])
            for start in range(0, len(pixels), self.batch_size)
        ]
        return np.concatenate(batches).astype(np.float64)

    def _features(self, pixels):
        pixels = tf.convert_to_tensor(pixels)
        if tuple(pixels.shape[1:3]) != self.image_size:
            pixels = tf.image.resize(pixels, self.image_size, method="bicubic", antialias=True)
        features = np.asarray(self.model(self.preprocess(pixels), training=False))
        if features.ndim != 2:
            raise ValueError(
                f"The feature model must return [N, D], got shape {features.shape}; wrap the "
                "layer you want, e.g. keras.Model(model.input, model.get_layer(...).output)."
            )
        return features


class InceptionFeatures(KerasFeatures):
    """2048-d pool features of InceptionV3 at 299 x 299, from a local weights file.

    Never downloads: `weights_path` must name a Keras weights file for
    `InceptionV3(include_top=False)`, such as keras's
    `inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5`. Scores are
    comparable between runs of this code; they match published FIDs only as far
    as these weights match the TF-slim Inception used by the original FID code.

    Example:
        extractor = InceptionFeatures("/data/inception_v3_notop.h5")
        fid = FID(extractor)
    """

    def __init__(self, weights_path, batch_size=32):
        import keras  # a heavy import only this class needs

        if not weights_path or not os.path.isfile(weights_path):
            raise FileNotFoundError(
                f"InceptionV3 weights file not found: {weights_path!r}. FID needs local "
                "weights (this code never downloads); pass the path to a notop weights file."
            )
        model = keras.applications.InceptionV3(
            include_top=False,
            weights=str(weights_path),
            input_shape=(INCEPTION_IMAGE_SIZE, INCEPTION_IMAGE_SIZE, 3),
            pooling="avg",
        )
        super().__init__(
            model,
            INCEPTION_IMAGE_SIZE,
            keras.applications.inception_v3.preprocess_input,
            batch_size=batch_size,
        )


# === Accumulators over batches ===
class _FeatureAccumulator:
    """Collects features of real and generated images batch by batch (eagerly)."""

    def __init__(self, feature_extractor: FeatureExtractor, name):
        if not callable(feature_extractor):
            raise ValueError(f"feature_extractor must be callable, got {feature_extractor!r}.")
        self.feature_extractor = feature_extractor
        self.name = name
        self.reset_state()

    def update_state(self, real_images, generated_images):
        real_images = to_uint8(real_images, "real_images")
        generated_images = to_uint8(generated_images, "generated_images")
        if real_images.shape[1:] != generated_images.shape[1:]:
            raise ValueError(
                f"real_images {real_images.shape} and generated_images {generated_images.shape} "
                "must have the same image shape [H, W, 3]."
            )
        self._real.append(self.feature_extractor(real_images))
        self._generated.append(self.feature_extractor(generated_images))

    def reset_state(self):
        self._real, self._generated = [], []

    def features(self):
        """(real, generated) features seen so far, each [N, D]."""
        if not self._real:
            raise ValueError(f"{self.name} has no images yet; call update_state first.")
        return np.concatenate(self._real), np.concatenate(self._generated)


class FID(_FeatureAccumulator):
    """Frechet Inception Distance accumulated over batches (eager, not for `compile`).

    Features are kept until `result()`, so the statistics are exact float64.

    Example:
        fid = FID(InceptionFeatures(weights_path))
        fid.update_state(real_uint8, generated_in_minus1_1)
        fid.result()  # float
    """

    def __init__(self, feature_extractor: FeatureExtractor, name="fid"):
        super().__init__(feature_extractor, name)

    def result(self):
        return fid_from_features(*self.features())


class KID(_FeatureAccumulator):
    """Kernel Inception Distance accumulated over batches; `result()` is (mean, std).

    Example:
        kid = KID(extractor, num_subsets=50, subset_size=100)
        kid.update_state(real, generated)
        mean, std = kid.result()
    """

    def __init__(self, feature_extractor: FeatureExtractor, num_subsets=100,
                 subset_size=None, seed=0, name="kid"):
        super().__init__(feature_extractor, name)
        self.num_subsets = num_subsets
        self.subset_size = subset_size
        self.seed = seed

    def result(self):
        return kid_from_features(
            *self.features(), num_subsets=self.num_subsets,
            subset_size=self.subset_size, seed=self.seed,
        )
