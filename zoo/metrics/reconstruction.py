"""Pixel-level reconstruction metrics: PSNR, SSIM and L1, over whole images or holes.

All three are computed per image on values scaled to [0, 1], then averaged over
the batch, so a uint8 image and the same image as a float in [-1, 1] score the
same. Accepted inputs, batches [N, H, W, C]:
- uint8 in [0, 255];
- float in [-1, 1] (the zoo's image range), the default for floats;
- float in [0, data_range] when `data_range` is given (e.g. 1.0 for [0, 1] images).

Example:
    scores = inpainting_scores(targets_uint8, outputs_uint8, masks)
    scores["psnr_hole"], scores["ssim"]
"""

import numpy as np
import scipy.ndimage

SSIM_WINDOW = 11  # Gaussian window size and sigma of Wang et al. (2004)
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def psnr(a, b, mask=None, data_range=None, per_image=False):
    """Mean over the batch of each image's PSNR in dB (inf for identical images).

    With `mask` [N, H, W, 1] (1 = hole), the mean squared error is taken over
    the hole pixels only. With `per_image`, the N values (float64 [N]) instead of their mean.

    Example:
        >>> a = np.zeros((1, 4, 4, 3), np.uint8)
        >>> round(psnr(a, a + 1), 2)  # an error of 1/255 everywhere
        48.13
    """
    a, b = _unit_range_pair(a, b, data_range)
    squared_error = _mean_over_pixels((a - b) ** 2, mask, a.shape)
    with np.errstate(divide="ignore"):
        return _reduced(-10.0 * np.log10(squared_error), per_image)


def l1(a, b, mask=None, data_range=None, per_image=False):
    """Mean absolute error on [0, 1]-scaled values, per image then over the batch.

    With `mask` [N, H, W, 1] (1 = hole), over the hole pixels only. With `per_image`,
    the N values (float64 [N]) instead of their mean.

    Example:
        >>> a = np.zeros((2, 4, 4, 3), np.float32)
        >>> l1(a, a + 0.5)  # [-1, 1] floats: 0.5 is a quarter of the range
        0.25
    """
    a, b = _unit_range_pair(a, b, data_range)
    return _reduced(_mean_over_pixels(np.abs(a - b), mask, a.shape), per_image)


def ssim(a, b, data_range=None, per_image=False):
    """Mean over the batch of each image's SSIM (Wang et al., 2004); with `per_image`, the N values.

    Gaussian window of 11 pixels with sigma 1.5, K1 = 0.01, K2 = 0.03, population
    (not sample) covariances, averaged over the valid (unpadded) positions and
    the channels: the same as `skimage.metrics.structural_similarity(...,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    channel_axis=-1)` on the [0, 1]-scaled images (and as `tf.image.ssim`, which
    works in float32). Computed in float64 with the window's two 1-D halves, a tenth
    of the time of a 2-D window. Images need at least 11 x 11 pixels.

    Example:
        >>> a = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), np.uint8)
        >>> round(ssim(a, a), 6)
        1.0
    """
    a, b = _unit_range_pair(a, b, data_range)
    if min(a.shape[1:3]) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW} x {SSIM_WINDOW} pixels, got {a.shape[1:3]}."
        )
    mean_a, mean_b = _window_mean(a), _window_mean(b)
    variance_a = _window_mean(a * a) - mean_a**2
    variance_b = _window_mean(b * b) - mean_b**2
    covariance = _window_mean(a * b) - mean_a * mean_b
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    luminance = (2.0 * mean_a * mean_b + c1) / (mean_a**2 + mean_b**2 + c1)
    contrast_structure = (2.0 * covariance + c2) / (variance_a + variance_b + c2)
    return _reduced((luminance * contrast_structure).mean(axis=(1, 2, 3)), per_image)


def _window_mean(images):
    """The Gaussian-weighted mean of each 11 x 11 window of images [N, H, W, C] that fits inside them."""
    offsets = np.arange(SSIM_WINDOW) - (SSIM_WINDOW - 1) / 2
    weights = np.exp(-0.5 * offsets**2 / SSIM_SIGMA**2)
    weights /= weights.sum()
    margin = SSIM_WINDOW // 2
    # The 2-D window is the outer product of two 1-D ones; each pass keeps the positions that fit.
    rows = scipy.ndimage.correlate1d(images, weights, axis=1, mode="constant")[:, margin:-margin]
    return scipy.ndimage.correlate1d(rows, weights, axis=2, mode="constant")[:, :, margin:-margin]


def inpainting_scores(targets, outputs, masks, data_range=None, per_image=False):
    """PSNR and L1 over the holes and over whole images, and whole-image SSIM.

    Returns:
        {"psnr": .., "psnr_hole": .., "l1": .., "l1_hole": .., "ssim": ..}: means over the
        batch, or with `per_image` one value per image (float64 [N] each), e.g. to bin them.

    Example:
        scores = inpainting_scores(images, model_outputs, masks)
    """
    options = dict(data_range=data_range, per_image=per_image)
    return {
        "psnr": psnr(targets, outputs, **options),
        "psnr_hole": psnr(targets, outputs, mask=masks, **options),
        "l1": l1(targets, outputs, **options),
        "l1_hole": l1(targets, outputs, mask=masks, **options),
        "ssim": ssim(targets, outputs, **options),
    }


def _reduced(values, per_image):
    """Per-image values as they are (`per_image`), or their mean as a float."""
    return np.asarray(values, np.float64) if per_image else float(np.mean(values))


def _mean_over_pixels(values, mask, shape):
    """Per-image mean of `values` [N, H, W, C], over the hole pixels if a mask is given."""
    if mask is None:
        return values.mean(axis=(1, 2, 3))
    mask = _hole_mask(mask, shape)
    hole_values = (values * mask).sum(axis=(1, 2, 3))
    return hole_values / (mask.sum(axis=(1, 2, 3)) * shape[-1])


def _hole_mask(mask, shape):
    mask = np.asarray(mask)
    if mask.shape != (*shape[:3], 1):
        raise ValueError(
            f"mask must have shape [N, H, W, 1] = {(*shape[:3], 1)} to match the images, "
            f"got {mask.shape}."
        )
    if not np.all((mask == 0) | (mask == 1)):
        raise ValueError("mask values must be 0 (known) or 1 (hole).")
    empty = np.flatnonzero(mask.reshape(len(mask), -1).sum(axis=1) == 0)
    if empty.size:
        raise ValueError(f"The masks of images {empty.tolist()} have no hole pixels.")
    return mask.astype(np.float64)


def _unit_range_pair(a, b, data_range):
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 4 or a.shape != b.shape or a.shape[0] == 0:
        raise ValueError(
            f"Images must be two non-empty batches [N, H, W, C] of the same shape, got "
            f"{a.shape} and {b.shape}."
        )
    if a.dtype != b.dtype:
        raise ValueError(f"Images must share a dtype, got {a.dtype} and {b.dtype}.")
    return _to_unit_range(a, data_range, "a"), _to_unit_range(b, data_range, "b")


def _to_unit_range(images, data_range, name):
    if images.dtype == np.uint8:
        if data_range not in (None, 255):
            raise ValueError(f"uint8 images span [0, 255]; data_range must be None or 255, got {data_range!r}.")
        return images.astype(np.float64) / 255.0
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"Images must be uint8 or float, got dtype {images.dtype} for {name}.")
    if data_range is not None and not (np.isscalar(data_range) and data_range > 0):
        raise ValueError(f"data_range must be a positive number or None, got {data_range!r}.")
    low, high = (-1.0, 1.0) if data_range is None else (0.0, float(data_range))
    found_low, found_high = float(images.min()), float(images.max())
    tolerance = 1e-3 * (high - low)
    if not (low - tolerance <= found_low and found_high <= high + tolerance):
        raise ValueError(
            f"Float images {name} have values in [{found_low:.4g}, {found_high:.4g}], outside "
            f"[{low:g}, {high:g}]; floats are taken as [-1, 1], or as [0, data_range] when "
            "data_range is given."
        )
    return (images.astype(np.float64) - low) / (high - low)
