"""The Trainer: owns the loop around a family's compiled step.

It builds the task and one optimizer per group (before the first compiled step),
compiles the step (with XLA on a GPU or TPU, as a plain tf.function on CPU: see
`TrainConfig.xla`), keeps an exponential moving average (EMA) of the generator
weights, checkpoints every N steps and on Ctrl-C / SIGTERM, resumes
from the exact step, writes TensorBoard summaries and a progress bar, and stops
on a NaN or Inf loss keeping the last good checkpoint. Under a `multi_worker`
strategy every worker steps and saves, but only the chief writes the run's files.

What a run can rely on (README, "What `zoo train` guarantees"): the workdir is locked
while the run trains (`workdir.WorkdirLock`); only finite weights are saved; resume
takes the newest intact checkpoint (`checkpoints.newest_intact`); `config.json` is
replaced atomically and holds no absolute path; a failed write names the file and the
intact checkpoint (`WorkdirWriteError`).

Example:
    config = TrainConfig(model="cgan_t2i_tiny", workdir="runs/demo", steps=100, batch_size=8)
    trainer = Trainer(config)
    trainer.fit()
"""

import contextlib
import itertools
import json
import logging
import math
import os
import shutil
import signal
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo.data.errors import DataError
from zoo.data.pipeline import DRAWN_MASK_KINDS
from zoo.errors import error_reason
from zoo.export.savedmodel import portable_config
from zoo.training import distribute
from zoo.training.checkpoints import (NoIntactCheckpointError, all_finite, checkpoint_paths,
                                     newest_intact, restore_newest_intact)
from zoo.training.config import BEST_METRICS, FIXED_ON_RESUME, TrainConfig
from zoo.training.ema import ExponentialMovingAverage
from zoo.training.precision import loss_scaled, resolve_precision
from zoo.training.runs import (BEST_DIR, BEST_FILE, VOCABULARY_FILE, data_vocabulary, export_metadata,
                               export_vocabulary, exported_version, load_trained, read_best, run_vocabulary)
from zoo.training.steps import get_steps
from zoo.training.workdir import WorkdirLock, WorkdirWriteError, atomic_write_text

log = logging.getLogger("zoo.training")

_STEP_KEYS = ("image", "tokens", "mask", "label_map", "objects")


class NonFiniteLossError(RuntimeError):
    """A loss or a weight became NaN or Inf; the last good checkpoint is kept."""


class Trainer:
    """Trains `config.model` on `config.data`; see the module docstring.

    Args:
        config: a `TrainConfig`.
        resume: continue from the newest intact checkpoint in `config.workdir` (same optimizer
            state, same step); without it an existing checkpoint is an error, so nothing is
            overwritten. The chief holds the workdir's lock from here to the end of `fit()`
            (`close()` releases it sooner).

    Python's, NumPy's, TensorFlow's and Keras' global random seeds are set to `config.seed`
    (`keras.utils.set_random_seed`) before the model is built, so that a fresh run of a config
    starts from the same weights; the data order and the steps' noise follow the seed too.
    """

    def __init__(self, config, resume=False):
        self.config = config
        self.resume = resume
        self.checkpoint_dir = os.path.join(config.workdir, "checkpoints")
        self.stopped_by = None  # the signal's name when SIGINT / SIGTERM ended `fit()` early
        # The signal's name when one came during `fit()`, even after the last step (the run is then
        # complete, but a recipe must not go on to its next stage).
        self.stop_requested = None
        self._stop_requested = None
        self._fixed_batch = None
        self._saved_step = None
        self._unverified = None  # a checkpoint saved by this run whose weights no step has used yet
        self._lock = WorkdirLock(config.workdir)
        try:
            os.makedirs(config.workdir, exist_ok=True)
        except OSError as error:
            raise WorkdirWriteError(f"Cannot create the workdir {config.workdir!r}: {error.strerror}.") from None
        self.strategy, self.xla = distribute.make_strategy(config)
        # Every worker saves (saving runs collectives) and every worker steps, but only the
        # chief writes the run's files; the others save into a scratch directory.
        self.is_chief = self.strategy.extended.should_checkpoint
        if self.is_chief:
            self._lock.acquire()
        try:
            self._set_up(config, resume)
        except BaseException:
            self.close()
            raise

    def _set_up(self, config, resume):
        self._check_workdir()
        self.precision, _ = resolve_precision(config.precision)
        if resume:
            self._check_resume_config()
        # The policy applies to the layers built here; it is put back so that it does not leak.
        with _global_dtype_policy(self.precision):
            self._build(config, resume)
        self.step_counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.checkpoint = tf.train.Checkpoint(
            task=self.task, step=self.step_counter, ema=self.ema.checkpointable(), **self.optimizers
        )
        save_dir = self.checkpoint_dir if self.is_chief else tempfile.mkdtemp(prefix="zoo-worker-checkpoints-")
        if self.is_chief:
            _set_aside_damaged_index(self.checkpoint_dir)
        self.manager = tf.train.CheckpointManager(self.checkpoint, save_dir, max_to_keep=config.keep_checkpoints)
        if resume:
            self._restore()
        self._set_up_best(config, resume)
        if self.is_chief:
            config_path = os.path.join(config.workdir, "config.json")
            try:
                config.save(config_path)
            except OSError as error:
                raise WorkdirWriteError(f"Cannot write {config_path!r}: {error.strerror}. "
                                        f"{self._intact_note()}") from None

    def _set_up_best(self, config, resume):
        """`keep_best`: check the run can score itself, and take up the best so far of a resumed run."""
        if config.keep_best is not None and not (config.data == "shapes" and self.task.draws_scenes):
            raise ValueError(f"keep_best selects on the strict reader's scores of the sampled validation scenes, which "
                             f"only runs that draw `shapes` scenes have; this run trains {self.task.family} on "
                             f"{config.data!r}. Leave keep_best unset (null).")
        if config.keep_best is not None and config.strategy == "multi_worker":
            raise ValueError("keep_best is for runs on one machine (strategy default or mirrored): the chief alone "
                             "scores the samples, and a multi-worker checkpoint needs every worker.")
        self.best_dir = os.path.join(config.workdir, BEST_DIR)
        best = read_best(config.workdir) if resume else None
        self._best = best if best is not None and best["metric"] == config.keep_best else None
        if self.is_chief and os.path.isdir(self.best_dir) and self._best is None and (config.keep_best or not resume):
            # A fresh run's workdir holds no checkpoint (`_check_workdir`), so this best is an earlier run's;
            # a best kept on another metric does not compare with this run's.
            log.warning("removing %s (%s)", self.best_dir, f"kept on {best['metric']}" if best else "an earlier run's")
            shutil.rmtree(self.best_dir)
        # What `load_trained` reads: the weights and their moving average (no optimizer slots).
        self._best_checkpoint = tf.train.Checkpoint(task=self.task, step=self.step_counter, ema=self.ema.checkpointable())

    def _keep_if_best(self, step, scores):
        """Keep this step's weights in `best/` if they beat the best so far on `keep_best` (ties keep the earlier)."""
        metric = self.config.keep_best
        value = float(scores[BEST_METRICS[metric]])
        if not np.isfinite(value) or (self._best is not None and value <= self._best["value"]):
            return
        best = {"metric": metric, "value": value, "step": step, "checkpoint": f"ckpt-{step}"}
        try:
            os.makedirs(self.best_dir, exist_ok=True)
            self._best_checkpoint.write(os.path.join(self.best_dir, best["checkpoint"]))
            # The new one is written before best.json names it, and the old one removed after: a run killed
            # in between leaves a best.json naming a complete checkpoint.
            atomic_write_text(os.path.join(self.best_dir, BEST_FILE), json.dumps(best, indent=1) + "\n")
        except (OSError, tf.errors.OpError) as error:
            raise WorkdirWriteError(f"Cannot write the best checkpoint to {self.best_dir} ({error_reason(error)}). "
                                    f"{self._intact_note()} Free space or make the workdir writable, then --resume.") from None
        if self._best is not None and self._best["checkpoint"] != best["checkpoint"]:
            for name in tf.io.gfile.glob(os.path.join(self.best_dir, self._best["checkpoint"] + ".*")):
                os.remove(name)
        log.info("%s %.4f at step %d, the best so far: kept in %s", metric, value, step, self.best_dir)
        self._best = best

    def close(self):
        """Release the workdir's lock (also done when `fit()` ends, and by the OS when the process ends)."""
        self._lock.release()

    # === Set-up ===
    def _build(self, config, resume):
        vocabulary = run_vocabulary(config.workdir)
        export = exported_version(config.init_from) if config.init_from and not resume else None
        if vocabulary is None and not resume:
            # A model started from an export keeps the export's words: its embeddings are indexed by them.
            vocabulary = export_vocabulary(export) if export else data_vocabulary(config)
            if vocabulary is not None and self.is_chief:
                path = os.path.join(config.workdir, VOCABULARY_FILE)
                try:
                    atomic_write_text(path, "\n".join(vocabulary.tokens) + "\n")
                except OSError as error:
                    raise WorkdirWriteError(f"Cannot write {path!r}: {error.strerror}.") from None
        keras.utils.set_random_seed(config.seed)  # the initial weights: a fresh run is reproducible
        with self.strategy.scope():
            # A resumed run's checkpoint holds every weight: pretrained files are not read again.
            self.task = zoo.build(config.model, vocabulary=vocabulary, initial_weights=not resume,
                                  **config.model_overrides)
        if self.task.uses_text:
            # The tokenizer keeps its words in a string variable; made outside the strategy, because
            # MultiWorkerMirroredStrategy broadcasts initial values with collectives that take numbers only.
            self.task.tokenizer
        with self.strategy.scope():
            self.task.build_all()
            self.steps = get_steps(self.task.family)
            if export:
                self._initialise_from_export(export)
            elif config.init_from and not resume:
                self._initialise_from(config.init_from)
            self.hparams = self._hparams()
            self.optimizers = self._make_optimizers()
            self.ema = ExponentialMovingAverage(self.steps.ema_networks(self.task), config.ema_decay)

    def _check_workdir(self):
        existing = checkpoint_paths(self.checkpoint_dir)
        if existing and not self.resume:
            raise FileExistsError(
                f"{self.config.workdir!r} already holds a run (checkpoint {existing[0]}); "
                "pass resume=True (--resume) to continue it, or choose another workdir."
            )

    def _check_resume_config(self):
        """A resumed run may change how it trains (steps, learning rate, ...), not what it trains."""
        path = os.path.join(self.config.workdir, "config.json")
        if not os.path.exists(path):
            return
        saved = TrainConfig.load(path)
        changed = [f"{name} (trained with {getattr(saved, name)!r}, asked {getattr(self.config, name)!r})"
                   for name in FIXED_ON_RESUME if not saved.same_setting(self.config, name)]
        saved_precision, _ = resolve_precision(saved.precision)
        if loss_scaled(saved_precision) != loss_scaled(self.precision):
            changed.append(f"precision (trained with {saved.precision!r}, asked {self.config.precision!r}: "
                           "only mixed_float16 checkpoints hold a loss scale)")
        if changed:
            raise ValueError(f"--resume cannot change {', '.join(changed)}: the checkpoint's variables were made "
                             f"for the saved values. Train a new run in another workdir instead.")

    def _intact_note(self):
        """For error messages: which checkpoint a failure leaves intact."""
        try:
            latest = newest_intact(self.checkpoint_dir, quiet=True)
        except NoIntactCheckpointError:  # every checkpoint damaged: said, not raised over the first error
            latest = None
        return f"The last checkpoint {latest} is intact." if latest else "There is no good checkpoint to resume from."

    def _hparams(self):
        unknown = sorted(set(self.config.hparams) - set(self.steps.hparams))
        if unknown:
            raise ValueError(
                f"Unknown hparams {unknown} for {self.task.family}; known: {sorted(self.steps.hparams)}."
            )
        return {**self.steps.hparams, **self.config.hparams}

    def _optimizer_settings(self):
        defaults = {"learning_rate": 2e-4, "beta_1": 0.5, "beta_2": 0.999, **self.steps.optimizer_defaults}
        return {key: getattr(self.config, key) if getattr(self.config, key) is not None else defaults[key]
                for key in ("learning_rate", "beta_1", "beta_2")}

    def learning_rate_at(self, step):
        """The learning rate of step `step` (0-based): the config's, or under `lr_decay_from` its
        linear fall to zero at `steps` (the last step trains at 1/(steps - lr_decay_from) of it)."""
        rate = self._optimizer_settings()["learning_rate"]
        start, end = self.config.lr_decay_from, self.config.steps
        if start is None or step < start:
            return rate
        return rate * max(end - step, 0) / (end - start)

    def _set_learning_rate(self, step):
        rate = self.learning_rate_at(step)
        for optimizer in self.optimizers.values():
            optimizer.learning_rate = rate

    def _make_optimizers(self):
        settings = self._optimizer_settings()
        optimizers = {}
        for group, variables in self.steps.optimizer_groups(self.task).items():
            optimizer = keras.optimizers.Adam(name=f"{group}_adam", **settings)
            if loss_scaled(self.precision):
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer, name=f"{group}_loss_scale")
            optimizer.build(variables)  # XLA cannot create the slot variables later
            optimizers[group] = optimizer
        return optimizers

    def _initialise_from(self, workdir):
        """Start from another run's networks named by the family's `pretrained_networks` (those it has)."""
        latest = newest_intact(os.path.join(workdir, "checkpoints"), "init_from")
        if latest is None:
            raise FileNotFoundError(f"init_from: no checkpoint in {workdir!r}.")
        shared = {name: network for name, network in self.task.networks().items()
                  if name in self.steps.pretrained_networks}
        if not shared and not self.config.init_networks:
            # An inpainter without text, say: nothing would be copied, and the run would train from scratch.
            raise ValueError(f"init_from: {self.config.model!r} has none of the networks a run takes from another "
                             f"run's workdir ({', '.join(self.steps.pretrained_networks)}); name the networks to copy "
                             "with init_networks (e.g. {\"generator\": \"generator\"}), or give an export of the "
                             "same model (zoo export) to start from all of it.")
        if shared:  # a family without them (an inpainter without text) copies only init_networks
            # Only these branches of the other run's object graph are read.
            partial = tf.train.Checkpoint(task=tf.train.Checkpoint(**shared))
            partial.restore(latest).expect_partial().assert_existing_objects_matched()
            log.info("initialised %s from %s", ", ".join(sorted(shared)), latest)
        if self.config.init_networks:
            self._initialise_networks(workdir)

    def _initialise_from_export(self, version):
        """Fine-tuning: every weight of an exported model of the same family and config (`zoo export`
        writes the task whole: the generator's EMA weights where the run kept them, the discriminator,
        the text encoder); the optimizers start afresh."""
        metadata = export_metadata(version)
        if metadata.get("family") != self.task.family:
            raise ValueError(f"init_from: {version!r} is an export of {metadata.get('family')!r}; this run trains "
                             f"{self.config.model!r} ({self.task.family}). Start from an export of the same family.")
        ours = json.loads(json.dumps(portable_config(self.task), default=str))
        theirs = metadata.get("config", {})
        differ = sorted(key for key in set(ours) | set(theirs) if ours.get(key) != theirs.get(key))
        if differ:
            raise ValueError(f"init_from: {version!r} was built with other settings than {self.config.model!r}: "
                             + ", ".join(f"{key} {theirs.get(key)!r} there, {ours.get(key)!r} here" for key in differ)
                             + ". Build the same model (model name and model_overrides) to start from it.")
        if self.config.init_networks:
            raise ValueError("init_networks copies networks of a training run; an export given as init_from "
                             "restores the whole model, so leave init_networks empty.")
        status = tf.train.Checkpoint(task=self.task).read(os.path.join(version, "variables", "variables"))
        status.expect_partial().assert_existing_objects_matched()
        log.info("initialised every network from the export %s (%s steps)", version, metadata.get("trained_steps"))

    def _initialise_networks(self, workdir):
        """`init_networks`: copy whole networks of the `init_from` run (its EMA weights where it kept them)."""
        source = load_trained(workdir)
        ours, theirs = self.task.networks(), source.networks()
        for target, origin in self.config.init_networks.items():
            if target not in ours or origin not in theirs:
                raise ValueError(f"init_networks: {target!r} -> {origin!r}: {self.task.family} has networks "
                                 f"{sorted(ours)}, the run in {workdir!r} ({source.family}) has {sorted(theirs)}.")
            copy_layer_weights(theirs[origin], ours[target])
            log.info("initialised %s from %s's %s", target, source.family, origin)

    def _restore(self):
        latest = restore_newest_intact(self.checkpoint, self.checkpoint_dir, "--resume")
        if latest is None:
            raise FileNotFoundError(f"--resume: no checkpoint in {self.config.workdir!r} to resume from; "
                                    "train it again without --resume.")
        # The optimizers' learning rate is a variable, so the checkpoint brought back the old one;
        # the config's (which `config.json` records) is what this run trains with.
        self._set_learning_rate(int(self.step_counter))
        self._saved_step = int(self.step_counter)
        log.info("resumed from %s at step %d", latest, int(self.step_counter))

    # === Data ===
    def dataset(self, split="train", skip_examples=0, **options):
        image_size = getattr(self.task.config, "image_size", 64)
        options = {**self.steps.dataset_options, **options}
        if self.config.masks is not None and options.get("masks") is not None:
            options["masks"] = self.config.masks
        elif options.get("masks") in DRAWN_MASK_KINDS and self.config.data != "shapes":
            raise DataError(f"{self.task.family} on {self.config.data!r} needs hole masks: give a folder of mask "
                            "images with --masks (TrainConfig.masks), e.g. ../shared/data/masks; the drawn mask "
                            f"kinds ({', '.join(DRAWN_MASK_KINDS)}) are for `shapes` scenes.")
        kwargs = {"vocabulary": self.task.vocabulary, "max_length": self.task.config.max_length} \
            if getattr(self.task, "uses_text", False) else {}
        if self.config.data == "shapes":
            options.setdefault("cache", self._shapes_cache(split))
        dataset = zoo.data.load(self.config.data, split=split, batch_size=self.config.batch_size,
                                image_size=image_size, path=self.config.data_path, seed=self.config.seed,
                                skip_examples=skip_examples, **kwargs, **options)
        if split != "train":
            return dataset
        return dataset.map(lambda batch: {k: v for k, v in batch.items() if k in _STEP_KEYS})

    def _shapes_cache(self, split):
        """A run that reads the training split at least once through prepares it first (`shapes_cache`):
        rendering it once costs less than rendering it on the fly. Shorter runs read what is prepared."""
        from zoo.data.shapes import SPLITS

        reads = (self.config.steps - int(self.step_counter)) * self.config.batch_size
        return True if split == "train" and reads >= SPLITS["train"] else "auto"

    # === The compiled step ===
    def step_function(self):
        """The compiled training step `step(batch, seed) -> losses` (the family's step, then the EMA),
        run on every replica; XLA-compiled where the config says so. `fit` calls it; benchmarks time it."""
        task, optimizers, hparams, train_step, ema = self.task, self.optimizers, self.hparams, self.steps.train_step, self.ema
        step_counter = self.step_counter

        replicas = self.strategy.num_replicas_in_sync

        def replica_step(batch, seed):
            if replicas > 1:
                # Each replica draws its own noise for its share of the batch, not a copy of another's.
                replica = tf.distribute.get_replica_context().replica_id_in_sync_group
                seed = tf.random.experimental.stateless_fold_in(seed, replica)
            losses = train_step(task, optimizers, batch, seed, hparams)
            ema.update(step_counter)  # the steps done before this one: the average's warm-up
            return losses

        def step(batch, seed):
            per_replica = self.strategy.run(replica_step, args=(batch, seed))
            return {k: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

        # No AutoGraph: the steps branch on Python values (hparams, config) only, and converting every
        # function they call took about a quarter of the trace (cgan_t2i_tiny: 13-15 s -> 10-11 s).
        return tf.function(step, jit_compile=self.xla, reduce_retracing=True, autograph=False)

    def step_seed(self, step):
        """The step's seed: the run's seed and the step number (the same noise when a run resumes)."""
        return tf.constant([self.config.seed, step], tf.int32)

    # === The loop ===
    def fit(self):
        """Train to `config.steps`; returns the last losses (floats).

        Ctrl-C / SIGTERM end it early after a checkpoint: `stopped_by` then names the signal.
        """
        if self.is_chief:
            self._lock.acquire()  # again, if `fit()` is called a second time
        try:
            return self._fit()
        finally:
            self.close()

    def _fit(self):
        try:
            return self._train_loop()
        except tf.errors.InvalidArgumentError as error:
            from zoo.data.coco import DECODE_ERROR_PREFIX

            if DECODE_ERROR_PREFIX not in error.message:
                raise
            # A data file the pipeline could not decode: its own message, without the graph's trace.
            message = error.message.split(DECODE_ERROR_PREFIX, 1)[1].splitlines()[0].replace("] [", " ").strip("[]")
            raise DataError(f"{message} {self._intact_note()}") from None

    def _train_loop(self):
        start = int(self.step_counter)
        if start >= self.config.steps:
            log.info("already at step %d of %d: nothing to do", start, self.config.steps)
            return {}
        dataset = self.strategy.experimental_distribute_dataset(
            self.dataset(skip_examples=start * self.config.batch_size))
        step_fn = self.step_function()
        writer = tf.summary.create_file_writer(os.path.join(self.config.workdir, "summaries")) \
            if self.is_chief else tf.summary.create_noop_writer()
        progress = keras.utils.Progbar(self.config.steps, stateful_metrics=["examples/s"], verbose=1 if self.config.progress else 0)
        progress.update(start)
        losses, window_start, window_steps = {}, time.perf_counter(), 0
        examples_per_second, last = 0.0, time.perf_counter()
        with self._interruption_handler(), writer.as_default():
            for batch in dataset:
                step = int(self.step_counter)
                if step >= self.config.steps or self._stop_requested:
                    break
                if self.config.lr_decay_from is not None and step >= self.config.lr_decay_from:
                    self._set_learning_rate(step)
                losses = {k: float(v) for k, v in step_fn(batch, self.step_seed(step)).items()}
                self._check_finite(losses, step)
                self.step_counter.assign_add(1)
                window_steps += 1
                done = step + 1
                if done % self.config.summary_every == 0 or done == self.config.steps:
                    rate = window_steps / max(time.perf_counter() - window_start, 1e-9)
                    self._write_summaries(losses, done, rate)
                    window_start, window_steps = time.perf_counter(), 0
                if done % self.config.sample_every == 0 and self.is_chief:
                    self._write_samples(done)
                if done % self.config.checkpoint_every == 0:
                    self._save()
                now = time.perf_counter()
                rate = self.config.batch_size / max(now - last, 1e-9)
                examples_per_second = rate if step == start else 0.9 * examples_per_second + 0.1 * rate
                last = now
                shown = [(k, v) for k, v in losses.items() if k.endswith("loss")]
                progress.update(done, shown + [("examples/s", examples_per_second)])
        self._save()
        self.stop_requested = self._stop_requested
        if self._stop_requested and int(self.step_counter) < self.config.steps:
            self.stopped_by = self._stop_requested
            log.warning("stopped by %s at step %d of %d; checkpoint saved", self._stop_requested,
                        int(self.step_counter), self.config.steps)
        return losses

    def _save(self):
        """Checkpoint the current step; a non-chief worker's copy goes to scratch and is removed."""
        step = int(self.step_counter)
        if step == self._saved_step:
            return  # already saved (a checkpoint step that is also the last, or the step resumed from)
        # A step's losses are computed before its update, so a learning rate that blows the weights
        # up shows only in the next step's losses: the weights themselves are checked before saving.
        if not all_finite(self.checkpoint_variables()):
            raise NonFiniteLossError(
                f"Non-finite weights after step {step}: not saved. {self._intact_note()} "
                f"Try a lower learning_rate (this run: {self._optimizer_settings()['learning_rate']}) "
                "or --precision float32.")
        try:
            self.manager.save(checkpoint_number=step)
        except (OSError, tf.errors.OpError) as error:
            raise WorkdirWriteError(f"Cannot write checkpoint {self.manager.directory}/ckpt-{step} ({error_reason(error)}). "
                                    f"{self._intact_note()} Free space or make the workdir writable, "
                                    "then --resume.") from None
        self._saved_step = step
        self._unverified = self.manager.latest_checkpoint if self.is_chief else None
        if not self.is_chief:
            tf.io.gfile.rmtree(self.manager.directory)

    def _set_aside(self, path):
        """Move checkpoint `path` to `checkpoints/non_finite/` and drop it from the index; returns the folder."""
        folder = os.path.join(self.checkpoint_dir, "non_finite")
        os.makedirs(folder, exist_ok=True)
        for name in tf.io.gfile.glob(path + ".*"):
            os.replace(name, os.path.join(folder, os.path.basename(name)))
        remaining = [os.path.basename(p) for p in self.manager.checkpoints if p != path]
        index = os.path.join(self.checkpoint_dir, "checkpoint")
        if remaining:
            # The index as CheckpointManager writes it: names relative to its folder, replaced atomically.
            atomic_write_text(index, "".join([f'model_checkpoint_path: "{remaining[-1]}"\n',
                                              *(f'all_model_checkpoint_paths: "{name}"\n' for name in remaining)]))
        elif os.path.exists(index):
            os.remove(index)
        return folder

    def checkpoint_variables(self):
        """The variables a checkpoint saves that must stay finite: the networks' and the moving averages."""
        return list(self.task.weights) + list(self.ema.averages)

    def _check_finite(self, losses, step):
        bad = {k: v for k, v in losses.items() if not np.isfinite(v)}
        if not bad:
            self._unverified = None  # the weights saved last gave finite losses: a good checkpoint
            return
        poisoned = ""
        if self._unverified:
            # This step's losses come from the weights saved just before it: that checkpoint is the
            # first one to give NaN, so it is no "last good" checkpoint. Kept aside, not deleted.
            poisoned = f"Checkpoint {self._unverified} holds these weights: moved to {self._set_aside(self._unverified)}. "
        raise NonFiniteLossError(
                f"Non-finite loss at step {step}: {bad}. Stopped without saving this step. {poisoned}{self._intact_note()} "
                f"Try a lower learning_rate (this run: {self._optimizer_settings()['learning_rate']}) "
                "or --precision float32.")

    @contextlib.contextmanager
    def _interruption_handler(self):
        """Ctrl-C and SIGTERM finish the current step, then checkpoint and return."""
        def request_stop(signum, frame):
            self._stop_requested = signal.Signals(signum).name

        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, request_stop)
            except ValueError:  # not the main thread: signals stay with the caller
                pass
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # === Summaries ===
    def _write_summaries(self, losses, step, steps_per_second):
        for name, value in losses.items():
            tf.summary.scalar(f"loss/{name}", value, step=step)
        for group, optimizer in self.optimizers.items():
            tf.summary.scalar(f"learning_rate/{group}", float(keras.ops.convert_to_numpy(optimizer.learning_rate)), step=step)
        tf.summary.scalar("speed/steps_per_second", steps_per_second, step=step)
        tf.summary.scalar("speed/examples_per_second", steps_per_second * self.config.batch_size, step=step)

    def _write_samples(self, step):
        from zoo.training import samples

        if self._fixed_batch is None:
            self._fixed_batch = self._sample_inputs()
        with self.ema.swapped():
            scores = samples.write(self.task, step, self._fixed_batch, self.config.batch_size)
        if self.config.keep_best is not None and scores is not None:
            self._keep_if_best(step, scores)  # the trained weights back in place: the checkpoint holds both

    def _sample_inputs(self):
        """The fixed inputs of every sample: on `shapes`, the first `validation_scenes` validation scenes
        (whole batches) when the task draws scenes, else one batch (of the training split on other data)."""
        split = "validation" if self.config.data == "shapes" else "train"
        batches = iter(self.dataset(split=split, shuffle=False, repeat=False))
        inputs = [next(batches)]
        if self.config.data == "shapes" and self.task.draws_scenes:
            wanted = math.ceil(self.config.validation_scenes / self.config.batch_size)
            inputs += list(itertools.islice(batches, wanted - 1))
        return tf.nest.map_structure(lambda *parts: tf.concat(parts, axis=0), *inputs)

    # === Results ===
    def export_task(self):
        """The task with the EMA weights loaded (for sampling, evaluation and export)."""
        self.ema.copy_to_networks()
        return self.task


def _set_aside_damaged_index(checkpoint_dir):
    """A `checkpoint` index that does not parse would stop `CheckpointManager`; renamed, the files remain."""
    index = os.path.join(checkpoint_dir, "checkpoint")
    try:
        tf.train.get_checkpoint_state(checkpoint_dir)
    except (tf.errors.OpError, ValueError, UnicodeDecodeError) as error:
        os.replace(index, index + ".damaged")
        log.warning("the checkpoint index %s is damaged (%s); moved to %s.damaged, the checkpoint files are kept",
                    index, type(error).__name__, index)


@contextlib.contextmanager
def _global_dtype_policy(name):
    """Keras' global dtype policy set to `name` inside the block, and put back after it."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def train(config, resume=False):
    """Train a run from a `TrainConfig`; returns the Trainer (its `task` holds the trained model)."""
    trainer = Trainer(config, resume=resume)
    trainer.fit()
    return trainer


def copy_layer_weights(source, target):
    """Copy every weighted layer of `source` into the layer of `target` with its name; all must match."""
    weighted = lambda model: {layer.name: layer for layer in model.layers if layer.weights}  # noqa: E731
    ours, theirs = weighted(target), weighted(source)
    if set(ours) != set(theirs):
        raise ValueError(f"Cannot copy {source.name!r} into {target.name!r}: layers only in the source "
                         f"{sorted(set(theirs) - set(ours))}, only in the target {sorted(set(ours) - set(theirs))}.")
    for name, layer in ours.items():
        weights = theirs[name].get_weights()
        shapes = [w.shape for w in weights], [tuple(w.shape) for w in layer.weights]
        if shapes[0] != shapes[1]:
            raise ValueError(f"Cannot copy layer {name!r} of {source.name!r} into {target.name!r}: "
                             f"weight shapes {shapes[0]} against {shapes[1]}.")
        layer.set_weights(weights)
