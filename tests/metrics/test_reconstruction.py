"""PSNR, SSIM and L1 against scikit-image and a numpy masked formula."""

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from zoo.metrics.reconstruction import inpainting_scores, l1, psnr, ssim


def noisy_pair(seed=0, shape=(3, 24, 20, 3)):
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 256, size=shape, dtype=np.uint8)
    noisy = np.clip(clean.astype(int) + rng.integers(-30, 31, size=shape), 0, 255).astype(np.uint8)
    return clean, noisy


def skimage_ssim(a, b, data_range):
    return np.mean([
        structural_similarity(x, y, channel_axis=-1, gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False, data_range=data_range)
        for x, y in zip(a, b)
    ])


def test_psnr_and_ssim_match_skimage_on_uint8():
    clean, noisy = noisy_pair()
    expected_psnr = np.mean([peak_signal_noise_ratio(x, y, data_range=255) for x, y in zip(clean, noisy)])
    assert psnr(clean, noisy) == pytest.approx(expected_psnr, rel=1e-10)
    assert ssim(clean, noisy) == pytest.approx(skimage_ssim(clean, noisy, 255), abs=1e-10)


def test_float_images_score_like_the_same_uint8_images():
    clean, noisy = noisy_pair(1)
    minus_one_to_one = [x.astype(np.float32) / 127.5 - 1.0 for x in (clean, noisy)]
    zero_to_one = [x.astype(np.float64) / 255.0 for x in (clean, noisy)]
    for metric in (psnr, ssim, l1):
        expected = metric(clean, noisy)
        assert metric(*minus_one_to_one) == pytest.approx(expected, rel=1e-5)
        assert metric(*zero_to_one, data_range=1.0) == pytest.approx(expected, rel=1e-5)
    assert ssim(*zero_to_one, data_range=1.0) == pytest.approx(skimage_ssim(*zero_to_one, 1.0), abs=1e-10)


def test_masked_psnr_and_l1_cover_the_hole_only():
    clean, noisy = noisy_pair(2)
    mask = np.zeros((*clean.shape[:3], 1), np.uint8)
    mask[:, 4:12, 5:15] = 1
    mask[1, 20:, :] = 1  # holes differ between images
    a, b = clean / 255.0, noisy / 255.0
    hole = np.broadcast_to(mask, a.shape).astype(bool)
    per_image_mse = [np.mean((x[h] - y[h]) ** 2) for x, y, h in zip(a, b, hole)]
    per_image_l1 = [np.mean(np.abs(x[h] - y[h])) for x, y, h in zip(a, b, hole)]
    assert psnr(clean, noisy, mask=mask) == pytest.approx(np.mean(-10 * np.log10(per_image_mse)), rel=1e-10)
    assert l1(clean, noisy, mask=mask) == pytest.approx(np.mean(per_image_l1), rel=1e-10)


def test_inpainting_scores_report_hole_and_whole_image_values():
    clean, _ = noisy_pair(3)
    mask = np.zeros((*clean.shape[:3], 1), np.float32)
    mask[:, 8:16, 8:16] = 1
    filled = np.where(mask > 0, 0, clean).astype(np.uint8)  # a black hole, the rest exact
    scores = inpainting_scores(clean, filled, mask)
    assert set(scores) == {"psnr", "psnr_hole", "l1", "l1_hole", "ssim"}
    assert scores["l1_hole"] == pytest.approx(scores["l1"] * clean[0, :, :, 0].size / 64)
    assert scores["psnr_hole"] < scores["psnr"]
    assert psnr(clean, clean) == np.inf


def test_per_image_scores_are_the_values_the_means_average():
    clean, noisy = noisy_pair(5)
    noisy[1] = clean[1]  # one exact image: its PSNR is inf
    mask = np.zeros((*clean.shape[:3], 1), np.uint8)
    mask[:, 4:12, 6:14] = 1
    per_image = inpainting_scores(clean, noisy, mask, per_image=True)
    means = inpainting_scores(clean, noisy, mask)
    for key, values in per_image.items():
        assert values.shape == (3,) and values.dtype == np.float64
        assert np.mean(values) == pytest.approx(means[key]) or means[key] == np.inf
        # Each value is the image's own score.
        assert values[2] == pytest.approx(inpainting_scores(clean[2:], noisy[2:], mask[2:])[key])
    assert per_image["psnr_hole"][1] == np.inf and per_image["ssim"][1] == pytest.approx(1.0)
    assert per_image["psnr"][0] == pytest.approx(peak_signal_noise_ratio(clean[0], noisy[0], data_range=255))


def test_bad_inputs_raise():
    clean, noisy = noisy_pair(4)
    with pytest.raises(ValueError, match="same shape"):
        psnr(clean, noisy[:2])
    with pytest.raises(ValueError, match="share a dtype"):
        l1(clean, noisy.astype(np.float32))
    with pytest.raises(ValueError, match="outside"):
        psnr(clean.astype(np.float32), noisy.astype(np.float32))  # [0, 255] floats without data_range
    with pytest.raises(ValueError, match=r"\[N, H, W, 1\]"):
        l1(clean, noisy, mask=np.ones(clean.shape[:3]))
    with pytest.raises(ValueError, match=r"images \[1\]"):
        mask = np.ones((*clean.shape[:3], 1))
        mask[1] = 0
        psnr(clean, noisy, mask=mask)
    with pytest.raises(ValueError, match="at least 11"):
        ssim(clean[:, :8, :8], noisy[:, :8, :8])
