"""The §4 shapers of arXiv 2508.10751, checked against their formulas on hand-built groups."""

import math

import numpy as np
import pytest

from passkrl.estimators import compute


def rows_with_accuracy(n, counts):
    return np.array([[1.0] * c + [0.0] * (n - c) for c in counts])


def test_combination_is_the_accuracy_weighted_mix():
    rewards = rows_with_accuracy(8, [1, 3, 6])
    acc = rewards.mean(axis=1, keepdims=True)
    expected = acc * compute("passk_analytic", rewards, k=4) + (1 - acc) * compute("grpo", rewards, k=4)
    np.testing.assert_allclose(compute("combination", rewards, k=4), expected, atol=1e-14)
    # any estimator composes
    mixed = compute("combination", rewards, k=4, passk="pkpo_loo1", pass1="rloo")
    expected = acc * compute("pkpo_loo1", rewards, k=4) + (1 - acc) * compute("rloo", rewards, k=4)
    np.testing.assert_allclose(mixed, expected, atol=1e-14)


def test_exceeding_scales_by_eq_17():
    rewards = rows_with_accuracy(8, [0, 1, 2, 5])
    base = compute("passk_analytic", rewards, k=2)
    got = compute("exceeding", rewards, k=2)
    for row, c in enumerate([0, 1, 2, 5]):
        factor = 0.0 if c == 0 else 4 / (10 * math.log(c + 0.5))
        np.testing.assert_allclose(got[row], factor * base[row], atol=1e-14)


def test_drop_easy_zeroes_prompts_above_threshold():
    rewards = rows_with_accuracy(10, [2, 6, 7, 9])
    got = compute("drop_easy", rewards, k=2, threshold=0.6)
    base = compute("passk_analytic", rewards, k=2)
    np.testing.assert_allclose(got[:2], base[:2])
    assert (got[2:] == 0).all()
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        compute("drop_easy", rewards, k=2, threshold=float("nan"))


def test_adaptive_entropy_uses_pass1_on_the_high_entropy_half():
    rewards = rows_with_accuracy(8, [1, 2, 3, 4, 5])
    entropy = np.array([0.5, 2.0, 0.1, 1.5, 0.7])  # top floor(5/2) = 2 prompts: rows 1 and 3
    got = compute("adaptive_entropy", rewards, k=4, entropy=entropy)
    pass1 = compute("grpo", rewards, k=4)
    passk = compute("passk_analytic", rewards, k=4)
    for row in range(5):
        np.testing.assert_allclose(got[row], pass1[row] if row in (1, 3) else passk[row])
    # per-response entropies are averaged per prompt
    per_response = np.repeat(entropy[:, None], 8, axis=1)
    np.testing.assert_allclose(compute("adaptive_entropy", rewards, k=4, entropy=per_response), got)
    with pytest.raises(ValueError, match=r"entropy must have shape \[5\]"):
        compute("adaptive_entropy", rewards, k=4, entropy=[1.0, 2.0])


def test_alpha_reweight():
    rewards = rows_with_accuracy(8, [2, 4])
    p = rewards.mean(axis=1, keepdims=True)
    expected = 4 * (1 - p) ** 3 * compute("grpo", rewards, k=4)
    np.testing.assert_allclose(compute("alpha_reweight", rewards, k=4), expected, atol=1e-14)


def test_nested_unknown_estimator_is_named():
    with pytest.raises(ValueError, match="passk='nope' is not a registered estimator"):
        compute("combination", rows_with_accuracy(4, [1]), k=2, passk="nope")
