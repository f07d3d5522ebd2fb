"""Run the tutorials top to bottom and save their outputs in place (how the committed outputs are made).

    python notebooks/execute.py                      # every notebook, full settings
    python notebooks/execute.py 02_text_to_image     # one of them
    ZOO_NOTEBOOK_FAST=1 python notebooks/execute.py  # the tests' fast settings (do not commit those outputs)

The kernel is this interpreter, so run it from the environment zoo is installed in.
"""

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parent
# TensorFlow's C++ log lines (I/W/E + date, absl's preamble, and the second line of the CPU
# feature notice) that the kernel's stderr picks up: start-up notices and grappler's remapper
# messages, not the tutorial's output.
# Also TensorFlow's Python INFO logs ("Assets written to: <a temporary folder>"), which would
# put this machine's paths into the committed outputs.
CPP_LOG_LINE = re.compile(
    r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+ |WARNING: All log messages before absl::InitializeLog|INFO:tensorflow:"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags)")


def _carriage_returns(text):
    """What a terminal shows: a line rewritten after `\r` (a progress bar) keeps its last version."""
    lines = []
    for line in text.split("\n"):
        versions = [version for version in line.split("\r") if version]
        lines.append(versions[-1] if versions else "")
    return "\n".join(lines)


def _coalesce_streams(outputs):
    """Consecutive stdout (or stderr) outputs as one, with progress-bar rewrites resolved."""
    merged = []
    for output in outputs:
        if (output.output_type == "stream" and merged and merged[-1].output_type == "stream"
                and merged[-1].name == output.name):
            merged[-1].text += output.text
        else:
            merged.append(output)
    for output in merged:
        if output.output_type == "stream":
            output.text = _carriage_returns(output.text)
    return merged


def clean_outputs(notebook):
    """Remove TensorFlow's log lines from the stream outputs (and outputs left empty), and
    merge consecutive stream outputs, keeping a progress bar's last state."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in _coalesce_streams(cell.outputs):
            if output.output_type == "stream":
                lines = [line for line in output.text.splitlines(keepends=True) if not CPP_LOG_LINE.match(line)]
                if not "".join(lines).strip():
                    continue
                output.text = "".join(lines)
            kept.append(output)
        cell.outputs = kept
    return notebook


def run(path, timeout=3600):
    """The notebook at `path`, executed top to bottom in its folder; a cell that raises raises here.

    The kernel runs this very interpreter (the environment zoo is installed in), whatever
    kernel spec is found first, and is shut down however the run ends (a kernel manager
    passed to nbclient is not owned by the client, which would leave the kernel running).
    """
    notebook = nbformat.read(path, as_version=4)
    manager = KernelManager(kernel_name="python3")
    manager.kernel_spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client = NotebookClient(notebook, km=manager, timeout=timeout, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    finally:
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    return notebook


def execute(path, timeout=3600):
    """Run the notebook at `path` and write it back with its (cleaned) outputs."""
    nbformat.write(clean_outputs(run(path, timeout)), path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a cell may run")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
    if args.names:
        known = {path.stem: path for path in paths}
        unknown = [name for name in args.names if name not in known]
        if unknown:
            parser.error(f"unknown notebooks {unknown}; notebooks: {sorted(known)}")
        paths = [known[name] for name in args.names]
    for path in paths:
        started = time.time()
        execute(path, args.timeout)
        print(f"{path.name}: executed in {time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
