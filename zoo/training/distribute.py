"""Choosing a `tf.distribute` strategy, and whether XLA can compile its step here."""

import logging

import tensorflow as tf

log = logging.getLogger("zoo.training")

# Why XLA cannot compile a distributed step on CPU (checked with TensorFlow 2.21).
_NO_XLA_ON_CPU = {
    # TensorFlow fails with "Trying to access resource ... located in device CPU:1 from device
    # CPU:0" (the XLA known issues on tf.Variable devices).
    "mirrored": "one XLA cluster cannot span the replicas' CPU devices (variables on another device)",
    # "Detected unsupported operations ... on XLA_CPU_JIT: CollectiveGatherV2".
    "multi_worker": "XLA's CPU compiler has no kernels for the collective ops between workers "
                    "(CollectiveReduceV2, CollectiveGatherV2)",
}


def make_strategy(config):
    """(strategy, use_xla) for `config.strategy` and `config.xla`.

    `default`: one device. `mirrored`: every GPU, or `config.devices` logical CPU
    devices when there is no GPU (for tests and for trying it out). `multi_worker`:
    the machines of `TF_CONFIG`. XLA cannot compile either strategy's step on CPU, so
    there the step falls back to a plain `tf.function`, and the log says why (see
    `_NO_XLA_ON_CPU`).
    """
    if config.strategy == "default":
        return tf.distribute.get_strategy(), resolve_xla(config.xla)
    if config.strategy == "mirrored":
        if config.devices and not tf.config.list_physical_devices("GPU"):
            split_cpu(config.devices)
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    use_xla = resolve_xla(config.xla)
    if use_xla and not tf.config.list_physical_devices("GPU"):
        log.warning("XLA is off for the %s strategy on CPU: %s; the step runs as a plain tf.function.",
                    config.strategy, _NO_XLA_ON_CPU[config.strategy])
        use_xla = False
    return strategy, use_xla


def resolve_xla(xla):
    """Whether to compile the step with XLA: `xla` itself, or for "auto" whether a GPU or TPU is present.

    On CPU, XLA's backend runs convolutions, their gradients and pooling gradients with its
    own (Eigen) kernels and loops, and every family's step ran 2-5x slower than the same
    `tf.function` on TensorFlow's oneDNN kernels (benchmarks/README.md); Keras' own
    `jit_compile="auto"` makes the same choice.
    """
    if xla == "auto":
        return bool(tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"))
    return bool(xla)


def split_cpu(count):
    """Make `count` logical CPU devices (must run before TensorFlow initialises its devices)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    existing = tf.config.get_logical_device_configuration(cpu)
    if existing and len(existing) == count:
        return
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
