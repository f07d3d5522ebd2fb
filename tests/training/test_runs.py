"""What `zoo train` guarantees about its workdir: moved runs, the lock, NaN, damaged files, exit codes.

Most cases call `zoo.cli.main` in this process (real files, no start-up cost); the lock and
the kill cases use real processes, as the SIGKILL test in test_trainer.py does.
"""

import glob
import json
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

from zoo import load as zoo_load
from zoo.cli import main
from zoo.export import export_run
from zoo.data import shapes
from zoo.training.checkpoints import NoIntactCheckpointError
from zoo.training.config import TrainConfig
from zoo.training.runs import load_trained
from zoo.training.trainer import Trainer

TRAIN = ["train", "captioner_tiny", "--batch-size", "8", "--no-xla", "--set", "progress=false"]
REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def zoo(capsys, *args):
    """`zoo ARGS` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def train(capsys, workdir, steps, *more):
    return zoo(capsys, *TRAIN, "--steps", steps, "--workdir", workdir, *more)


def latest(workdir):
    return tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))


def assert_one_error_line(err, *fragments):
    lines = [line for line in err.splitlines() if line.startswith("zoo ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# === 1. A run is where its workdir is ===
def test_resume_uses_the_workdir_it_is_given_even_moved_and_relative(tmp_path, capsys, monkeypatch):
    status, _, err = train(capsys, tmp_path / "A", 2, "--set", "checkpoint_every=2")
    assert status == 0, err
    shutil.copytree(tmp_path / "A", tmp_path / "B")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    status, out, err = train(capsys, "../B", 3, "--resume")
    assert status == 0, err
    assert "step 3 of 3" in out and latest(tmp_path / "B").endswith("ckpt-3")
    assert latest(tmp_path / "A").endswith("ckpt-2")  # the original run is untouched
    text = (tmp_path / "B" / "config.json").read_text()
    assert str(tmp_path) not in text and '"workdir"' not in text
    assert TrainConfig.load("../B/config.json").workdir == "../B"
    # export_run exports a run from Python, without the CLI: the step its checkpoint was saved at
    # (a copied run's file names would say the same; the checkpoint's own counter is what is read).
    os.rename("../B/checkpoints/ckpt-3.index", "../B/checkpoints/ckpt-30.index")
    for data in glob.glob("../B/checkpoints/ckpt-3.data-*"):
        os.rename(data, data.replace("ckpt-3.", "ckpt-30."))
    (tmp_path / "B" / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "ckpt-30"\n')
    path = export_run("../B", "exports")
    assert path == os.path.join("exports", "captioner_tiny_B", "1")
    metadata = json.load(open(os.path.join(path, "assets.extra", "zoo.json")))
    assert metadata["trained_steps"] == 3 and metadata["weights"] == "raw" and metadata["family"] == "captioner"
    task = load_trained("../B")
    images = np.stack([shapes.scene("test", i, image_size=task.config.image_size)["image"] for i in range(2)])
    assert zoo_load(path).caption(images) == task.caption(images)


def test_config_json_keeps_paths_relative_to_the_workdir(tmp_path):
    config = TrainConfig(model="captioner_tiny", workdir=str(tmp_path / "runs" / "b"),
                         init_from=str(tmp_path / "runs" / "a"), data_path=str(tmp_path / "data"),
                         masks=str(tmp_path / "masks"))
    os.makedirs(config.workdir)
    config.save(os.path.join(config.workdir, "config.json"))
    saved = json.load(open(os.path.join(config.workdir, "config.json")))
    assert saved["init_from"] == "../a" and saved["data_path"] == "../../data" and "workdir" not in saved
    assert saved["masks"] == "../../masks"
    shutil.move(str(tmp_path / "runs"), str(tmp_path / "moved"))
    loaded = TrainConfig.load(str(tmp_path / "moved" / "b" / "config.json"))
    assert loaded.init_from == str(tmp_path / "moved" / "a") and loaded.masks == str(tmp_path / "masks")


def test_shipped_exports_hold_no_absolute_path():
    paths = glob.glob(os.path.join(REPOSITORY, "savedmodels", "*", "*", "assets.extra", "zoo.json"))
    assert paths
    for path in paths:
        def strings(value):
            if isinstance(value, dict):
                return [s for v in value.values() for s in strings(v)]
            return [value] if isinstance(value, str) else []
        absolute = [s for s in strings(json.load(open(path))) if os.path.isabs(s)]
        assert not absolute, (path, absolute)


# === 2. One run per workdir ===
def test_a_running_workdir_is_locked_until_its_process_dies(tmp_path, capsys):
    workdir = tmp_path / "locked"
    holder = subprocess.Popen([sys.executable, "-m", "zoo.cli", *TRAIN, "--steps", "100000", "--workdir", workdir,
                               "--set", "checkpoint_every=100000"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while f'"pid": {holder.pid}' not in _read(workdir / "lock"):
            assert holder.poll() is None and time.time() < deadline, holder.stdout.read()
            time.sleep(0.2)
        for extra in ([], ["--resume"]):
            status, _, err = train(capsys, workdir, 2, *extra)
            assert status == 2
            assert_one_error_line(err, f"is in use by process {holder.pid}", "another --workdir")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # kill -9 released the lock: the next run trains.
    status, out, err = train(capsys, workdir, 1)
    assert status == 0 and "step 1 of 1" in out, err


def _read(path):
    return path.read_text() if path.exists() else ""


# === 3. NaN never leaves a poisoned "last good" checkpoint ===
def test_a_checkpoint_that_gives_nan_is_set_aside(tmp_path, capsys):
    workdir = tmp_path / "nan"
    assert train(capsys, workdir, 1, "--set", "checkpoint_every=1")[0] == 0
    status, _, err = train(capsys, workdir, 4, "--resume", "--set", "learning_rate=1e30")
    assert status == 2
    line = assert_one_error_line(err, "Non-finite loss at step 2", "ckpt-2 holds these weights: moved to",
                                 "The last checkpoint", "ckpt-1 is intact", "learning_rate (this run: 1e+30)")
    assert latest(workdir) == str(workdir / "checkpoints" / "ckpt-1"), line  # the index names it, as written
    assert os.listdir(workdir / "checkpoints" / "non_finite")
    status, out, err = train(capsys, workdir, 4, "--resume", "--set", "learning_rate=1e-4")
    assert status == 0 and "step 4 of 4" in out, err


# === 4. A damaged checkpoint is skipped, saying so ===
def test_damaged_newest_checkpoint_falls_back_for_resume_export_and_evaluate(tmp_path, capsys, caplog):
    workdir = tmp_path / "damaged"
    assert train(capsys, workdir, 4, "--set", "checkpoint_every=2")[0] == 0
    data = glob.glob(str(workdir / "checkpoints" / "ckpt-4.data-*"))[0]
    os.truncate(data, 1000)
    # evaluate and export load through load_trained
    task, checkpoint = load_trained(str(workdir), return_checkpoint=True)
    assert checkpoint.endswith("ckpt-2")
    assert "ckpt-4 is damaged" in caplog.text and "Read less bytes than requested" in caplog.text
    status, out, err = zoo(capsys, "export", "--workdir", workdir, "--out", tmp_path / "exports", "--name", "fallback")
    assert status == 0, err
    metadata = json.load(open(tmp_path / "exports" / "fallback" / "1" / "assets.extra" / "zoo.json"))
    assert metadata["trained_steps"] == 2
    assert str(tmp_path) not in json.dumps(metadata)
    (workdir / "checkpoints" / "checkpoint").write_text("")  # the index itself emptied too
    caplog.clear()
    caplog.set_level(logging.INFO, "zoo.training")
    status, out, err = train(capsys, workdir, 5, "--resume")
    assert status == 0, err
    assert "index" in caplog.text and "moved to" in caplog.text
    assert "resumed from" in caplog.text and "ckpt-2 at step 2" in caplog.text
    assert latest(workdir).endswith("ckpt-5")
    for index in glob.glob(str(workdir / "checkpoints" / "ckpt-*.index")):  # now every one damaged
        os.truncate(index, 10)
    with pytest.raises(NoIntactCheckpointError, match="ckpt-5"):
        load_trained(str(workdir))
    status, _, err = train(capsys, workdir, 6, "--resume")
    assert status == 2
    assert_one_error_line(err, "No intact checkpoint in", "ckpt-5", "ckpt-2")


# === 5. config.json is replaced atomically ===
ATOMIC_WRITER = textwrap.dedent("""
    import importlib.util, json, sys
    spec = importlib.util.spec_from_file_location("workdir", sys.argv[1])
    workdir = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(workdir)
    print("ready", flush=True)
    text = json.dumps({"padding": "x" * 4_000_000})
    while True:
        workdir.atomic_write_text(sys.argv[2], text)
""")


def test_kill_during_config_rewrite_leaves_a_whole_file(tmp_path):
    """kill -9 while config.json is rewritten over and over: it always parses."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"padding": "old"}))
    module = os.path.join(REPOSITORY, "zoo", "training", "workdir.py")
    for delay in (0.05, 0.13, 0.31):
        writer = subprocess.Popen([sys.executable, "-c", ATOMIC_WRITER, module, str(path)], stdout=subprocess.PIPE,
                                  text=True)
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        json.loads(path.read_text())  # never empty, never cut


def test_empty_config_json_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("")
    status, _, err = train(capsys, tmp_path / "run", 2, "--resume")
    assert status == 2
    assert_one_error_line(err, "config.json' is empty", "checkpoints are untouched")


# === 6. --set on --resume applies, or is refused ===
def test_set_on_resume_applies_or_is_refused(tmp_path, capsys, monkeypatch):
    seen = []  # the learning rate each step trains with
    original = Trainer.step_function

    def recording(self):
        step_fn = original(self)

        def step(batch, seed):
            seen.append(float(self.optimizers["captioner"].learning_rate))
            return step_fn(batch, seed)
        return step

    monkeypatch.setattr(Trainer, "step_function", recording)
    workdir = tmp_path / "settings"
    assert train(capsys, workdir, 3, "--set", "learning_rate=0.004", "--set", "lr_decay_from=1")[0] == 0
    assert seen == pytest.approx([0.004, 0.004, 0.002])  # lr_decay_from: down from step 1, to zero at step 3
    # A resume may change the learning rate and its schedule; a new total stretches the fall to it.
    config = TrainConfig.load(str(workdir / "config.json")).with_overrides(["learning_rate=0.00123", "steps=6"])
    trainer = Trainer(config, resume=True)
    trainer.close()
    assert float(trainer.optimizers["captioner"].learning_rate) == pytest.approx(0.00123 * 3 / 5)  # step 3 of 6
    assert [trainer.learning_rate_at(step) for step in (0, 1, 5, 6)] == pytest.approx([0.00123, 0.00123, 0.00123 / 5, 0])
    assert json.load(open(workdir / "config.json"))["learning_rate"] == 0.00123
    with pytest.raises(ValueError, match=r"lr_decay_from must be a step \(an int >= 0"):
        config.with_overrides(["lr_decay_from=-1"])
    status, _, err = train(capsys, workdir, 2, "--resume", "--set", "model.max_length=9")
    assert status == 2
    assert_one_error_line(err, "--resume cannot change model_overrides", "asked {'max_length': 9}")
    status, _, err = train(capsys, workdir, 2, "--resume", "--set", f"init_from={tmp_path / 'other'}")
    assert status == 2
    assert_one_error_line(err, "--resume cannot change init_from")


def test_set_of_a_wrong_type_is_one_clear_error(tmp_path, capsys):
    status, _, err = train(capsys, tmp_path / "typo", 2, "--set", "seed=abc")
    assert status == 2
    assert_one_error_line(err, "seed must be int, got 'abc' (str)")
    with pytest.raises(ValueError, match="learning_rate must be int or float or null, got 'fast'"):
        TrainConfig(model="captioner_tiny", workdir="w").with_overrides(["learning_rate=fast"])
    assert not (tmp_path / "typo").exists()


# === 7. Stopped early: non-zero, and a recipe stops there (SIGTERM itself: test_trainer.py) ===
def test_sigint_before_the_last_step_exits_130_after_saving(tmp_path, capsys, monkeypatch):
    original = Trainer._train_loop

    def interrupted(self):
        self._stop_requested = "SIGINT"  # as the handler sets it when Ctrl-C arrives
        return original(self)

    monkeypatch.setattr(Trainer, "_train_loop", interrupted)
    status, out, err = train(capsys, tmp_path / "interrupted", 5, "--set", "checkpoint_every=100")
    assert status == 130
    assert "stopped by SIGINT at step 0 of 5" in err and latest(tmp_path / "interrupted").endswith("ckpt-0")


# === 8. A full or read-only workdir: one line, and the checkpoint that is intact ===
def test_full_disk_names_the_file_and_the_intact_checkpoint(tmp_path, capsys):
    workdir = tmp_path / "full"
    assert train(capsys, workdir, 2, "--set", "checkpoint_every=2")[0] == 0
    # A file-size limit makes the checkpoint write fail as a full disk does (the small files still fit).
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, limits[1]))
    try:
        status, _, err = train(capsys, workdir, 3, "--resume")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)
    assert status == 2
    line = assert_one_error_line(err, "Cannot write checkpoint", "ckpt-3", "File too large", "ckpt-2 is intact",
                                 "--resume")
    assert "function_node" not in line and "[Op:" not in line
    assert latest(workdir).endswith("ckpt-2")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_workdir_is_one_clear_error(tmp_path, capsys):
    workdir = tmp_path / "read_only"
    assert train(capsys, workdir, 2, "--set", "checkpoint_every=2")[0] == 0
    os.chmod(workdir, 0o555)
    try:
        status, _, err = train(capsys, workdir, 3, "--resume")
    finally:
        os.chmod(workdir, 0o755)
    assert status == 2
    assert_one_error_line(err, str(workdir))


# === 9. Only internal errors keep their traceback ===
def test_an_internal_error_keeps_its_traceback(monkeypatch):
    from zoo import cli

    def broken(args):
        raise KeyError("a bug of ours")

    monkeypatch.setattr(cli, "_train", broken)  # build_parser binds `zoo train` to it
    with pytest.raises(KeyError, match="a bug of ours"):
        cli.main(["train", "captioner_tiny", "--workdir", "w"])
