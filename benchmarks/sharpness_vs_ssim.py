"""Quality, not speed: how far sharpness and SSIM can both rise on the facades test pairs.

`zoo evaluate` scores pix2pix by SSIM against the test photo and by sharpness (the variance of
the Laplacian over the photos'). A label map says where windows and ledges are, not the phase of
brick, plaster and foliage, so texture a model draws does not line up with the photo's, and SSIM
pays for every unaligned detail. This script measures that trade-off without training anything.
It takes the outputs of an L1-only model (blurred, the best SSIM) and of a GAN, and prints SSIM
and sharpness for:

- each model as it is, and each blurred (Gaussian sigma 1, 2, 4 pixels): what the GAN's layout
  scores once its texture is gone;
- the L1 model plus the high-pass detail (`x - blur(x, sigma)`) of *another* test photo: real
  texture, drawn where nothing says it belongs;
- the L1 model unsharp-masked (`x + k (x - blur(x, sigma))`): edges steepened where it has them;
- oracles that use the test photo: the L1 model plus the photo's own detail everywhere, or only
  within r pixels of a label-map edge (where the label map does say something), and the share of the
  photo's Laplacian energy within r pixels of a label edge.

    python benchmarks/sharpness_vs_ssim.py --data-path ../shared/data/facades \\
        --l1 savedmodels/cgan_i2i_facades_l1only --gan savedmodels/cgan_i2i_facades
"""

import argparse
import json

import cv2
import numpy as np

from zoo.evaluation.real import baseline_subject, load_photos
from zoo.evaluation.subjects import in_batches
from zoo.metrics import sharpness, ssim


def blur(images, sigma):
    return np.stack([cv2.GaussianBlur(image, (0, 0), sigma) for image in images])


def label_edges(label_maps, radius, threshold=60):
    """[N, S, S, 1] float: 1 within `radius` pixels of a change of label colour."""
    labels = label_maps.astype(np.int32)
    edges = np.zeros(labels.shape[:3], np.uint8)
    edges[:, 1:] |= np.abs(labels[:, 1:] - labels[:, :-1]).sum(-1) > threshold
    edges[:, :, 1:] |= np.abs(labels[:, :, 1:] - labels[:, :, :-1]).sum(-1) > threshold
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return np.stack([cv2.dilate(e, kernel) for e in edges]).astype(np.float32)[..., None]


def laplacian_energy_share(photos, near):
    grey = np.stack([cv2.cvtColor(p, cv2.COLOR_RGB2GRAY) for p in photos]).astype(np.float64)
    energy = np.stack([cv2.Laplacian(g, cv2.CV_64F) for g in grey]) ** 2
    return float((energy * near[..., 0]).sum() / energy.sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-path", required=True, help="the facades folder (train/, test/)")
    parser.add_argument("--l1", required=True, help="an L1-only image-to-image export or workdir")
    parser.add_argument("--gan", required=True, nargs="+", help="one or more GAN exports or workdirs")
    parser.add_argument("--seed", type=int, default=0, help="which other photo lends its texture")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()

    subject, _ = baseline_subject(args.l1)
    photos, label_maps = load_photos("facades", args.data_path, "test", subject.image_size)
    floats = photos.astype(np.float32)
    outputs = {"l1 only": in_batches(subject.translate, 50, label_maps)}
    for path in args.gan:
        outputs[f"gan {path}"] = in_batches(baseline_subject(path)[0].translate, 50, label_maps)
    low = outputs["l1 only"].astype(np.float32)
    other = floats[np.random.default_rng(args.seed).permutation(len(photos))]

    rows = []

    def row(name, images):
        images = np.clip(np.round(images), 0, 255).astype(np.uint8)
        rows.append({"images": name, "ssim": round(ssim(images, photos), 4),
                     "sharpness": round(sharpness(images, photos), 4)})
        print(f"{name:58s} ssim {rows[-1]['ssim']:.3f}  sharpness {rows[-1]['sharpness']:.3f}", flush=True)

    for name, images in outputs.items():
        row(name, images)
        for sigma in (1, 2, 4):
            row(f"{name}, blurred (sigma {sigma})", blur(images.astype(np.float32), sigma))
    for sigma in (1, 2):
        row(f"l1 only + detail of another photo (sigma {sigma})", low + other - blur(other, sigma))
    for sigma, gain in ((1, 2), (1, 4), (0.7, 4)):
        row(f"l1 only unsharp-masked (sigma {sigma}, k {gain})", low + gain * (low - blur(low, sigma)))
    row("ORACLE l1 only + the photo's own detail (sigma 1)", blur(low, 1) + floats - blur(floats, 1))
    for radius in (1, 3):
        near = label_edges(label_maps, radius)
        row(f"ORACLE l1 only + own detail within {radius} px of a label edge", low + near * (floats - blur(floats, 1)))
        share = laplacian_energy_share(photos, near)
        rows.append({"images": f"photos: within {radius} px of a label edge", "area": round(float(near.mean()), 3),
                     "laplacian_energy_share": round(share, 3)})
        print(f"photos within {radius} px of a label edge: {near.mean():.0%} of the pixels, {share:.0%} of the "
              "Laplacian energy")
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"pairs": len(photos), "rows": rows}, file, indent=1)


if __name__ == "__main__":
    main()
