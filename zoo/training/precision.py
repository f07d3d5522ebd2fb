"""`precision="auto"`: `mixed_bfloat16` where the hardware computes bfloat16 natively, float32 elsewhere.

Nothing is guessed from a model name or a benchmark: the choice comes from what the
device says it has.
- A TPU: `mixed_bfloat16` (its matrix units are bfloat16).
- GPUs: `mixed_bfloat16` when every visible GPU has compute capability 8.0 or more
  (Ampere and later have bfloat16 tensor cores), as TensorFlow reports it in
  `tf.config.experimental.get_device_details`; float32 otherwise.
- A CPU alone: `mixed_bfloat16` when the CPU flags (Linux `/proc/cpuinfo`) have
  `avx512_bf16` or `amx_bf16` and TensorFlow's oneDNN kernels are on (the default on
  x86 Linux; `TF_ENABLE_ONEDNN_OPTS=0` turns them off, and Eigen's bfloat16 is emulated).
  A CPU without them (Zen 3 and older, Intel before Cooper Lake) converts bfloat16 in
  software, which saves nothing; where the flags cannot be read (macOS, Windows), float32.

Example:
    precision, reason = resolve_precision("auto")
    # ("float32", "the CPU has neither avx512_bf16 nor amx_bf16 ...") on a Zen 3
"""

import logging
import os

log = logging.getLogger("zoo.training")

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
EXPLICIT = ("float32", "mixed_float16", "mixed_bfloat16")
AUTO_ENV = "ZOO_AUTO_PRECISION"
_said = set()


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags, or None where they cannot be read."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def accelerators():
    """`(kind, [(device name, compute capability or None)])` of the accelerators TensorFlow sees, or (None, [])."""
    import tensorflow as tf

    tpus = tf.config.list_logical_devices("TPU")
    if tpus:
        return "TPU", [(device.name, None) for device in tpus]
    gpus = tf.config.list_physical_devices("GPU")
    details = []
    for gpu in gpus:
        info = tf.config.experimental.get_device_details(gpu)
        details.append((info.get("device_name", gpu.name), info.get("compute_capability")))
    return ("GPU", details) if gpus else (None, [])


def auto_precision(flags=None, devices=None, onednn=None):
    """`(precision, reason)` for this machine; the arguments replace what is read from it (for tests).

    `$ZOO_AUTO_PRECISION` (float32 or mixed_bfloat16), when set, is the answer: for a cluster
    whose machines differ, or a test suite calibrated in float32.
    """
    forced = os.environ.get(AUTO_ENV)
    if forced and flags is None and devices is None:
        if forced not in ("float32", "mixed_bfloat16"):
            raise ValueError(f"${AUTO_ENV} must be float32 or mixed_bfloat16, got {forced!r}.")
        return forced, f"${AUTO_ENV} is {forced}"
    kind, found = accelerators() if devices is None else devices
    if kind == "TPU":
        return "mixed_bfloat16", "a TPU computes in bfloat16"
    if kind == "GPU":
        old = [f"{name} ({'.'.join(map(str, capability)) if capability else 'unknown'})"
               for name, capability in found if not capability or tuple(capability) < (8, 0)]
        if old:
            return "float32", f"GPU compute capability below 8.0 has no bfloat16 tensor cores: {', '.join(old)}"
        return "mixed_bfloat16", "every GPU has compute capability 8.0 or more (bfloat16 tensor cores)"
    flags = cpu_flags() if flags is None else flags
    if flags is None:
        return "float32", "the CPU's flags cannot be read here, so bfloat16 support is unknown"
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0" if onednn is None else onednn
    have = [flag for flag in CPU_BF16_FLAGS if flag in flags]
    if not have:
        return "float32", f"the CPU has neither {' nor '.join(CPU_BF16_FLAGS)} (bfloat16 would be emulated)"
    if not onednn:
        return "float32", f"the CPU has {', '.join(have)}, but TF_ENABLE_ONEDNN_OPTS=0 turns off oneDNN's bfloat16 kernels"
    return "mixed_bfloat16", f"the CPU has {', '.join(have)}"


def resolve_precision(precision, **machine):
    """The dtype policy a run of `precision` trains with; "auto" is decided once per process and logged.

    Returns `(policy name, reason)`; an explicit precision is returned as it is.
    """
    if precision in EXPLICIT:
        return precision, "asked for"
    if precision != "auto":
        raise ValueError(f"precision must be 'auto' or one of {EXPLICIT}, got {precision!r}.")
    chosen, reason = auto_precision(**machine)
    if not machine and (chosen, reason) not in _said:
        _said.add((chosen, reason))
        log.info("precision auto: %s, since %s (--precision float32 forces float32)", chosen, reason)
    return chosen, reason


def loss_scaled(precision):
    """Whether a run's optimizers carry a loss scale (its checkpoints then hold one too)."""
    return precision == "mixed_float16"
