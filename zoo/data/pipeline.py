"""`zoo.data.load`: batched, prefetched `tf.data` pipelines in one dict layout.

Every data set comes out as batches of dicts with static shapes:
- `image`: float32 [B, S, S, 3] in [-1, 1]
- `captions`: string [B, K]; `caption`: string [B] (one of them, drawn per example);
  `tokens`: int32 [B, L], the ids of `caption`
- `mask`: float32 [B, S, S, 1], 1 = missing pixel (drawn per example)
- `label_map`: uint8 [B, S, S, C] (shapes: class indices, C = 1; facades: colours, C = 3)
- shapes only: `objects`, a dict of int32 [B, 2] (`colour`, `shape`, `size`, `cell`,
  -1 where a scene has one object) and `index` int64 [B]

Example:
    ds = zoo.data.load("shapes", split="train", batch_size=32)
    batch = next(iter(ds))
"""

import numpy as np
import tensorflow as tf

from zoo.data import shapes
from zoo.data.errors import DataError
from zoo.data.shapes_shards import MAX_OBJECTS, object_table
from zoo.text import SHAPES_MAX_LENGTH, Tokenizer, Vocabulary, shapes_vocabulary

DATASETS = ("shapes", "coco", "facades", "pix2pix")
COCO_MAX_LENGTH = 32
DRAWN_MASK_KINDS = ("mix", "box", "stroke", "object")  # drawn into `shapes` scenes
_MASK_CHOICES = DRAWN_MASK_KINDS + (None,)
_CHUNK = 32  # shapes scenes read or rendered per Python call


def _check_mask_option(masks, name):
    if isinstance(masks, str) and masks not in _MASK_CHOICES and not tf.io.gfile.isdir(masks):
        raise DataError(
            f"masks={masks!r} is neither a mask kind {[m for m in _MASK_CHOICES if m]}, None, "
            "nor a folder of PNG hole masks."
        )
    if name != "shapes" and masks in ("object",):
        raise DataError("masks='object' needs the objects of a scene; only the `shapes` data set has them.")


# === shapes ===
def _shapes_examples(split, image_size, masks, shuffle, repeat, seed, num_examples, skip_examples=0, cache="auto",
                     data_dir=None):
    shapes.check_split(split)
    count = shapes.SPLITS[split] if num_examples is None else int(num_examples)
    if not 0 < count <= shapes.SPLITS[split]:
        raise DataError(f"num_examples must be in 1..{shapes.SPLITS[split]} for split {split!r}, got {num_examples}.")
    prepared = _prepared_scenes(split, image_size, count, cache, data_dir)
    indices = tf.data.Dataset.range(count)
    if shuffle:
        indices = indices.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        indices = indices.repeat()
    # Resuming skips indices, which is free, instead of rendering and dropping scenes.
    indices = indices.skip(skip_examples)
    mask_kind = masks

    def render(positions, chunk):
        # One Python call per chunk of scenes, not per scene: TensorFlow's cost of a
        # `numpy_function` call is more than reading a prepared scene.
        image, label_map, captions, hole, table = tf.numpy_function(
            lambda i, p: _render_many(split, i, p, seed, image_size, mask_kind, prepared),
            [chunk, positions],
            [tf.uint8, tf.uint8, tf.string, tf.uint8, tf.int32],
            stateful=False,
        )
        image.set_shape([None, image_size, image_size, 3])
        label_map.set_shape([None, image_size, image_size, 1])
        captions.set_shape([None, 3])
        hole.set_shape([None, image_size, image_size, 1])
        table.set_shape([None, 4, MAX_OBJECTS])
        objects = {"colour": table[:, 0], "shape": table[:, 1], "size": table[:, 2], "cell": table[:, 3]}
        return {"image": image, "label_map": label_map, "captions": captions, "mask": hole,
                "objects": objects, "index": chunk, "position": positions}

    chunks = indices.enumerate(start=skip_examples).batch(_CHUNK)
    examples = chunks.map(render, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()
    # `unbatch` forgets how many there are; a split read once still has a known size.
    return examples if repeat else examples.apply(tf.data.experimental.assert_cardinality(max(count - skip_examples, 0)))


def _render_many(split, indices, positions, seed, image_size, masks, prepared):
    """`_render_one` for each (index, position), stacked."""
    rows = [_render_one(split, i, p, seed, image_size, masks, prepared) for i, p in zip(indices, positions)]
    return tuple(np.stack(column) for column in zip(*rows))


def _prepared_scenes(split, image_size, count, cache, data_dir):
    """The prepared scenes to read (`shapes_cache`), or None to render every scene.

    `cache`: "auto" reads what is prepared and renders the rest; True prepares the missing
    shards first (with a progress bar); False always renders.
    """
    if cache not in ("auto", True, False):
        raise DataError(f"cache must be 'auto', True or False, got {cache!r}.")
    if cache is False or image_size not in (32, 64, 128):
        return None
    from zoo.data import shapes_cache

    if cache is True:
        shapes_cache.prepare(split, image_size, count=count, data_dir=data_dir)
    # Shards missing (not prepared, or beyond what "auto" found) are rendered as before.
    return shapes_cache.PreparedScenes(split, image_size, data_dir=data_dir)


def _render_one(split, index, position, seed, image_size, masks, prepared=None):
    index, position = int(index), int(position)
    cached = prepared.get(index) if prepared is not None else None
    if cached is not None:
        image, label_map, captions, table, s = cached
    else:
        image, label_map, captions, table, s = _render_scene(split, index, image_size)
    mask_seed = shapes._stable_seed("pipeline-mask", seed, position)
    if masks is None or not isinstance(masks, str) or masks not in _MASK_CHOICES:
        hole = np.zeros((image_size, image_size, 1), np.uint8)
    elif masks == "mix":
        hole = shapes.training_mask(mask_seed, s)
    else:
        hole = shapes.mask(masks, mask_seed, scene=s)
    return image, label_map, np.asarray(captions, dtype=object), hole, table


def _render_scene(split, index, image_size):
    """What `shapes_cache.PreparedScenes.get` reads, rendered now."""
    s = shapes.scene(split, index, image_size=image_size)
    captions = np.array([c.encode() for c in s["captions"]], dtype=object)
    return s["image"], s["label_map"], captions, object_table(s), s


# === real data ===
def square_resize(image, image_size, method="bilinear"):
    """Centre-crop to a square, then resize: the usual recipe for captioning photos."""
    shape = tf.shape(image)
    side = tf.minimum(shape[0], shape[1])
    top = (shape[0] - side) // 2
    left = (shape[1] - side) // 2
    square = image[top:top + side, left:left + side]
    resized = tf.image.resize(square, [image_size, image_size], method=method, antialias=method != "nearest")
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _real_examples(name, split, path, image_size, **options):
    if path is None:
        raise DataError(f"Data set {name!r} is read from files: give path=... (e.g. ../shared/data/{'coco-mini' if name == 'coco' else 'facades'}).")
    if name == "coco":
        from zoo.data import coco

        raw = coco.coco_captions(path, split=split, **options)
    else:
        from zoo.data import pix2pix

        raw = pix2pix.paired_images(path, split=split, **options)

    def resize(example):
        out = dict(example)
        out["image"] = square_resize(example["image"], image_size)
        if "label_map" in example:
            out["label_map"] = square_resize(example["label_map"], image_size, method="nearest")
        out["mask"] = tf.zeros([image_size, image_size, 1], tf.uint8)
        return out

    return raw.map(resize, num_parallel_calls=tf.data.AUTOTUNE)


def random_jitter(example, seed, position):
    """pix2pix's augmentation of a training pair: both halves resized to 286/256 of their size
    (the photo bilinearly, the label map by nearest neighbour), cropped back at one random
    offset, and mirrored together half the time; drawn from (seed, position in the stream)."""
    size = example["image"].shape[0]
    big = int(round(size * 286 / 256))
    image = tf.image.resize(example["image"], [big, big], method="bilinear")
    label_map = tf.image.resize(example["label_map"], [big, big], method="nearest")
    pair = tf.concat([tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), tf.cast(label_map, tf.uint8)], -1)
    draw = tf.stack([tf.constant(seed, tf.int64), tf.cast(position, tf.int64)])
    pair = tf.image.stateless_random_crop(pair, [size, size, pair.shape[-1]], seed=draw)
    pair = tf.image.stateless_random_flip_left_right(pair, seed=draw + 1)
    return {**example, "image": pair[..., :3], "label_map": pair[..., 3:]}


def _tfds_examples(name, split, data_dir, image_size):
    from zoo.data import tfds_source

    raw = tfds_source.from_tfds(name, split, data_dir=data_dir)

    def resize(example):
        out = dict(example)
        out["image"] = square_resize(example["image"], image_size)
        out["mask"] = tf.zeros([image_size, image_size, 1], tf.uint8)
        return out

    return raw.map(resize, num_parallel_calls=tf.data.AUTOTUNE)


def _folder_masks(path, image_size, seed, split, skip_examples=0):
    """The hole of each stream position from a folder of masks (`zoo.data.mask_folder`).

    `train`: a mask drawn from the folder's train masks and augmented (`augment_mask`), both from
    (seed, position), so a resumed run continues the same stream. Other splits: the held-out test
    masks in order, cycled, unaugmented.
    """
    from zoo.data import mask_folder

    if split != "train":
        holes = mask_folder.hole_masks(path, image_size=image_size, split="test").map(lambda example: example["mask"])
        return holes.repeat().skip(skip_examples)
    return mask_folder.augmented_masks(path, image_size, seed=seed, skip_examples=skip_examples)


# === common tail ===
def _pick_caption(example, seed):
    """One of an example's captions, drawn from (seed, position in the stream)."""
    captions = example.get("captions")
    if captions is None:
        return example
    position = tf.cast(example.get("position", 0), tf.int32)
    pick = tf.random.stateless_uniform([], seed=tf.stack([tf.constant(seed, tf.int32), position]),
                                       maxval=tf.shape(captions)[0], dtype=tf.int32)
    return {**example, "caption": captions[pick]}


def _finish_batch(batch, tokenizer):
    """Per batch, not per example (a tokenizer call costs about as much for 32 captions as for one):
    token ids of the picked captions, images scaled to [-1, 1], masks as float."""
    out = dict(batch)
    if tokenizer is not None and "caption" in batch:
        tokens = tokenizer(batch["caption"])
        tokens.set_shape([batch["caption"].shape[0], tokenizer.max_length])  # static when the batch size is
        out["tokens"] = tokens
    out["image"] = tf.cast(batch["image"], tf.float32) / 127.5 - 1.0
    out["mask"] = tf.cast(batch["mask"], tf.float32)
    out.pop("position", None)
    return out


def default_vocabulary(name, path=None, split="train"):
    """The vocabulary a data set's models use by default."""
    if name == "shapes":
        return shapes_vocabulary(), SHAPES_MAX_LENGTH
    if name == "coco":
        return Vocabulary.from_captions(split_captions(name, path, split), min_count=1), COCO_MAX_LENGTH
    return None, None


def split_captions(name, path=None, split="train"):
    """Every caption of a captioned data set's split, as a list of str (no image is read or drawn).

    Example:
        captions = split_captions("coco", "../shared/data/coco-mini")   # 5 per image
    """
    if name == "shapes":
        shapes.check_split(split)
        return [c for index in range(shapes.SPLITS[split]) for c in shapes.scene_captions(split, index)]
    if name == "coco":
        from zoo.data import coco

        return [c for record in coco.read_annotations(path, split=split, validate=False) for c in record[1]]
    raise DataError(f"Data set {name!r} has no captions to read; captioned data sets: 'shapes', 'coco'.")


def load(name, split="train", batch_size=32, image_size=64, path=None, vocabulary=None,
         max_length=None, masks="mix", shuffle=None, repeat=None, seed=0, num_examples=None,
         drop_remainder=True, data_dir=None, skip_examples=0, cache="auto", augment=None, **options):
    """A batched, prefetched `tf.data.Dataset` of training-ready dicts (see the module doc).

    Args:
        name: `shapes`, `coco` (COCO captions format at `path`), `facades` or `pix2pix`
            (paired "AB" images at `path`), or the name of a TFDS data set prepared locally.
        split: the split name (`shapes`: train, validation, test, test_compositional).
        masks: `mix` (the spec's training mix), a kind (`box`, `stroke`, `object`), a folder
            of PNG hole masks (255 = hole; the `train` split draws augmented train masks, other
            splits the held-out test masks: `zoo.data.mask_folder`), or None (no hole).
        shuffle, repeat: default to True for `train`, False otherwise.
        num_examples: use only the first N examples of the split.
        skip_examples: start this many examples into the (shuffled, repeated) stream, as a
            resumed run does; the masks and caption choices continue where they were.

        drop_remainder: drop a last batch smaller than `batch_size` (static shapes for compiled
            steps); a split (or its `num_examples`) smaller than one batch is then a DataError.
        cache: `shapes` only: "auto" reads the scenes prepared on disk (`zoo data prepare`,
            `zoo.data.shapes_cache`) and renders the rest; True prepares the split's missing
            scenes first (a progress bar; about 20 s for the 20000 training scenes on 2 cores);
            False always renders. The pixels are the same either way.
        augment: pix2pix pairs only: the paper's random jitter and mirroring (`random_jitter`);
            None: on for the `train` split of `facades`/`pix2pix`, off otherwise.
        data_dir: where TFDS data sets (and the prepared `shapes` scenes) are; default
            $TFDS_DATA_DIR or ~/tensorflow_datasets.

    Example:
        ds = load("coco", split="val", path="../shared/data/coco-mini", batch_size=8)
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch_size must be a positive int, got {batch_size!r}.")
    if image_size not in (32, 64, 128, 256):
        raise DataError(f"image_size must be one of 32, 64, 128, 256, got {image_size!r}.")
    _check_mask_option(masks, name)
    training = split == "train"
    shuffle = training if shuffle is None else shuffle
    repeat = training if repeat is None else repeat
    kind = masks if masks in _MASK_CHOICES else None
    if augment and name not in ("facades", "pix2pix"):
        raise DataError(f"augment applies to pix2pix pairs (facades, pix2pix), not {name!r}.")
    if name == "shapes":
        examples = _shapes_examples(split, image_size, kind, shuffle, repeat, seed, num_examples, skip_examples,
                                    cache, data_dir)
    else:
        examples = _other_examples(name, split, path, image_size, data_dir, **options)
        examples = examples.enumerate().map(lambda i, e: {**e, "position": i})
        if num_examples is not None:
            examples = examples.take(num_examples)
        if shuffle:
            examples = examples.shuffle(1024, seed=seed)
        if repeat:
            examples = examples.repeat()
        examples = examples.skip(skip_examples)
        if augment is None:
            augment = training and name in ("facades", "pix2pix")
        if augment:
            examples = examples.enumerate(start=skip_examples).map(
                lambda i, e: random_jitter(e, seed, i), num_parallel_calls=tf.data.AUTOTUNE)
    if masks is not None and masks not in _MASK_CHOICES:
        holes = _folder_masks(masks, image_size, seed, split, skip_examples)
        examples = tf.data.Dataset.zip(examples, holes).map(lambda e, m: {**e, "mask": m})
    if vocabulary is None:
        vocabulary, default_length = default_vocabulary(name, path)
        max_length = max_length or default_length
    tokenizer = Tokenizer(vocabulary, max_length or COCO_MAX_LENGTH) if vocabulary is not None else None
    if tokenizer is not None:
        examples = examples.map(lambda e: _pick_caption(e, seed), num_parallel_calls=tf.data.AUTOTUNE)
    if drop_remainder:
        _check_a_batch_remains(examples, name, split, batch_size)
    batches = examples.batch(batch_size, drop_remainder=drop_remainder)
    batches = batches.map(lambda b: _finish_batch(b, tokenizer), num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


def _check_a_batch_remains(examples, name, split, batch_size):
    """A split smaller than one batch would give no batch at all, silently (a bare StopIteration)."""
    count = int(examples.cardinality())
    # Unknown (a filtered TFDS source) or infinite (repeated): nothing to say in advance.
    if count < 0 or count >= batch_size:
        return
    raise DataError(
        f"Split {split!r} of {name!r} has {count} examples, fewer than batch_size={batch_size}: with "
        f"drop_remainder=True (the default, for static shapes) it gives no batch at all. Pass "
        f"drop_remainder=False (one batch of {count}) or a batch_size of at most {max(count, 1)}."
    )


def _other_examples(name, split, path, image_size, data_dir, **options):
    if name in ("coco", "facades", "pix2pix"):
        return _real_examples("coco" if name == "coco" else "pix2pix", split, path, image_size, **options)
    try:
        return _tfds_examples(name, split, data_dir, image_size)
    except DataError as error:
        raise DataError(
            f"Unknown data set {name!r}: not one of {list(DATASETS)}, and not a TFDS data set "
            f"prepared locally ({error})"
        ) from error
