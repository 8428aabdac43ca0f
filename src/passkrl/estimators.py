"""Public estimator API: ``compute``, ``REGISTRY``, ``register``.

>>> import numpy as np
>>> from passkrl import estimators
>>> rewards = np.array([[1, 0, 0, 0], [1, 1, 0, 0]])          # [n_prompts, n_rollouts]
>>> estimators.compute("passk_analytic", rewards, k=2).round(3)
array([[ 1.   , -0.333, -0.333, -0.333],
       [ 0.447,  0.447, -0.447, -0.447]])

Every estimator is defined in :mod:`passkrl.core.estimators` (pass@1 baselines, Pass@k Training,
PKPO) or :mod:`passkrl.core.shaping` (the shapers of arXiv 2508.10751 §4). ``passkrl.estimators.describe()``
lists their names, parameters and one-line summaries.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from passkrl.core import shaping as _shaping  # noqa: F401  (registers the shapers)
from passkrl.core.estimators import INFO, REGISTRY, EstimatorInfo, prepare, register
from passkrl.core.shaping import KSchedule

__all__ = ["compute", "REGISTRY", "INFO", "EstimatorInfo", "register", "names", "describe", "KSchedule"]


def names() -> list[str]:
    """Registered estimator names, sorted."""
    return sorted(REGISTRY)


def describe() -> str:
    """One line per estimator: name, parameters and summary."""
    lines = []
    for name in names():
        info = INFO[name]
        params = ", ".join(f.name for f in dataclasses.fields(info.params)) if info.params else ""
        lines.append(f"{name:<18} {('(' + params + ')') if params else '':<28} {info.summary}")
    return "\n".join(lines)


def _check_params(name: str, params: dict[str, Any]) -> None:
    info = INFO[name]
    accepted = {f.name for f in dataclasses.fields(info.params)} if info.params else set()
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(
            f"estimator {name!r} got unknown parameter(s) {', '.join(unknown)}; "
            f"it accepts: {', '.join(sorted(accepted)) or 'no parameters'}"
        )


def compute(
    name: str,
    rewards,
    *,
    k: int,
    mask=None,
    generator: torch.Generator | int | None = None,
    **params: Any,
):
    """Advantages ``[n_prompts, n_rollouts]`` of the estimator ``name`` for ``rewards`` of that shape.

    ``rewards`` may be a numpy array, a torch tensor (any device) or nested lists; the result is the
    same kind (lists give numpy), on the same device, in the rewards' floating dtype (float64 for
    integer or boolean rewards). ``mask`` (same shape, true = valid) marks ragged groups; masked
    entries get 0. ``generator`` (a ``torch.Generator`` or an int seed) drives the sampling
    estimators. Bad input raises ``ValueError`` naming the problem.
    """
    if name not in REGISTRY:
        raise ValueError(f"unknown estimator {name!r}; known: {', '.join(names())}")
    _check_params(name, params)
    is_torch = isinstance(rewards, torch.Tensor)
    tensor = rewards if is_torch else torch.as_tensor(np.asarray(rewards))
    if tensor.dtype.is_complex or not (tensor.dtype.is_floating_point or tensor.dtype in (
        torch.bool, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8
    )):
        raise ValueError(f"rewards must be real numbers, got dtype {tensor.dtype}")
    out_dtype = tensor.dtype if tensor.dtype.is_floating_point else torch.float64
    if mask is not None and not isinstance(mask, torch.Tensor):
        mask = torch.as_tensor(np.asarray(mask))
    info = INFO[name]
    # Validate once here so that user estimators get the same guarantees as the built-in ones.
    prepare(tensor, mask, k, binary_only=info.binary_only)
    advantages = REGISTRY[name](tensor, k=k, mask=mask, generator=generator, **params)
    advantages = advantages.to(out_dtype)
    return advantages if is_torch else advantages.cpu().numpy()
