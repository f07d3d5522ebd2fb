"""The run configuration: one dataclass whose fields `zoo train --set key=value` overrides."""

import dataclasses
import json
import os

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored", "multi_worker")


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
    steps: int = 1000
    batch_size: int = 32
    learning_rate: float = None  # None: the family's default
    beta_1: float = None
    beta_2: float = None
    # "auto": XLA where there is a GPU or TPU, a plain tf.function on CPU, where XLA's CPU
    # backend ran every family's step 2-5x slower than TensorFlow's oneDNN kernels
    # (benchmarks/README.md); True or False forces it.
    xla: object = "auto"
    precision: str = "float32"
    strategy: str = "default"
    devices: int = 0  # mirrored: logical CPU devices to create when there is no GPU (0: use what exists)
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    summary_every: int = 100
    sample_every: int = 500
    ema_decay: float = 0.999
    seed: int = 0
    progress: bool = True
    model_overrides: dict = dataclasses.field(default_factory=dict)
    hparams: dict = dataclasses.field(default_factory=dict)
    init_from: str = None  # a workdir whose trained text encoder (and matcher networks) this run starts from

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}.")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}.")
        for name in ("steps", "batch_size", "checkpoint_every", "summary_every", "sample_every", "keep_checkpoints"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if self.xla not in (True, False, "auto"):
            raise ValueError(f"xla must be true, false or 'auto', got {self.xla!r}.")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}.")

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

    def save(self, path):
        with open(path, "w") as f:
            json.dump(dataclasses.asdict(self), f, indent=2, sort_keys=True)

    @classmethod
    def load(cls, path):
        if not os.path.exists(path):
            raise FileNotFoundError(f"No run config at {path!r}; is this a training workdir?")
        with open(path) as f:
            return cls(**json.load(f))


def _parse_value(raw):
    """`--set` values: JSON when they parse (numbers, true/false, null, lists), else the string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw
