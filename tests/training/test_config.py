"""TrainConfig's `xla` choice: "auto" compiles with XLA only where there is an accelerator."""

import pytest
import tensorflow as tf

from zoo.training.config import TrainConfig
from zoo.training.distribute import make_strategy, resolve_xla


def test_xla_auto_is_on_exactly_with_an_accelerator():
    has_accelerator = bool(tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"))
    config = TrainConfig(model="cgan_t2i_tiny", workdir="unused")
    assert config.xla == "auto"
    assert make_strategy(config)[1] is has_accelerator
    assert resolve_xla(True) is True and resolve_xla(False) is False


def test_xla_override_and_bad_value():
    config = TrainConfig(model="cgan_t2i_tiny", workdir="unused").with_overrides(["xla=false"])
    assert config.xla is False
    with pytest.raises(ValueError, match="xla must be true, false or 'auto'"):
        TrainConfig(model="cgan_t2i_tiny", workdir="unused", xla="yes")
