"""Evaluation on `shapes` (every family's scores next to baselines and the real-data ceiling) and on
real photos (`data="facades"`: pix2pix and photo inpainting, `zoo.evaluation.real`).

- `evaluate(model, split=..., num_examples=...)`: a Keras task or an exported SavedModel
  in, an `EvaluationResult` (rows of metric, model, baselines; targets; config) out;
- images are read back into scenes by the strict reader, `zoo.metrics.shapes_reader`;
- `load_probe()`: the trained `shapes_probe` shipped in the package, whose features are
  the feature space of FID/KID; `ProbeReader` applies it to images of any size;
- `objects_from_arrays`: a batch's int `objects` as the metrics' object dicts;
- `plot_samples(result, path)`: a PNG of the samples;
- `evaluate(model, data="facades", data_path=..., masks=..., baselines=...)`: pixel scores
  on real photos next to the mean photo or OpenCV, baseline models and the photos.

Example:
    from zoo.evaluation import evaluate
    result = evaluate("savedmodels/cgan_t2i_shapes/1", split="test_compositional")
    print(result.table())
"""

from zoo.evaluation.evaluate import evaluate, load_scenes  # noqa: F401
from zoo.evaluation.plots import plot_samples  # noqa: F401
from zoo.evaluation.probe import ProbeReader, load_probe, read_probe_metadata, save_probe  # noqa: F401
from zoo.evaluation.real import evaluate_real, held_out_masks, mean_photo  # noqa: F401
from zoo.evaluation.results import TARGETS, EvaluationResult, Row  # noqa: F401
from zoo.evaluation.scenes import hidden_objects, objects_from_arrays  # noqa: F401
from zoo.evaluation.subjects import as_subject  # noqa: F401
