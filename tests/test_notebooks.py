"""The tutorials in notebooks/ run top to bottom in fast mode (ZOO_NOTEBOOK_FAST=1), on tiny pretrained exports."""

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
TUTORIALS = ["01_tour", "02_text_to_image", "03_captioning", "04_inpainting", "05_image_to_image", "06_serving"]


def test_every_tutorial_is_there():
    assert [path.stem for path in NOTEBOOKS] == TUTORIALS


def _kernel_manager():
    # The kernel runs this very interpreter (the venv with zoo installed), whatever spec is found first.
    manager = KernelManager(kernel_name="python3")
    manager.kernel_spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return manager


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_fast_mode(path, tiny_savedmodels, monkeypatch, request):
    if "shared" in path.read_text():
        request.getfixturevalue("shared_data")  # skips without ../shared/data
    monkeypatch.setenv("ZOO_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("ZOO_SAVEDMODELS", tiny_savedmodels)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook = nbformat.read(path, as_version=4)
    manager = _kernel_manager()
    client = NotebookClient(notebook, km=manager, timeout=600, resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    try:
        client.execute()  # a cell that raises fails the test with its traceback
    finally:
        # A kernel manager passed in is not owned by the client, which would leave the kernel running.
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells and all(cell.execution_count for cell in code_cells)
    assert not [output for cell in code_cells for output in cell.outputs if output.output_type == "error"]
