"""Every estimator against its definition: brute force over k-subsets, exact rationals, properties."""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import pkgutil
import subprocess
import sys
from decimal import Decimal, localcontext
from math import comb

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import passkrl
from passkrl import estimators
from passkrl.estimators import REGISTRY, compute

from .oracle import analytic_bruteforce, analytic_exact_ranks, grpo_reference, pkpo_bruteforce

DETERMINISTIC = [name for name in REGISTRY if name not in ("passk_full", "passk_bootstrap")]


def extra_params(name, rewards):
    """Parameters an estimator needs to run (entropies for the entropy-adaptive shaper)."""
    return {key: np.linspace(0.1, 1.0, np.asarray(rewards).shape[0]) for key in REGISTRY[name].needs}


def binary_rows(n):
    """One row per number of correct answers c = 0..n."""
    return np.array([[1.0] * c + [0.0] * (n - c) for c in range(n + 1)])


# ------------------------------------------------------------------ passk_analytic: exact values


@pytest.mark.parametrize("n", range(1, 13))
def test_analytic_binary_equals_bruteforce_for_every_n_c_k(n):
    rows = binary_rows(n)
    for k in range(1, n + 1):
        got = compute("passk_analytic", rows, k=k)
        for c, row in enumerate(rows):
            expected = analytic_bruteforce(list(row), k, exact=True)
            np.testing.assert_allclose(got[c], expected, rtol=0, atol=1e-12, err_msg=f"n={n} c={c} k={k}")


@pytest.mark.parametrize("n", range(1, 11))
def test_analytic_continuous_equals_bruteforce_with_ties(n):
    rng = np.random.default_rng(n)
    for trial in range(3):
        # A few distinct levels force ties; one row of fully random reals.
        levels = rng.random(3) * 4 - 1
        rows = np.stack([rng.choice(levels, size=n), rng.normal(size=n) * 3, rng.integers(0, 3, n) / 2.0])
        for k in range(1, n + 1):
            got = compute("passk_analytic", rows, k=k, form="continuous")
            for row, got_row in zip(rows, got):
                expected = analytic_bruteforce(list(row), k)
                np.testing.assert_allclose(got_row, expected, rtol=0, atol=1e-11, err_msg=f"{row} k={k}")


def test_binary_and_continuous_forms_agree():
    rng = np.random.default_rng(0)
    rows = (rng.random((200, 24)) < rng.random((200, 1))).astype(float)
    for k in (1, 2, 5, 12, 24):
        a = compute("passk_analytic", rows, k=k, form="binary")
        b = compute("passk_analytic", rows, k=k, form="continuous")
        np.testing.assert_allclose(a, b, atol=1e-11)


def test_analytic_k1_is_grpo():
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(20, 9))
    np.testing.assert_allclose(compute("passk_analytic", rows, k=1), compute("grpo", rows, k=1), atol=1e-12)


def exact_binary_advantages(n, c, k):
    """A_pos, A_neg from eqs. 11-15 in 50-digit decimal arithmetic on exact integers."""
    with localcontext() as ctx:
        ctx.prec = 50
        ctx.Emin = -10**8
        q = Decimal(comb(n - c, k)) / Decimal(comb(n, k))
        mu = 1 - q
        if mu == 0 or q == 0:
            return 0.0, 0.0
        sigma = (mu * q).sqrt()
        ratio = Decimal(comb(n - c - 1, k - 1)) / Decimal(comb(n - 1, k - 1))
        return float(q / sigma), float((q - ratio) / sigma)


LARGE_CASES = [
    (8192, c, k)
    for k in (1, 2, 17, 1000, 4096, 8000, 8191, 8192)
    for c in (0, 1, 2, 5, 100, 4096, 8190, 8191, 8192)
] + [(1030, c, 515) for c in (1, 3, 50, 514, 515, 516, 1029)] + [(2048, 1, 1024), (4000, 2, 1999), (4000, 3, 3990)]


def test_analytic_is_stable_and_exact_up_to_n_8192():
    by_n: dict[int, list[tuple[int, int]]] = {}
    for n, c, k in LARGE_CASES:
        by_n.setdefault((n, k), []).append(c)
    for (n, k), cs in by_n.items():
        rows = np.zeros((len(cs), n))
        for r, c in enumerate(cs):
            rows[r, :c] = 1.0
        got = compute("passk_analytic", rows, k=k)
        assert np.isfinite(got).all(), (n, k)
        for r, c in enumerate(cs):
            a_pos, a_neg = exact_binary_advantages(n, c, k)
            if c > 0:
                assert got[r, 0] == pytest.approx(a_pos, rel=1e-9, abs=1e-300), (n, c, k)
            if c < n:
                assert got[r, -1] == pytest.approx(a_neg, rel=1e-9, abs=1e-300), (n, c, k)


def test_analytic_handles_n_minus_c_below_k_and_tiny_ratios():
    # n - c < k: every k-subset contains a correct answer, so all advantages are 0 (no NaN).
    rows = np.zeros((1, 40))
    rows[0, :35] = 1
    assert (compute("passk_analytic", rows, k=10) == 0).all()
    # q = C(n-c, k)/C(n, k) ~ 1e-300: A_pos ~ 1e-150, still exact relative to itself.
    n, c, k = 2000, 1000, 990
    rows = np.zeros((1, n))
    rows[0, :c] = 1
    a_pos, a_neg = exact_binary_advantages(n, c, k)
    got = compute("passk_analytic", rows, k=k)
    assert 0 < got[0, 0] < 1e-100
    assert got[0, 0] == pytest.approx(a_pos, rel=1e-9)
    assert got[0, -1] == pytest.approx(a_neg, rel=1e-9)


# ------------------------------------------------------------------ other estimators, exact values


@pytest.mark.parametrize("variant", ["s", "loo", "loo1"])
def test_pkpo_family_equals_bruteforce(variant):
    name = {"s": "pkpo", "loo": "pkpo_loo", "loo1": "pkpo_loo1"}[variant]
    rng = np.random.default_rng(7)
    for n in range(2, 9):
        rows = np.stack([rng.normal(size=n), rng.integers(0, 2, n).astype(float), rng.choice([0.0, 0.5, 1.0], n)])
        for k in range(1, n + 1):
            if variant == "loo" and k == n:
                continue
            got = compute(name, rows, k=k)
            for row, got_row in zip(rows, got):
                np.testing.assert_allclose(got_row, pkpo_bruteforce(list(row), k, variant), atol=1e-12)


def test_pkpo_loo1_binary_closed_form_and_relation_to_analytic():
    n = 12
    rows = binary_rows(n)
    for k in range(1, n + 1):
        loo1 = compute("pkpo_loo1", rows, k=k)
        s = compute("pkpo", rows, k=k)
        analytic = compute("passk_analytic", rows, k=k)
        for c in range(n + 1):
            expected_pos = comb(n - c, k - 1) / comb(n, k)
            assert np.allclose(loo1[c, :c], expected_pos, atol=1e-14)
            assert np.allclose(loo1[c, c:], 0, atol=1e-14)
            # passk_analytic = ((n/k) s_i - mu) / sigma
            mu = 1 - comb(n - c, k) / comb(n, k)
            if 0 < mu < 1:
                np.testing.assert_allclose(analytic[c], ((n / k) * s[c] - mu) / math.sqrt(mu * (1 - mu)), atol=1e-12)


def test_grpo_dr_grpo_rloo_match_definitions():
    rng = np.random.default_rng(3)
    rows = np.concatenate([rng.normal(size=(10, 7)), np.ones((1, 7)), binary_rows(7)[2:4]])
    for row, g, d, l in zip(rows, compute("grpo", rows, k=1), compute("dr_grpo", rows, k=1), compute("rloo", rows, k=1)):
        np.testing.assert_allclose(g, grpo_reference(list(row)), atol=1e-12)
        np.testing.assert_allclose(d, row - row.mean(), atol=1e-12)
        loo = [row[i] - np.delete(row, i).mean() for i in range(len(row))]
        np.testing.assert_allclose(l, loo, atol=1e-12)


def test_grpo_passk_tang():
    got = compute("grpo_passk_tang", np.array([[0.2, 0.9, 0.5], [1, 0, 1], [0, 0, 0]]), k=2)
    np.testing.assert_allclose(got, [[0, 0.4, 0], [0, 0, 0], [0, 0, 0]], atol=1e-15)


# ------------------------------------------------------------------ sampling estimators


def test_passk_full_k1_is_grpo_and_k_n_is_zero():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(5, 8))
    np.testing.assert_allclose(compute("passk_full", rows, k=1, generator=0), compute("grpo", rows, k=1), atol=1e-12)
    assert (compute("passk_full", rows, k=8, generator=0) == 0).all()


def test_passk_full_matches_its_definition_over_all_partitions():
    """n=6, k=2, one correct answer: the correct one and its random partner get A = sqrt(2)...

    With group rewards [1, 0, 0] the GRPO advantages are [+sqrt(2), -1/sqrt(2), -1/sqrt(2)]. Averaged
    over seeds, each wrong answer is the partner with probability 1/5 (every pairing equally likely).
    """
    row = np.array([[1.0, 0, 0, 0, 0, 0]])
    partner_counts = np.zeros(6)
    n_draws = 2000
    gen = torch.Generator().manual_seed(1)
    for _ in range(n_draws):
        adv = compute("passk_full", row, k=2, generator=gen)[0]
        assert adv[0] == pytest.approx(math.sqrt(2))
        partners = np.isclose(adv, math.sqrt(2))
        assert partners.sum() == 2
        assert np.allclose(adv[~partners], -1 / math.sqrt(2))
        partner_counts += partners
    share = partner_counts[1:] / n_draws
    assert np.all(np.abs(share - 0.2) < 0.04), share


def test_passk_full_leftovers_get_zero_and_groups_sum_to_zero():
    rng = np.random.default_rng(5)
    rows = (rng.random((50, 11)) < 0.4).astype(float)
    adv = compute("passk_full", rows, k=3, generator=2)
    assert ((adv == 0).sum(axis=1) >= 2).all()  # 11 mod 3 = 2 leftovers per prompt
    np.testing.assert_allclose(adv.sum(axis=1), 0, atol=1e-12)


def test_bootstrap_mean_converges_to_analytic():
    rows = np.array([[1.0, 0, 0, 1, 0, 0, 0, 0], [0.3, 0.9, 0.1, 0.5, 0.5, 0.0, 1.0, 0.2]])
    for k in (2, 3, 5):
        exact = compute("passk_analytic", rows, k=k)
        approx = compute("passk_bootstrap", rows, k=k, n_groups=100_000, reduce="mean", generator=0)
        np.testing.assert_allclose(approx, exact, atol=0.03)


def test_bootstrap_sum_is_n_groups_k_over_n_times_mean_and_zero_sum():
    rows = np.array([[1.0, 0, 0, 1, 0, 0, 0, 0]])
    total = compute("passk_bootstrap", rows, k=3, n_groups=40_000, reduce="sum", generator=1)
    np.testing.assert_allclose(total.sum(axis=1), 0, atol=1e-8)
    exact = compute("passk_analytic", rows, k=3)
    np.testing.assert_allclose(total / (40_000 * 3 / 8), exact, atol=0.05)


def test_bootstrap_matches_its_definition_on_a_seeded_draw():
    """Re-derive eq. 6 from the subsets the estimator drew (n_groups = 1 makes each draw visible)."""
    row = np.array([[0.0, 1.0, 0.0, 0.0, 1.0]])
    # With one subset, its GRPO advantage over a single group reward is 0: everything is 0.
    assert (compute("passk_bootstrap", row, k=2, n_groups=1, generator=3) == 0).all()
    # With two subsets whose maxima differ, members of the better one get +1, of the worse -1
    # (summed over the subsets containing them).
    gen = torch.Generator().manual_seed(11)
    for _ in range(50):
        adv = compute("passk_bootstrap", row, k=2, n_groups=2, generator=gen)[0]
        assert set(np.round(adv, 12)).issubset({-2.0, -1.0, 0.0, 1.0, 2.0})
        assert adv.sum() == pytest.approx(0)


def test_sampling_estimators_are_reproducible_with_a_seed():
    rows = np.random.default_rng(0).random((4, 16))
    for name in ("passk_full", "passk_bootstrap"):
        a = compute(name, rows, k=4, generator=123)
        b = compute(name, rows, k=4, generator=123)
        c = compute(name, rows, k=4, generator=124)
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


# ------------------------------------------------------------------ properties (hypothesis)

reward_values = st.sampled_from([0.0, 1.0])


@st.composite
def reward_matrices(draw, binary=None):
    n_prompts = draw(st.integers(1, 5))
    n = draw(st.integers(2, 10))
    is_binary = draw(st.booleans()) if binary is None else binary
    elem = reward_values if is_binary else st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 2))
    rows = draw(st.lists(st.lists(elem, min_size=n, max_size=n), min_size=n_prompts, max_size=n_prompts))
    k = draw(st.integers(1, n))
    return np.array(rows), k


def runnable(name, rewards, k):
    info = REGISTRY[name]
    if info.binary_only and not np.isin(rewards, (0.0, 1.0)).all():
        return False
    if name == "pkpo_loo" and k >= rewards.shape[1]:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(reward_matrices())
def test_zero_sum_where_the_definition_implies_it(data):
    rewards, k = data
    for name, info in REGISTRY.items():
        if info.zero_sum and runnable(name, rewards, k):
            adv = compute(name, rewards, k=k, generator=0, **extra_params(name, rewards))
            np.testing.assert_allclose(adv.sum(axis=1), 0, atol=1e-9, err_msg=name)


@settings(max_examples=60, deadline=None)
@given(reward_matrices(), st.randoms(use_true_random=False))
def test_permutation_equivariance(data, random):
    rewards, k = data
    perm = list(range(rewards.shape[1]))
    random.shuffle(perm)
    # drop_easy compares the mean reward with its threshold; a mean within rounding of it may fall on
    # either side depending on the order of the summation.
    on_threshold = bool(np.any(np.abs(rewards.mean(axis=1) - estimators.check_params("drop_easy").threshold) < 1e-9))
    for name in DETERMINISTIC:
        if not runnable(name, rewards, k) or name == "grpo_passk_tang" or (name == "drop_easy" and on_threshold):
            continue
        params = extra_params(name, rewards)
        a = compute(name, rewards, k=k, **params)
        b = compute(name, rewards[:, perm], k=k, **params)
        np.testing.assert_allclose(a[:, perm], b, atol=1e-10, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.floats(-5, 5, allow_nan=False), st.data())
def test_all_equal_rewards_give_zero(n, value, data):
    k = data.draw(st.integers(1, n))
    rewards = np.full((2, n), value)
    for name, info in REGISTRY.items():
        if name.startswith("pkpo") or not runnable(name, rewards, k):
            continue  # PKPO weights are not centred (they sum to k * max@k)
        if name == "grpo_passk_tang" and n < 2:
            continue
        adv = compute(name, rewards, k=k, generator=0, **extra_params(name, rewards))
        assert (adv == 0).all(), name


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=5), st.data())
def test_masked_ragged_groups_equal_each_group_alone(sizes, data):
    width = max(sizes)
    k = data.draw(st.integers(1, min(sizes)))
    binary = data.draw(st.booleans())
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    rewards = (rng.random((len(sizes), width)) < 0.5).astype(float) if binary else rng.normal(size=(len(sizes), width)).round(1)
    mask = np.arange(width)[None, :] < np.array(sizes)[:, None]
    padded = np.where(mask, rewards, np.nan)  # padding may hold anything, even NaN
    for name in DETERMINISTIC:
        if not runnable(name, rewards, k) or (name == "pkpo_loo" and k >= min(sizes)):
            continue
        if name == "grpo_passk_tang" and min(sizes) < 2:
            continue
        if name == "adaptive_entropy":
            continue  # ranks prompts across the batch: not a per-group estimator
        together = compute(name, padded, k=k, mask=mask)
        for p, n in enumerate(sizes):
            alone = compute(name, rewards[p : p + 1, :n], k=k)
            np.testing.assert_allclose(together[p, :n], alone[0], atol=1e-12, err_msg=name)
            assert (together[p, n:] == 0).all()


@settings(max_examples=30, deadline=None)
@given(reward_matrices())
def test_numpy_and_torch_inputs_agree(data):
    rewards, k = data
    for name in REGISTRY:
        if not runnable(name, rewards, k):
            continue
        params = extra_params(name, rewards)
        a = compute(name, rewards, k=k, generator=5, **params)
        t = compute(name, torch.tensor(rewards), k=k, generator=5, **params)
        assert isinstance(a, np.ndarray) and isinstance(t, torch.Tensor)
        np.testing.assert_allclose(a, t.numpy(), atol=1e-12, err_msg=name)


def test_monotone_in_c_for_analytic():
    """More correct answers -> a smaller reward for being correct, for every k (Fig. 9)."""
    n = 32
    rows = binary_rows(n)
    for k in (1, 4, 8, 16):
        adv = compute("passk_analytic", rows, k=k)
        a_pos = [adv[c, 0] for c in range(1, n) if c <= n - k]
        assert all(x > y for x, y in zip(a_pos, a_pos[1:])), k


# ------------------------------------------------------------------ dtype, device and bad input


def test_output_kind_and_dtype():
    r32 = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float32)
    out = compute("passk_analytic", r32, k=2)
    assert out.dtype == torch.float32 and out.device == r32.device
    assert compute("grpo", [[1, 0, 1]], k=1).dtype == np.float64
    assert compute("grpo", np.array([[True, False]]), k=1).dtype == np.float64


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: compute("nope", [[1.0, 0.0]], k=1), "unknown estimator 'nope'; known: .*passk_analytic"),
        (lambda: compute("grpo", [[1.0, 0.0]], k=0), "k must be >= 1, got k=0"),
        (lambda: compute("passk_analytic", [[1.0, 0.0]], k=3), "k=3 is larger than the group size n=2"),
        (lambda: compute("passk_analytic", [[1.0, 0.0]], k=2.0), "k must be an integer"),
        (lambda: compute("grpo", [[1.0, float("nan")]], k=1), r"finite; rewards\[0, 1\] = nan"),
        (lambda: compute("grpo", [[1.0, float("inf")]], k=1), r"rewards\[0, 1\] = inf"),
        (lambda: compute("exceeding", [[1.0, 0.5]], k=1), r"binary rewards.*rewards\[0, 1\] = 0.5"),
        (lambda: compute("passk_analytic", [[1.0, 0.5]], k=1, form="binary"), "binary rewards"),
        (lambda: compute("grpo", [1.0, 0.0], k=1), r"shape \[n_prompts, n_rollouts\].*\(2,\)"),
        (lambda: compute("grpo", [[1.0, 0.0]], k=1, mask=[[True]]), r"mask has shape \(1, 1\)"),
        (lambda: compute("passk_bootstrap", [[1.0, 0.0]], k=1, reduce="max"), "reduce must be"),
        (lambda: compute("passk_bootstrap", [[1.0, 0.0]], k=1, bogus=1), "unknown parameter.*bogus.*n_groups, reduce"),
        (lambda: compute("grpo", [[1.0, 0.0]], k=1, n_groups=3), "grpo.*accepts: no parameters"),
        (lambda: compute("pkpo_loo", [[1.0, 0.0]], k=2), "pkpo_loo needs k < n"),
        (lambda: compute("adaptive_entropy", [[1.0, 0.0]], k=1), "needs entropy"),
        (
            lambda: compute("passk_analytic", [[1.0, 0.0], [1.0, 1.0]], k=2, mask=[[True, True], [True, False]]),
            "group size n=1 of group 1",
        ),
    ],
)
def test_bad_input_raises_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_register_a_user_estimator():
    @dataclasses.dataclass(frozen=True)
    class SignParams:
        scale: float = 1.0

    @estimators.register("test_sign", params=SignParams, summary="sign of the centred reward")
    def sign(groups, params, *, k, generator):
        centred = groups.rewards - groups.rewards.mean(dim=1, keepdim=True)
        return params.scale * torch.sign(centred)

    try:
        assert "test_sign" in estimators.names()
        np.testing.assert_array_equal(compute("test_sign", [[1.0, 0.0]], k=1), [[1.0, -1.0]])
        np.testing.assert_array_equal(compute("test_sign", [[1.0, 0.0]], k=1, scale=2.0), [[2.0, -2.0]])
        with pytest.raises(ValueError, match="already registered"):
            estimators.register("test_sign")(sign)
        # compute validates input and parameters for user estimators too
        with pytest.raises(ValueError, match="finite"):
            compute("test_sign", [[1.0, float("nan")]], k=1)
        with pytest.raises(ValueError, match="unknown parameter.*size.*accepts: scale"):
            compute("test_sign", [[1.0, 0.0]], k=1, size=2)
    finally:
        REGISTRY.pop("test_sign")
    assert "passk_analytic" in estimators.describe()


def test_a_user_shaper_receives_the_advantages_of_the_estimators_it_wraps():
    @dataclasses.dataclass(frozen=True)
    class HalfParams:
        base: str = dataclasses.field(default="grpo", metadata={"estimator": True})

    @estimators.register("test_half", params=HalfParams, wraps=("base",), zero_sum=True)
    def half(g, p, *, k, generator, base):
        return base / 2

    rewards = [[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]]
    try:
        np.testing.assert_array_equal(compute("test_half", rewards, k=2), compute("grpo", rewards, k=2) / 2)
        np.testing.assert_array_equal(compute("test_half", rewards, k=3, base="passk_analytic"),
                                      compute("passk_analytic", rewards, k=3) / 2)
        # a sampling estimator it wraps draws from the caller's generator
        np.testing.assert_array_equal(compute("test_half", rewards, k=2, base="passk_bootstrap", generator=5),
                                      compute("passk_bootstrap", rewards, k=2, generator=5) / 2)
        with pytest.raises(ValueError, match="test_half base='nope' is not a registered estimator"):
            compute("test_half", rewards, k=2, base="nope")
    finally:
        REGISTRY.pop("test_half")
    with pytest.raises(ValueError, match="wraps 'scale', which is not a parameter of HalfParams declared with metadata"):
        estimators.register("test_bad", params=HalfParams, wraps=("scale",))
    assert "test_bad" not in REGISTRY


def test_a_kernel_receives_checked_groups_once_and_nested_estimators_reuse_them(monkeypatch):
    """compute() validates once; a shaper's nested estimators get the same Groups, unchecked again."""
    import passkrl.core.estimators as core

    calls = []
    real_prepare = core.prepare
    monkeypatch.setattr(core, "prepare", lambda *a, **kw: calls.append(1) or real_prepare(*a, **kw))
    seen = []
    real_kernel = REGISTRY["grpo"].kernel
    monkeypatch.setitem(REGISTRY, "grpo", dataclasses.replace(
        REGISTRY["grpo"], kernel=lambda g, p, **kw: seen.append(g) or real_kernel(g, p, **kw)))
    compute("combination", [[1.0, 0.0, 0.0, 1.0]], k=2, passk="passk_analytic", pass1="grpo")
    assert len(calls) == 1 and len(seen) == 1 and isinstance(seen[0], core.Groups)


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("combination", {"passk": "nope"}, "combination passk='nope' is not a registered estimator"),
        ("drop_easy", {"threshold": float("nan")}, "threshold must be a finite number"),
        ("passk_bootstrap", {"n_groups": 0}, "n_groups must be a positive integer"),
        ("passk_analytic", {"form": "exact"}, "form must be 'auto', 'binary' or 'continuous'"),
        ("combination", {"passk": "adaptive_entropy"}, "needs entropy, which combination does not receive"),
        ("adaptive_entropy", {"entropy": [1.0]}, "unknown parameter.*entropy"),
    ],
)
def test_check_params_refuses_bad_parameters_before_any_work(name, params, message):
    with pytest.raises(ValueError, match=message):
        estimators.check_params(name, params)


def test_check_params_returns_the_parameters_dataclass_with_its_defaults():
    p = estimators.check_params("drop_easy", {"threshold": 0.5})
    assert (p.base, p.threshold) == ("passk_analytic", 0.5)
    assert REGISTRY["adaptive_entropy"].needs == ("entropy",)
    assert [name for name, r in REGISTRY.items() if not r.uses_k] == ["grpo", "dr_grpo", "rloo", "grpo_passk_tang"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: compute("grpo", [["a", "b"]], k=1), "rewards must be real numbers, got dtype <U1"),
        (lambda: compute("grpo", [[1.0, 0.0], [1.0]], k=1), r"rectangular \[n_prompts, n_rollouts\].*mask="),
        (lambda: compute("grpo", [[1.0, 0.0]], k=10**30), "k=1000000000000000000000000000000 is larger than the group"),
        (lambda: compute("passk_bootstrap", [[1.0, 0.0]], k=1, n_groups=10**12), "n_groups=1000000000000 would draw"),
        (lambda: compute("grpo", [[1.0, 0.0]], k=1, mask=[[1.0, float("nan")]]), r"mask\[0, 1\] = nan"),
        (lambda: compute("grpo", [[1.0, 0.0]], k=1, mask=[[1, 2]]), r"mask must hold booleans \(or 0/1\); mask\[0, 1\] = 2"),
        (lambda: compute("grpo", [[1.0, 0.0]], k=1, mask=[[True], [False, True]]), "mask must be a rectangular"),
    ],
)
def test_hostile_input_is_a_value_error_not_a_type_overflow_or_memory_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_0_1_mask_is_the_same_as_a_boolean_mask():
    rewards = [[1.0, 0.0, 1.0], [0.0, 1.0, 9.0]]
    a = compute("passk_analytic", rewards, k=2, mask=[[1, 1, 1], [1, 1, 0]])
    b = compute("passk_analytic", rewards, k=2, mask=[[True, True, True], [True, True, False]])
    np.testing.assert_array_equal(a, b)


def _rare_bad_answer_rows(n, seed):
    """Rewards in {0, 0.5, 1} where most k-subsets already hold a 1: mu is within rounding of 1."""
    rng = np.random.default_rng(seed)
    return [rng.choice([0.0, 0.5, 1.0], size=n, p=p) for p in ([0.9, 0.09, 0.01], [0.0, 0.999, 0.001], [0.98, 0.02, 0.0])]


def _check_against_exact(n, k, seed):
    for row in _rare_bad_answer_rows(n, seed):
        expected = np.array(analytic_exact_ranks(list(row), k))
        got = compute("passk_analytic", row[None, :], k=k, form="continuous")[0]
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9 * scale)
        assert abs(got.sum()) <= 1e-9 * np.abs(got).sum()


def test_continuous_analytic_is_exact_where_mu_is_within_rounding_of_the_best_reward():
    _check_against_exact(2048, 1024, seed=0)


@pytest.mark.slow
def test_continuous_analytic_is_exact_at_n_8192_k_4096_with_ties():
    _check_against_exact(8192, 4096, seed=0)


@pytest.mark.parametrize("scale", [1e-200, 1e-160, 1e154, 1e300])
@pytest.mark.parametrize("name", ["grpo", "passk_analytic", "passk_full"])
def test_standardised_advantages_do_not_depend_on_the_magnitude_of_the_rewards(name, scale):
    rewards = np.array([[1.0, 0.0, 3.0, 2.0], [0.5, 0.25, 0.25, 0.0]])
    expected = compute(name, rewards, k=2, generator=0)
    got = compute(name, rewards * scale, k=2, generator=0)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


# ------------------------------------------- the registry is whole whichever module is imported first

EVERY_ESTIMATOR = {"grpo", "dr_grpo", "rloo", "grpo_passk_tang", "passk_full", "passk_bootstrap", "passk_analytic",
                   "pkpo", "pkpo_loo", "pkpo_loo1", "combination", "exceeding", "drop_easy", "adaptive_entropy",
                   "alpha_reweight"}

# One interpreter imports heavy third-party packages (numpy, torch, scipy, transformers) and no passkrl
# module, then forks a child per module: each child starts with no passkrl module loaded, imports the one module, and reports
# the names the registry holds (or that the module was skipped: only when its import fails for a
# missing third-party package, an optional extra). Forking spares every child the seconds of importing them.
_FORK_PER_MODULE = """
import importlib, importlib.util, json, os, sys
import numpy, torch

for heavy in ("scipy.stats", "transformers"):  # when installed; none of them imports passkrl (verl would)
    try:
        importlib.import_module(heavy)
    except ImportError:
        pass
assert not [name for name in sys.modules if name.split(".")[0] == "passkrl"]


def import_then_list(module):
    try:
        importlib.import_module(module)
    except ImportError as err:
        top = (err.name or "").partition(".")[0]
        if top and top != "passkrl" and importlib.util.find_spec(top) is None:
            return "SKIP " + err.name
        raise
    from passkrl.core.estimators import REGISTRY
    return " ".join(sorted(REGISTRY))


results = {}
for module in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            outcome = import_then_list(module)
        except BaseException as err:
            outcome = "ERROR " + repr(err)
        os.write(write, outcome.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        results[module] = pipe.read()
    os.waitpid(pid, 0)
print(json.dumps(results))
"""


def _public_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(passkrl.__path__, "passkrl.")
                  if not any(part.startswith("_") for part in m.name.split(".")))


def test_the_full_set_is_every_registered_estimator():
    assert set(REGISTRY) == EVERY_ESTIMATOR


def test_every_estimator_is_registered_whichever_passkrl_module_is_imported_first():
    modules = _public_modules()
    assert {"passkrl.core.curves", "passkrl.core.estimators", "passkrl.core.shaping", "passkrl.metrics"} <= set(modules)
    run = subprocess.run([sys.executable, "-c", _FORK_PER_MODULE, *modules], capture_output=True, text=True,
                         timeout=600, check=False)
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert sorted(results) == modules
    assert {m: out for m, out in results.items() if out.startswith("ERROR")} == {}
    skipped = sorted(m for m, out in results.items() if out.startswith("SKIP"))
    incomplete = {m: sorted(EVERY_ESTIMATOR - set(out.split())) for m, out in results.items()
                  if m not in skipped and set(out.split()) != EVERY_ESTIMATOR}
    assert incomplete == {}
    assert len(skipped) < len(modules) // 2, skipped  # the check ran for most modules


def test_a_shaper_runs_in_a_fresh_interpreter_through_core_curves_and_core_compute():
    code = """
from passkrl.core.curves import advantage_curve
curve = advantage_curve("combination", n=4, k=2)
from passkrl.core.estimators import compute
advantages = compute("drop_easy", [[1.0, 0.0, 0.0, 0.0]], k=2, base="combination")
print(round(float(curve.a_pos[1]), 6), round(float(advantages[0, 0]), 6))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    curve = importlib.import_module("passkrl.core.curves").advantage_curve("combination", n=4, k=2)
    expected = compute("drop_easy", [[1.0, 0.0, 0.0, 0.0]], k=2, base="combination")
    assert result.stdout.split() == [str(round(float(curve.a_pos[1]), 6)), str(round(float(expected[0, 0]), 6))]
