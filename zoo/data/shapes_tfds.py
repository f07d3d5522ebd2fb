"""A TFDS builder for `shapes`: after `import zoo`, `tfds.load("shapes")` works offline.

The builder renders the scenes with `zoo.data.shapes.scene`, so TFDS and
`zoo.data.load` yield the same pixels. The `mini` config keeps 1% of each split
(for quick checks); `full` is the spec's split sizes.

Example:
    import zoo, tensorflow_datasets as tfds
    ds = tfds.load("shapes", split="test")
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from zoo.data import shapes


@dataclasses.dataclass
class ShapesConfig(tfds.core.BuilderConfig):
    fraction: float = 1.0


class Shapes(tfds.core.GeneratorBasedBuilder):
    """Captioned scenes of coloured shapes (zoo's embedded data set)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "The spec of shared/specs/shapes.md."}
    BUILDER_CONFIGS = [
        ShapesConfig(name="full", description="The spec's split sizes.", fraction=1.0),
        ShapesConfig(name="mini", description="The first 1% of each split.", fraction=0.01),
    ]

    def _info(self):
        object_features = tfds.features.FeaturesDict({
            "colour": tfds.features.ClassLabel(names=list(shapes.COLOUR_NAMES)),
            "shape": tfds.features.ClassLabel(names=list(shapes.SHAPE_NAMES)),
            "size": tfds.features.ClassLabel(names=list(shapes.SIZE_NAMES)),
            "position": tfds.features.ClassLabel(names=list(shapes.POSITION_NAMES)),
            "bbox": tfds.features.Tensor(shape=(4,), dtype=np.int32),
        })
        return self.dataset_info_from_configs(
            description=__doc__,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(64, 64, 3)),
                "captions": tfds.features.Sequence(tfds.features.Text(), length=3),
                "label_map": tfds.features.Image(shape=(64, 64, 1)),
                "objects": tfds.features.Sequence(object_features),
            }),
            supervised_keys=None,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # rendered, nothing to download
        return {split: self._generate_examples(split) for split in shapes.SPLITS}

    def _generate_examples(self, split):
        count = max(1, int(round(shapes.SPLITS[split] * self.builder_config.fraction)))
        for index in range(count):
            s = shapes.scene(split, index)
            objects = [
                {"colour": o["colour"], "shape": o["shape"], "size": o["size"],
                 "position": o["position"], "bbox": np.array(o["bbox"], np.int32)}
                for o in s["objects"]
            ]
            yield index, {"image": s["image"], "captions": s["captions"],
                          "label_map": s["label_map"], "objects": objects}
