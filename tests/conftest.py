import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite's stated factors and tolerances are float32's: on a CPU with avx512_bf16 the
# default precision="auto" would otherwise train every test run in bfloat16.
# `training/test_bfloat16.py` trains each family in bfloat16 on purpose, and tests "auto" itself.
os.environ["ZOO_AUTO_PRECISION"] = "float32"

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


TINY_EXPORTS = {"cgan_t2i_tiny": "cgan_t2i_shapes", "captioner_tiny": "captioner_shapes",
                "cgan_inpaint_tiny": "cgan_inpaint_shapes", "cgan_i2i_tiny": "cgan_i2i_shapes",
                "cvae_t2i_tiny": "cvae_t2i_shapes", "regression_t2i_tiny": "regression_t2i_shapes"}
# Stand-ins for the pretrained photo models, under their names, for the notebooks' fast mode:
# {pretrained name: (tiny preset, overrides that give it the photo model's inputs)}.
_TINY_PIX2PIX = ("cgan_i2i_facades", {"image_size": 32, "generator_channels": 4, "discriminator_channels": 4,
                                      "max_channels": 16})
TINY_PHOTO_EXPORTS = {"cgan_inpaint_facades": ("cgan_inpaint_tiny", {"use_text": False}),
                      "cgan_i2i_facades": _TINY_PIX2PIX, "cgan_i2i_facades_l1only": _TINY_PIX2PIX}


def built_once(tmp_path_factory, worker_id, name, build):
    """A folder that `build(folder)` fills once per test session.

    Under pytest-xdist the workers share it: the first to ask builds it, under a file lock,
    and the others wait, then read what it wrote (`build` runs once, not once per worker).
    """
    if worker_id == "master":  # no xdist: this process is the session
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent  # this run's folder, shared by its workers
    folder, done = root / name, root / f"{name}.built"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed mid-build left a part
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def tiny_exports(tmp_path_factory, worker_id):
    """The tiny families, untrained, and their exports under the pretrained names.

    The folder also holds `TINY_PHOTO_EXPORTS`, which only the notebooks load.

    Returns `(folder, models, paths)`: `models[tiny name]` is the built task and
    `paths[tiny name]` its SavedModel, `folder/<pretrained name>/1`. Exported once per session
    (a worker that did not export builds the tasks and loads the exported weights) and shared
    by the export, evaluation, pretrained, quickstart and notebook tests; the tests only read
    them (a test that writes copies the folder first).
    """
    import zoo
    from zoo.export import export

    built = {}

    def export_all(folder):
        (folder / "savedmodels").mkdir()
        (folder / "weights").mkdir()
        for name, pretrained in TINY_EXPORTS.items():
            built[name] = zoo.build(name).build_all()
            export(built[name], str(folder / "savedmodels"), pretrained, metadata={"trained_steps": 0})
            built[name].save_weights(str(folder / "weights" / f"{name}.weights.h5"))
        for pretrained, (name, overrides) in TINY_PHOTO_EXPORTS.items():
            export(zoo.build(name, **overrides).build_all(), str(folder / "savedmodels"), pretrained,
                   metadata={"trained_steps": 0})

    folder = built_once(tmp_path_factory, worker_id, "tiny_exports", export_all)
    models = built or {name: zoo.build(name).build_all() for name in TINY_EXPORTS}
    if not built:
        for name, model in models.items():
            model.load_weights(str(folder / "weights" / f"{name}.weights.h5"))
    out = folder / "savedmodels"
    paths = {name: str(out / pretrained / "1") for name, pretrained in TINY_EXPORTS.items()}
    return str(out), models, paths


@pytest.fixture(scope="session")
def tiny_savedmodels(tiny_exports):
    """A folder holding the pretrained names, exported from untrained tiny models.

    What the quickstart and the notebooks load in tests (through `--savedmodels` or
    $ZOO_SAVEDMODELS): the real graphs and signatures, at a fraction of the size.
    """
    return tiny_exports[0]


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


# The longest files first, longest to shortest (as measured without the slow tests, 2 workers, this
# 2-core machine): with `-n 2 --dist loadfile` each file runs whole on one worker, and a worker that
# took a minutes-long file last would run on alone after the other finished. Each worker takes the
# next file when it is free, so this order balances the two (a longest-first schedule). With only the
# three longest ordered, the run took 116 s more than half its tests' summed time; with these, 30 s.
# (`--no-loadscope-reorder` keeps this order; by default xdist orders files by their test count.)
LONGEST_FILES = ("test_notebooks.py", "test_readme_examples.py", "training/test_cgan_t2i_step.py",
                 "training/test_trainer.py", "training/test_runs.py", "evaluation/test_evaluate.py",
                 "test_pretrained.py", "models/test_all_families.py", "evaluation/test_real_data.py",
                 "export/test_export.py", "training/test_recipes.py", "training/test_cgan_inpaint_step.py",
                 "training/test_best.py", "training/test_cvae_t2i_step.py", "training/test_mixed_precision.py",
                 "training/test_cgan_i2i_step.py", "training/test_captioner_step.py", "text/test_bert_encoder.py",
                 "data/test_shapes_cache.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        path = item.path.as_posix()
        return next((i for i, name in enumerate(LONGEST_FILES) if path.endswith("tests/" + name)), len(LONGEST_FILES))

    items.sort(key=rank)  # stable: the order within files and among the others is kept
