"""Yang Yu's identity (his note "Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective")
on a tabular policy, by exact enumeration of every answer tuple."""

from __future__ import annotations

import numpy as np
import pytest

from passkrl.core.curves import advantage_curve
from passkrl.experiment.diagnostic import (
    TabularPolicy,
    alpha_k,
    expected_gradient,
    gradient_report,
)

POLICIES = [
    TabularPolicy(np.array([0.3, -0.2, 1.1]), np.array([True, False, False])),
    TabularPolicy(np.array([-1.5, 0.4, 0.0, 0.9]), np.array([False, True, True, False])),
    TabularPolicy(np.array([2.0, -1.0]), np.array([True, False])),
]


@pytest.mark.parametrize("policy", POLICIES, ids=["A3", "A4", "A2"])
@pytest.mark.parametrize(("n", "k"), [(4, 1), (4, 2), (5, 3), (5, 5)])
def test_pkpo_expected_gradient_is_alpha_k_times_grad_pass1(policy, n, k):
    """The unbiased pass@k estimator's expected gradient is exactly alpha_k * grad pass@1."""
    g = expected_gradient(policy, "pkpo", n=n, k=k)
    expected = alpha_k(policy.pass1, k) * policy.grad_pass1()
    np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-13)
    # and that is the gradient of pass@k = 1 - (1 - p)^k, checked by finite differences
    eps = 1e-6
    numeric = np.zeros_like(policy.logits)
    for j in range(policy.logits.size):
        up, down = policy.logits.copy(), policy.logits.copy()
        up[j] += eps
        down[j] -= eps
        pk = [1 - (1 - TabularPolicy(x, policy.correct).pass1) ** k for x in (up, down)]
        numeric[j] = (pk[0] - pk[1]) / (2 * eps)
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("estimator", ["grpo", "rloo", "passk_analytic", "pkpo_loo1", "combination", "exceeding"])
@pytest.mark.parametrize("policy", POLICIES[:2], ids=["A3", "A4"])
def test_every_estimator_moves_along_grad_pass1_with_the_closed_form_weight(estimator, policy):
    """E[g] = w(p) grad pass@1: exact enumeration agrees with passkrl.core.curves' closed form."""
    n, k = 5, 2
    report = gradient_report(policy, estimator, n=n, k=k)
    assert report["relative_residual"] < 1e-10
    w = advantage_curve(estimator, n=n, k=k).weight(policy.pass1)[0]
    assert report["coef"] == pytest.approx(w, rel=1e-9, abs=1e-12)


def test_pass_at_k_weights_shrink_as_pass1_approaches_one():
    """alpha_k and the analytic estimator's exact weight both fall as pass@1 rises (Yang Yu's point in his note on pass@k as a diagnostic)."""
    correct = np.array([True, False, False])
    weights = []
    for logit in (-1.0, 0.5, 2.0, 4.0):  # pass@1 rising towards 1
        policy = TabularPolicy(np.array([logit, 0.0, 0.0]), correct)
        report = gradient_report(policy, "passk_analytic", n=4, k=2)
        weights.append((report["p"], report["coef"], report["alpha_k"]))
    ps, coefs, alphas = map(np.array, zip(*weights))
    assert np.all(np.diff(ps) > 0)
    assert np.all(np.diff(alphas) < 0)  # the pass@k signal vanishes as pass@1 -> 1 (Yang Yu)
    assert np.all(np.diff(coefs[1:]) < 0)


def test_bad_policy_is_rejected():
    with pytest.raises(ValueError, match="at least one right and one wrong"):
        TabularPolicy(np.zeros(3), np.array([True, True, True]))
