"""Analyses without training: the estimators' scatter around the exact analytic advantages, their cost, and the
tabular gradient check."""

from __future__ import annotations

import pytest

from passkrl.experiment import extras


def test_the_scatter_is_zero_for_exact_estimators_and_for_groups_without_a_choice():
    table = extras.estimator_variance(n=4, k=2, draws=50, seed=1)
    assert (table["n"], table["k"], table["c"]) == (4, 2, [0, 1, 2, 3, 4])
    assert set(table["estimators"]) == set(extras.VARIANCE_ESTIMATORS)
    exact = table["estimators"]["passk_analytic"]
    assert exact["mean_bias"] == 0.0 and exact["mean_sd"] == 0.0  # the reference against itself
    assert table["estimators"]["pkpo_loo1"]["mean_sd"] == 0.0  # deterministic: one draw, no scatter
    for name in ("passk_full", "passk_bootstrap"):  # sampled: scatter only where k-subsets can differ
        sd = table["estimators"][name]["sd"]
        assert sd[0] == sd[3] == sd[4] == 0.0  # with 3 of 4 correct every 2-subset holds a correct answer
        assert sd[1] > 0 and sd[2] > 0
        assert table["estimators"][name]["bias"][0] == table["estimators"][name]["bias"][-1] == 0.0
    assert extras.estimator_variance(n=4, k=2, draws=50, seed=1) == table  # seeded


def test_the_cost_is_a_median_per_estimator_and_shape():
    cost = extras.estimator_cost(((2, 4), (3, 4)), k=2, repeats=2)
    assert cost["shapes"] == [[2, 4], [3, 4]] and set(cost["ms"]) == set(extras.COST_ESTIMATORS)
    assert all(len(times) == 2 and min(times) > 0 for times in cost["ms"].values())


def test_the_tabular_check_finds_pkpo_is_alpha_k_times_the_pass_at_1_gradient():
    check = extras.tabular_diagnostic(n=3, k=2)
    assert check["estimators"] == ["pkpo", "passk_analytic", "grpo"] and len(check["rows"]) == 8
    assert check["max_relative_residual"] < 1e-9 and check["max_abs_pkpo_minus_alpha_k"] < 1e-9
    ps = [row["p"] for row in check["rows"]]
    assert ps == sorted(ps) and 0 < ps[0] < ps[-1] < 1
    for row in check["rows"]:
        assert row["alpha_k"] == pytest.approx(2 * (1 - row["p"]))  # k (1 - p)^(k - 1) for k = 2
