"""The README's runnable examples run, as written, from the layout the README describes.

Every fenced block preceded by `<!-- runnable -->` runs, in README order, from a folder
laid out as the README says (the clone beside `shared/`; here `zoo/` is a link to the
package and `savedmodels/` a copy, so that exports land in the copy). Training and
evaluation are capped with ZOO_MAX_STEPS and ZOO_MAX_EXAMPLES. The files the README calls
"yours" (mask.png, labels.png) are made here first.

The bash blocks' lines are `zoo ...` commands (a line that is not fails the test, naming it:
this test would otherwise have to guess what it means to the lines after it). Each `zoo`
process used to import TensorFlow anew (~10 s, 14 times), so they run in ONE Python process
(same folder, same environment) that imports TensorFlow once and calls the `zoo` console
script's entry point (`zoo.cli:main`, found through the package's entry points) once per
line, each line parsed by `shlex` as bash would, with `sys.argv` set as the script sets it.
A non-zero exit status, or an exception, fails the test with the line and its output.
Between commands that process puts back what a fresh process would have: the folder,
`os.environ`, `sys.argv`, the warning filters, the root logger, Keras' global state
(`clear_session`: its dtype policy, layer name counters and seed generator) and the global
random seeds (a training run seeds them; a fresh process would be unseeded). One line, the
cheapest pretrained-model command, still runs through bash as the installed `zoo` script,
so that the console script itself is exercised; so does any `zoo` line that uses the
shell's syntax (pipes, redirections, variables, globs). The Python blocks run each in a
fresh namespace of one interpreter.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BLOCK = re.compile(r"<!-- runnable -->\n```(bash|python)\n(.*?)```", re.S)
# A word holding one of these came from shell syntax (or quoted it): that line runs through bash.
SHELL_SYNTAX = set("|&;<>()$`*?[]{}~\\")
# The commands cheapest to run as their own process (a pretrained model, ~9 s), best first:
# the first README line with one of them runs through bash as the installed `zoo` script.
CONSOLE_SCRIPT_CHOICES = ("translate", "caption", "generate", "inpaint")

# Runs in the examples' folder: argv[1] is JSON [[line, words, through_bash], ...] in README order.
RUNNER = r'''
import gc, json, logging, os, random, subprocess, sys, tempfile, time, traceback, warnings
from importlib.metadata import entry_points

commands = json.loads(sys.argv[1])
environment = dict(os.environ)  # before `import zoo` changes it (zoo/quiet.py)
sys.argv = ["zoo"]  # as the console script's: `import zoo` hides TensorFlow's C++ logs for `zoo` alone
(entry_point,) = entry_points(group="console_scripts", name="zoo")
main = entry_point.load()  # zoo.cli:main, and TensorFlow with it, once
import keras
import numpy as np
import tensorflow as tf

folder = os.getcwd()
after_import = dict(os.environ)
root_logger = (list(logging.root.handlers), logging.root.level)


def call_main(words):
    """What `sys.exit(main())` in the console script would exit with."""
    sys.argv = ["zoo", *words[1:]]
    try:
        with warnings.catch_warnings():  # `main` adds filters (zoo/quiet.py)
            status = main()
    except SystemExit as exit:
        status = exit.code
    except BaseException:
        traceback.print_exc()
        return 1
    if status is None or isinstance(status, int):
        return status or 0
    print(status, file=sys.stderr)  # as sys.exit("message") prints it
    return 1


def fresh_process_state():
    """Put back what one `zoo` command may change in this process, as the next process would find it."""
    os.chdir(folder)
    os.environ.clear()
    os.environ.update(after_import)
    sys.argv = ["zoo"]
    logging.root.handlers[:] = root_logger[0]  # `main` calls logging.basicConfig
    logging.root.setLevel(root_logger[1])
    keras.backend.clear_session()  # the global dtype policy, layer name counters, Keras' seed generator; gc
    random.seed()  # a training run calls keras.utils.set_random_seed(config.seed)
    np.random.seed()
    tf.random.set_seed(None)


def run(line, words, through_bash):
    """(exit status, output) of one README line; fds 1 and 2 go to a file, TensorFlow's C++ output too."""
    if through_bash:
        done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + line], env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return done.returncode, done.stdout
    with tempfile.TemporaryFile() as output:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
        try:
            status = call_main(words)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)
            fresh_process_state()
        output.seek(0)
        return status, output.read().decode(errors="replace")


for line, words, through_bash in commands:
    start = time.perf_counter()
    status, output = run(line, words, through_bash)
    how = "bash" if through_bash else "in-process"
    print(f"{time.perf_counter() - start:6.1f} s  {how:10}  {line}", flush=True)
    if status != 0:
        print(f"README line failed ({how}, exit status {status}):\n  {line}\nits output:\n{output[-6000:]}",
              file=sys.stderr, flush=True)
        sys.exit(1)
'''


def runnable_blocks(text):
    """(language, code) of each block marked runnable, in order."""
    return BLOCK.findall(text)


def zoo_commands(bash_blocks):
    """[line, words, through_bash] of each command line of the bash blocks, in order."""
    commands = []
    for code in bash_blocks:
        for line in code.replace("\\\n", "").splitlines():  # a line continued with a backslash is one command
            words = shlex.split(line, comments=True)
            if not words:
                continue
            assert words[0] == "zoo", (
                f"README bash line {line.strip()!r} is not a `zoo ...` command: this test runs the bash blocks' "
                "lines as zoo commands in one process, one after another. Make it one, or teach "
                "tests/test_readme_examples.py what it means to the lines after it.")
            commands.append([line.strip(), words, any(SHELL_SYNTAX.intersection(word) for word in words)])
    assert commands, "no zoo command in the README's runnable bash blocks"
    # One line through the installed `zoo` script itself: the cheapest command, the first of its kind.
    def cost(command):
        subcommand = command[1][1] if len(command[1]) > 1 else None
        return CONSOLE_SCRIPT_CHOICES.index(subcommand) if subcommand in CONSOLE_SCRIPT_CHOICES else len(CONSOLE_SCRIPT_CHOICES)

    if not any(through_bash for _, _, through_bash in commands):
        min(commands, key=cost)[2] = True
    return commands


def test_the_readme_marks_its_examples_runnable():
    languages = [language for language, _ in runnable_blocks((ROOT / "README.md").read_text())]
    assert languages.count("python") >= 2 and languages.count("bash") >= 4, languages


def test_the_bash_examples_are_zoo_commands():
    blocks = runnable_blocks((ROOT / "README.md").read_text())
    commands = zoo_commands([code for language, code in blocks if language == "bash"])
    assert any(through_bash for _, _, through_bash in commands), commands  # the `zoo` script itself runs
    assert zoo_commands(["zoo models\nzoo caption a.png\nzoo translate --example\n"]) == [
        ["zoo models", ["zoo", "models"], False], ["zoo caption a.png", ["zoo", "caption", "a.png"], False],
        ["zoo translate --example", ["zoo", "translate", "--example"], True]]
    with pytest.raises(AssertionError, match=r"line 'ls -l   # a listing' is not a `zoo \.\.\.` command"):
        zoo_commands(["zoo models\nls -l   # a listing\n"])
    assert zoo_commands(['zoo generate "a red circle" \\\n  --out a.png  # comment\nzoo x > y.txt\n']) == [
        ['zoo generate "a red circle"   --out a.png  # comment', ["zoo", "generate", "a red circle", "--out", "a.png"],
         False],
        ["zoo x > y.txt", ["zoo", "x", ">", "y.txt"], True]]


@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="needs ../shared beside the repository")
def test_runnable_readme_examples_run(tmp_path):
    blocks = runnable_blocks((ROOT / "README.md").read_text())
    commands = zoo_commands([code for language, code in blocks if language == "bash"])
    clone = tmp_path / "zoo-repo"
    clone.mkdir()
    (tmp_path / "shared").symlink_to(SHARED)
    (clone / "zoo").symlink_to(ROOT / "zoo")
    shutil.copytree(ROOT / "savedmodels", clone / "savedmodels")
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 4:30] = 255  # the left cell
    Image.fromarray(mask).save(clone / "mask.png")
    shutil.copy(ROOT / "zoo" / "assets" / "examples" / "label_map.png", clone / "labels.png")
    env = {**os.environ, "ZOO_MAX_STEPS": "2", "ZOO_MAX_EXAMPLES": "8"}
    env.pop("ZOO_SAVEDMODELS", None)
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    python = "\n".join(f"exec(compile({code!r}, 'README block {i}', 'exec'), {{'__name__': '__main__'}})"
                       for i, (language, code) in enumerate(blocks) if language == "python")
    # -P: zoo is imported as the `zoo` script imports it (the installed package), not from the folder.
    for what, command in (("bash blocks", [sys.executable, "-P", "-c", RUNNER, json.dumps(commands)]),
                          ("python blocks", [sys.executable, "-c", python])):
        done = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=900)
        print(f"{what}:\n{done.stdout}")  # the bash blocks: each line's time, in-process or through bash
        assert done.returncode == 0, f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-8000:]}"
    # What the examples say they write.
    for name in ("img.png", "restored.png", "image.png", "t2i.json", "t2i.png"):
        assert (clone / name).is_file(), name
    assert (clone / "savedmodels" / "cgan_t2i_gan" / "1" / "saved_model.pb").is_file()
    assert not (ROOT / "savedmodels" / "cgan_t2i_gan").exists()
