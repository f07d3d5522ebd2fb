"""The run configuration: one dataclass whose fields `zoo train --set key=value` overrides."""

import dataclasses
import json
import os

from zoo.local_weights import LOCAL_FILE_FIELDS
from zoo.training.workdir import atomic_write_text

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker")
# What `keep_best` can select on: the strict reader's scores of the sampled validation batch
# (higher is better), which runs that draw `shapes` scenes log at every `sample_every`.
BEST_METRICS = {"reader/objects_right": "object", "reader/scenes_right": "scene"}
# Paths a config may hold besides the workdir; `config.json` stores them relative to the workdir.
PATH_FIELDS = ("data_path", "masks", "init_from")
# What a resumed run cannot change: the checkpoint's variables were made for these values
# (init_from only seeds a fresh run, so on a resume it would silently do nothing). The precision
# may change between float32 and bfloat16 (the same float32 variables), not to or from the loss
# scale of mixed_float16, whose checkpoints hold it (`Trainer._check_resume_config`).
FIXED_ON_RESUME = ("model", "model_overrides", "init_from", "init_networks")


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run needs; written to `workdir/config.json`.

    Example:
        config = TrainConfig(model="cgan_t2i_tiny", workdir="runs/t2i", steps=200)
        config = config.with_overrides(["learning_rate=1e-4", "hparams.loss=non_saturating"])
    """

    model: str
    workdir: str
    data: str = "shapes"
    data_path: str = None
    # A folder of hole masks (255 = hole), for an inpainting family on data other than `shapes`
    # (e.g. ../shared/data/masks: trains on its train masks, augmented; see zoo.data.mask_folder).
    # None: the family's default (the spec's mask mix on `shapes`).
    masks: str = None
    steps: int = 1000
    batch_size: int = 32
    learning_rate: float = None  # None: the family's default
    # From this step on the learning rate falls linearly, to zero at `steps` (pix2pix's schedule:
    # constant for the first half, then linear decay). None: constant. It may change on a resume;
    # it follows `steps`, so a resume to a new total stretches the decay.
    lr_decay_from: int = None
    beta_1: float = None
    beta_2: float = None
    # "auto": XLA where there is a GPU or TPU, a plain tf.function on CPU, where XLA's CPU
    # backend ran every family's step 2-5x slower than TensorFlow's oneDNN kernels
    # (benchmarks/README.md); True or False forces it.
    xla: object = "auto"
    # "auto": mixed_bfloat16 where the CPU (avx512_bf16, amx_bf16), GPU (compute capability 8.0+)
    # or TPU computes bfloat16 natively, float32 elsewhere (`training/precision.py`).
    precision: str = "auto"
    strategy: str = "default"
    devices: int = 0  # mirrored: logical CPU devices to create when there is no GPU (0: use what exists)
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    summary_every: int = 100
    sample_every: int = 500
    # On `shapes`, for models that draw scenes: how many validation scenes the strict reader scores at
    # every `sample_every` (`reader/*`, what `keep_best` selects on), rounded up to whole batches
    # (2000 at most). 256 scenes hold about 370 objects: a standard error of about 1.6 points on
    # `reader/objects_right` at 90%, against 4.4 for one batch of 32. The images logged are the first 8.
    validation_scenes: int = 256
    ema_decay: float = 0.999  # of the moving average exported and sampled, after a warm-up (zoo.training.ema)
    # Model selection: at every `sample_every`, a checkpoint that beats every earlier one on this
    # metric (one of BEST_METRICS, read on the EMA weights) is kept in `workdir/best/`, whatever
    # `keep_checkpoints` removes later; `zoo export --best` exports it. None: keep no best.
    keep_best: str = None
    seed: int = 0
    progress: bool = True
    model_overrides: dict = dataclasses.field(default_factory=dict)
    hparams: dict = dataclasses.field(default_factory=dict)
    # A workdir whose trained text encoder (and matcher networks) this run starts from; or an export
    # (`zoo export`; a version folder, or a model folder's newest) of the same model, to fine-tune it whole.
    init_from: str = None
    # More networks to start from `init_from`'s: {this model's network: that run's network}, copied
    # layer by layer by name (e.g. {"generator": "decoder", "encoder": "encoder"} from a cvae_t2i run).
    init_networks: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self._check_types()
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}.")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}.")
        for name in ("steps", "batch_size", "checkpoint_every", "summary_every", "sample_every", "keep_checkpoints",
                     "validation_scenes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if self.lr_decay_from is not None and (isinstance(self.lr_decay_from, bool) or not isinstance(self.lr_decay_from, int)
                                               or self.lr_decay_from < 0):
            raise ValueError(f"lr_decay_from must be a step (an int >= 0; at or past `steps`: no decay) or null, "
                             f"got {self.lr_decay_from!r}.")
        if self.xla not in (True, False, "auto"):
            raise ValueError(f"xla must be true, false or 'auto', got {self.xla!r}.")
        if self.init_networks and not self.init_from:
            raise ValueError(f"init_networks {self.init_networks} needs init_from (the run to copy them from).")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in self.init_networks.items()):
            raise ValueError(f"init_networks must map network names to network names, got {self.init_networks!r}.")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}.")
        if self.keep_best is not None and self.keep_best not in BEST_METRICS:
            raise ValueError(f"keep_best must be one of {sorted(BEST_METRICS)} or null, got {self.keep_best!r}.")

    def _check_types(self):
        """Wrong types (often from `--set`) as one clear error, before they fail deep inside training."""
        expected = {"model": str, "workdir": (str, os.PathLike), "data": str, "data_path": (str, os.PathLike, type(None)),
                    "masks": (str, os.PathLike, type(None)),
                    "learning_rate": (int, float, type(None)), "beta_1": (int, float, type(None)),
                    "beta_2": (int, float, type(None)), "ema_decay": (int, float), "seed": int, "devices": int,
                    "progress": bool, "model_overrides": dict, "hparams": dict,
                    "init_from": (str, os.PathLike, type(None)), "init_networks": dict}
        for name, types in expected.items():
            value = getattr(self, name)
            # bool is an int in Python, but `seed=true` is a mistake, not a seed.
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
                accepted = " or ".join("null" if t is type(None) else t.__name__ for t in _as_tuple(types))
                raise ValueError(f"{name} must be {accepted}, got {value!r} ({type(value).__name__}).")

    def with_overrides(self, assignments):
        """A copy with `key=value` strings applied; `hparams.x=` and `model.x=` set nested fields."""
        values = dataclasses.asdict(self)
        fields = {f.name: f for f in dataclasses.fields(self)}
        for assignment in assignments:
            if "=" not in assignment:
                raise ValueError(f"--set takes key=value, got {assignment!r}.")
            key, raw = assignment.split("=", 1)
            value = _parse_value(raw)
            if key.startswith("hparams."):
                values["hparams"] = {**values["hparams"], key[len("hparams."):]: value}
            elif key.startswith("model."):
                values["model_overrides"] = {**values["model_overrides"], key[len("model."):]: value}
            elif key in fields:
                values[key] = value
            else:
                raise ValueError(
                    f"Unknown config field {key!r}; fields are {sorted(fields)}, "
                    "plus hparams.<name> and model.<name>."
                )
        return TrainConfig(**values)

    def same_setting(self, other, name):
        """Whether `other` has the same value of field `name` (paths compared as absolute paths)."""
        mine, theirs = getattr(self, name), getattr(other, name)
        if name in PATH_FIELDS and mine is not None and theirs is not None:
            return os.path.abspath(mine) == os.path.abspath(theirs)
        return mine == theirs

    def portable_dict(self):
        """The fields without the machine's paths: no `workdir` (the folder holding `config.json` is
        the workdir), and `data_path` / `init_from` (and the model's pretrained files given by path:
        `model.word_vectors`, ...) relative to the workdir. What `config.json` and
        an export's `zoo.json` hold, so a run can be moved or copied and still find its parts.
        """
        values = dataclasses.asdict(self)
        del values["workdir"]
        for name in PATH_FIELDS:
            if values[name] is not None:
                values[name] = os.path.relpath(os.path.abspath(values[name]), os.path.abspath(self.workdir))
        # A model's pretrained files given by path likewise; a bare name found in the weights folder stays.
        values["model_overrides"] = {
            k: os.path.relpath(os.path.abspath(v), os.path.abspath(self.workdir))
            if k in LOCAL_FILE_FIELDS and isinstance(v, str) and v and os.path.exists(v) else v
            for k, v in values["model_overrides"].items()}
        return values

    def save(self, path):
        """Write `portable_dict()` to `path` (normally `workdir/config.json`), replacing it atomically."""
        atomic_write_text(path, json.dumps(self.portable_dict(), indent=2, sort_keys=True))

    @classmethod
    def load(cls, path):
        """The config in `path`; its workdir is the folder holding `path`, wherever the run was trained.

        Example:
            config = TrainConfig.load("runs/t2i/config.json")   # config.workdir == "runs/t2i"
        """
        if not os.path.exists(path):
            raise FileNotFoundError(f"No run config at {path!r}; is this a training workdir?")
        with open(path) as f:
            text = f.read()
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            state = "empty" if not text.strip() else f"not valid JSON ({error})"
            raise ValueError(f"The run config {path!r} is {state}. Its checkpoints are untouched: restore the "
                             "file from a copy, or write it again with the run's settings.") from None
        workdir = os.path.dirname(path) or "."
        # Configs written before paths became relative hold the training machine's workdir: ignored.
        values.pop("workdir", None)
        for name in PATH_FIELDS:
            if values.get(name) is not None and not os.path.isabs(values[name]):
                values[name] = os.path.normpath(os.path.join(workdir, values[name]))
        overrides = values.get("model_overrides") or {}
        for name in LOCAL_FILE_FIELDS:
            value = overrides.get(name)
            if isinstance(value, str) and value and not os.path.isabs(value) \
                    and os.path.exists(os.path.join(workdir, value)):
                overrides[name] = os.path.normpath(os.path.join(workdir, value))
        return cls(workdir=workdir, **values)


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types,)


def _parse_value(raw):
    """`--set` values: JSON when they parse (numbers, true/false, null, lists), else the string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
