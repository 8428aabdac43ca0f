from fractions import Fraction
from math import comb

import numpy as np
import pytest

from passkrl.core.combinatorics import comb_ratio, log_comb, log_miss_table


@pytest.mark.parametrize("n", range(0, 25))
def test_log_miss_table_is_exact_for_small_n(n):
    for k in range(0, n + 1):
        table = log_miss_table(n, k)
        for c in range(n + 1):
            exact = Fraction(comb(n - c, k), comb(n, k))
            if exact == 0:
                assert table[c] == -np.inf
            else:
                assert np.exp(table[c]) == pytest.approx(float(exact), rel=1e-13, abs=0)


def test_log_miss_table_keeps_relative_precision_near_one():
    # 1 - q = pass@k is tiny here: lgamma differences would lose about 1e-7 of it.
    n = 8192
    table = log_miss_table(n, 1)
    assert -np.expm1(table[1]) == pytest.approx(1 / n, rel=1e-14)


def test_log_comb_and_ratio():
    assert np.exp(log_comb(np.array(10.0), np.array(3.0))) == pytest.approx(120)
    assert log_comb(np.array(3.0), np.array(5.0)) == -np.inf
    assert comb_ratio(np.array(5), np.array(2), np.array(10), np.array(3)) == pytest.approx(10 / 120)


def test_log_miss_table_rejects_bad_arguments():
    with pytest.raises(ValueError, match="non-negative"):
        log_miss_table(-1, 2)
    with pytest.raises(ValueError, match="integers"):
        log_miss_table(4.5, 2)
