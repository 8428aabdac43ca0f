"""The statistics behind every claim: the crossed t interval's coverage, measured by simulation; Holm.

Variance components of the simulations come from our first committed studies (one warm-up seed x 5
replicates, 384 or 1,536 test mazes; in the history of docs/results/*/results.json): for a paired
pass@8 difference the per-run means scatter with a standard deviation of 0.004 to 0.027 (main's
headline: 0.014), and the maze term backed out of the committed bootstrap widths
(``se^2 - s_run^2 / R``) is a per-maze standard deviation of 0.04 to 0.22 (headline: 0.14). One
warm-up cannot show the warm-up component, so the simulations span none, as large as the
replicates', twice as large, and 0.05; the five-warm-up main since measured 0.029 for its primary
difference (per-warm-up pass@4 differences, replicate noise included), inside that span. The
warm-up x maze and run x maze terms are set so that they add what 16 answers per maze would (sd 0.1
and 0.25 per maze).
"""

from __future__ import annotations

import numpy as np
import pytest

from passkrl.experiment import stats

RUN_SD = 0.012  # replicate within warm-up (b), per run
MAZE_SD = 0.14  # maze (c)
WARMUP_MAZE_SD = 0.10  # warm-up x maze (ac)
RUN_MAZE_SD = 0.25  # run x maze (e), sampling noise included
TRUE_DIFFERENCE = 0.015


def simulate(rng: np.random.Generator, n_studies: int, n_warmups: int, n_replicates: int, n_mazes: int,
             warmup_sd: float, zero_inflated: bool = False) -> np.ndarray:
    """``[S, W*R, M]`` per-maze paired differences of ``n_studies`` studies drawn from eq. (1)."""
    shape = (n_studies, n_warmups, n_replicates, n_mazes)
    a = rng.normal(0, warmup_sd, shape[:2])[:, :, None, None]
    b = rng.normal(0, RUN_SD, shape[:3])[:, :, :, None]
    if zero_inflated:  # most mazes are never solved by either arm: their difference is exactly 0
        solvable = rng.random((n_studies, n_mazes)) < 0.4
        c = np.where(solvable, rng.normal(0, MAZE_SD / np.sqrt(0.4), (n_studies, n_mazes)), 0.0)
    else:
        c = rng.normal(0, MAZE_SD, (n_studies, n_mazes))
    ac = rng.normal(0, WARMUP_MAZE_SD, (n_studies, n_warmups, 1, n_mazes))
    e = rng.normal(0, RUN_MAZE_SD, shape)
    y = TRUE_DIFFERENCE + a + b + c[:, None, None, :] + ac + e
    return y.reshape(n_studies, n_warmups * n_replicates, n_mazes)


def crossed_coverage(studies: np.ndarray, seeds: list[int]) -> float:
    covered = 0
    for values in studies:
        summary = stats.crossed_interval(list(values), seeds)
        covered += summary["low"] <= TRUE_DIFFERENCE <= summary["high"]
    return covered / len(studies)


def percentile_bootstrap_coverage(studies: np.ndarray, seeds: list[int], rng: np.random.Generator,
                                  n_bootstrap: int = 400) -> float:
    """The interval the studies used before: warm-ups, replicates within them and the mazes resampled,
    95% percentile range."""
    seeds = np.asarray(seeds)
    units = np.stack([np.flatnonzero(seeds == s) for s in np.unique(seeds)])  # [W, R]
    n_warmups, n_replicates = units.shape
    covered = 0
    for values in studies:
        pick_mazes = rng.integers(0, values.shape[1], size=(n_bootstrap, values.shape[1]))
        run_means = values[:, pick_mazes].mean(axis=2)  # [U, B]
        pick_seeds = rng.integers(0, n_warmups, size=(n_bootstrap, n_warmups))
        pick_replicates = rng.integers(0, n_replicates, size=(n_bootstrap, n_warmups, n_replicates))
        runs = units[pick_seeds[:, :, None], pick_replicates].reshape(n_bootstrap, -1)
        draws = run_means[runs, np.arange(n_bootstrap)[:, None]].mean(axis=1)
        low, high = np.percentile(draws, [2.5, 97.5])
        covered += low <= TRUE_DIFFERENCE <= high
    return covered / len(studies)


WARMUP_SDS = (0.0, RUN_SD, 2 * RUN_SD, 0.05)
"""Warm-up components tried: none, as large as the replicates', twice that, and 0.05, where warm-ups
differ more than anything else (which one warm-up seed cannot rule out)."""
SHAPES = [  # (warm-ups, replicates, test mazes, warm-up sd)
    *[(5, 1, 384, sd) for sd in WARMUP_SDS],  # the full studies' shape
    (5, 1, 1024, 0.0),  # main's (512 mazes of each test size)
    *[(3, 2, 384, sd) for sd in WARMUP_SDS],
    (1, 5, 384, 0.0),  # the first studies' shape (one warm-up)
    (1, 5, 1536, 0.0),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}w x {s[1]}r x {s[2]} mazes, warm-up sd {s[3]}")
def test_the_crossed_t_interval_covers_at_least_93_percent(shape):
    n_warmups, n_replicates, n_mazes, warmup_sd = shape
    rng = np.random.default_rng(20261203)
    studies = simulate(rng, 1000, n_warmups, n_replicates, n_mazes, warmup_sd, zero_inflated=warmup_sd == RUN_SD)
    seeds = [w for w in range(n_warmups) for _ in range(n_replicates)]
    coverage = crossed_coverage(studies, seeds)
    assert coverage >= 0.93, f"{shape}: coverage {coverage:.3f}"
    assert coverage <= 0.99, f"{shape}: coverage {coverage:.3f}, far wider than nominal"


def test_the_percentile_bootstrap_used_before_under_covers_when_warm_ups_differ():
    """3 warm-ups x 2 replicates x 384 mazes with warm-ups that differ (sd 0.05): the bootstrap of
    three warm-ups with normal percentiles covers about 87%; eq. (4) at least 93%."""
    rng = np.random.default_rng(7)
    studies = simulate(rng, 300, 3, 2, 384, 0.05)
    seeds = [0, 0, 1, 1, 2, 2]
    assert percentile_bootstrap_coverage(studies, seeds, rng) < 0.90
    assert crossed_coverage(studies, seeds) >= 0.93


def test_variance_parts_are_eq_3_on_a_table_with_known_parts():
    """Exact structure y = row + column (no interaction): the parts are var_row / W and var_col / M
    with the unbiased (ddof=1) variances, and their sum is eq. (2)."""
    rng = np.random.default_rng(0)
    rows, cols = rng.normal(0, 1, 4), rng.normal(0, 2, 50)
    z = rows[:, None] + cols[None, :]
    v_rows, df_rows, v_mazes, df_mazes = stats.variance_parts(z)
    assert v_rows == pytest.approx(rows.var(ddof=1) / 4, rel=1e-12) and df_rows == 3
    assert v_mazes == pytest.approx(cols.var(ddof=1) / 50, rel=1e-12) and df_mazes == 49
    # a value measured once per run: the variance of the row means over rows, W - 1 df
    assert stats.variance_parts(rows[:, None]) == (pytest.approx(rows.var(ddof=1) / 4), 3, 0.0, 0)


def test_rows_are_warm_up_means_or_replicates():
    values = np.arange(12.0).reshape(4, 3)
    z, rows = stats.rows_of(values, np.array([0, 0, 1, 1]))
    assert rows == "warm-ups" and z.tolist() == [[1.5, 2.5, 3.5], [7.5, 8.5, 9.5]]
    z, rows = stats.rows_of(values, np.array([0, 0, 0, 0]))
    assert rows == "replicates" and z is values
    with pytest.raises(ValueError, match="same number of replicates"):
        stats.rows_of(values, np.array([0, 0, 0, 1]))


def test_paired_identical_differences_have_a_zero_width_interval_and_one_run_none():
    same = [np.full(40, 0.1) for _ in range(4)]
    summary = stats.crossed_interval(same, [0, 0, 1, 1])
    assert summary["low"] == pytest.approx(0.1) and summary["high"] == pytest.approx(0.1)
    assert summary["p"] < 1e-12
    assert summary["per_warmup"] == [pytest.approx(0.1), pytest.approx(0.1)]
    one = stats.crossed_interval([np.full(40, 0.1)], [0])
    assert one["mean"] == pytest.approx(0.1) and one["low"] is None and one["p"] is None
    assert stats.crossed_interval([np.array([])], [0])["mean"] is None


def test_runs_whose_means_agree_exactly_still_get_an_interval_from_the_mazes():
    # two replicates (one warm-up, as --quick runs) with the same per-maze differences, as on an unseen size
    # where both solve the same two mazes: the rows' part of eq. (3) is exactly 0, only the mazes' part is left
    first, second = np.zeros(64), np.zeros(64)
    first[[3, 10]] = second[[3, 10]] = 0.25
    summary = stats.crossed_interval([first, second], [0, 0])
    assert summary["parts"][0] == 0.0 and summary["parts"][2] > 0
    assert summary["low"] < summary["mean"] < summary["high"]
    assert 0.0 < summary["p"] < 1.0
    parts = (0.0, 1, 1e-4, 63)
    low, high = stats.interval_at(0.01, parts, 0.05)
    assert stats.p_value(0.01, parts, null=low) == pytest.approx(0.05, rel=1e-6)


def test_interval_and_p_value_agree():
    parts = (1e-4, 2, 0.0, 0)  # rows only: the t interval with 2 degrees of freedom
    low, high = stats.interval_at(0.02, parts, 0.05)
    assert (high - low) / 2 == pytest.approx(4.302653 * 0.01, rel=1e-6)  # t_{2, 0.975} = 4.3027
    assert stats.p_value(0.02, parts) == pytest.approx(2 * (1 - 0.9082482904638631), rel=1e-8)  # t = 2, df = 2
    both = (1e-4, 2, 4e-5, 383)
    for alpha in (0.05, 0.01, 0.0125):  # the interval's end sits exactly where the p-value reaches alpha
        low, high = stats.interval_at(0.03, both, alpha)
        assert stats.p_value(0.03, both, null=low) == pytest.approx(alpha, rel=1e-6)
        assert stats.p_value(0.03, both, null=high) == pytest.approx(alpha, rel=1e-6)
    assert stats.p_value(0.0, both) == 1.0 and stats.p_value(5.0, both) < 1e-5


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> max 0.06)
    assert stats.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5]) == [0.5]
    assert stats.holm([0.9, 0.8]) == [1.0, 1.0]


def test_holm_levels_make_intervals_agree_with_holm_verdicts():
    rng = np.random.default_rng(3)
    for _ in range(300):
        m = int(rng.integers(1, 10))
        p = (rng.random(m) ** rng.uniform(1, 6)).tolist()
        adjusted = stats.holm(p)
        levels = stats.holm_levels(p)
        for p_j, adjusted_j, level_j in zip(p, adjusted, levels, strict=True):
            # the level-(1 - alpha_j) interval excludes the null iff p_j < alpha_j
            assert (p_j < level_j) == (adjusted_j < stats.ALPHA)


def test_verdicts():
    assert stats.verdict(0.02, 0.01) == "reproduced"
    assert stats.verdict(-0.02, 0.01) == "not reproduced"
    assert stats.verdict(0.02, 0.2) == "inconclusive"
    assert stats.verdict(None, None) == "not measured"
    # non-inferiority at margin 0.01: the null is -0.01
    assert stats.verdict(-0.005, 0.01, null=-0.01) == "reproduced"
    assert stats.verdict(-0.02, 0.01, null=-0.01) == "not reproduced"
