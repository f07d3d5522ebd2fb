"""The README's runnable examples run, as written, from the layout the README describes.

Every fenced block preceded by `<!-- runnable -->` runs: the bash blocks in one
`bash -e` script, the Python blocks each in a fresh namespace of one interpreter,
in README order, from a folder laid out as the README says (the clone beside
`shared/`; here `zoo/` is a link to the package and `savedmodels/` a copy, so that
exports land in the copy). Training and evaluation are capped with ZOO_MAX_STEPS and
ZOO_MAX_EXAMPLES. The files the README calls "yours" (mask.png, labels.png) are made
here first.
"""

import os
import re
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


def runnable_blocks(text):
    """(language, code) of each block marked runnable, in order."""
    return BLOCK.findall(text)


def test_the_readme_marks_its_examples_runnable():
    languages = [language for language, _ in runnable_blocks((ROOT / "README.md").read_text())]
    assert languages.count("python") >= 2 and languages.count("bash") >= 4, languages


@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="needs ../shared beside the repository")
def test_runnable_readme_examples_run(tmp_path):
    blocks = runnable_blocks((ROOT / "README.md").read_text())
    clone = tmp_path / "zoo-repo"
    clone.mkdir()
    (tmp_path / "shared").symlink_to(SHARED)
    (clone / "zoo").symlink_to(ROOT / "zoo")
    shutil.copytree(ROOT / "savedmodels", clone / "savedmodels")
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 4:30] = 255  # the left cell
    Image.fromarray(mask).save(clone / "mask.png")
    shutil.copy(ROOT / "zoo" / "assets" / "examples" / "label_map.png", clone / "labels.png")
    env = {**os.environ, "ZOO_MAX_STEPS": "2", "ZOO_MAX_EXAMPLES": "16"}
    env.pop("ZOO_SAVEDMODELS", None)
    env.pop("PYTHONPATH", None)
    bash = "set -euo pipefail\n" + "\n".join(code for language, code in blocks if language == "bash")
    python = "\n".join(f"exec(compile({code!r}, 'README block {i}', 'exec'), {{'__name__': '__main__'}})"
                       for i, (language, code) in enumerate(blocks) if language == "python")
    for command in (["bash", "-c", bash], [sys.executable, "-c", python]):
        done = subprocess.run(command, cwd=clone, env={**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{command[0]} blocks failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    # What the examples say they write.
    for name in ("img.png", "restored.png", "image.png", "t2i.json", "t2i.png"):
        assert (clone / name).is_file(), name
    assert (clone / "savedmodels" / "cgan_t2i_gan" / "1" / "saved_model.pb").is_file()
    assert not (ROOT / "savedmodels" / "cgan_t2i_gan").exists()
