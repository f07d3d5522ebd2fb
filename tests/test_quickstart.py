"""`zoo quickstart`: the sheet and the score from the pretrained models (tiny exports here), and `--train`."""

import re

import pytest
import tensorflow as tf
from PIL import Image

from zoo import cli
from zoo.quickstart import missing_message, same_objects, score_line
from zoo.training.recipes import list_recipes


def test_quickstart_writes_the_sheet_and_the_score(tiny_savedmodels, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    assert cli.main(["quickstart", "--out", str(out), "--savedmodels", tiny_savedmodels]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out}" in printed
    assert re.search(r"^score: [0-4]/4 generated images captioned back correctly \(same objects: colour, shape, "
                     r"size and position, read with zoo.metrics.parse_caption\)$", printed, re.M)
    with Image.open(out) as sheet:
        assert sheet.format == "PNG" and sheet.width >= 800 and sheet.height >= 600


# About 50 s, a Trainer run: slow. The quickstart without --train stays in CI (the test above).
@pytest.mark.slow
def test_quickstart_train_samples_a_short_run(tiny_savedmodels, tmp_path, capsys):
    out, workdir = tmp_path / "trained.png", tmp_path / "run"
    argv = ["quickstart", "--train", "--model", "cgan_t2i_tiny", "--steps", "2", "--no-xla",
            "--workdir", str(workdir), "--out", str(out), "--savedmodels", tiny_savedmodels]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-2")
    assert f"trained in {workdir}" in printed and f"wrote {out}" in printed
    # The hint exports under the run's own name: a pretrained model's name would hide the shipped model.
    assert (f"to export it: zoo export --workdir {workdir} --out savedmodels --name cgan_t2i_tiny_quickstart"
            in printed) and "cgan_t2i_tiny_quickstart" not in list_recipes()
    assert re.search(r"^score: [0-6]/6 generated images captioned back correctly", printed, re.M)
    with Image.open(out) as sheet:
        assert sheet.format == "PNG"


def test_same_objects_reads_any_template_and_order():
    assert same_objects("a large red circle on the left", "large red circle left")
    assert same_objects("a small blue square at the top and a large red circle at the bottom",
                        "there is a large red circle at the bottom and a small blue square at the top")
    assert not same_objects("a large red circle on the left", "a small red circle on the left")
    assert not same_objects("a large red circle on the left", "a large red circle on the right")
    assert not same_objects("a large red circle on the left", "circle circle circle")
    assert score_line([True, False, True]).startswith("score: 2/3 generated images captioned back correctly")


def test_missing_models_say_how_to_get_them(tmp_path):
    message = missing_message(["cgan_t2i_shapes", "cgan_i2i_shapes"], str(tmp_path))
    assert ("zoo train --recipe cgan_t2i_shapes --workdir runs/cgan_t2i_shapes && zoo export --workdir "
            "runs/cgan_t2i_shapes/gan --out savedmodels --name cgan_t2i_shapes") in message
    assert "--workdir runs/cgan_i2i_shapes/pix2pix" in message
    assert str(tmp_path) in message and "$ZOO_SAVEDMODELS" in message and "zoo quickstart --train" in message


def test_bad_arguments_are_clear_errors(tmp_path, capsys):
    assert cli.main(["quickstart", "--out", str(tmp_path / "sheet.jpg")]) == 2
    assert "out must be a .png file" in capsys.readouterr().err
    assert cli.main(["quickstart", "--train", "--model", "captioner", "--out", str(tmp_path / "a.png")]) == 2
    assert "model must be one of ['cgan_t2i', 'cgan_t2i_tiny']" in capsys.readouterr().err
    assert cli.main(["quickstart", "--train", "--steps", "0", "--out", str(tmp_path / "a.png")]) == 2
    assert "steps must be a positive int, got 0" in capsys.readouterr().err
