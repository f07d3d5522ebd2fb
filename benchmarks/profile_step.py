"""Where a family's training step spends its time: the TF profiler's ops, summed per op type.

    python benchmarks/profile_step.py cgan_inpaint --variant trainer --steps 5

Builds the family's Trainer as `training_speed.py` does, warms the chosen variant up
(`trainer`, `xla`, `tf.function`), records --steps steps with `tf.profiler`, and prints
the op types (TensorFlow kernels, or XLA thunks: run XLA with
`XLA_FLAGS=--xla_cpu_enable_xprof_traceme=true` to see them) that took the most time
on the worker threads, per step. The trace stays in --logdir for TensorBoard.
"""

import argparse
import collections
import glob
import os
import re
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from training_speed import FAMILIES, FamilyBench  # noqa: E402

# Events that wrap others (the executor, the Python call, thread-pool bookkeeping), not work.
_WRAPPERS = re.compile(r"ThunkExecutor|ExecutorState|EagerExecute|EagerKernelExecute|Execute|__inference|ParallelFor|"
                       r"BlockUntilReady|ThreadPool|PartitionedCall|RunGraph|step$")


def op_kind(name):
    """The op type of a profiler event: `Conv2DBackpropFilter` from `.../conv/Conv2DBackpropFilter:...`."""
    kind = name.split(":")[-1] if ":" in name else name
    kind = kind.split("/")[-1]
    return re.sub(r"[._]\d+$", "", kind)


def worker_times(logdir):
    """{op kind: (picoseconds, count)} over the non-Python threads of the newest trace in `logdir`."""
    path = sorted(glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb")))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    totals, counts = collections.Counter(), collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if line.name == "python":
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if _WRAPPERS.search(name):
                    continue
                totals[op_kind(name)] += event.duration_ps
                counts[op_kind(name)] += 1
    return totals, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("family", choices=FAMILIES)
    parser.add_argument("--variant", default="trainer", choices=["trainer", "xla", "tf.function"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args()
    bench = FamilyBench(args.family, args.batch_size)
    bench.seconds(args.variant, 2)
    logdir = args.logdir or tempfile.mkdtemp(prefix=f"profile_{args.family}_")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    bench.seconds(args.variant, args.steps)
    elapsed = (time.perf_counter() - start) / args.steps
    tf.profiler.experimental.stop()
    totals, counts = worker_times(logdir)
    busy = sum(totals.values())
    print(f"{args.family} ({args.variant}, batch {args.batch_size}): {1000 * elapsed:.1f} ms/step wall, "
          f"{busy / 1e9 / args.steps:.1f} ms/step of op time on worker threads; trace in {logdir}")
    print(f"{'op':34s}{'ms/step':>9s}{'share':>8s}{'calls/step':>12s}")
    for kind, picoseconds in totals.most_common(args.top):
        print(f"{kind[:34]:34s}{picoseconds / 1e9 / args.steps:9.1f}{100 * picoseconds / busy:7.1f}%"
              f"{counts[kind] / args.steps:12.1f}")


if __name__ == "__main__":
    main()
