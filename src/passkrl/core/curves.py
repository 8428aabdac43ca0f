"""Advantage curves: what an estimator gives a correct and a wrong answer as group accuracy varies.

For binary rewards an exchangeable estimator is described by two numbers per correct count ``c``:
``A_pos(c)`` and ``A_neg(c)``, the mean advantage of a correct and of a wrong response in a group of
``n`` with ``c`` correct (arXiv 2508.10751, Fig. 9 and 18). From them:

* ``eta(c) = c |A_pos| + (n - c) |A_neg|``, the sum of absolute advantages (eq. 16);
* the expected-gradient weight ``w(p)``: for a prompt answered correctly with probability ``p``,
  ``E[sum_i A_i grad log pi(y_i)] = w(p) grad pass@1`` with ``w(p) = n (beta_pos - beta_neg)``,
  ``beta_pos = sum_c Binom(c-1; n-1, p) A_pos(c)`` and ``beta_neg = sum_c Binom(c; n-1, p) A_neg(c)``
  (the expected advantage of a correct / wrong response when the other ``n-1`` are drawn with
  accuracy ``p``). Derivation: by exchangeability ``E[A_i grad log pi(y_i)] = p E[A_i | y_i correct]
  grad log p + (1-p) E[A_i | y_i wrong] grad log(1-p)``, and ``p grad log p = grad p = -(1-p) grad
  log(1-p)``. For PKPO's unbiased weights ``w(p) = k (1-p)^(k-1)`` exactly, the identity
  ``grad pass@k = k (1-p)^(k-1) grad pass@1`` of Yang Yu's note "Pass@k Metric for RLVR: A Diagnostic
  Tool of Exploration, But Not an Objective".

Sampling estimators (``passk_full``, ``passk_bootstrap``) are averaged over ``n_draws`` seeded draws.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from passkrl.core.estimators import compute, lookup
from passkrl.core.k import check_k

SAMPLING = ("passk_full", "passk_bootstrap")


@dataclass(frozen=True)
class AdvantageCurve:
    name: str
    n: int
    k: int
    a_pos: np.ndarray  # [n + 1] mean advantage of a correct response when c are correct (NaN at c = 0)
    a_neg: np.ndarray  # [n + 1] mean advantage of a wrong response (NaN at c = n)

    @property
    def accuracy(self) -> np.ndarray:
        return np.arange(self.n + 1) / self.n

    @property
    def eta(self) -> np.ndarray:
        """eq. 16: ``c |A_pos| + (n - c) |A_neg|`` for ``c = 0..n``."""
        c = np.arange(self.n + 1)
        return c * np.nan_to_num(np.abs(self.a_pos)) + (self.n - c) * np.nan_to_num(np.abs(self.a_neg))

    def weight(self, p) -> np.ndarray:
        """Expected-gradient weight ``w(p)`` (see the module docstring), vectorised over ``p``."""
        p = np.atleast_1d(np.asarray(p, dtype=np.float64))
        if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
            raise ValueError(f"p must lie in [0, 1], got {p}")
        m = self.n - 1
        j = np.arange(m + 1)  # number of correct answers among the other n - 1
        log_binom = np.array([math.lgamma(m + 1) - math.lgamma(i + 1) - math.lgamma(m - i + 1) for i in j])
        with np.errstate(divide="ignore", invalid="ignore"):
            log_pmf = log_binom[None, :] + j[None, :] * np.log(p[:, None]) + (m - j)[None, :] * np.log1p(-p[:, None])
        pmf = np.exp(np.nan_to_num(log_pmf, nan=-np.inf))  # [len(p), n]; 0 * log 0 handled below
        pmf[p == 0] = (j == 0).astype(float)
        pmf[p == 1] = (j == m).astype(float)
        beta_pos = pmf @ self.a_pos[1:]  # a correct response with j other correct: c = j + 1
        beta_neg = pmf @ self.a_neg[:-1]  # a wrong response with j other correct: c = j
        return self.n * (beta_pos - beta_neg)


def advantage_curve(name: str, *, n: int, k: int, n_draws: int = 400, seed: int = 0, **params) -> AdvantageCurve:
    """``A_pos(c)``, ``A_neg(c)`` of a registered estimator for ``c = 0..n`` correct out of ``n``."""
    lookup(name)
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got n={n!r}")
    k = check_k(k, n)
    rewards = torch.tensor([[1.0] * c + [0.0] * (n - c) for c in range(n + 1)], dtype=torch.float64)  # [n+1, n]
    if name in SAMPLING:
        gen = torch.Generator().manual_seed(seed)
        adv = sum(compute(name, rewards, k=k, generator=gen, **params) for _ in range(n_draws)) / n_draws
    else:
        adv = compute(name, rewards, k=k, **params)
    adv = adv.numpy()
    correct = rewards.numpy() == 1
    with np.errstate(invalid="ignore"):
        a_pos = np.where(correct.any(1), (adv * correct).sum(1) / correct.sum(1), np.nan)
        a_neg = np.where((~correct).any(1), (adv * ~correct).sum(1) / (~correct).sum(1), np.nan)
    return AdvantageCurve(name, n, k, a_pos, a_neg)
