"""The README's commands agree with each other, with the CLI, with CI and with .gitignore."""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from zoo import cli
from zoo.training.recipes import load_recipe

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_commands(program="zoo"):
    """Each `zoo ...` line of the README's bash blocks, as parsed arguments (comments dropped)."""
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    return [shlex.split(line, comments=True)[1:] for line in lines if line.startswith(program + " ")]


def test_ci_runs_exactly_the_readme_test_command():
    readme = re.search(r"Tests \(what CI runs, see `\.ci/run`[^)]*\):\n\n```bash\n(.*?)\n```", README).group(1)
    ci_commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                   if line.strip() and not line.startswith(("#", "set ", "cd ", "if "))]
    assert ci_commands == [readme]


def test_readme_commands_parse_and_read_only_workdirs_that_readme_commands_create():
    parser = cli.build_parser()
    created, read = set(), []
    for argv in readme_commands():
        args = parser.parse_args(argv)  # a flag the CLI does not know fails here
        if args.command == "train":
            stages = [stage for stage, _ in load_recipe(args.recipe)] if args.recipe else []
            created.update([args.workdir] + [os.path.join(args.workdir, stage) for stage in stages])
        elif getattr(args, "workdir", None):
            read.append((args.command, args.workdir))
    assert read and all(workdir in created for _, workdir in read), (read, created)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_readme_outputs_are_ignored_and_tracked_json_is_not():
    outputs = [argv[argv.index("--out") + 1] for argv in readme_commands() if "--out" in argv]
    outputs = [out for out in outputs if out.endswith(".json")] + ["t2i.json", "results.json"]
    tracked = ["zoo/recipes/cgan_t2i_shapes.json", "savedmodels/cgan_t2i_shapes/3/assets.extra/zoo.json"]
    check = subprocess.run(["git", "check-ignore", "--no-index", *outputs, *tracked], cwd=ROOT,
                           capture_output=True, text=True)
    assert sorted(set(check.stdout.split())) == sorted(set(outputs))
