"""Mixed precision: bfloat16 matrix products where the hardware has bfloat16 units, float32 elsewhere.

``--precision bfloat16`` runs the warm-up's and the RL update's forward and backward passes under
``torch.autocast(dtype=torch.bfloat16)``: the linear layers' products take bfloat16 inputs (on a CPU
with AVX512-BF16 or AMX, or a GPU of compute capability >= 8), while the weights, their gradients and
AdamW's state stay float32 ("master weights"), and what the policy-gradient ratio is made of stays
float32: the tiny transformer runs its attention in float32 and takes the log-softmax of float32
logits, so ``log pi - log pi_old`` is a difference of two float32 numbers computed the same way.

Sampling stays float32: at the rollout's batch sizes the sampler is bound by the many small
operations of each decoding step, not by its products, and measured no faster in bfloat16
(docs/training.md, "Speed"). The old log-probabilities come from the update's own computation under
the same precision as the update (the first mini-batch's own forward pass, and a no-grad pass for the
later ones before the first optimiser step), so the ratio starts at exactly 1; the trainer logs the
mean ``|log pi_update - log pi_sampler|`` of the first mini-batch as ``first_log_ratio`` (~1e-7 in
float32, a few thousandths under bfloat16 autocast).

``auto``, the default, picks bfloat16 when :func:`bf16_supported` says the device computes it natively,
and float32 otherwise: on a 2-core CPU with AVX512-BF16 the warm-up step is 1.37x faster, and three
seeds of the default run learned the same within their intervals (docs/training.md, "The warm-up,
and bfloat16"; ``benchmarks/bench_warmup.py``, ``benchmarks/precision_equivalence.py``).
"""

from __future__ import annotations

import contextlib
from typing import Literal

import torch

Precision = Literal["auto", "float32", "bfloat16"]
PRECISIONS = ("auto", "float32", "bfloat16")


def bf16_supported(device: str = "cpu") -> bool:
    """Whether ``device`` multiplies bfloat16 matrices natively (not by emulation in float32)."""
    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)
    try:  # oneDNN's own test for AVX512-BF16 / AMX instructions
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve(precision: str, device: str = "cpu") -> Literal["float32", "bfloat16"]:
    """The precision a run uses: ``auto`` decided for ``device``, the others as given."""
    if precision not in PRECISIONS:
        raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bfloat16" if bf16_supported(device) else "float32"
    return precision  # type: ignore[return-value]


def autocast(precision: str, device: str = "cpu") -> contextlib.AbstractContextManager:
    """The context the warm-up's and the update's passes run in: bfloat16 autocast, or nothing."""
    if resolve(precision, device) == "bfloat16":
        return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16)
    return contextlib.nullcontext()
