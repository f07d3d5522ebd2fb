"""`shapes` scenes rendered once and read back: what the input pipeline reads instead of rendering.

A scene is deterministic per (split, index, image size), so it is rendered once, as TFDS
prepares a data set, and read from disk afterwards. The renderer runs in Python (one
thread at a time under the GIL, about 500 scenes/s on one core), less than the fastest
families consume; a prepared split is read at thousands of scenes/s.

The cache is kept in TFDS's data directory (`$TFDS_DATA_DIR`, default
`~/tensorflow_datasets`), never in the repository:
`zoo_shapes/<fingerprint>/<split>_<size>px/shard-<k>.npz`, 1000 scenes a shard. The
fingerprint is a hash of the renderer's source (`zoo/data/shapes.py`), so a changed
renderer never reads old pixels; each shard is also checked against a fresh render of
its first scene when it is opened, and rebuilt if they differ.

Only the scenes are cached. Masks are drawn per position in the stream (a new one each
epoch), so they are still drawn as the pipeline runs (`pipeline._render_one`).

Example:
    from zoo.data import shapes_cache
    shapes_cache.prepare("train")          # ~20 s on 2 cores for the 20000 training scenes
    zoo.data.load("shapes", split="train")  # now reads them (cache="auto")
"""

import hashlib
import logging
import os
import subprocess
import sys
import threading

import numpy as np

from zoo.data import shapes
from zoo.data.shapes_shards import MAX_OBJECTS, SHARD, _shard_path, _write_shard

log = logging.getLogger("zoo.data")



def fingerprint():
    """A hash of the renderer's source: a cache made by another renderer is never read."""
    with open(shapes.__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def cache_root(data_dir=None):
    """Where prepared scenes live: `<data_dir or $TFDS_DATA_DIR or ~/tensorflow_datasets>/zoo_shapes/<fingerprint>`."""
    base = data_dir or os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")
    return os.path.join(base, "zoo_shapes", fingerprint())


def shards_for(split, count=None):
    """The shard numbers holding scenes 0..count-1 of `split` (all of it by default)."""
    count = shapes.SPLITS[split] if count is None else count
    return range((count + SHARD - 1) // SHARD)


def _same_as_rendered(arrays, split, image_size, shard):
    """Whether a shard's first scene is what the renderer draws now."""
    s = shapes.scene(split, shard * SHARD, image_size=image_size)
    return (np.array_equal(arrays["image"][0], s["image"]) and np.array_equal(arrays["label_map"][0], s["label_map"])
            and [c.decode() for c in arrays["captions"][0]] == list(s["captions"]))


def missing_shards(split, image_size=64, count=None, data_dir=None):
    root = cache_root(data_dir)
    return [k for k in shards_for(split, count) if not os.path.exists(_shard_path(root, split, image_size, k))]


def prepare(split, image_size=64, count=None, data_dir=None, workers=None, progress=True):
    """Render the shards of scenes 0..count-1 of `split` that are not on disk yet; returns how many were written.

    Shards are rendered by `workers` processes (default: one per core) with a progress bar
    on stderr. Safe to run from several processes at once: each shard is renamed into
    place whole, so a reader sees a whole shard or none.
    """
    shapes.check_split(split)
    root = cache_root(data_dir)
    todo = missing_shards(split, image_size, count, data_dir)
    if not todo:
        return 0
    workers = min(len(todo), workers or os.cpu_count() or 1)
    bar = _progress(len(todo), f"preparing shapes {split} at {image_size} px ({len(todo) * SHARD} scenes)",
                    progress)
    try:
        if workers == 1:
            for shard in todo:
                _write_shard(root, split, image_size, shard)
                bar.update(1)
        else:
            _prepare_in_processes(root, split, image_size, todo, workers, bar)
    finally:
        bar.close()
    log.info("prepared %d shards of shapes %s at %d px in %s", len(todo), split, image_size, root)
    return len(todo)


def _prepare_in_processes(root, split, image_size, todo, workers, bar):
    """Shards rendered by `workers` Python processes (`python shapes_shards.py`), each a share.

    Separate interpreters rather than `multiprocessing`: forking a process that runs
    TensorFlow's threads can deadlock, and spawning re-runs the caller's main module, which
    a user's script without an `if __name__ == "__main__"` guard cannot survive. The workers
    load the renderer alone (numpy and PIL), not TensorFlow, so they start in a fraction of a second.
    """
    shares = [todo[i::workers] for i in range(workers)]
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shapes_shards.py")
    processes = [subprocess.Popen([sys.executable, worker, root, split, str(image_size),
                                   *map(str, share)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for share in shares]
    def follow(process):
        for _ in process.stdout:  # one line per shard written
            bar.update(1)

    readers = [threading.Thread(target=follow, args=(process,), daemon=True) for process in processes]
    try:
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join()
        failed = [(p, p.stderr.read()) for p in processes if p.wait() != 0]
    except BaseException:
        for process in processes:
            process.kill()
        raise
    if failed:
        raise RuntimeError(f"preparing shapes {split} failed: {failed[0][1].strip().splitlines()[-1:]}")


def _progress(total, description, enabled):
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="shard", file=sys.stderr, disable=not enabled, leave=False)


class PreparedScenes:
    """Read access to the prepared shards of one split and size; `get(index)` is None where a shard is missing.

    Shards are read whole when first touched (16 MB at 64 px) and kept in memory.
    """

    def __init__(self, split, image_size=64, data_dir=None):
        self.split, self.image_size = split, image_size
        self.root = cache_root(data_dir)
        self._shards = {}

    def _shard(self, shard):
        if shard not in self._shards:
            path = _shard_path(self.root, self.split, self.image_size, shard)
            if not os.path.exists(path):
                self._shards[shard] = None
            else:
                self._shards[shard] = self._open(path, shard)
        return self._shards[shard]

    def _open(self, path, shard):
        try:
            with np.load(path) as f:
                arrays = {key: f[key] for key in f.files}
            if _same_as_rendered(arrays, self.split, self.image_size, shard):
                return arrays
            log.warning("%s differs from what the renderer draws now: rendering it again", path)
        except (OSError, ValueError, KeyError) as error:  # a damaged file: rendered again
            log.warning("%s cannot be read (%s): rendering it again", path, error)
        _write_shard(self.root, self.split, self.image_size, shard)
        with np.load(path) as f:
            return {key: f[key] for key in f.files}

    def get(self, index):
        """`(image, label_map, captions bytes [3], table [4, 2], scene dict for masks)` of scene `index`, or None."""
        arrays = self._shard(index // SHARD)
        if arrays is None:
            return None
        i = index % SHARD
        table = arrays["table"][i]
        objects = [{"bbox": tuple(int(v) for v in arrays["bbox"][i, k])} for k in range(MAX_OBJECTS) if table[0, k] >= 0]
        scene = {"image": arrays["image"][i], "objects": objects}
        return arrays["image"][i], arrays["label_map"][i], arrays["captions"][i], table, scene
