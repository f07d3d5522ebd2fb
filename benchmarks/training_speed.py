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

Prints tables and, with --json PATH, writes them there (no file by default: a quick try never
overwrites the committed benchmarks/results/).
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

from zoo.training.config import PRECISIONS, TrainConfig  # noqa: E402
from zoo.training.precision import resolve_precision  # noqa: E402
from zoo.training.trainer import Trainer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hlo_flops  # noqa: E402
import input_pipeline  # noqa: E402
from machine import machine, nominal_peak, summary_line  # noqa: E402

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
        self.step_counter = trainer.step_counter  # the EMA's warm-up reads it, as in the Trainer's step
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
        self.ema.update(self.step_counter)
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

    def __init__(self, family, batch_size, batches=4, xla="auto", precision="float32"):
        self.family = family
        self.batch_size = batch_size
        self.workdir = tempfile.mkdtemp(prefix=f"speed_{family}_")
        self.trainer = Trainer(TrainConfig(model=family, workdir=self.workdir, batch_size=batch_size,
                                           progress=False, xla=xla, precision=precision))
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
def spread(values):
    """(median, min, max) of a list."""
    return statistics.median(values), min(values), max(values)


def measure_family(family, args, peak):
    print(f"\n# {family}: building ({', '.join(args.precisions)}), materialising {args.batch_size}-example batches, "
          "warming up", flush=True)
    benches = {p: FamilyBench(family, args.batch_size, xla=args.xla, precision=p) for p in args.precisions}
    variants = [v for v in VARIANTS if v in args.variants]
    pairs = [(p, v) for p in args.precisions for v in variants]
    steps, warmup = {}, {}
    for pair in pairs:  # tracing and compiling, then an untimed step that sizes the windows
        bench, variant = benches[pair[0]], pair[1]
        start = time.perf_counter()
        bench.window(variant, 1)
        warmup[pair] = time.perf_counter() - start
        step_seconds = bench.seconds(variant, 1)
        steps[pair] = args.steps or max(1, min(50, round(args.window_seconds / step_seconds)))
    rates = {pair: [] for pair in pairs}
    peaks = []
    for round_index in range(args.windows):
        # Each round starts one pair later, so that no variant always follows the same one
        # (a variant right after XLA's, or after the eager one, ran measurably slower).
        shift = round_index % len(pairs)
        for pair in pairs[shift:] + pairs[:shift]:
            rates[pair].append(benches[pair[0]].window(pair[1], steps[pair]))
        if peak is not None:
            peaks.append(peak.window())
    base_precision = args.precisions[0]
    result = {"precisions": {}, "trainer_uses_xla": benches[base_precision].trainer.xla}
    for precision in args.precisions:
        mine = {v: rates[(precision, v)] for v in variants}
        result["precisions"][precision] = {
            "examples_per_second": {v: statistics.median(r) for v, r in mine.items()},
            "windows": mine, "steps_per_window": {v: steps[(precision, v)] for v in variants},
            "first_call_seconds": {v: warmup[(precision, v)] for v in variants},
            # Ratios per round (the two windows of a round are minutes apart at most): median, min, max.
            "ratio_to_trainer": {v: spread([a / b for a, b in zip(mine[v], mine["trainer"])]) for v in variants}
            if "trainer" in variants else {},
        }
        if "trainer" in variants:
            result["precisions"][precision]["trainer_ratio_to_" + base_precision] = spread(
                [a / b for a, b in zip(rates[(precision, "trainer")], rates[(base_precision, "trainer")])])
    result.update({key: result["precisions"][base_precision][key]
                   for key in ("examples_per_second", "windows", "steps_per_window", "first_call_seconds")})
    result["fit_default_uses_xla"] = fit_uses_xla(benches[base_precision]) if "fit" in variants else None
    if peak is not None:
        result["matmul_flops_per_second"] = statistics.median(peaks)
    if not args.no_flops:
        counted = benches[base_precision].flops()
        result["flops_per_step"] = counted["flops"]
        result["loops"] = counted["loops"]
    if args.input_batches:
        # The pipeline the Trainer trains from (`Trainer.dataset()`), measured alone.
        result["input_examples_per_second"] = input_pipeline.measure_dataset(
            benches[base_precision].trainer.dataset(), args.batch_size, args.input_batches)
    return result


def _cell(rate, ratio):
    median, low, high = ratio
    return f"{rate:8.1f} {median:4.2f}x ({low:4.2f}-{high:4.2f})"


def print_table(results, nominal, batch_size):
    precisions = list(next(iter(results.values()))["precisions"]) if results else []
    for precision in precisions:
        variants = [v for v in VARIANTS if any(v in r["precisions"][precision]["examples_per_second"]
                                               for r in results.values())]
        print(f"\nTraining examples/s at batch {batch_size}, {precision} (median of windows), and ratio to "
              "`trainer` (median of the per-round ratios, min-max)")
        print(f"{'family':15s}" + "".join(f"{v:>28s}" for v in variants))
        for family, result in results.items():
            mine = result["precisions"][precision]
            rates, ratios = mine["examples_per_second"], mine["ratio_to_trainer"]
            print(f"{family:15s}" + "".join(_cell(rates[v], ratios[v]) if v in rates and v in ratios
                                            else f"{rates.get(v, float('nan')):28.1f}" for v in variants))
    if len(precisions) > 1:
        base = precisions[0]
        print(f"\nTrainer step per precision: examples/s, and ratio to {base} (median of the per-round ratios, min-max)")
        print(f"{'family':15s}" + "".join(f"{p:>30s}" for p in precisions))
        for family, result in results.items():
            cells = []
            for precision in precisions:
                mine = result["precisions"][precision]
                ratio = mine.get(f"trainer_ratio_to_{base}")
                cells.append(_cell(mine["examples_per_second"]["trainer"], ratio).rjust(30) if ratio else "-".rjust(30))
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
        print("\nInput pipeline (the Trainer's own `Trainer.dataset()`, iterated alone) against the Trainer's consumption")
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
    parser.add_argument("--precisions", nargs="+", default=None, choices=["auto", *PRECISIONS],
                        help="dtype policies to compare, windows interleaved (default: float32, and auto's choice "
                             "on this machine if it is not float32); the first is the base of the ratios")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    auto = resolve_precision("auto")[0]
    args.precisions = list(dict.fromkeys(auto if p == "auto" else p for p in
                                         (args.precisions or ["float32", auto])))
    print(f"precision auto on this machine: {auto} ({resolve_precision('auto')[1]})")
    load_before = os.getloadavg()
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
    load_after = os.getloadavg()
    print(f"\n{summary_line(started)}")
    print("load average before: " + " ".join(f"{x:.2f}" for x in load_before)
          + "; after: " + " ".join(f"{x:.2f}" for x in load_after) + " (1, 5, 15 min)")
    print_table(results, nominal, args.batch_size)
    for family, error in failed.items():
        print(f"{family} failed: {error}")
    if nominal:
        print(f"\nNominal peak {nominal / 1e9:.0f} GFLOP/s: {derivation}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"date": started.isoformat(timespec="seconds"), "command": " ".join(sys.argv),
                       "machine": machine(), "nominal_peak_flops_per_second": nominal,
                       "nominal_peak_derivation": derivation, "batch_size": args.batch_size,
                       "window_seconds": args.window_seconds, "steps": args.steps,
                       "windows": args.windows, "precisions": args.precisions, "auto_precision": auto,
                       "load_average_before": load_before, "load_average_after": load_after,
                       "families": results, "failed": failed}, f, indent=2)


if __name__ == "__main__":
    main()
