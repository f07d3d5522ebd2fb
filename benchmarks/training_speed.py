"""Training speed per family: our Trainer's step against the other ways to run the same step.

    python benchmarks/training_speed.py --families shapes_probe cgan_inpaint --windows 5

For each family (the full, `shapes`-sized model at --batch-size) one Trainer is built and
a few batches of `zoo.data.load("shapes")` are materialised in memory, so input is not
what is measured. These variants then train the same networks on the same batches:

- `trainer`: the Trainer's own step (`Trainer.step_function()`, compiled as its config's
  `xla` says: "auto" is XLA on a GPU or TPU and a plain `tf.function` on CPU), called as
  `Trainer.fit` calls it (losses read back as floats).
- `xla`: the same step with `tf.function(jit_compile=True)`.
- `tf.function`: the same step with `tf.function(jit_compile=False)`.
- `eager`: the same step's Python function run eagerly.
- `fit`: the conventional Keras route, as the keras-io GAN guide writes it: a
  `keras.Model` subclass whose `compile` takes the optimizers and whose `train_step` draws
  a seed from a `SeedGenerator`, runs the family's step (so the arithmetic is identical,
  EMA included) and updates `Mean` loss trackers; `fit()` drives it with `jit_compile` at
  its default ("auto": no XLA on a machine without accelerators).
- `fit xla`: the same with `compile(jit_compile=True)`.
Between rounds, a 2048x2048 float32 matmul measures the peak FLOP/s TensorFlow reaches.

Examples/s is the median over --windows timed windows (each about --window-seconds long)
after warm-up; the windows of the variants are interleaved round-robin (each round
starting one variant later) so that background load hits all of them alike. Each variant is reported as a ratio to
`trainer`. Model FLOPs per step come from the step's XLA HLO (`hlo_flops.py`: matrix
products and convolutions); divided by the trainer's step time they give FLOP/s, shown
as a share of the matmul peak and of the nominal peak (`machine.py`). Last, the
family's input pipeline (`input_pipeline.measure`) is timed against the Trainer's
consumption.

Prints tables and writes --json (default benchmarks/results/training_speed.json).
Runs unchanged on a GPU (TensorFlow chooses the device); memory is in `memory.py`.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from zoo.training.config import TrainConfig  # noqa: E402
from zoo.training.trainer import Trainer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hlo_flops  # noqa: E402
import input_pipeline  # noqa: E402
from machine import RESULTS, machine, nominal_peak, summary_line  # noqa: E402

FAMILIES = ("shapes_probe", "matcher", "regression_t2i", "cvae_t2i", "captioner", "cgan_t2i", "cgan_i2i",
            "cgan_inpaint")
VARIANTS = ("trainer", "xla", "tf.function", "eager", "fit", "fit xla")


# === The machine's peak ===
class MatmulPeak:
    """A large float32 matmul: the FLOP/s TensorFlow reaches on this machine."""

    def __init__(self, size=2048):
        self.size = size
        self.a = tf.random.normal([size, size])
        self.b = tf.random.normal([size, size])
        self.matmul = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
        self.matmul(self.a, self.b).numpy()

    def window(self, repeats=3):
        start = time.perf_counter()
        for _ in range(repeats):
            self.matmul(self.a, self.b).numpy()
        return repeats * 2 * self.size ** 3 / (time.perf_counter() - start)


# === The variants ===
class KerasRouteModel(keras.Model):
    """The keras-io GAN guide's shape: `compile` takes the optimizers, `train_step` does one batch.

    Args:
        trainer: a built `Trainer`, whose task, family step, hyperparameters and EMA are reused.
        loss_names: the keys the family step returns, one `Mean` tracker each.
    """

    def __init__(self, trainer, loss_names, **kwargs):
        super().__init__(**kwargs)
        self.task = trainer.task
        self.family_step = trainer.steps.train_step
        self.hparams = trainer.hparams
        self.ema = trainer.ema
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in loss_names]

    def compile(self, optimizers, jit_compile="auto"):
        super().compile(jit_compile=jit_compile)
        self.family_optimizers = optimizers

    @property
    def metrics(self):
        return self.loss_trackers

    def train_step(self, batch):
        seed = tf.cast(self.seed_generator.next(), tf.int32)
        losses = self.family_step(self.task, self.family_optimizers, batch, seed, self.hparams)
        self.ema.update()
        for tracker in self.loss_trackers:
            tracker.update_state(losses[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.loss_trackers}


class _BatchTimes(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


class FamilyBench:
    """One family's Trainer, its materialised batches, and a timed window per variant."""

    def __init__(self, family, batch_size, batches=4, xla="auto"):
        self.family = family
        self.batch_size = batch_size
        self.workdir = tempfile.mkdtemp(prefix=f"speed_{family}_")
        self.trainer = Trainer(TrainConfig(model=family, workdir=self.workdir, batch_size=batch_size,
                                           progress=False, xla=xla))
        iterator = iter(self.trainer.dataset())
        self.batches = [next(iterator) for _ in range(batches)]
        self.step = 0
        trainer_step = self.trainer.step_function()
        python_step = trainer_step.python_function
        self.functions = {
            "trainer": trainer_step,
            "xla": tf.function(python_step, jit_compile=True, reduce_retracing=True),
            "tf.function": tf.function(python_step, jit_compile=False, reduce_retracing=True),
            "eager": python_step,
        }
        self.loss_names = None
        self.fit_models = {}

    def _next(self):
        batch = self.batches[self.step % len(self.batches)]
        seed = self.trainer.step_seed(self.step)
        self.step += 1
        return batch, seed

    def run_steps(self, variant, steps):
        """Seconds for `steps` steps of a step-function variant, losses read back as `Trainer.fit` does."""
        function = self.functions[variant]
        start = time.perf_counter()
        for _ in range(steps):
            losses = {k: float(v) for k, v in function(*self._next()).items()}
        self.loss_names = self.loss_names or sorted(losses)
        return time.perf_counter() - start

    def fit_model(self, variant):
        if variant not in self.fit_models:
            model = KerasRouteModel(self.trainer, self.loss_names or sorted(self.functions["trainer"](*self._next())))
            model.compile(self.trainer.optimizers, jit_compile=True if variant == "fit xla" else "auto")
            stacked = tf.nest.map_structure(lambda *xs: tf.stack(xs), *self.batches)
            self.fit_models[variant] = (model, tf.data.Dataset.from_tensor_slices(stacked).repeat())
        return self.fit_models[variant]

    def run_fit(self, variant, steps):
        """Seconds for `steps` batches of `fit`, from the end of its first batch (setup and tracing excluded)."""
        model, dataset = self.fit_model(variant)
        timer = _BatchTimes()
        model.fit(dataset, epochs=1, steps_per_epoch=steps + 1, verbose=0, shuffle=False, callbacks=[timer])
        return timer.times[-1] - timer.times[0]

    def seconds(self, variant, steps):
        """Seconds for one window of `steps` steps."""
        return self.run_fit(variant, steps) if variant.startswith("fit") else self.run_steps(variant, steps)

    def window(self, variant, steps):
        """Examples per second over one window of `steps` steps."""
        return steps * self.batch_size / self.seconds(variant, steps)

    def flops(self):
        return hlo_flops.step_flops(self.functions["xla"], *self._next())


def fit_uses_xla(bench):
    model, _ = bench.fit_model("fit")
    return bool(model.jit_compile)


# === The run ===
def measure_family(family, args, peak):
    print(f"\n# {family}: building, materialising {args.batch_size}-example batches, warming up", flush=True)
    bench = FamilyBench(family, args.batch_size, xla=args.xla)
    variants = [v for v in VARIANTS if v in args.variants]
    steps, warmup = {}, {}
    for variant in variants:  # tracing and compiling, then an untimed step that sizes the windows
        start = time.perf_counter()
        bench.window(variant, 1)
        warmup[variant] = time.perf_counter() - start
        step_seconds = bench.seconds(variant, 1)
        steps[variant] = args.steps or max(1, min(50, round(args.window_seconds / step_seconds)))
    rates = {v: [] for v in variants}
    peaks = []
    for round_index in range(args.windows):
        # Each round starts one variant later, so that no variant always follows the same one
        # (a variant right after XLA's, or after the eager one, ran measurably slower).
        shift = round_index % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            rates[variant].append(bench.window(variant, steps[variant]))
        if peak is not None:
            peaks.append(peak.window())
    result = {"examples_per_second": {v: statistics.median(r) for v, r in rates.items()},
              "windows": rates, "steps_per_window": steps, "first_call_seconds": warmup, "fit_default_uses_xla": fit_uses_xla(bench)
              if "fit" in variants else None, "trainer_uses_xla": bench.trainer.xla}
    if peak is not None:
        result["matmul_flops_per_second"] = statistics.median(peaks)
    if not args.no_flops:
        counted = bench.flops()
        result["flops_per_step"] = counted["flops"]
        result["loops"] = counted["loops"]
    if args.input_batches:
        options = dict(name="shapes", split="train", **bench.trainer.steps.dataset_options)
        result["input_examples_per_second"] = input_pipeline.measure(options, args.batch_size, args.input_batches)
    return result


def print_table(results, nominal, batch_size):
    variants = [v for v in VARIANTS if any(v in r["examples_per_second"] for r in results.values())]
    print(f"\nTraining examples/s at batch {batch_size} (median of windows) and ratio to `trainer`")
    header = f"{'family':15s}" + "".join(f"{v:>20s}" for v in variants)
    print(header)
    for family, result in results.items():
        rates = result["examples_per_second"]
        base = rates.get("trainer")
        cells = []
        for v in variants:
            if v not in rates:
                cells.append(f"{'-':>20s}")
            elif base:
                cells.append(f"{rates[v]:10.1f} ({rates[v] / base:5.2f}x)")
            else:
                cells.append(f"{rates[v]:20.1f}")
        print(f"{family:15s}" + "".join(cells))
    if any("flops_per_step" in r for r in results.values()):
        print("\nModel FLOPs (dot + convolution, from the step's HLO) against peak")
        print(f"{'family':15s}{'GFLOP/step':>12s}{'step ms':>10s}{'GFLOP/s':>10s}{'matmul GFLOP/s':>16s}"
              f"{'% matmul':>10s}{'% nominal':>11s}")
        for family, result in results.items():
            if "flops_per_step" not in result or "trainer" not in result["examples_per_second"]:
                continue
            step_seconds = batch_size / result["examples_per_second"]["trainer"]
            achieved = result["flops_per_step"] / step_seconds
            peak = result.get("matmul_flops_per_second")
            share = f"{100 * achieved / peak:9.1f}%" if peak else f"{'-':>10s}"
            nominal_share = f"{100 * achieved / nominal:10.1f}%" if nominal else f"{'-':>11s}"
            result["trainer_flops_per_second"] = achieved
            print(f"{family:15s}{result['flops_per_step'] / 1e9:12.2f}{1000 * step_seconds:10.1f}"
                  f"{achieved / 1e9:10.1f}{(peak or 0) / 1e9:16.1f}{share}{nominal_share}")
    if any("input_examples_per_second" in r for r in results.values()):
        print("\nInput pipeline (zoo.data.load with the family's options) against the Trainer's consumption")
        print(f"{'family':15s}{'input ex/s':>12s}{'trainer ex/s':>14s}{'headroom':>10s}")
        for family, result in results.items():
            if "input_examples_per_second" in result and "trainer" in result["examples_per_second"]:
                supply, demand = result["input_examples_per_second"], result["examples_per_second"]["trainer"]
                print(f"{family:15s}{supply:12.0f}{demand:14.1f}{supply / demand:9.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--window-seconds", type=float, default=2.0,
                        help="length of a timed window; each variant's step count is sized to it after warm-up")
    parser.add_argument("--steps", type=int, default=None, help="a fixed step count per window instead")
    parser.add_argument("--windows", type=int, default=5, help="timed windows per variant (the median is reported)")
    parser.add_argument("--input-batches", type=int, default=20,
                        help="batches per input-pipeline window (0: skip the input pipeline)")
    parser.add_argument("--matmul-size", type=int, default=2048, help="0: skip the peak matmul")
    parser.add_argument("--no-flops", action="store_true", help="skip counting FLOPs from the HLO")
    parser.add_argument("--xla", default="auto", type=lambda v: {"true": True, "false": False}.get(v, v),
                        choices=["auto", True, False], help="the Trainer's config.xla (auto, true, false)")
    parser.add_argument("--json", default=os.path.join(RESULTS, "training_speed.json"))
    args = parser.parse_args()
    nominal, derivation = nominal_peak()
    peak = MatmulPeak(args.matmul_size) if args.matmul_size else None
    started = datetime.datetime.now(datetime.timezone.utc)
    results, failed = {}, {}
    for family in args.families:
        try:
            results[family] = measure_family(family, args, peak)
        except Exception as error:  # one family's failure (e.g. code being edited) keeps the others
            failed[family] = f"{type(error).__name__}: {str(error).strip().splitlines()[-1]}"
            print(f"  {family} failed: {failed[family]}", flush=True)
            continue
        rates = results[family]["examples_per_second"]
        print("  examples/s: " + ", ".join(f"{v} {r:.1f}" for v, r in rates.items()), flush=True)
    print(f"\n{summary_line(started)}")
    print_table(results, nominal, args.batch_size)
    for family, error in failed.items():
        print(f"{family} failed: {error}")
    if nominal:
        print(f"\nNominal peak {nominal / 1e9:.0f} GFLOP/s: {derivation}")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"date": started.isoformat(timespec="seconds"), "command": " ".join(sys.argv),
                   "machine": machine(), "nominal_peak_flops_per_second": nominal,
                   "nominal_peak_derivation": derivation, "batch_size": args.batch_size,
                   "window_seconds": args.window_seconds, "steps": args.steps,
                   "windows": args.windows, "families": results, "failed": failed}, f, indent=2)


if __name__ == "__main__":
    main()
