"""Latency and throughput of the exported models' `serving_default` signatures, as TF Serving runs them.

    python benchmarks/serving_latency.py --families cgan_t2i captioner --batch-sizes 1 64 --calls 20

Each family's shapes-sized model is exported with `zoo.export.export` to a temporary
folder (untrained weights: speed does not depend on them), or taken from --savedmodels
when that folder holds an export of the family (its `assets.extra/zoo.json` names it);
then it is loaded back with `tf.saved_model.load`, as TF Serving loads it, and its
`serving_default` signature is called on real `shapes` validation inputs (captions,
PNG-encoded images, masks, label maps), with outputs read back to host memory.
Calls of all (family, batch size) pairs are interleaved round-robin, so background
load spreads evenly. Reports median and 95th-percentile latency, and throughput
(examples per second at the median latency). `matcher` and `shapes_probe` have no
serving module (they are training and evaluation aids) and are not exported.

Prints a table and, with --json PATH, writes it there (no file by default).
"""

import argparse
import datetime
import glob
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo.export import export  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import machine, summary_line  # noqa: E402

FAMILIES = ("cgan_t2i", "cvae_t2i", "regression_t2i", "captioner", "cgan_i2i", "cgan_inpaint")


def find_export(root, family):
    """The newest version under `root` exported from `family`, or None."""
    found = []
    for metadata in glob.glob(os.path.join(root, "*", "*", "assets.extra", "zoo.json")):
        with open(metadata) as f:
            if json.load(f).get("family") == family:
                version_dir = os.path.dirname(os.path.dirname(metadata))
                found.append((int(os.path.basename(version_dir)), version_dir))
    return max(found)[1] if found else None


def saved_model_path(family, savedmodels, out_dir):
    existing = find_export(savedmodels, family) if savedmodels else None
    if existing:
        return existing, "loaded from " + existing
    task = zoo.build(family).build_all()
    return export(task, out_dir, name=family), "exported untrained"


def serving_inputs(task_name, examples, batch_size):
    """The `serving_default` keyword arguments for `batch_size` examples of a `shapes` batch."""
    take = lambda x: tf.constant(np.resize(x.numpy(), (batch_size,) + tuple(x.shape[1:])))  # noqa: E731
    images = tf.cast(tf.round((examples["image"] + 1.0) * 127.5), tf.uint8)
    if task_name == "text-to-image":
        return {"captions": take(examples["caption"])}
    if task_name == "image-to-text":
        encoded = tf.stack([tf.io.encode_png(image) for image in images])
        return {"images": take(encoded)}
    if task_name == "inpainting":
        return {"images": take(images), "masks": take(tf.cast(examples["mask"] > 0, tf.uint8)),
                "captions": take(examples["caption"])}
    if task_name == "image-to-image":
        return {"inputs": take(examples["label_map"])}
    raise ValueError(f"No serving inputs for task kind {task_name!r}.")


def timed_call(signature, inputs):
    start = time.perf_counter()
    outputs = signature(**inputs)
    for value in outputs.values():
        value.numpy()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 64])
    parser.add_argument("--calls", type=int, default=20, help="timed calls per family and batch size")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--savedmodels", default=None, help="use exports found here (e.g. savedmodels/)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    examples = next(iter(zoo.data.load("shapes", split="validation", batch_size=max(args.batch_sizes),
                                       masks="mix", drop_remainder=False)))
    out_dir = tempfile.mkdtemp(prefix="serving_latency_")
    cases, sources = [], {}
    for family in args.families:
        path, sources[family] = saved_model_path(family, args.savedmodels, out_dir)
        loaded = tf.saved_model.load(path)
        task_name = json.load(open(os.path.join(path, "assets.extra", "zoo.json")))["task"]
        signature = loaded.signatures["serving_default"]
        for batch_size in args.batch_sizes:
            cases.append((family, batch_size, loaded, signature, serving_inputs(task_name, examples, batch_size)))
    for _ in range(args.warmup):
        for _, _, _, signature, inputs in cases:
            timed_call(signature, inputs)
    latencies = {(family, batch_size): [] for family, batch_size, *_ in cases}
    for _ in range(args.calls):
        for family, batch_size, _, signature, inputs in cases:
            latencies[(family, batch_size)].append(timed_call(signature, inputs))
    print(f"\n{summary_line(started)}; serving_default after tf.saved_model.load, {args.calls} calls each")
    print(f"{'family':15s}{'batch':>6s}{'median ms':>11s}{'p95 ms':>9s}{'examples/s':>12s}  source")
    rows = []
    for (family, batch_size), values in latencies.items():
        median = statistics.median(values)
        p95 = float(np.percentile(values, 95))
        rows.append({"family": family, "batch_size": batch_size, "median_ms": 1000 * median, "p95_ms": 1000 * p95,
                     "examples_per_second": batch_size / median, "source": sources[family]})
        print(f"{family:15s}{batch_size:6d}{1000 * median:11.1f}{1000 * p95:9.1f}{batch_size / median:12.1f}"
              f"  {sources[family]}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"date": started.isoformat(timespec="seconds"), "command": " ".join(sys.argv),
                       "machine": machine(), "calls": args.calls, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
