"""Peak memory of training per family and batch size: host RSS high-water mark, and GPU peak when there is one.

    python benchmarks/memory.py --families shapes_probe cgan_i2i --batch-sizes 8 32 --steps 3

Each (family, batch size) runs in its own process (`--child`), so every high-water mark
starts from a fresh interpreter: the process builds the Trainer (the full, `shapes`-sized
model, compiled as --xla says: the Trainer's default "auto" is a plain tf.function on
CPU), materialises one batch and runs --steps compiled steps, then
reports `resource.getrusage(RUSAGE_SELF).ru_maxrss` (XLA compilation included), its RSS
right after importing TensorFlow and zoo (the baseline every process pays), and on a GPU
`tf.config.experimental.get_memory_info("GPU:0")["peak"]`.

Prints a table and, with --json PATH, writes it there (no file by default).
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FAMILIES = ("shapes_probe", "matcher", "regression_t2i", "cvae_t2i", "captioner", "cgan_t2i", "cgan_i2i",
            "cgan_inpaint")


def current_rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _xla_value(text):
    return {"true": True, "false": False}.get(text, text)


def child(family, batch_size, steps, xla):
    import tensorflow as tf

    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer

    baseline = current_rss_bytes()
    config = TrainConfig(model=family, workdir=tempfile.mkdtemp(prefix=f"memory_{family}_"),
                         batch_size=batch_size, progress=False, xla=xla)
    trainer = Trainer(config)
    batch = next(iter(trainer.dataset()))
    step = trainer.step_function()
    for i in range(steps):
        {k: float(v) for k, v in step(batch, trainer.step_seed(i)).items()}
    gpu_peak = None
    if tf.config.list_physical_devices("GPU"):
        gpu_peak = tf.config.experimental.get_memory_info("GPU:0")["peak"]
    # ru_maxrss is in kilobytes on Linux.
    print(json.dumps({"family": family, "batch_size": batch_size, "baseline_rss_bytes": baseline,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "gpu_peak_bytes": gpu_peak, "xla": trainer.xla}))


def run_child(family, batch_size, steps, xla):
    command = [sys.executable, os.path.abspath(__file__), "--child", family, str(batch_size), "--steps", str(steps),
               "--xla", str(xla).lower()]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"family": family, "batch_size": batch_size, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[8, 32])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--xla", default="auto", type=_xla_value, choices=["auto", True, False],
                        help="the Trainer's config.xla (auto, true, false)")
    parser.add_argument("--child", nargs=2, metavar=("FAMILY", "BATCH_SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.steps, args.xla)
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from machine import machine, summary_line

    started = datetime.datetime.now(datetime.timezone.utc)
    rows = []
    for family in args.families:
        for batch_size in args.batch_sizes:
            rows.append(run_child(family, batch_size, args.steps, args.xla))
            print(f"  {family} batch {batch_size}: done", flush=True)
    print(f"\n{summary_line(started)}; one process per row, {args.steps} training steps, xla={args.xla}")
    print(f"{'family':15s}{'batch':>6s}{'peak RSS MiB':>14s}{'baseline MiB':>14s}{'peak - baseline':>17s}"
          f"{'GPU peak MiB':>14s}")
    mib = 2 ** 20
    for row in rows:
        if "error" in row:
            print(f"{row['family']:15s}{row['batch_size']:6d}  failed: {row['error']}")
            continue
        gpu = f"{row['gpu_peak_bytes'] / mib:14.0f}" if row["gpu_peak_bytes"] is not None else f"{'no GPU':>14s}"
        print(f"{row['family']:15s}{row['batch_size']:6d}{row['peak_rss_bytes'] / mib:14.0f}"
              f"{row['baseline_rss_bytes'] / mib:14.0f}"
              f"{(row['peak_rss_bytes'] - row['baseline_rss_bytes']) / mib:17.0f}{gpu}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"date": started.isoformat(timespec="seconds"), "command": " ".join(sys.argv),
                       "machine": machine(), "steps": args.steps, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
