"""Examples per second of `zoo.data.load` (rendering, masks, tokenization, batching).

    python benchmarks/input_pipeline.py --batches 40 --batch-size 32 --json benchmarks/results/input_pipeline.json

Prints one row per configuration and, with --json PATH, writes them there (no file by default, so a
quick try never overwrites the committed results).
Compare with the Trainer's consumption (batch size / step time) to see whether
rendering can starve training; `training_speed.py` does so per family with the Trainer's
own pipeline. "prepared" reads scenes rendered once to disk (`zoo data prepare shapes`);
the first such row prepares the split if it is missing (not timed).
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import zoo  # noqa: E402

CONFIGS = [  # rendered on the fly (cache=False) against the prepared scenes (cache=True: prepared first if missing)
    (f"shapes train, {label}, {'prepared' if cache else 'rendered'}",
     dict(name="shapes", split="train", cache=cache, **options))
    for label, options in [("masks=mix", dict(masks="mix")), ("no masks", dict(masks=None)),
                           ("128 px, masks=mix", dict(masks="mix", image_size=128))]
    for cache in (False, True)
]


def measure(options, batch_size, batches, windows=3):
    """Median examples/s of `zoo.data.load(**options)` over `windows` windows of `batches` batches."""
    return measure_dataset(zoo.data.load(batch_size=batch_size, **options), batch_size, batches, windows)


def measure_dataset(dataset, batch_size, batches, windows=3):
    """Median examples/s of iterating `dataset` (batches of `batch_size`), after a warm-up."""
    iterator = iter(dataset)
    for _ in range(5):  # warm-up: thread pools, autotuning
        next(iterator)
    rates = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        rates.append(batches * batch_size / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    results = {}
    for label, options in CONFIGS:
        results[label] = measure(options, args.batch_size, args.batches)
        print(f"{label:40s} {results[label]:8.0f} examples/s")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"batch_size": args.batch_size, "examples_per_second": results}, f, indent=2)


if __name__ == "__main__":
    main()
