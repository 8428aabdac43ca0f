"""The public metrics (``passkrl.metrics``): the core's functions under their public names, and its example.

The metrics themselves are checked against exact rational arithmetic in ``tests/core/test_metrics.py``.
"""

from __future__ import annotations

import doctest
from fractions import Fraction
from math import comb

from passkrl import metrics
from passkrl.core import metrics as core_metrics


def test_every_public_metric_is_the_cores():
    assert metrics.__all__ and len(set(metrics.__all__)) == len(metrics.__all__)
    for name in metrics.__all__:
        assert getattr(metrics, name) is getattr(core_metrics, name), name


def test_the_modules_example_is_the_unbiased_estimate():
    result = doctest.testmod(metrics)
    assert result.attempted >= 2 and result.failed == 0
    exact = 1 - Fraction(comb(28, 8), comb(32, 8))
    assert abs(metrics.pass_at_k(32, 4, 8) - float(exact)) < 1e-12
