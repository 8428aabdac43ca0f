"""The expected-gradient weight w(p) and eta against the checked table of docs/estimators.md and Yang Yu, "Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective"."""

import numpy as np
import pytest

import passkrl.estimators  # noqa: F401  (registers the shapers)
from passkrl.core.curves import advantage_curve

P = [0.02, 0.10, 0.25, 0.50, 0.75]
TABLE = {  # n = 32
    ("grpo", 1): [152.5, 100.6, 72.3, 63.0, 72.3],
    ("passk_analytic", 4): [71.5, 44.1, 26.6, 14.5, 6.03],
    ("passk_analytic", 8): [45.9, 25.4, 11.3, 2.57, 0.17],
}


@pytest.mark.parametrize("name, k", list(TABLE))
def test_weight_matches_the_checked_table(name, k):
    got = advantage_curve(name, n=32, k=k).weight(P)
    np.testing.assert_allclose(got, TABLE[(name, k)], rtol=6e-3)


@pytest.mark.parametrize("k", [1, 2, 4, 8, 16])
def test_unbiased_pkpo_weight_is_alpha_k(k):
    """Yang Yu: grad pass@k = k (1-p)^(k-1) grad pass@1, reproduced exactly by PKPO's weights."""
    p = np.linspace(0, 1, 41)
    for name in ("pkpo", "pkpo_loo1"):
        np.testing.assert_allclose(advantage_curve(name, n=32, k=k).weight(p), k * (1 - p) ** (k - 1), atol=1e-12)


def test_weight_is_a_monte_carlo_expectation():
    """w(p) equals a direct simulation of E[sum_i A_i * (d/dp log P(y_i))] for Bernoulli(p) answers."""
    rng = np.random.default_rng(0)
    n, k, p = 8, 3, 0.3
    curve = advantage_curve("passk_analytic", n=n, k=k)
    correct = rng.random((200_000, n)) < p
    c = correct.sum(1)
    adv = np.where(correct, curve.a_pos[c][:, None], curve.a_neg[c][:, None])
    score = np.where(correct, 1 / p, -1 / (1 - p))  # d/dp log P(y) for a Bernoulli answer
    estimate = (adv * score).sum(1).mean()
    assert estimate == pytest.approx(curve.weight(p)[0], rel=0.03)


def test_eta_argmax_moves_to_harder_prompts_as_k_grows():
    """eq. 16 at n = 32: pass@1 peaks at 50% accuracy, pass@4 at 25%, pass@8 at 12.5%.

    arXiv 2508.10751 §3.3 states 25% for Pass@8; the exact closed form puts 25% at k = 4 and 12.5% at
    k = 8 (eta = 2 c A_pos, since (n - c)|A_neg| = c A_pos). We test the mathematics.
    """
    argmax = {k: np.argmax(advantage_curve("passk_analytic", n=32, k=k).eta) / 32 for k in (1, 4, 8)}
    assert argmax == {1: 0.5, 4: 0.25, 8: 0.125}


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown estimator"):
        advantage_curve("nope", n=4, k=2)
    with pytest.raises(ValueError, match="1 <= k <= n"):
        advantage_curve("grpo", n=4, k=5)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        advantage_curve("grpo", n=4, k=1).weight([1.5])
