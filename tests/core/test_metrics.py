"""Metrics against exact rational arithmetic and brute force over all k-subsets."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from passkrl import metrics as public
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


def exact_pass_at_k(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


# ------------------------------------------------------------------------------------ pass@k


def test_pass_at_k_equals_fractions_for_every_n_up_to_60():
    n, c, k = (np.array(v) for v in zip(*[(n, c, k) for n in range(1, 61) for k in range(1, n + 1)
                                            for c in range(n + 1)]))
    got = pass_at_k(n, c, k)  # one vectorised call over ~75k triples
    exact = [exact_pass_at_k(*t) for t in zip(n.tolist(), c.tolist(), k.tolist())]
    for value, e, t in zip(got.tolist(), exact, zip(n, c, k)):
        if e in (0, 1):
            assert value == e, t
        else:
            assert abs(value - float(e)) <= 1e-12 * float(e), t


LARGE = [
    (8192, 1, 1), (8192, 1, 2), (8192, 2, 1), (8192, 1, 4096), (8192, 10, 4096), (8192, 4096, 4096),
    (8192, 4097, 4096), (8192, 3, 100), (8192, 8191, 8192), (8192, 8192, 8192), (8192, 0, 4096),
    (4096, 1, 1), (2060, 7, 1030), (1030, 1, 515), (1030, 515, 515), (5000, 2500, 2501), (3000, 1, 2999),
]


@pytest.mark.parametrize("n,c,k", LARGE)
def test_pass_at_k_is_stable_for_large_n(n, c, k):
    got = pass_at_k(n, c, k)
    assert isinstance(got, float) and math.isfinite(got)
    e = exact_pass_at_k(n, c, k)
    if e in (0, 1):
        assert got == e
    else:
        assert got == pytest.approx(float(e), rel=1e-9, abs=0)


def test_pass_at_k_tiny_values_keep_relative_precision():
    assert pass_at_k(8192, 1, 1) == pytest.approx(1 / 8192, rel=1e-14)
    assert pass_at_k(8192, 1, 2) == pytest.approx(2 / 8192, rel=1e-14)
    # n - c < k: every k-subset contains a correct sample, exactly 1.
    assert pass_at_k(8192, 8000, 200) == 1.0
    assert pass_at_k(10, 8, 3) == 1.0


def test_pass_at_k_broadcasts_and_returns_float_for_scalars():
    assert isinstance(pass_at_k(4, 1, 2), float)
    assert isinstance(pass_at_k(4.0, 1.0, np.int64(2)), float)
    out = pass_at_k(8, np.array([[0], [4], [8]]), np.array([1, 2, 8]))
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out[0], 0.0)
    np.testing.assert_array_equal(out[2], 1.0)
    assert out[1, 0] == 0.5
    assert pass_at_k(torch.tensor([4, 4]), torch.tensor([1, 2]), 1).tolist() == [0.25, 0.5]
    assert pass_at_k(np.array([], dtype=int), np.array([], dtype=int), 1).shape == (0,)


@pytest.mark.parametrize(
    "n,c,k,match",
    [
        (3, 1, 4, "k=4 is larger than n=3"),
        (3, 1, 0, "k must be >= 1"),
        (3, -1, 1, "c must be non-negative"),
        (3, 4, 1, "c must be <= n"),
        (-2, 0, 1, "n must be non-negative"),
        (5, 2.5, 1, "c must be an integer"),
        (5.5, 2, 1, "n must be an integer"),
        (5, 2, 1.5, r"k must be an integer, got 1.5 \(float\)"),
        (5, float("nan"), 1, "c must be a finite"),
        (5, 2, float("inf"), "k must be an integer, got inf"),
        (5, 2, 2.0, r"k must be an integer, got 2.0 \(float\)"),
        (5, 2, True, r"k must be an integer, got True \(bool\)"),
        (np.array([4, 4]), np.array([1, 2]), np.array([2, 5]), r"k=5.*index 1"),
        ("5", 2, 1, "integer counts"),
    ],
)
def test_pass_at_k_rejects_bad_arguments(n, c, k, match):
    with pytest.raises(ValueError, match=match):
        pass_at_k(n, c, k)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_pass_at_k_is_monotone_in_c_and_k(n, data):
    k = data.draw(st.integers(1, n))
    c = np.arange(n + 1)
    by_c = pass_at_k(n, c, k)
    assert np.all(np.diff(by_c) >= 0)
    assert by_c[0] == 0 and by_c[-1] == 1
    c1 = data.draw(st.integers(0, n))
    by_k = pass_at_k(n, c1, np.arange(1, n + 1))
    assert np.all(np.diff(by_k) >= -1e-15)
    assert pass_at_k(n, c1, 1) == pytest.approx(c1 / n, rel=1e-14)


# ------------------------------------------------------------------------------------- max@k


def brute_max_at_k(rewards, k):
    subsets = list(itertools.combinations(rewards, k))
    return math.fsum(max(s) for s in subsets) / len(subsets)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-3, 5), min_size=1, max_size=10), st.data())
def test_max_at_k_equals_brute_force_with_ties(ints, data):
    rewards = [v / 4 for v in ints]  # small grid -> many ties
    k = data.draw(st.integers(1, len(rewards)))
    assert max_at_k(rewards, k) == pytest.approx(brute_max_at_k(rewards, k), rel=1e-12, abs=1e-12)


def test_max_at_k_on_random_reals_matches_weight_formula_and_brute_force():
    rng = np.random.default_rng(0)
    for n in range(1, 11):
        rewards = np.round(rng.random(n), 1)  # ties likely
        for k in range(1, n + 1):
            brute = brute_max_at_k(rewards.tolist(), k)
            r_sorted = np.sort(rewards)
            weights = [math.comb(j, k - 1) / math.comb(n, k) for j in range(n)]
            assert max_at_k(rewards, k) == pytest.approx(brute, rel=1e-12, abs=1e-13)
            assert float(np.dot(r_sorted, weights)) == pytest.approx(brute, rel=1e-12, abs=1e-13)


def test_max_at_k_equals_pass_at_k_on_binary_rewards():
    for n in range(1, 41):
        rewards_pn = np.array([[1.0] * c + [0.0] * (n - c) for c in range(n + 1)])
        rewards_pn = np.random.default_rng(n).permuted(rewards_pn, axis=1)
        for k in range(1, n + 1):
            np.testing.assert_array_equal(max_at_k(rewards_pn, k), pass_at_k(n, np.arange(n + 1), k))


def test_max_at_k_ragged_rows_with_mask():
    rng = np.random.default_rng(1)
    rows = [rng.random(n) for n in (3, 7, 5, 7)]
    rewards_pn = np.full((4, 7), np.nan)
    mask_pn = np.zeros((4, 7), dtype=bool)
    for i, r in enumerate(rows):
        rewards_pn[i, : len(r)] = r
        mask_pn[i, : len(r)] = True
    got = max_at_k(rewards_pn, 3, mask=mask_pn)
    np.testing.assert_allclose(got, [brute_max_at_k(r.tolist(), 3) for r in rows], rtol=1e-12)
    with pytest.raises(ValueError, match="k=4 is larger than .* n=3 of prompt 0"):
        max_at_k(rewards_pn, 4, mask=mask_pn)
    assert isinstance(max_at_k(rows[0], 2), float)
    assert max_at_k(torch.tensor([[0.5, 1.0]]), 2).tolist() == [1.0]


def test_max_at_k_rejects_bad_input():
    with pytest.raises(ValueError, match="finite"):
        max_at_k([0.1, float("nan")], 1)
    with pytest.raises(ValueError, match="k must be >= 1"):
        max_at_k([0.1, 0.2], 0)
    with pytest.raises(ValueError, match="shape"):
        max_at_k(np.zeros((2, 2, 2)), 1)
    with pytest.raises(ValueError, match="mask must have the shape"):
        max_at_k(np.zeros((2, 2)), 1, mask=np.ones(2, dtype=bool))


# ------------------------------------------------------------------------------------- maj@k


def brute_maj_at_k(answers, correct, k) -> Fraction:
    good = {a for a, ok in zip(answers, correct) if a is not None and ok}
    total, count = Fraction(0), 0
    for subset in itertools.combinations(range(len(answers)), k):
        votes = Counter(answers[i] for i in subset if answers[i] is not None)
        count += 1
        if not votes:
            continue
        top = max(votes.values())
        winners = [a for a, v in votes.items() if v == top]
        total += Fraction(sum(a in good for a in winners), len(winners))
    return total / count


@settings(max_examples=150, deadline=None)
@given(
    answers=st.lists(st.sampled_from(["a", "b", "c", "d", None]), min_size=1, max_size=9),
    good=st.sets(st.sampled_from(["a", "b", "c", "d"])),
    data=st.data(),
)
def test_maj_at_k_equals_brute_force(answers, good, data):
    k = data.draw(st.integers(1, len(answers)))
    correct = [a in good for a in answers]
    assert maj_at_k(answers, correct, k) == pytest.approx(float(brute_maj_at_k(answers, correct, k)),
                                                          rel=1e-12, abs=1e-14)


def test_maj_at_k_hand_cases_and_batches():
    # {a,a},{a,b}x2 (tie -> 1/2),{a,-}x2,{b,-}: (1 + 1 + 2) / 6
    assert maj_at_k(["a", "a", "b", None], [1, 1, 0, 0], 2) == pytest.approx(4 / 6, rel=1e-14)
    # maj@1 is the accuracy over all samples; maj@n is the plain majority vote.
    answers = ["x", "y", "y", None, "x", "y"]
    correct = [True, False, False, False, True, False]
    assert maj_at_k(answers, correct, 1) == pytest.approx(2 / 6, rel=1e-14)
    assert maj_at_k(answers, correct, 6) == 0.0
    out = maj_at_k([answers, ["q", "q"]], [correct, [True, True]], 2)
    assert out.shape == (2,) and out[1] == 1.0


def test_maj_at_k_is_fast_and_exact_for_n32_k16():
    rng = np.random.default_rng(3)
    answers = [str(a) if a < 7 else None for a in rng.integers(0, 8, 32)]
    correct = [a in ("0", "1") for a in answers]
    value = maj_at_k(answers, correct, 16)
    assert 0 < value < 1
    # All answers distinct: each is the unique winner only through a 16-way tie, weight 1/16.
    distinct = [str(i) for i in range(32)]
    assert maj_at_k(distinct, [i == 0 for i in range(32)], 16) == pytest.approx(1 / 32, rel=1e-12)


def test_maj_at_k_rejects_bad_input():
    with pytest.raises(ValueError, match="both correct and wrong"):
        maj_at_k(["a", "a"], [True, False], 1)
    with pytest.raises(ValueError, match="k=3 is larger than .* n=2"):
        maj_at_k(["a", "b"], [True, False], 3)
    with pytest.raises(ValueError, match="differ in length"):
        maj_at_k(["a", "b"], [True], 1)


def test_distinct_wrong_answers():
    answers = [["a", "b", "b", "c", None], ["x", "x"], [None, None]]
    correct = [[True, False, False, False, False], [True, True], [False, False]]
    assert distinct_wrong_answers(answers, correct).tolist() == [2, 0, 0]
    assert distinct_wrong_answers(["a", "b", "c"], [False, False, True]) == 2


# ------------------------------------------------------------------------------- eta, alpha_k


def test_eta_hand_example():
    # GRPO, n = 4, c = 1: A_pos = (1 - 1/4)/sqrt(3/16) = sqrt(3), A_neg = -(1/4)/sqrt(3/16) = -1/sqrt(3);
    # eq. 16: eta = 1 * sqrt(3) + 3 / sqrt(3) = 2 sqrt(3).
    adv = np.array([[math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3), -1 / math.sqrt(3)],
                    [1.0, -1.0, 0.5, -0.5]])
    np.testing.assert_allclose(eta(adv), [2 * math.sqrt(3), 3.0], rtol=1e-14)
    mask = np.array([[True] * 4, [True, True, False, False]])
    np.testing.assert_allclose(eta(adv, mask=mask), [2 * math.sqrt(3), 2.0])
    assert eta(torch.tensor([1.0, -2.0])) == 3.0
    with pytest.raises(ValueError, match="finite"):
        eta([1.0, float("inf")])


def test_alpha_k_values():
    # the checked table: alpha_8 at p = 0.02, 0.10, 0.25, 0.50 (and PKPO's w(p)).
    np.testing.assert_allclose(alpha_k([0.02, 0.1, 0.25, 0.5], 8), [6.945, 3.826, 1.068, 0.0625], atol=5e-4)
    assert alpha_k(0.5, 8) == 8 * 0.5**7
    assert alpha_k(1.0, 1) == 1.0 and alpha_k(0.3, 1) == 1.0 and alpha_k(1.0, 4) == 0.0
    np.testing.assert_allclose(alpha_k(0.25, np.arange(1, 5)), [k * 0.75 ** (k - 1) for k in range(1, 5)])
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        alpha_k(1.5, 2)
    with pytest.raises(ValueError, match="k must be >= 1"):
        alpha_k(0.5, 0)


@settings(max_examples=50, deadline=None)
@given(p=st.floats(0, 1), k=st.integers(1, 64))
def test_alpha_k_is_the_derivative_of_pass_at_k(p, k):
    # d/dp [1 - (1-p)^k] = k (1-p)^(k-1), checked by a central difference away from the ends.
    h = 1e-6
    if h < p < 1 - h:
        numeric = ((1 - (1 - p - h) ** k) - (1 - (1 - p + h) ** k)) / (2 * h)
        assert alpha_k(p, k) == pytest.approx(numeric, rel=1e-4, abs=1e-6)


# ---------------------------------------------------------------------------------- entropy


def test_mean_token_entropy():
    h = np.array([[1.0, 2.0, 3.0, 9.0], [4.0, 9.0, 9.0, 9.0], [9.0, 9.0, 9.0, 9.0]])
    m = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    stats = mean_token_entropy(h, m)
    assert isinstance(stats, EntropyStats)
    np.testing.assert_allclose(stats.per_sequence[:2], [2.0, 4.0])
    assert np.isnan(stats.per_sequence[2])
    assert stats.token_mean == pytest.approx(10 / 4)
    assert stats.sequence_mean == pytest.approx(3.0)
    torch_stats = mean_token_entropy(torch.tensor(h), torch.tensor(m))
    assert torch_stats.token_mean == stats.token_mean
    assert mean_token_entropy(np.ones((2, 3))).token_mean == 1.0
    with pytest.raises(ValueError, match="no valid token"):
        mean_token_entropy(h, np.zeros_like(m))


# -------------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_is_deterministic_contains_the_mean_and_narrows():
    rng = np.random.default_rng(0)
    small, large = rng.random(30), rng.random(3000)
    a, b = bootstrap_ci(small, seed=7), bootstrap_ci(small, seed=7)
    assert a == b and isinstance(a, Interval)
    assert a.n == 30 and a.level == 0.95
    assert a.mean == pytest.approx(small.mean()) and a.low < a.mean < a.high
    wide, narrow = bootstrap_ci(small), bootstrap_ci(large)
    assert narrow.high - narrow.low < (wide.high - wide.low) / 3
    assert bootstrap_ci(small, seed=1) != bootstrap_ci(small, seed=2)


def test_bootstrap_ci_edge_cases_and_columns():
    one = bootstrap_ci([0.3])
    assert (one.mean, one.low, one.high, one.n) == (0.3, 0.3, 0.3, 1)
    values_pk = np.random.default_rng(0).random((50, 3))
    ci = bootstrap_ci(values_pk, n_boot=500)
    assert ci.mean.shape == ci.low.shape == (3,)
    assert np.all(ci.low <= ci.mean) and np.all(ci.mean <= ci.high)
    med = bootstrap_ci(np.arange(11.0), statistic=np.median)
    assert med.mean == 5.0
    for kwargs, match in (({"n_boot": 0}, "n_boot"), ({"level": 1.0}, "level")):
        with pytest.raises(ValueError, match=match):
            bootstrap_ci([1.0, 2.0], **kwargs)
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError, match="at least one prompt"):
        bootstrap_ci([])


def test_public_module_reexports_everything():
    for name in public.__all__:
        assert getattr(public, name) is not None
    assert public.pass_at_k is pass_at_k


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.data())
def test_the_direct_form_for_huge_n_equals_the_table_and_exact_rationals(n, data):
    from passkrl.core import metrics as core_metrics

    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    exact = 1 - Fraction(math.comb(n - c, k), math.comb(n, k))
    direct = core_metrics._pass_one(n, c, k)
    assert direct == pytest.approx(float(exact), rel=1e-12, abs=1e-300)
    assert direct == pytest.approx(core_metrics._pass_table(n, k)[c], rel=1e-12, abs=1e-300)


def test_pass_at_k_of_a_billion_samples_needs_no_billion_entry_table():
    # Exactly 1 - (n-1)(n-2)/(n(n-1)) = 2/n for one correct sample of n = 1e9, k = 2.
    assert pass_at_k(10**9, 1, 2) == pytest.approx(2e-9, rel=1e-12)
    assert pass_at_k(10**9, 0, 2) == 0.0 and pass_at_k(10**9, 10**9 - 1, 2) == 1.0
