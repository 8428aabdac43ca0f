"""--precision: float32 or bfloat16 autocast where the hardware computes it, keeping float32 cache keys."""

from __future__ import annotations

import pytest
import torch

from passkrl.train import precision as precision_module
from passkrl.train.config import TrainConfig
from passkrl.train.precision import autocast, resolve
from passkrl.train.warmup import cache_key
from tests.former_defaults import FORMER_DEFAULTS


def test_precision_resolves_and_keeps_float32_cache_keys():
    """float32 warm-ups keep their cache keys; bfloat16 gets its own; a bad value names the option."""
    assert resolve("float32") == "float32" and resolve("bfloat16") == "bfloat16"
    assert resolve("auto") in ("float32", "bfloat16")
    base = TrainConfig(**FORMER_DEFAULTS, precision="float32", progress=False)
    assert cache_key(base) == "5557cef44921194d"  # the key it had before --precision existed
    assert cache_key(base) != cache_key(TrainConfig(**FORMER_DEFAULTS, precision="bfloat16", progress=False))
    # the default, auto, is what it resolves to here: its warm-up is that precision's
    assert TrainConfig().precision == "auto"
    assert cache_key(TrainConfig(progress=False)) == cache_key(TrainConfig(precision=resolve("auto"), progress=False))
    with autocast("bfloat16"):
        assert torch.is_autocast_enabled("cpu")
    with pytest.raises(ValueError, match="--precision"):
        TrainConfig(precision="half", progress=False).validate()


def test_auto_is_bfloat16_exactly_where_the_hardware_computes_it(monkeypatch):
    for supported, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(precision_module, "bf16_supported", lambda device="cpu", value=supported: value)
        assert resolve("auto") == expected
    with autocast("float32"):
        assert not torch.is_autocast_enabled("cpu")  # float32 is plain arithmetic, no autocast
