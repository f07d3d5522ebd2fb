"""The four task kinds and the one public method of each, shared by built and loaded models.

A model from `zoo.build` (a Keras task, `zoo.models.base`) and one from `zoo.load` (an
exported SavedModel, `zoo.pretrained`) answer the same method with the same arguments:

    generate(captions, seeds=None, strict=False)        text to image: uint8 images
    caption(images, return_scores=False)                image to text: captions (and scores)
    inpaint(images, masks, captions=None, strict=False) inpainting: uint8 images, known pixels kept
    translate(label_maps, seeds=None)                   image to image: uint8 images (seeds: test-time dropout)

This module imports no TensorFlow, so `zoo.pretrained` stays light to import.
"""

import numpy as np

# Each kind's public method; the export writes the kind into `assets.extra/zoo.json`.
KIND_METHODS = {
    "text-to-image": "generate",
    "image-to-text": "caption",
    "inpainting": "inpaint",
    "image-to-image": "translate",
}
KINDS = tuple(KIND_METHODS)


def seeds_per_caption(seeds, count, items="captions"):
    """int64 seeds, one per caption: `seeds` + i for one int, a list of `count` ints as given, random for None.

    (Label maps of an image-to-image model take seeds the same way: `items` names them in errors.)

    Caption i of a call with one int `seed` gets `seed + i`, so two equal captions in one call
    differ, and a seed gives the same image from `zoo.build`, `zoo.load` and TF Serving.

    Example:
        seeds_per_caption(7, 3)          # array([7, 8, 9])
        seeds_per_caption([5, 5], 2)     # array([5, 5])
    """
    if seeds is None:
        seeds = int(np.random.default_rng().integers(2**31))
    array = np.asarray(seeds)
    if array.dtype.kind not in "iu" or array.ndim > 1:
        raise TypeError(f"seeds must be an int or a list of ints, got {seeds!r} ({type(seeds).__name__}"
                        f"{' of ' + str(array.dtype) if array.ndim else ''}).")
    if array.ndim == 0:
        return array.astype(np.int64) + np.arange(count, dtype=np.int64)
    if len(array) != count:
        item = items[:-1] if items.endswith("s") else items
        raise ValueError(f"Got {len(array)} seeds for {count} {items}; give one seed per {item}, or one int "
                         f"({item} i then gets seed + i).")
    return array.astype(np.int64)
