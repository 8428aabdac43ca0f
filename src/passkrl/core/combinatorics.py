"""Stable ratios of binomial coefficients.

Every Pass@k quantity is a ratio of binomial coefficients such as ``C(n-c, k) / C(n, k)``. The
numerator and denominator overflow a double near ``n = 1030`` (``C(1030, 515) > 1.8e308``), so we
never form them. Two tools cover all uses:

* :func:`log_miss_table` — ``log C(n-c, k) / C(n, k)`` for every ``c`` at once, by the recurrence
  ``C(n-c-1, k) / C(n-c, k) = (n-c-k) / (n-c)`` summed with ``log1p``. Each term is exact to one
  rounding, all terms share a sign, so the sum is accurate *relative to its own size*; in particular
  ``1 - ratio = -expm1(log ratio)`` keeps full relative precision when the ratio is close to 1
  (``lgamma`` differences would lose ~1e-11 absolute there, which is a 1e-7 relative error of a
  pass@k of 1e-4).
* :func:`log_comb` — ``log C(n, k)`` through ``lgamma`` for the rank weights of continuous rewards,
  where the quantities of interest are O(1) and an absolute error of ~1e-13 per weight is harmless.

Only numpy and torch are imported here.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def log_miss_table(n: int, k: int) -> np.ndarray:
    """``L[c] = log( C(n-c, k) / C(n, k) )`` for ``c = 0..n`` (float64, ``-inf`` where ``n-c < k``).

    ``C(n-c, k)/C(n, k)`` is the probability that a uniformly random k-subset of ``n`` responses,
    ``c`` of them correct, contains no correct one; so ``pass@k = 1 - exp(L[c])`` (Chen et al. 2021,
    arXiv 2107.03374) and the Pass@k Training mean group reward is ``mu = 1 - exp(L[c])``
    (arXiv 2508.10751, eq. 11).
    """
    if not (isinstance(n, (int, np.integer)) and isinstance(k, (int, np.integer))):
        raise ValueError(f"n and k must be integers, got n={n!r}, k={k!r}")
    if k < 0 or n < 0:
        raise ValueError(f"n and k must be non-negative, got n={n}, k={k}")
    table = np.full(n + 1, -np.inf)
    table[0] = 0.0
    if k == 0:
        table[:] = 0.0
        return table
    # Step c -> c+1 multiplies by (n-c-k)/(n-c) = 1 - k/(n-c); valid while n-c-k >= 1.
    n_finite = max(n - k + 1, 0)  # table[c] is finite for c = 0 .. n-k
    if n_finite > 1:
        steps = np.log1p(-k / (n - np.arange(0, n_finite - 1, dtype=np.float64)))
        table[1:n_finite] = np.cumsum(steps)
    return table


def log_comb(n, k):
    """``log C(n, k)`` elementwise for tensors/arrays, ``-inf`` where ``k < 0`` or ``k > n``."""
    if isinstance(n, torch.Tensor) or isinstance(k, torch.Tensor):
        n_t = torch.as_tensor(n, dtype=torch.float64)
        k_t = torch.as_tensor(k, dtype=torch.float64, device=n_t.device)
        valid = (k_t >= 0) & (k_t <= n_t)
        safe_k = torch.where(valid, k_t, torch.zeros_like(k_t))
        safe_n = torch.where(valid, n_t, torch.zeros_like(n_t))
        out = torch.lgamma(safe_n + 1) - torch.lgamma(safe_k + 1) - torch.lgamma(safe_n - safe_k + 1)
        return torch.where(valid, out, torch.full_like(out, -math.inf))
    n_a = np.asarray(n, dtype=np.float64)
    k_a = np.asarray(k, dtype=np.float64)
    return log_comb(torch.from_numpy(np.array(n_a)), torch.from_numpy(np.array(k_a))).numpy()


def comb_ratio(a, b, c, d):
    """``C(a, b) / C(c, d)`` elementwise via ``lgamma`` (0 where ``C(a, b) = 0``)."""
    return torch.exp(log_comb(a, b) - log_comb(c, d)) if isinstance(a, torch.Tensor) else np.exp(
        log_comb(a, b) - log_comb(c, d)
    )
