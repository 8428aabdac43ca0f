"""Groups of responses, checked once: the input every estimator kernel receives.

One prompt's ``n`` responses form a group; a batch is ``[P, N]`` rewards (``P`` prompts, ``N`` the
widest group) with an optional mask of the valid responses of ragged groups. :func:`prepare` checks
it all (shape, mask, reward values, ``k`` against every group's size by the one rule of
:mod:`passkrl.core.k`) and returns a :class:`Groups`; :func:`passkrl.core.estimators.compute` calls it
once per batch, and kernels, including the estimators a shaper wraps, trust it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from passkrl.core.k import check_k


@dataclass(frozen=True)
class Groups:
    """Validated rewards with their mask and group sizes (all on the rewards' device)."""

    rewards: torch.Tensor  # [P, N] float64, finite; masked entries set to 0
    valid: torch.Tensor  # [P, N] bool
    n: torch.Tensor  # [P] int64, valid responses per group
    full: bool  # no entry is masked (lets estimators skip ragged bookkeeping)
    binary: bool  # every reward is 0 or 1

    def require_binary(self, who: str) -> None:
        """Raise naming the first reward outside {0, 1} unless ``binary``."""
        if not self.binary:
            non_binary = (self.rewards != 0) & (self.rewards != 1)
            p, i = (int(v) for v in torch.nonzero(non_binary)[0])
            raise ValueError(f"{who} needs binary rewards in {{0, 1}}; rewards[{p}, {i}] = {self.rewards[p, i].item()}")


def prepare(rewards: torch.Tensor, mask: Any, k: Any) -> Groups:
    """Check shapes, ``k`` (:func:`passkrl.core.k.check_k` against every group's size) and reward values;
    return float64 rewards with masked entries zeroed."""
    if rewards.dim() != 2:
        raise ValueError(
            f"rewards must have shape [n_prompts, n_rollouts] (2 dimensions), got shape {tuple(rewards.shape)}"
        )
    n_prompts, n_rollouts = rewards.shape
    if n_prompts == 0 or n_rollouts == 0:
        raise ValueError(f"rewards is empty: shape {tuple(rewards.shape)}")
    k = check_k(k, n_rollouts, n_name="the group size n")
    rewards64 = rewards.to(torch.float64)
    if mask is None:
        valid = torch.ones_like(rewards64, dtype=torch.bool)
        n = torch.full((n_prompts,), n_rollouts, dtype=torch.int64, device=rewards.device)
        full = True
    else:
        if not isinstance(mask, torch.Tensor):
            mask = as_tensor(mask, "mask")
        if tuple(mask.shape) != tuple(rewards.shape):
            raise ValueError(f"mask has shape {tuple(mask.shape)} but rewards have shape {tuple(rewards.shape)}")
        if mask.dtype != torch.bool:
            stray = (mask != 0) & (mask != 1)  # NaN, 2, -1: not a yes/no
            if bool(stray.any()):
                p, i = (int(v) for v in torch.nonzero(stray)[0])
                raise ValueError(f"mask must hold booleans (or 0/1); mask[{p}, {i}] = {mask[p, i].item()}")
        valid = mask.to(device=rewards.device, dtype=torch.bool)
        n = valid.sum(dim=1)
        full = bool(valid.all())
        if not full:
            rewards64 = torch.where(valid, rewards64, torch.zeros_like(rewards64))
    if not full and bool((n < k).any()):
        group = int(torch.nonzero(n < k)[0, 0])
        check_k(k, int(n[group]), n_name="the group size n", where=f" of group {group} (its valid responses)")
    # One pass for the common case: rewards in {0, 1} are finite.
    binary = bool(((rewards64 == 0) | (rewards64 == 1)).all())
    if not binary:
        finite = torch.isfinite(rewards64)
        if not bool(finite.all()):
            p, i = (int(v) for v in torch.nonzero(~finite)[0])
            raise ValueError(f"rewards must be finite; rewards[{p}, {i}] = {rewards64[p, i].item()}")
    return Groups(rewards64, valid, n, full, binary)


def as_tensor(rewards: Any, what: str = "rewards") -> torch.Tensor:
    """``rewards`` (numpy, torch, nested lists) as a real-valued tensor; ``ValueError`` naming ``what``."""
    if isinstance(rewards, torch.Tensor):
        tensor = rewards
    else:
        try:
            array = np.asarray(rewards)
        except ValueError:  # numpy: "setting an array element with a sequence"
            raise ValueError(f"{what} must be a rectangular [n_prompts, n_rollouts] array; for groups of different "
                             "sizes pad them and pass mask= (true for the valid entries)") from None
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{what} must be real numbers, got dtype {array.dtype}")
        tensor = torch.as_tensor(array)
    if tensor.dtype.is_complex or not (tensor.dtype.is_floating_point or tensor.dtype in (
        torch.bool, torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8
    )):
        raise ValueError(f"{what} must be real numbers, got dtype {tensor.dtype}")
    return tensor


def group_mean(g: Groups) -> torch.Tensor:
    """Mean valid reward of every group ``[P]``: for binary rewards the accuracy ``c/n``."""
    return g.rewards.sum(dim=1) / g.n  # [P]
