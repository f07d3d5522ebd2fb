"""An evaluation's result: rows of (metric, model value, each baseline's value), the targets, the config.

Every row holds one value per column: `model` first, then the baselines
(`real` is the ceiling: real images, or real captions). Rows that carry a
pretrained-model target (from `TARGETS`) also say whether the model meets it;
`EvaluationResult.table()` lists those rows again at the end.

Example:
    result = evaluate(task, split="test", num_examples=1000)
    print(result.table())
    result.value("objects_right")            # the model's value
    result.value("objects_right", "real")    # the ceiling
    result.write_json("results.json")
"""

import dataclasses
import json
import math

# The pretrained-model targets, by task kind, metric and split: a threshold on the
# model's value, or (baseline column, margin) for "at least the baseline + margin".
# Alignment targets are read by the strict reader (zoo.metrics.shapes_reader).
TARGETS = {
    "text-to-image": {"objects_right": {"test": 0.97, "test_compositional": 0.93},
                      # On diversity_right: noise, stray marks and ghost blobs make images differ too.
                      "diversity_right": {"test": 0.6, "test_compositional": 0.6}},
    "image-to-text": {"scenes_right": {"test": 0.98, "test_compositional": 0.85}},
    "inpainting": {
        "object/hidden_colour": {"test": 0.99},
        "object/hidden_shape": {"test": 0.97},
        "stroke/psnr_hole": {"test": ("opencv telea", 4.0)},
    },
    "image-to-image": {"reader/colour+shape": {"test": 0.95}},
}


# How to read each kind's table; printed under it.
NOTES = {
    "text-to-image": (
        "objects_right .. reader/*: the strict reader (zoo.metrics.shapes_reader); real = the real images "
        "of the same scenes (the ceiling)",
        "diversity: pairwise L1 of 8 images per caption over that of 8 real renders; 1 = as varied as real "
        "data, 0 = one image per caption; diversity_right counts only pairs of images read right",
        "fid_probe, kid_probe: lower is better; both columns against the real images of the same scenes, "
        "real = a new render of each scene, the floor; KID is unbiased and scatters around 0 there (it can "
        "be slightly negative)",
    ),
    "image-to-text": ("objects_right .. caption/*: captions parsed back into scenes; real = a true caption",),
    "inpainting": ("object/hidden_*, objects_right: the strict reader on the object an object mask hides; "
                   "real = the true image",),
    "image-to-image": ("objects_right .. reader/*: the strict reader (zoo.metrics.shapes_reader); real = the "
                       "true image",),
}


@dataclasses.dataclass
class Row:
    """One metric: its value per column, and its target (text) and whether the model meets it."""

    metric: str
    values: dict
    description: str = ""
    target: str = None
    met: bool = None

    def to_dict(self):
        out = {"metric": self.metric, "values": {k: _json_number(v) for k, v in self.values.items()}}
        if self.description:
            out["description"] = self.description
        if self.target is not None:
            out.update(target=self.target, met=self.met)
        return out


@dataclasses.dataclass
class EvaluationResult:
    """What `evaluate` returns: `kind`, `columns`, `rows`, `config`, and a few `samples` for plots.

    `samples` (images and captions of the first examples) is for `zoo.evaluation.plots`;
    it is not written to JSON.
    """

    kind: str
    columns: list
    rows: list
    config: dict
    samples: dict = dataclasses.field(default_factory=dict, repr=False)
    notes: tuple = None  # how to read the table (default: the kind's NOTES, for shapes)

    def row(self, metric):
        for row in self.rows:
            if row.metric == metric:
                return row
        raise KeyError(f"No row {metric!r}; rows are {[r.metric for r in self.rows]}.")

    def value(self, metric, column="model"):
        values = self.row(metric).values
        if column not in values:
            raise KeyError(f"Row {metric!r} has no column {column!r}; columns are {list(values)}.")
        return values[column]

    def target_rows(self):
        return [row for row in self.rows if row.target is not None]

    def to_dict(self):
        return {"kind": self.kind, "columns": self.columns, "rows": [r.to_dict() for r in self.rows],
                "targets": {r.metric: {"target": r.target, "model": _json_number(r.values["model"]), "met": r.met}
                            for r in self.target_rows()},
                "config": self.config, **({"notes": list(self.notes)} if self.notes is not None else {})}

    def write_json(self, path):
        """Strict JSON: infinite and missing values are written as the strings "inf" and "nan"."""
        with open(path, "w") as f:
            json.dump(self.to_dict(), f, indent=1, allow_nan=False)
        return path

    def table(self):
        """The rows as aligned text: metric, model, baselines, target; then the target rows alone."""
        header = ["metric", *self.columns, "target"]
        lines = [[row.metric, *(format_value(row.values.get(c)) for c in self.columns), _target_text(row)]
                 for row in self.rows]
        widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
        text = [_aligned(header, widths), _aligned(["-" * w for w in widths], widths)]
        text += [_aligned(line, widths) for line in lines]
        config = self.config
        examples = f"{config.get('num_examples')} examples"
        if "num_masks" in config:  # real photos, each with every test mask
            examples = f"{config.get('num_examples')} photos x {config['num_masks']} masks"
        title = f"{self.kind}: {config.get('model')} on {config.get('data')}/{config.get('split')}, {examples}"
        targets = [f"  {row.metric}: {format_value(row.values['model'])} (target {row.target}) "
                   f"{'met' if row.met else 'NOT met'}" for row in self.target_rows()]
        notes = NOTES.get(self.kind, ()) if self.notes is None else self.notes
        if notes:
            text += ["", "notes:", *(f"  {note}" for note in notes)]
        if targets:
            text += ["", "targets:", *targets]
        return "\n".join([title, *text])


def apply_targets(kind, split, rows):
    """Set `target` and `met` on the rows that have a target for this kind and split."""
    for row in rows:
        target = TARGETS.get(kind, {}).get(row.metric, {}).get(split)
        if target is None:
            continue
        if isinstance(target, tuple):
            baseline, margin = target
            if baseline not in row.values:
                continue
            threshold = row.values[baseline] + margin
            row.target = f">= {baseline} + {margin:g} ({format_value(threshold)})"
        else:
            threshold = target
            row.target = f">= {target:g}"
        row.met = bool(row.values["model"] >= threshold)
    return rows


def format_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def _target_text(row):
    if row.target is None:
        return ""
    return f"{row.target} {'ok' if row.met else 'MISS'}"


def _aligned(cells, widths):
    """Metric names and the target left-aligned, numbers right-aligned."""
    first, *numbers, last = cells
    return "  ".join([str(first).ljust(widths[0]), *(str(c).rjust(w) for c, w in zip(numbers, widths[1:-1])),
                      str(last)]).rstrip()


def _json_number(value):
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value
