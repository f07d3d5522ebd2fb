"""The command line is quiet by default: TensorFlow's logs show only with `--verbose`.

A one-line `zoo caption` used to print ten lines of TensorFlow's start-up logs (CUDA
probing, CPU features, `failed call to cuInit` on a machine without a GPU). `import zoo`
loads TensorFlow before `zoo.cli` runs, so `zoo/__init__.py` calls `quiet_native_logs()`
first of all: it sets `TF_CPP_MIN_LOG_LEVEL` and loads TensorFlow with the process's
stderr pointed at /dev/null, because TensorFlow's first lines (`cudart_stub.cc ... Could
not find cuda drivers`) are written before its logging reads the level set from Python (only
the level the process started with hides them). `quiet_python_logs()` then hides
TensorFlow's Python logs and warnings once the command line is parsed. `--verbose` (any position) or `ZOO_VERBOSE=1` shows them all. Only the
`zoo` command is made quiet: `import zoo` in a script or notebook changes nothing.

Example:
    zoo caption img.png              # one line per image
    zoo caption img.png --verbose    # and TensorFlow's logs
    ZOO_VERBOSE=1 zoo train ...
"""

import contextlib
import logging
import os
import sys
import warnings

VERBOSE_FLAG = "--verbose"
ENV_VARIABLE = "ZOO_VERBOSE"
COMMAND = "zoo"
# 3 hides INFO, WARNING and ERROR alike: on a CPU-only machine the CUDA probe logs an ERROR
# (`failed call to cuInit`) that is no error for us.
QUIET_TF_CPP_LEVEL = "3"


def verbose_requested(argv=None):
    """Whether `argv` (default: this process's arguments) or $ZOO_VERBOSE asks for TensorFlow's logs."""
    argv = sys.argv[1:] if argv is None else argv
    return VERBOSE_FLAG in argv or os.environ.get(ENV_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def running_the_command():
    """Whether this process is the `zoo` console script (not a script or notebook importing zoo)."""
    return bool(sys.argv) and os.path.basename(sys.argv[0]) == COMMAND


def quiet_native_logs():
    """Before TensorFlow loads, in the `zoo` command without `--verbose`: hide TensorFlow's C++ logs."""
    if not running_the_command() or verbose_requested():
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = QUIET_TF_CPP_LEVEL
    with _native_stderr_silenced():
        import tensorflow  # noqa: F401


@contextlib.contextmanager
def _native_stderr_silenced():
    """File descriptor 2 points at /dev/null inside the block (C++ writes there, not to `sys.stderr`)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)  # before a failed import's traceback is printed
        os.close(saved)
        os.close(devnull)


def quiet_python_logs(verbose):
    """Hide TensorFlow's and absl's Python logs and Python warnings unless `verbose`; zoo's own messages stay."""
    if verbose:
        return
    # For what loads TensorFlow later in this process, and for subprocesses.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = QUIET_TF_CPP_LEVEL
    warnings.filterwarnings("ignore")
    # Ours say something about the user's data (a COCO image skipped, ...).
    warnings.filterwarnings("default", category=UserWarning, module=r"zoo(\.|$)")
    for name in ("tensorflow", "absl", "keras", "h5py", "matplotlib", "gensim", "smart_open"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; without it there is nothing to quiet
        pass
