"""Public evaluation metrics: unbiased pass@k, max@k, maj@k, eta, alpha_k, entropy, diversity, CIs.

>>> from passkrl.metrics import pass_at_k
>>> round(pass_at_k(32, 4, 8), 6)                  # 1 - C(28, 8) / C(32, 8)
0.704505

Everything is defined (with formulas and references) in :mod:`passkrl.core.metrics`.
"""

from passkrl.core.metrics import (
    EntropyStats,
    Interval,
    alpha_k,
    bootstrap_ci,
    distinct_wrong_answers,
    eta,
    maj_at_k,
    max_at_k,
    mean_token_entropy,
    pass_at_k,
)

__all__ = [
    "pass_at_k",
    "max_at_k",
    "maj_at_k",
    "eta",
    "alpha_k",
    "mean_token_entropy",
    "EntropyStats",
    "distinct_wrong_answers",
    "bootstrap_ci",
    "Interval",
]
