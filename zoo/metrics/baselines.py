"""Non-learned baselines that learned models must beat.

- `opencv_inpaint`: classical inpainting (Telea's fast marching, or Navier-Stokes).
- `NearestNeighbourCaptioner`: the caption of the most similar training image.

Example:
    filled = opencv_inpaint(images_uint8, masks, method="telea")
    captioner = NearestNeighbourCaptioner(train_features, train_captions)
    captions = captioner.caption(test_features)
"""

import numpy as np

INPAINT_METHODS = ("telea", "ns")


def opencv_inpaint(images_uint8, masks, method="telea", radius=3):
    """Fills the holes of each image with `cv2.inpaint`; known pixels are kept.

    Args:
        images_uint8: uint8 [N, H, W, 3].
        masks: [N, H, W, 1], 1 = hole, 0 = known.
        method: "telea" (Telea 2004, fast marching) or "ns" (Navier-Stokes).
        radius: the neighbourhood, in pixels, each filled pixel is drawn from.

    Returns:
        uint8 [N, H, W, 3].

    Example:
        filled = opencv_inpaint(images, masks, method="ns", radius=5)
    """
    import cv2  # opencv-python-headless (imported here: only this baseline needs it)

    flags = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    if method not in flags:
        raise ValueError(f"Unknown inpainting method {method!r}; methods are {list(INPAINT_METHODS)}.")
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or radius <= 0:
        raise ValueError(f"radius must be a positive number of pixels, got {radius!r}.")
    images = np.asarray(images_uint8)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            f"images_uint8 must be uint8 [N, H, W, 3], got {images.dtype} {images.shape}."
        )
    masks = np.asarray(masks)
    if masks.shape != (*images.shape[:3], 1):
        raise ValueError(
            f"masks must have shape [N, H, W, 1] = {(*images.shape[:3], 1)} to match the "
            f"images, got {masks.shape}."
        )
    holes = (masks[..., 0] > 0).astype(np.uint8)
    return np.stack([
        cv2.inpaint(np.ascontiguousarray(image), hole, radius, flags[method])
        for image, hole in zip(images, holes)
    ])


class NearestNeighbourCaptioner:
    """Captions an item with the caption of its most similar training item.

    Similarity is the cosine of feature vectors, from any feature function
    (an image classifier's pooled features, raw pixels, ...), as long as
    training and query features come from the same one.

    Args:
        train_features: [M, D] features of the training items.
        train_captions: M captions (or any per-item values, e.g. lists of captions).

    Example:
        >>> captioner = NearestNeighbourCaptioner(np.eye(2), ["a red circle", "a blue square"])
        >>> captioner.caption(np.array([[0.1, 2.0]]))
        ['a blue square']
    """

    def __init__(self, train_features, train_captions):
        train_features = _as_features(train_features, "train_features")
        self.train_captions = list(train_captions)
        if len(self.train_captions) != len(train_features):
            raise ValueError(
                f"Got {len(train_features)} training feature rows but {len(self.train_captions)} "
                "captions; give one caption per row."
            )
        self.unit_train_features = _unit_rows(train_features)

    def caption(self, features):
        """The training caption nearest to each row of `features` [N, D], as a list of N."""
        features = _as_features(features, "features")
        if features.shape[1] != self.unit_train_features.shape[1]:
            raise ValueError(
                f"features have {features.shape[1]} dimensions but the training features have "
                f"{self.unit_train_features.shape[1]}; use the same feature function."
            )
        nearest = np.argmax(_unit_rows(features) @ self.unit_train_features.T, axis=1)
        return [self.train_captions[i] for i in nearest]


def _as_features(features, name):
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) == 0 or not np.all(np.isfinite(features)):
        raise ValueError(f"{name} must be finite features [N, D] with N >= 1, got shape {features.shape}.")
    return features


def _unit_rows(features):
    # A zero row stays zero (similarity 0 to everything) rather than dividing by 0.
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)
