"""Brute-force oracles: every quantity computed from its definition by enumerating all k-subsets."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction


def subset_maxima(rewards, k):
    """All k-subsets (as index tuples) with their maximum reward."""
    return [(s, max(rewards[i] for i in s)) for s in itertools.combinations(range(len(rewards)), k)]


def analytic_bruteforce(rewards, k, exact=False):
    """``A_i = mean_{S containing i} (max(S) - mu) / sigma`` with mu, sigma over all k-subsets.

    With ``exact`` the rewards are turned into Fractions and only the final square root is a float.
    """
    values = [Fraction(r) for r in rewards] if exact else list(rewards)
    subsets = subset_maxima(values, k)
    mu = sum(m for _, m in subsets) / len(subsets)
    var = sum((m - mu) ** 2 for _, m in subsets) / len(subsets)
    if var == 0 or max(m for _, m in subsets) == min(m for _, m in subsets):
        return [0.0] * len(values)
    sigma = math.sqrt(var)
    out = []
    for i in range(len(values)):
        containing = [m for s, m in subsets if i in s]
        out.append(float(sum(m - mu for m in containing) / len(containing)) / sigma)
    return out


def pkpo_bruteforce(rewards, k, variant="s"):
    """PKPO weights from their definitions (arXiv 2505.15201 eqs. 19, 29, 33)."""
    n = len(rewards)
    total = math.comb(n, k)
    out = []
    for i in range(n):
        s_i = sum(m for s, m in subset_maxima(rewards, k) if i in s) / total
        if variant == "s":
            out.append(s_i)
        elif variant == "loo":
            others = [r for j, r in enumerate(rewards) if j != i]
            rho = sum(m for _, m in subset_maxima(others, k)) / math.comb(n - 1, k)
            out.append(s_i - k / (n - 1) * rho)
        elif variant == "loo1":
            acc = 0.0
            for s in itertools.combinations(range(n), k):
                if i in s:
                    rest = [rewards[j] for j in s if j != i]
                    acc += max(rewards[j] for j in s) - (max(rest) if rest else 0.0)
            out.append(acc / total)
    return out


def grpo_reference(rewards):
    n = len(rewards)
    mu = sum(rewards) / n
    std = math.sqrt(sum((r - mu) ** 2 for r in rewards) / n)
    if max(rewards) == min(rewards):
        return [0.0] * n
    return [(r - mu) / std for r in rewards]
