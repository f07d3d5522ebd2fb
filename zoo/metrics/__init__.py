"""Metrics for cross-modal generation, each tested against a reference implementation.

- image quality (distribution level): `FID`, `KID`, `fid_from_features`, `kid_from_features`, `fid_and_kid`,
  `frechet_distance`, with `InceptionFeatures` or `KerasFeatures` as feature extractors;
- captions: `corpus_bleu` (BLEU-1..4), `cider_d`;
- reconstruction: `psnr`, `ssim`, `l1`, `inpainting_scores` (holes and whole images);
- sharpness: `sharpness` (variance of the Laplacian against real images), `laplacian_variance`;
- alignment on `shapes`: `read_images` and `reader_scores` (the strict reader of images),
  `parse_caption`, `caption_match`, `attribute_accuracy` (of a per-cell grid);
- baselines: `opencv_inpaint`, `NearestNeighbourCaptioner`.

Example:
    from zoo import metrics
    metrics.corpus_bleu(["a small red circle top left"], [["small red circle top left"]])
"""

from zoo.metrics.alignment import attribute_accuracy, caption_match, parse_caption
from zoo.metrics.baselines import NearestNeighbourCaptioner, opencv_inpaint
from zoo.metrics.captions import cider_d, cider_d_scores, corpus_bleu
from zoo.metrics.image_quality import (
    FID,
    KID,
    FeatureExtractor,
    InceptionFeatures,
    KerasFeatures,
    fid_and_kid,
    fid_from_features,
    frechet_distance,
    kid_from_features,
    laplacian_variance,
    polynomial_mmd2_unbiased,
    sharpness,
    to_uint8,
)
from zoo.metrics.reconstruction import inpainting_scores, l1, psnr, ssim
from zoo.metrics.shapes_reader import read_images, reader_scores

__all__ = [
    "FID",
    "KID",
    "FeatureExtractor",
    "InceptionFeatures",
    "KerasFeatures",
    "NearestNeighbourCaptioner",
    "attribute_accuracy",
    "caption_match",
    "cider_d",
    "cider_d_scores",
    "corpus_bleu",
    "fid_and_kid",
    "fid_from_features",
    "frechet_distance",
    "inpainting_scores",
    "kid_from_features",
    "l1",
    "laplacian_variance",
    "opencv_inpaint",
    "parse_caption",
    "polynomial_mmd2_unbiased",
    "psnr",
    "read_images",
    "reader_scores",
    "sharpness",
    "ssim",
    "to_uint8",
]
