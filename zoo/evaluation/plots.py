"""A PNG of an evaluation's samples: what the model made, next to what was asked or expected.

- text to image: generated images with their captions, the strict reader's reading and
  verdict (and the real scene);
- image to text: images with the model's caption and a true caption;
- inpainting: masked input | output | truth, a few per mask kind; for `object` masks, the strict
  reader's verdict on the hidden object and what it read in that cell;
- image to image: label map | output | truth;
- on real photos (facades), both kinds: input | each baseline column | model | truth, each
  titled with its per-image PSNR (inpainting: over the hole).

Example:
    result = evaluate(task, num_examples=100)
    plot_samples(result, "grid.png")
"""

import textwrap

import numpy as np

from zoo.data.shapes import COLOURS
from zoo.metrics.shapes_reader import object_verdicts

_HOLE_GREY = np.array([128, 128, 128], np.uint8)


def plot_samples(result, path):
    """Write `result.samples` as a PNG grid to `path`; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not result.samples:
        raise ValueError("This result has no samples to plot (was it read back from JSON?).")
    real_data = result.config.get("data", "shapes") != "shapes"
    panels = _real_photos(result.samples) if real_data else _PANELS[result.kind](result.samples)
    rows = len(panels)
    columns = max(len(row) for row in panels)
    figure, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 3.2 * rows), squeeze=False)
    for axis_row, panel_row in zip(axes, panels):
        for axis in axis_row:
            axis.axis("off")
        for axis, (image, title) in zip(axis_row, panel_row):
            axis.imshow(image, interpolation="nearest")
            axis.set_title(title, fontsize=7)
    height = figure.get_size_inches()[1]
    figure.suptitle(f"{result.kind}: {result.config.get('model')} ({result.config.get('split')})", fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / height))  # room for the title
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _wrap(text, width=30, limit=90):
    text = str(text) if len(str(text)) <= limit else str(text)[:limit - 3] + "..."  # an untrained model babbles
    return textwrap.fill(text, width)


def label_map_colours(label_maps):
    """uint8 class-index maps [..., 1] as RGB: background black, objects in the spec's colours."""
    palette = np.array([(0, 0, 0), *COLOURS.values()], np.uint8)
    return palette[np.asarray(label_maps)[..., 0]]


def _text_to_image(samples):
    readings = samples.get("readings")
    if readings is None:
        pairs = [(image, _wrap(caption)) for image, caption in zip(samples["generated"], samples["captions"])]
    else:  # each image with the strict reader's verdict and what it read
        verdicts = object_verdicts(readings, samples["truth"])
        pairs = [(image, f"{'right' if verdict['scene'] else 'WRONG'}: {_wrap(caption)}\nread: "
                         + _wrap(" and ".join(o.label() for o in read) or "nothing"))
                 for image, caption, read, verdict in zip(samples["generated"], samples["captions"], readings, verdicts)]
    real = [(image, "real scene") for image in samples["real"]]
    # Rows of 4 generated images, each followed by a row of the real scenes.
    return [row for start in range(0, len(pairs), 4) for row in (pairs[start:start + 4], real[start:start + 4])]


def _image_to_text(samples):
    panels = [(image, f"model: {_wrap(caption)}\ntruth: {_wrap(truth)}")
              for image, caption, truth in zip(samples["images"], samples["captions"], samples["truth"])]
    return [panels[start:start + 4] for start in range(0, len(panels), 4)]


def _inpainting(samples):
    rows = []
    for kind, kind_samples in samples.items():
        labels = [_wrap(caption) for caption in kind_samples["captions"]]
        if "readings" in kind_samples:  # `object` masks: the strict reader's verdict on the hidden object
            verdicts = object_verdicts(kind_samples["readings"], kind_samples["hidden"])
            labels = [f"{'right' if verdict['objects'][0]['object'] else 'WRONG'}: {label}\nread there: "
                      + (" and ".join(o.label() for o in read if o.cell == hidden[0]["cell"]) or "nothing")
                      for label, verdict, read, hidden in zip(labels, verdicts, kind_samples["readings"],
                                                              kind_samples["hidden"])]
        for masked, mask, output, truth, label in zip(kind_samples["inputs"], kind_samples["masks"],
                                                      kind_samples["outputs"], kind_samples["truth"], labels):
            shown = np.where(mask > 0, _HOLE_GREY, masked)
            rows.append([(shown, f"{kind} mask"), (output, label), (truth, "truth")])
    return rows


def _image_to_image(samples):
    return [[(label_map_colours(label_map), "label map"), (output, "output"), (truth, "truth")]
            for label_map, output, truth in zip(samples["inputs"], samples["outputs"], samples["truth"])]


def _real_photos(samples):
    """Per example: the input (the hole grey), each baseline column and the model, titled with PSNR, the truth."""
    rows = []
    for k, (shown, label) in enumerate(zip(samples["inputs"], samples["input_labels"])):
        if "masks" in samples:
            shown = np.where(samples["masks"][k] > 0, _HOLE_GREY, shown)
        row = [(shown, label)]
        for column, images in samples["columns"].items():
            value = float(samples["psnr"][column][k])
            value = "inf" if np.isinf(value) else f"{value:.1f} dB"
            row.append((images[k], f"{column}\n{samples['psnr_label']} {value}"))
        rows.append(row + [(samples["truth"][k], "truth")])
    return rows


_PANELS = {
    "text-to-image": _text_to_image,
    "image-to-text": _image_to_text,
    "inpainting": _inpainting,
    "image-to-image": _image_to_image,
}
