import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_savedmodels(tmp_path_factory):
    """A folder holding the four pretrained names, exported from untrained tiny models.

    What the quickstart and the notebooks load in tests (through `--savedmodels` or
    $ZOO_SAVEDMODELS): the real graphs and signatures, at a fraction of the size.
    """
    import zoo
    from zoo.export import export

    out = tmp_path_factory.mktemp("tiny_savedmodels")
    for model, name in (("cgan_t2i_tiny", "cgan_t2i_shapes"), ("captioner_tiny", "captioner_shapes"),
                        ("cgan_inpaint_tiny", "cgan_inpaint_shapes"), ("cgan_i2i_tiny", "cgan_i2i_shapes")):
        export(zoo.build(model), str(out), name, metadata={"trained_steps": 0})
    return str(out)


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
