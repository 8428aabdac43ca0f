"""Yang Yu's identity ("Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective"), checked
exactly: the expected pass@k gradient is ``alpha_k`` times the pass@1 gradient.

For a prompt answered correctly with probability ``p = pass@1``, ``pass@k = 1 - (1 - p)^k`` and so

    grad pass@k = k (1 - p)^(k-1) grad pass@1 = alpha_k(p) grad pass@1.            (Yang Yu)

An RLVR estimator turns ``n`` sampled answers into the gradient estimate
``g = sum_i A_i grad log pi(y_i)``. This module computes ``E[g]`` *exactly* for a tabular softmax
policy over a handful of answers, by enumerating every ordered ``n``-tuple of answers with its
probability, so no identity about estimators is assumed: the result is compared with
``alpha_k grad pass@1`` (for the unbiased PKPO weights it must be equal) and with the weight
``w(p) grad pass@1`` that :mod:`passkrl.core.curves` derives in closed form (for every exchangeable
estimator the two computations must agree).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

from passkrl import estimators


@dataclass(frozen=True)
class TabularPolicy:
    """A softmax policy over ``len(logits)`` answers of one prompt; ``correct[a]`` marks right answers."""

    logits: np.ndarray  # [A]
    correct: np.ndarray  # [A] bool

    def __post_init__(self):
        logits = np.asarray(self.logits, dtype=np.float64)
        correct = np.asarray(self.correct, dtype=bool)
        if logits.ndim != 1 or logits.shape != correct.shape or logits.size < 2:
            raise ValueError(f"logits and correct must be 1-D of equal length >= 2, got {logits.shape}, {correct.shape}")
        if correct.all() or not correct.any():
            raise ValueError("correct must mark at least one right and one wrong answer")
        object.__setattr__(self, "logits", logits)
        object.__setattr__(self, "correct", correct)

    @property
    def probs(self) -> np.ndarray:
        z = np.exp(self.logits - self.logits.max())
        return z / z.sum()

    @property
    def pass1(self) -> float:
        return float(self.probs[self.correct].sum())

    def grad_log_prob(self) -> np.ndarray:
        """``[A, A]``: row ``a`` is ``d log pi(a) / d logits = onehot(a) - pi``."""
        return np.eye(self.logits.size) - self.probs[None, :]

    def grad_pass1(self) -> np.ndarray:
        """``d pass@1 / d logits = pi * (correct - pass@1)``."""
        return self.probs * (self.correct.astype(float) - self.pass1)


def expected_gradient(policy: TabularPolicy, estimator: str, *, n: int, k: int, **params) -> np.ndarray:
    """``E[sum_i A_i grad log pi(y_i)]`` over all ``A^n`` ordered answer tuples, exactly (float64).

    The estimator sees binary rewards ``[1, n]`` per tuple; tuples are batched as prompts.
    """
    n_answers = policy.logits.size
    tuples = np.array(list(itertools.product(range(n_answers), repeat=n)), dtype=np.int64)  # [T, n]
    probs = policy.probs[tuples].prod(axis=1)  # [T]
    rewards = policy.correct[tuples].astype(np.float64)  # [T, n]
    advantages = estimators.compute(estimator, torch.as_tensor(rewards), k=k, **params).numpy()  # [T, n]
    grad_log = policy.grad_log_prob()  # [A, A]
    # sum_i A_i grad log pi(y_i), weighted by the tuple's probability
    per_tuple = np.einsum("tn,tnd->td", advantages, grad_log[tuples])
    return probs @ per_tuple


def alpha_k(p: float, k: int) -> float:
    """``k (1 - p)^(k-1)``: the factor between the pass@k and pass@1 gradients (Yang Yu, "Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective")."""
    return k * (1.0 - p) ** (k - 1)


def gradient_report(policy: TabularPolicy, estimator: str, *, n: int, k: int) -> dict[str, float]:
    """How ``E[g]`` relates to ``grad pass@1``: its projection coefficient, the residual, and ``alpha_k``.

    ``E[g] = coef * grad pass@1`` holds exactly for every estimator whose advantages depend only on
    the rewards (one prompt, binary rewards: the gradient lies along ``grad pass@1``); ``coef`` is the
    estimator's weight ``w(p)``, and ``alpha_k`` is the weight of the true pass@k gradient.
    """
    g = expected_gradient(policy, estimator, n=n, k=k)
    d = policy.grad_pass1()
    coef = float(g @ d / (d @ d))
    residual = float(np.linalg.norm(g - coef * d) / max(np.linalg.norm(g), 1e-300))
    p = policy.pass1
    return {"p": p, "coef": coef, "alpha_k": alpha_k(p, k), "relative_residual": residual}
