"""The `zoo` command as a new user meets it: quiet by default, `--verbose` on demand."""

import os
import re
import subprocess
import sys

from zoo import cli
from zoo.quiet import verbose_requested

# TensorFlow's C++ log lines (`I0000 00:00:... cudart_stub.cc:31] ...`, `E0000 ... failed call to
# cuInit`) and absl's preamble.
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|cuda|oneDNN|cpu_feature_guard", re.M)


def zoo_command(*argv, env=None, timeout=300):
    """Run the installed `zoo` console script (the one next to this Python) in a subprocess."""
    script = os.path.join(os.path.dirname(sys.executable), "zoo")
    environ = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ZOO_VERBOSE")}
    return subprocess.run([script, *argv], capture_output=True, text=True, timeout=timeout,
                          env={**environ, **(env or {})})


def test_zoo_prints_no_tensorflow_logs_without_verbose():
    result = zoo_command("models", "--pattern", "matcher_tiny")
    assert result.returncode == 0, result.stderr
    assert "matcher_tiny" in result.stdout
    assert not TF_LOG_LINE.search(result.stderr), result.stderr
    assert result.stderr == ""


def test_verbose_is_accepted_before_or_after_the_command(monkeypatch):
    parser = cli.build_parser()
    assert parser.parse_args(["--verbose", "models"]).verbose
    assert parser.parse_args(["caption", "img.png", "--verbose"]).verbose
    assert not hasattr(parser.parse_args(["caption", "img.png"]), "verbose")
    monkeypatch.setenv("ZOO_VERBOSE", "1")
    assert verbose_requested([])
    monkeypatch.setenv("ZOO_VERBOSE", "0")
    assert not verbose_requested([]) and verbose_requested(["train", "--verbose"])


def test_step_and_example_caps_from_the_environment(monkeypatch, capsys):
    monkeypatch.delenv("ZOO_MAX_STEPS", raising=False)
    assert cli._capped(2000, "ZOO_MAX_STEPS") == 2000 and cli._capped(None, "ZOO_MAX_STEPS") is None
    monkeypatch.setenv("ZOO_MAX_STEPS", "3")
    assert cli._capped(2000, "ZOO_MAX_STEPS") == 3 and cli._capped(2, "ZOO_MAX_STEPS") == 2
    assert cli._capped(None, "ZOO_MAX_STEPS") == 3
    assert "ZOO_MAX_STEPS=3: capped" in capsys.readouterr().err


def test_a_bad_cap_is_one_clear_line():
    result = zoo_command("train", "cgan_t2i_tiny", "--workdir", "unused", "--dry-run", env={"ZOO_MAX_STEPS": "ten"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "zoo train: error: ZOO_MAX_STEPS must be a positive integer (or unset), got 'ten'."], result.stderr
