"""Advantage shapers of arXiv 2508.10751 §4: they wrap any registered estimator.

A shaper is itself a registered estimator that wraps other estimators by name, so every shaper
composes with every estimator, including a user's own::

    compute("combination", rewards, k=8, passk="passk_analytic", pass1="grpo")
    compute("drop_easy", rewards, k=8, base="pkpo_loo1", threshold=0.5)

Shapers take group accuracy ``c/n`` as the mean reward of the group (for binary rewards exactly the
share of correct responses). A parameter that names an estimator is declared with
``metadata={"estimator": True}``, so that :meth:`~passkrl.core.estimators.Estimator.make_params`
checks the name before any work, and listed in the shaper's ``wraps``: the registry runs the named
estimator on the already-checked groups and hands its advantages ``[P, N]`` to the kernel under the
parameter's name. A shaper is thus a function of the groups and of the advantages it reshapes.

This module declares the shapers (:data:`SHAPERS`) and imports only :mod:`passkrl.core.groups`;
:mod:`passkrl.core.estimators`, the registry, registers them when it is imported, so the registry is
whole whichever module is imported first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from passkrl.core.groups import Groups, group_mean

SHAPERS: list[tuple[str, Callable[..., torch.Tensor], dict[str, Any]]] = []
"""``(name, kernel, properties)`` of every shaper, in declaration order; the registry
(:mod:`passkrl.core.estimators`) calls ``register(name, **properties)(kernel)`` for each."""


def shaper(name: str, **properties: Any) -> Callable[[Callable[..., torch.Tensor]], Callable[..., torch.Tensor]]:
    """Decorator: declare the kernel of the shaper ``name`` with the properties ``register`` takes
    (``params``, ``wraps``, ``needs``, ``binary_only``, ``zero_sum``, ``summary``)."""

    def decorator(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        SHAPERS.append((name, fn, properties))
        return fn

    return decorator


def _estimator_name(default: str):
    """A parameter holding the name of the estimator a shaper wraps."""
    return field(default=default, metadata={"estimator": True})


@dataclass(frozen=True)
class CombinationParams:
    passk: str = _estimator_name("passk_analytic")
    """Estimator whose advantage gets the weight ``c/n``."""
    pass1: str = _estimator_name("grpo")
    """Estimator whose advantage gets the weight ``1 - c/n``."""


@shaper(
    "combination",
    params=CombinationParams,
    wraps=("passk", "pass1"),
    zero_sum=True,
    summary="Combination Training (eq. 18): (c/n) A_passk + (1 - c/n) A_pass1",
)
def combination(g: Groups, p: CombinationParams, *, k: int, generator,
                passk: torch.Tensor, pass1: torch.Tensor) -> torch.Tensor:
    """Combination Training, arXiv 2508.10751 eq. 18: ``A = (c/n) A_passk + (1 - c/n) A_pass1``.

    ``passk`` and ``pass1`` are the advantages ``[P, N]`` of the estimators ``p.passk`` and ``p.pass1``.
    Hard prompts (low accuracy) are driven mostly by the pass@1 advantage, easy prompts by the pass@k
    one, which fades out as accuracy grows.
    """
    acc = group_mean(g)  # [P]
    return acc[:, None] * passk + (1 - acc[:, None]) * pass1


@dataclass(frozen=True)
class ExceedingParams:
    base: str = _estimator_name("passk_analytic")
    """Estimator whose advantages are rescaled."""


@shaper(
    "exceeding",
    params=ExceedingParams,
    wraps=("base",),
    binary_only=True,
    zero_sum=True,
    summary="Exceeding Pass@k Training (eq. 17): A * 4 / (10 ln(c + 0.5))",
)
def exceeding(g: Groups, p: ExceedingParams, *, k: int, generator, base: torch.Tensor) -> torch.Tensor:
    """Exceeding Pass@k Training, arXiv 2508.10751 eq. 17: ``A' = 4 / (10 ln(c + 0.5)) A``.

    ``A = base``, the advantages ``[P, N]`` of the estimator ``p.base``; ``c`` is the number of correct responses (binary rewards only). The factor moves the peak of
    eta (eq. 16) towards harder prompts. It is defined for ``c >= 1``; with ``c = 0`` every base
    advantage of a group-relative estimator is already 0, and we return 0.
    """
    n_correct = g.rewards.sum(dim=1)  # [P]
    factor = torch.where(
        n_correct >= 1, 4.0 / (10.0 * torch.log(n_correct.clamp(min=1) + 0.5)), torch.zeros_like(n_correct)
    )
    return factor[:, None] * base


@dataclass(frozen=True)
class DropEasyParams:
    base: str = _estimator_name("passk_analytic")
    """Estimator whose advantages are kept for the other prompts."""
    threshold: float = 0.6
    """Prompts whose accuracy is strictly above this get advantage 0 (the paper calls problems
    above 60% correct 'relatively easy', §3.3)."""

    def __post_init__(self) -> None:
        t = self.threshold
        if not isinstance(t, (int, float, np.floating)) or isinstance(t, bool) or not math.isfinite(t):
            raise ValueError(f"threshold must be a finite number, got {t!r}")


@shaper(
    "drop_easy",
    params=DropEasyParams,
    wraps=("base",),
    zero_sum=True,
    summary="Pass@k Training w/o easy problems (§4.1): 0 where accuracy > threshold",
)
def drop_easy(g: Groups, p: DropEasyParams, *, k: int, generator, base: torch.Tensor) -> torch.Tensor:
    """Pass@k Training without easy problems (arXiv 2508.10751 §4.1, Fig. 10 and 18a).

    The advantages ``base`` ``[P, N]`` of the estimator ``p.base``, set to 0 for the prompts whose
    accuracy (mean reward) is strictly above ``threshold``.
    """
    acc = group_mean(g)  # [P]
    return torch.where((acc > p.threshold)[:, None], torch.zeros_like(base), base)


@dataclass(frozen=True)
class AdaptiveEntropyParams:
    passk: str = _estimator_name("passk_analytic")
    """Estimator for the low-entropy half (exploration is encouraged)."""
    pass1: str = _estimator_name("grpo")
    """Estimator for the high-entropy half (earlier exploration is exploited)."""


@shaper(
    "adaptive_entropy",
    params=AdaptiveEntropyParams,
    wraps=("passk", "pass1"),
    needs=("entropy",),
    zero_sum=True,
    summary="Adaptive Training (§4.2.3): high-entropy half of prompts pass@1, the rest pass@k",
)
def adaptive_entropy(g: Groups, p: AdaptiveEntropyParams, *, k: int, generator, entropy,
                     passk: torch.Tensor, pass1: torch.Tensor) -> torch.Tensor:
    """Adaptive Training based on policy entropy (arXiv 2508.10751 §4.2.3).

    Prompts of the batch are ranked by the mean token entropy of their responses; the top half
    (``floor(P/2)`` prompts with the highest entropy; ties broken by prompt index) take the pass@1
    advantages ``pass1`` (of the estimator ``p.pass1``), the rest the pass@k advantages ``passk``. The ranking is over the *batch*, so the result depends
    on which prompts are batched together (as in the paper). ``entropy`` (a declared input) is the
    mean token entropy per prompt ``[P]`` or per response ``[P, N]`` (then averaged over the valid
    responses of each prompt).
    """
    n_prompts = g.rewards.shape[0]
    ent = entropy if isinstance(entropy, torch.Tensor) else torch.as_tensor(np.asarray(entropy))
    ent = ent.to(device=g.rewards.device, dtype=torch.float64)
    if ent.dim() == 2 and tuple(ent.shape) == tuple(g.rewards.shape):
        ent = (ent * g.valid).sum(dim=1) / g.n
    if tuple(ent.shape) != (n_prompts,):
        raise ValueError(
            f"entropy must have shape [{n_prompts}] or {list(g.rewards.shape)}, got {list(ent.shape)}"
        )
    if not bool(torch.isfinite(ent).all()):
        raise ValueError("entropy must be finite")
    # Stable descending sort: equal entropies keep prompt order.
    order = torch.sort(-ent, stable=True).indices
    high_entropy = torch.zeros(n_prompts, dtype=torch.bool, device=g.rewards.device)
    high_entropy[order[: n_prompts // 2]] = True
    return torch.where(high_entropy[:, None], pass1, passk)


@dataclass(frozen=True)
class AlphaReweightParams:
    base: str = _estimator_name("grpo")
    """Pass@1 estimator whose advantages are scaled by ``alpha_k``."""


@shaper(
    "alpha_reweight",
    params=AlphaReweightParams,
    wraps=("base",),
    zero_sum=True,
    summary="pass@1 advantages scaled by alpha_k = k (1 - p)^(k-1) (the grad pass@k identity)",
)
def alpha_reweight(g: Groups, p: AlphaReweightParams, *, k: int, generator, base: torch.Tensor) -> torch.Tensor:
    """``A = k (1 - p_hat)^(k-1) A_base`` with ``p_hat`` the group accuracy and ``A_base = base`` the
    advantages ``[P, N]`` of the estimator ``p.base``.

    For a policy with per-prompt accuracy ``p``, ``grad pass@k = k (1-p)^(k-1) grad pass@1``; scaling a
    pass@1 advantage by the plug-in ``alpha_k(p_hat)`` follows that gradient (biased, since
    ``p_hat`` is estimated from the same group).
    """
    acc = group_mean(g)  # [P]
    alpha = k * (1 - acc) ** (k - 1)  # [P]
    return alpha[:, None] * base
