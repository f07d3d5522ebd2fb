"""Shards of prepared `shapes` scenes: rendering and writing them, in zoo or in a worker process.

Run as a script (`python shapes_shards.py ROOT SPLIT SIZE SHARD...`), it writes those shards
and prints a line for each; it then loads the renderer (`shapes.py`, numpy and PIL) by its
path, without importing zoo and so without TensorFlow. `shapes_cache` is the interface.
"""

import os
import sys
import tempfile

import numpy as np

if __name__ == "__main__":
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "_zoo_shapes_renderer", os.path.join(os.path.dirname(os.path.abspath(__file__)), "shapes.py"))
    shapes = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(shapes)
else:
    from zoo.data import shapes

SHARD = 1000
MAX_OBJECTS = 2
CAPTION_BYTES = 200  # the spec's longest caption is under 80 characters


def _shard_path(root, split, image_size, shard):
    return os.path.join(root, f"{split}_{image_size}px", f"shard-{shard:03d}.npz")


def object_table(scene):
    """int32 [4, MAX_OBJECTS]: each object's colour, shape, size and cell index; -1 where a scene has fewer."""
    table = np.full((4, MAX_OBJECTS), -1, np.int32)
    for k, o in enumerate(scene["objects"]):
        table[:, k] = (shapes.COLOUR_NAMES.index(o["colour"]), shapes.SHAPE_NAMES.index(o["shape"]),
                       shapes.SIZE_NAMES.index(o["size"]), o["cell"])
    return table


def _render_shard(split, image_size, shard):
    """The arrays of one shard: its scenes rendered in index order."""
    start = shard * SHARD
    stop = min(start + SHARD, shapes.SPLITS[split])
    n = stop - start
    out = {"image": np.zeros((n, image_size, image_size, 3), np.uint8),
           "label_map": np.zeros((n, image_size, image_size, 1), np.uint8),
           "captions": np.zeros((n, 3), f"S{CAPTION_BYTES}"),
           "table": np.full((n, 4, MAX_OBJECTS), -1, np.int32),
           "bbox": np.zeros((n, MAX_OBJECTS, 4), np.int32)}
    for i in range(n):
        s = shapes.scene(split, start + i, image_size=image_size)
        out["image"][i], out["label_map"][i] = s["image"], s["label_map"]
        out["captions"][i] = [c.encode() for c in s["captions"]]
        out["table"][i] = object_table(s)
        for k, o in enumerate(s["objects"]):
            out["bbox"][i, k] = o["bbox"]
    return out


def _write_shard(root, split, image_size, shard):
    """Render and write one shard atomically (written beside, then renamed); returns its path."""
    path = _shard_path(root, split, image_size, shard)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    arrays = _render_shard(split, image_size, shard)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".npz.tmp")
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **arrays)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path


def _worker(argv):
    """`python shapes_shards.py ROOT SPLIT SIZE SHARD...`: write those shards, a line each."""
    root, split, image_size, *shards = argv
    for shard in shards:
        _write_shard(root, split, int(image_size), int(shard))
        print(shard, flush=True)



if __name__ == "__main__":
    _worker(sys.argv[1:])
