"""Token-level policy losses for the RL update.

DAPO (arXiv 2503.14476) clipped surrogate with decoupled clip ranges ("clip-higher",
``eps_low = 0.2``, ``eps_high = 0.28``) and token-level averaging: every completion token of the
batch counts once, so long answers are not down-weighted as in the per-sequence mean of GRPO. No KL
term (as in Pass@k Training, arXiv 2508.10751 §3). An optional entropy bonus implements the
entropy-regularisation baseline of §3.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class PolicyLossStats:
    clip_fraction: float  # share of tokens whose ratio was clipped
    ratio_mean: float
    entropy_mean: float


def dapo_policy_loss(
    logprobs_bt: torch.Tensor,
    old_logprobs_bt: torch.Tensor,
    advantages_b: torch.Tensor,
    mask_bt: torch.Tensor,
    *,
    clip_low: float = 0.2,
    clip_high: float = 0.28,
    entropy_bt: torch.Tensor | None = None,
    entropy_coef: float = 0.0,
    n_tokens: int | None = None,
) -> tuple[torch.Tensor, PolicyLossStats]:
    """``-sum_t min(rho_t A, clip(rho_t, 1 - eps_low, 1 + eps_high) A) / n_tokens - beta * H``.

    ``rho_t = exp(logprob - old_logprob)`` per token; the sequence advantage ``A`` is broadcast over
    its tokens. ``n_tokens`` is the token count of the whole batch when the loss of a mini-batch is
    accumulated (token-level averaging over the batch, DAPO eq. 8); by default the mini-batch's own.
    """
    mask = mask_bt.to(logprobs_bt.dtype)
    denominator = float(n_tokens) if n_tokens is not None else mask.sum().clamp(min=1.0)
    ratio = torch.exp(logprobs_bt - old_logprobs_bt)  # [B, T]
    adv = advantages_b.to(logprobs_bt.dtype)[:, None]  # [B, 1]
    unclipped = ratio * adv
    clipped = ratio.clamp(1.0 - clip_low, 1.0 + clip_high) * adv
    surrogate = torch.minimum(unclipped, clipped)
    loss = -(surrogate * mask).sum() / denominator
    entropy_mean = 0.0
    if entropy_bt is not None:
        entropy_sum = (entropy_bt * mask).sum()
        entropy_mean = float(entropy_sum.detach() / mask.sum().clamp(min=1.0))
        if entropy_coef:
            loss = loss - entropy_coef * entropy_sum / denominator
    with torch.no_grad():
        n_valid = mask.sum().clamp(min=1.0)
        was_clipped = ((clipped != unclipped) & (mask > 0)).to(mask.dtype).sum() / n_valid
        ratio_mean = (ratio * mask).sum() / n_valid
    return loss, PolicyLossStats(float(was_clipped), float(ratio_mean), entropy_mean)
