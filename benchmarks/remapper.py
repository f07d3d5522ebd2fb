"""Grappler's remapper on and off: the Trainer's compiled step, timed in a fresh process each.

    python benchmarks/remapper.py matcher on  --batch-size 32 --image-size 32
    python benchmarks/remapper.py matcher off --batch-size 32 --image-size 32

The remapper fuses convolution + bias + activation (LeakyReLU included) into one oneDNN kernel;
when it fails on a graph ("remapper failed: ... Mutation::Apply error") that whole graph runs
unfused, as with `off`. The option must be set before the step is traced, hence one process
per setting; run the two alternately a few times, since background load moves a step by 2x.
"""

import argparse
import statistics
import tempfile
import time

import tensorflow as tf


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("remapper", choices=["on", "off"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    if args.remapper == "off":
        tf.config.optimizer.set_experimental_options({"remapping": False})
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    overrides = {"image_size": args.image_size} if args.image_size else {}
    trainer = Trainer(TrainConfig(model=args.model, workdir=tempfile.mkdtemp(), batch_size=args.batch_size,
                                  model_overrides=overrides, progress=False, xla=False))
    step = trainer.step_function()
    data = iter(trainer.dataset())
    batches = [next(data) for _ in range(4)]  # in memory: the input pipeline is not what is timed
    times = []
    for index in range(args.steps + 1):
        start = time.perf_counter()
        float(next(iter(step(batches[index % 4], trainer.step_seed(index)).values())))
        times.append(time.perf_counter() - start)
    print(f"{args.model} remapper {args.remapper}, batch {args.batch_size}: first call {times[0]:.1f} s, "
          f"step median {1000 * statistics.median(times[1:]):.1f} ms, min {1000 * min(times[1:]):.1f} ms")


if __name__ == "__main__":
    main()
