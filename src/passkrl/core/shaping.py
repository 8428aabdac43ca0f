"""Advantage shapers of arXiv 2508.10751 §4: they wrap any registered estimator.

A shaper is itself a registered estimator that calls other estimators by name, so every shaper
composes with every estimator, including a user's own::

    compute("combination", rewards, k=8, passk="passk_analytic", pass1="grpo")
    compute("drop_easy", rewards, k=8, base="pkpo_loo1", threshold=0.5)

Shapers take group accuracy ``c/n`` as the mean reward of the group (for binary rewards exactly the
share of correct responses). A parameter that names an estimator is declared with
``metadata={"estimator": True}``, so that :meth:`Estimator.make_params` checks the name before any
work; the wrapped estimator runs on the already-checked groups through :func:`nested`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from passkrl.core.estimators import Groups, _group_mean, nested, register


def _estimator_name(default: str):
    """A parameter holding the name of the estimator a shaper wraps."""
    return field(default=default, metadata={"estimator": True})


@dataclass(frozen=True)
class CombinationParams:
    passk: str = _estimator_name("passk_analytic")
    """Estimator whose advantage gets the weight ``c/n``."""
    pass1: str = _estimator_name("grpo")
    """Estimator whose advantage gets the weight ``1 - c/n``."""


@register(
    "combination",
    params=CombinationParams,
    zero_sum=True,
    summary="Combination Training (eq. 18): (c/n) A_passk + (1 - c/n) A_pass1",
)
def combination(g: Groups, p: CombinationParams, *, k: int, generator) -> torch.Tensor:
    """Combination Training, arXiv 2508.10751 eq. 18: ``A = (c/n) A_passk + (1 - c/n) A_pass1``.

    Hard prompts (low accuracy) are driven mostly by the pass@1 advantage, easy prompts by the pass@k
    one, which fades out as accuracy grows.
    """
    acc = _group_mean(g)  # [P]
    a_passk = nested(p.passk, g, k=k, generator=generator)
    a_pass1 = nested(p.pass1, g, k=k, generator=generator)
    return acc[:, None] * a_passk + (1 - acc[:, None]) * a_pass1


@dataclass(frozen=True)
class ExceedingParams:
    base: str = _estimator_name("passk_analytic")
    """Estimator whose advantages are rescaled."""


@register(
    "exceeding",
    params=ExceedingParams,
    binary_only=True,
    zero_sum=True,
    summary="Exceeding Pass@k Training (eq. 17): A * 4 / (10 ln(c + 0.5))",
)
def exceeding(g: Groups, p: ExceedingParams, *, k: int, generator) -> torch.Tensor:
    """Exceeding Pass@k Training, arXiv 2508.10751 eq. 17: ``A' = 4 / (10 ln(c + 0.5)) A``.

    ``c`` is the number of correct responses (binary rewards only). The factor moves the peak of
    eta (eq. 16) towards harder prompts. It is defined for ``c >= 1``; with ``c = 0`` every base
    advantage of a group-relative estimator is already 0, and we return 0.
    """
    n_correct = g.rewards.sum(dim=1)  # [P]
    factor = torch.where(
        n_correct >= 1, 4.0 / (10.0 * torch.log(n_correct.clamp(min=1) + 0.5)), torch.zeros_like(n_correct)
    )
    return factor[:, None] * nested(p.base, g, k=k, generator=generator)


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


@register(
    "drop_easy",
    params=DropEasyParams,
    zero_sum=True,
    summary="Pass@k Training w/o easy problems (§4.1): 0 where accuracy > threshold",
)
def drop_easy(g: Groups, p: DropEasyParams, *, k: int, generator) -> torch.Tensor:
    """Pass@k Training without easy problems (arXiv 2508.10751 §4.1, Fig. 10 and 18a).

    Advantages of prompts whose accuracy (mean reward) is strictly above ``threshold`` are set to 0.
    """
    acc = _group_mean(g)  # [P]
    advantages = nested(p.base, g, k=k, generator=generator)
    return torch.where((acc > p.threshold)[:, None], torch.zeros_like(advantages), advantages)


@dataclass(frozen=True)
class AdaptiveEntropyParams:
    passk: str = _estimator_name("passk_analytic")
    """Estimator for the low-entropy half (exploration is encouraged)."""
    pass1: str = _estimator_name("grpo")
    """Estimator for the high-entropy half (earlier exploration is exploited)."""


@register(
    "adaptive_entropy",
    params=AdaptiveEntropyParams,
    needs=("entropy",),
    zero_sum=True,
    summary="Adaptive Training (§4.2.3): high-entropy half of prompts pass@1, the rest pass@k",
)
def adaptive_entropy(g: Groups, p: AdaptiveEntropyParams, *, k: int, generator, entropy) -> torch.Tensor:
    """Adaptive Training based on policy entropy (arXiv 2508.10751 §4.2.3).

    Prompts of the batch are ranked by the mean token entropy of their responses; the top half
    (``floor(P/2)`` prompts with the highest entropy; ties broken by prompt index) use the pass@1
    estimator, the rest the pass@k estimator. The ranking is over the *batch*, so the result depends
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
    a_passk = nested(p.passk, g, k=k, generator=generator)
    a_pass1 = nested(p.pass1, g, k=k, generator=generator)
    return torch.where(high_entropy[:, None], a_pass1, a_passk)


@dataclass(frozen=True)
class AlphaReweightParams:
    base: str = _estimator_name("grpo")
    """Pass@1 estimator whose advantages are scaled by ``alpha_k``."""


@register(
    "alpha_reweight",
    params=AlphaReweightParams,
    zero_sum=True,
    summary="pass@1 advantages scaled by alpha_k = k (1 - p)^(k-1) (the grad pass@k identity)",
)
def alpha_reweight(g: Groups, p: AlphaReweightParams, *, k: int, generator) -> torch.Tensor:
    """``A = k (1 - p_hat)^(k-1) A_base`` with ``p_hat`` the group accuracy.

    For a policy with per-prompt accuracy ``p``, ``grad pass@k = k (1-p)^(k-1) grad pass@1``; scaling a
    pass@1 advantage by the plug-in ``alpha_k(p_hat)`` follows that gradient (biased, since
    ``p_hat`` is estimated from the same group).
    """
    acc = _group_mean(g)  # [P]
    alpha = k * (1 - acc) ** (k - 1)  # [P]
    return alpha[:, None] * nested(p.base, g, k=k, generator=generator)
