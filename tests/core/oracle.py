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


def analytic_exact_ranks(rewards, k):
    """``passk_analytic`` for large ``n`` in exact rational arithmetic (60-digit square root).

    The same definition as :func:`analytic_bruteforce`, summed over ranks instead of subsets: rank
    ``j`` of the sorted rewards is the maximum of ``C(j, k-1)`` subsets, and a subset containing rank
    ``p`` has its maximum at ``p`` (``C(p, k-1)`` of them) or at some ``j > p`` (``C(j-1, k-2)``).
    Rewards are taken as the exact rationals of their floats.
    """
    from decimal import Decimal, localcontext

    n = len(rewards)
    order = sorted(range(n), key=lambda i: rewards[i])
    r = [Fraction(float(rewards[i])) for i in order]
    total, denom = math.comb(n, k), math.comb(n - 1, k - 1)
    weights = [math.comb(j, k - 1) for j in range(n)]
    mu = sum(rj * wj for rj, wj in zip(r, weights)) / total
    var = sum(wj * (rj - mu) ** 2 for rj, wj in zip(r, weights)) / total
    above = [math.comb(j - 1, k - 2) if j >= 1 and k >= 2 else 0 for j in range(n)]
    suffix = [Fraction(0)] * (n + 1)
    for j in range(n - 1, -1, -1):
        suffix[j] = suffix[j + 1] + r[j] * above[j]
    out = [0.0] * n
    if var == 0:
        return out
    with localcontext() as ctx:
        ctx.prec = 60
        sigma = Decimal(var.numerator).sqrt() / Decimal(var.denominator).sqrt()
        for p in range(n):
            d = (r[p] * math.comb(p, k - 1) + suffix[p + 1]) / denom - mu
            out[order[p]] = float(Decimal(d.numerator) / Decimal(d.denominator) / sigma)
    return out
