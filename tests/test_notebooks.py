"""The tutorials in notebooks/ run top to bottom in fast mode (ZOO_NOTEBOOK_FAST=1), on tiny pretrained exports."""

import importlib.util
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
TUTORIALS = ["01_tour", "02_text_to_image", "03_captioning", "04_inpainting", "05_image_to_image", "06_serving"]


def _runner():
    """notebooks/execute.py, the script that makes the committed outputs (not a package module)."""
    spec = importlib.util.spec_from_file_location("notebooks_execute", NOTEBOOKS_DIR / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_tutorial_is_there():
    assert [path.stem for path in NOTEBOOKS] == TUTORIALS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_fast_mode(path, tiny_savedmodels, monkeypatch, request):
    if "shared" in path.read_text():
        request.getfixturevalue("shared_data")  # skips without ../shared/data
    monkeypatch.setenv("ZOO_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("ZOO_SAVEDMODELS", tiny_savedmodels)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = _runner().run(path, timeout=600)  # a cell that raises fails the test with its traceback
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count for cell in code_cells)
    assert not [output for cell in code_cells for output in cell.outputs if output.output_type == "error"]
