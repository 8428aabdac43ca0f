"""Advantage shapers of arXiv 2508.10751 §4: they wrap any registered estimator.

A shaper is itself a registered estimator that calls other estimators by name, so every shaper
composes with every estimator, including a user's own::

    compute("combination", rewards, k=8, passk="passk_analytic", pass1="grpo")
    compute("drop_easy", rewards, k=8, base="pkpo_loo1", threshold=0.5)

Shapers take group accuracy ``c/n`` as the mean reward of the group (for binary rewards exactly the
share of correct responses). Also here: :class:`KSchedule`, which changes ``k`` over training (the
paper's P@k -> P@1 transfer, §3.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from passkrl.core.estimators import Groups, _group_mean, call, prepare, register


def _accuracy(rewards, mask, k: int, binary_only: bool = False) -> tuple[Groups, torch.Tensor]:
    g = prepare(rewards, mask, k, binary_only=binary_only)
    return g, _group_mean(g)  # [P]


@dataclass(frozen=True)
class CombinationParams:
    passk: str = "passk_analytic"
    """Estimator whose advantage gets the weight ``c/n``."""
    pass1: str = "grpo"
    """Estimator whose advantage gets the weight ``1 - c/n``."""


@register(
    "combination",
    params=CombinationParams,
    zero_sum=True,
    summary="Combination Training (eq. 18): (c/n) A_passk + (1 - c/n) A_pass1",
)
def combination(rewards, *, k: int, mask=None, generator=None, passk: str = "passk_analytic", pass1: str = "grpo"):
    """Combination Training, arXiv 2508.10751 eq. 18: ``A = (c/n) A_passk + (1 - c/n) A_pass1``.

    Hard prompts (low accuracy) are driven mostly by the pass@1 advantage, easy prompts by the pass@k
    one, which fades out as accuracy grows.
    """
    g, acc = _accuracy(rewards, mask, k)
    a_passk = call(passk, g.rewards, k=k, mask=g.valid, generator=generator)
    a_pass1 = call(pass1, g.rewards, k=k, mask=g.valid, generator=generator)
    return acc[:, None] * a_passk + (1 - acc[:, None]) * a_pass1


@dataclass(frozen=True)
class ExceedingParams:
    base: str = "passk_analytic"
    """Estimator whose advantages are rescaled."""


@register(
    "exceeding",
    params=ExceedingParams,
    binary_only=True,
    zero_sum=True,
    summary="Exceeding Pass@k Training (eq. 17): A * 4 / (10 ln(c + 0.5))",
)
def exceeding(rewards, *, k: int, mask=None, generator=None, base: str = "passk_analytic"):
    """Exceeding Pass@k Training, arXiv 2508.10751 eq. 17: ``A' = 4 / (10 ln(c + 0.5)) A``.

    ``c`` is the number of correct responses (binary rewards only). The factor moves the peak of
    eta (eq. 16) towards harder prompts. It is defined for ``c >= 1``; with ``c = 0`` every base
    advantage of a group-relative estimator is already 0, and we return 0.
    """
    g = prepare(rewards, mask, k, binary_only=True)
    n_correct = g.rewards.sum(dim=1)  # [P]
    factor = torch.where(
        n_correct >= 1, 4.0 / (10.0 * torch.log(n_correct.clamp(min=1) + 0.5)), torch.zeros_like(n_correct)
    )
    return factor[:, None] * call(base, g.rewards, k=k, mask=g.valid, generator=generator)


@dataclass(frozen=True)
class DropEasyParams:
    base: str = "passk_analytic"
    """Estimator whose advantages are kept for the other prompts."""
    threshold: float = 0.6
    """Prompts whose accuracy is strictly above this get advantage 0 (the paper calls problems
    above 60% correct 'relatively easy', §3.3)."""


@register(
    "drop_easy",
    params=DropEasyParams,
    zero_sum=True,
    summary="Pass@k Training w/o easy problems (§4.1): 0 where accuracy > threshold",
)
def drop_easy(rewards, *, k: int, mask=None, generator=None, base: str = "passk_analytic", threshold: float = 0.6):
    """Pass@k Training without easy problems (arXiv 2508.10751 §4.1, Fig. 10 and 18a).

    Advantages of prompts whose accuracy (mean reward) is strictly above ``threshold`` are set to 0.
    """
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    g, acc = _accuracy(rewards, mask, k)
    advantages = call(base, g.rewards, k=k, mask=g.valid, generator=generator)
    return torch.where((acc > threshold)[:, None], torch.zeros_like(advantages), advantages)


@dataclass(frozen=True)
class AdaptiveEntropyParams:
    entropy: object = None
    """Required: mean token entropy per prompt ``[P]`` or per response ``[P, N]`` (averaged over
    the valid responses of each prompt)."""
    passk: str = "passk_analytic"
    """Estimator for the low-entropy half (exploration is encouraged)."""
    pass1: str = "grpo"
    """Estimator for the high-entropy half (earlier exploration is exploited)."""


@register(
    "adaptive_entropy",
    params=AdaptiveEntropyParams,
    zero_sum=True,
    summary="Adaptive Training (§4.2.3): high-entropy half of prompts pass@1, the rest pass@k",
)
def adaptive_entropy(
    rewards, *, k: int, mask=None, generator=None, entropy=None, passk: str = "passk_analytic", pass1: str = "grpo"
):
    """Adaptive Training based on policy entropy (arXiv 2508.10751 §4.2.3).

    Prompts of the batch are ranked by the mean token entropy of their responses; the top half
    (``floor(P/2)`` prompts with the highest entropy; ties broken by prompt index) use the pass@1
    estimator, the rest the pass@k estimator. The ranking is over the *batch*, so the result depends
    on which prompts are batched together (as in the paper).
    """
    g = prepare(rewards, mask, k)
    n_prompts = g.rewards.shape[0]
    if entropy is None:
        raise ValueError("adaptive_entropy needs entropy=..., the mean token entropy per prompt [P] or response [P, N]")
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
    a_passk = call(passk, g.rewards, k=k, mask=g.valid, generator=generator)
    a_pass1 = call(pass1, g.rewards, k=k, mask=g.valid, generator=generator)
    return torch.where(high_entropy[:, None], a_pass1, a_passk)


@dataclass(frozen=True)
class AlphaReweightParams:
    base: str = "grpo"
    """Pass@1 estimator whose advantages are scaled by ``alpha_k``."""


@register(
    "alpha_reweight",
    params=AlphaReweightParams,
    zero_sum=True,
    summary="pass@1 advantages scaled by alpha_k = k (1 - p)^(k-1) (the grad pass@k identity)",
)
def alpha_reweight(rewards, *, k: int, mask=None, generator=None, base: str = "grpo"):
    """``A = k (1 - p_hat)^(k-1) A_base`` with ``p_hat`` the group accuracy.

    For a policy with per-prompt accuracy ``p``, ``grad pass@k = k (1-p)^(k-1) grad pass@1``; scaling a
    pass@1 advantage by the plug-in ``alpha_k(p_hat)`` follows that gradient (biased, since
    ``p_hat`` is estimated from the same group).
    """
    g, acc = _accuracy(rewards, mask, k)
    alpha = k * (1 - acc) ** (k - 1)  # [P]
    return alpha[:, None] * call(base, g.rewards, k=k, mask=g.valid, generator=generator)


@dataclass(frozen=True)
class KSchedule:
    """A piecewise-constant ``k`` over training steps, e.g. ``KSchedule.parse("8@0,1@100")``.

    ``"8@0,1@100"`` means ``k = 8`` from step 0 and ``k = 1`` from step 100 on: the paper's
    P@k -> P@1 transfer (arXiv 2508.10751 §3.5). A plain integer ``"4"`` is a constant schedule.
    """

    points: tuple[tuple[int, int], ...]  # (first step, k), sorted by step, first step 0

    @classmethod
    def parse(cls, text: str) -> KSchedule:
        text = str(text).strip()
        if not text:
            raise ValueError("k schedule is empty")
        points: list[tuple[int, int]] = []
        for part in text.split(","):
            k_text, _, step_text = part.strip().partition("@")
            try:
                k = int(k_text)
                step = int(step_text) if step_text else 0
            except ValueError:
                raise ValueError(f"k schedule entry {part.strip()!r} is not K or K@STEP with integers") from None
            if k < 1 or step < 0:
                raise ValueError(f"k schedule entry {part.strip()!r}: k must be >= 1 and step >= 0")
            points.append((step, k))
        points.sort()
        if points[0][0] != 0:
            raise ValueError(f"k schedule {text!r} must start at step 0 (e.g. '8@0,1@100')")
        if len({s for s, _ in points}) != len(points):
            raise ValueError(f"k schedule {text!r} names a step twice")
        return cls(tuple(points))

    def k_at(self, step: int) -> int:
        k = self.points[0][1]
        for first_step, value in self.points:
            if step >= first_step:
                k = value
        return k

    @property
    def max_k(self) -> int:
        return max(k for _, k in self.points)

    def __str__(self) -> str:
        return ",".join(f"{k}@{s}" for s, k in self.points)
