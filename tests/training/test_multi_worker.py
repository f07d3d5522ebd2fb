"""MultiWorkerMirroredStrategy: two worker processes on this machine train one model in step."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from zoo.training.runs import load_trained

WORKER_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from zoo.training.config import TrainConfig
    from zoo.training.trainer import Trainer
    config = TrainConfig(model="regression_t2i_tiny", workdir=sys.argv[1], steps=3, batch_size=4,
                         strategy="multi_worker", checkpoint_every=2, summary_every=1, progress=False,
                         xla=True)  # asked for, so that the fallback on CPU is logged
    trainer = Trainer(config)
    assert trainer.strategy.num_replicas_in_sync == 2 and not trainer.xla
    initial = trainer.task.get_weights()
    losses = trainer.fit()
    assert int(trainer.step_counter) == 3 and np.isfinite(losses["loss"]), losses
    arrays = {f"initial_{i}": w for i, w in enumerate(initial)}
    arrays.update({f"final_{i}": w for i, w in enumerate(trainer.task.get_weights())})
    np.savez(sys.argv[2], is_chief=trainer.is_chief, save_dir=trainer.manager.directory, **arrays)
""")


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(tmp_path, workdir, timeout):
    """Start one process per worker; wait for all, or kill all once one fails or time runs out."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes, logs = [], []
    try:
        for index in range(2):
            env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
            logs.append(open(tmp_path / f"worker{index}.log", "w+"))
            processes.append(subprocess.Popen(
                [sys.executable, "-c", WORKER_SCRIPT, workdir, str(tmp_path / f"worker{index}.npz")],
                env=env, stdout=logs[-1], stderr=subprocess.STDOUT, text=True))
        deadline = time.time() + timeout
        while time.time() < deadline and any(p.poll() is None for p in processes):
            if any(p.poll() not in (None, 0) for p in processes):
                break  # the other worker would wait in its collectives until it times out
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read())
        log.close()
    return [p.returncode for p in processes], "\n".join(outputs)


@pytest.mark.slow
def test_two_workers_stay_in_sync_and_only_the_chief_keeps_files(tmp_path):
    workdir = str(tmp_path / "run")
    returncodes, output = _run_workers(tmp_path, workdir, timeout=240)
    assert returncodes == [0, 0], output[-4000:]
    assert "XLA is off for the multi_worker strategy on CPU" in output
    chief, other = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert bool(chief["is_chief"]) and not bool(other["is_chief"])
    count = sum(key.startswith("final_") for key in chief.files)
    moved = 0
    for i in range(count):
        # Worker 0 broadcasts the initial values; after that, all-reduced gradients keep the copies equal.
        np.testing.assert_array_equal(chief[f"initial_{i}"], other[f"initial_{i}"])
        np.testing.assert_array_equal(chief[f"final_{i}"], other[f"final_{i}"])
        moved += not np.array_equal(chief[f"initial_{i}"], chief[f"final_{i}"])
    assert moved > count // 2, f"only {moved} of {count} weights changed"
    # Both workers saved twice; only the chief's checkpoints remain, the other's scratch copy is gone.
    checkpoints = sorted(os.listdir(os.path.join(workdir, "checkpoints")))
    assert checkpoints == ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index",
                           "ckpt-3.data-00000-of-00001", "ckpt-3.index"]
    assert str(chief["save_dir"]) == os.path.join(workdir, "checkpoints")
    assert not os.path.exists(str(other["save_dir"]))
    assert len(os.listdir(os.path.join(workdir, "summaries"))) == 1  # the chief's events file only
    restored = load_trained(workdir).get_weights()
    for i, weight in enumerate(restored):
        np.testing.assert_array_equal(weight, chief[f"final_{i}"])
