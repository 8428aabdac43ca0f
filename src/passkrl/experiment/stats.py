"""Intervals and tests for a study's numbers: a crossed random-effects model with a t reference.

The model (docs/experiments.md, "Statistics"). A study's runs are units ``(w, r)``: warm-up seed
``w = 1..W`` and RL replicate ``r = 1..R`` from that warm-up. Every run is evaluated on the same ``M``
test mazes, so mazes are *crossed* with runs. A per-maze value of one run (an arm's pass@k on maze
``m``, or the paired difference of two arms) is

    y[w, r, m] = mu + a_w + b_wr + c_m + (ac)_wm + e_wrm                                   (1)

with independent zero-mean effects: warm-up ``a`` (var ``s_a``), replicate within warm-up ``b``
(``s_b``), maze ``c`` (``s_c``), warm-up x maze ``ac`` (``s_ac``) and run x maze ``e`` (``s_e``, which
holds the sampling noise of the maze's answers). We estimate ``mu`` by the grand mean, whose variance
in a balanced study is

    Var(y...) = s_a / W + s_b / (W R) + s_c / M + s_ac / (W M) + s_e / (W R M).           (2)

Averaging over replicates gives a two-way table ``z[w, m] = y[w, ., m]`` with a row effect
(``a_w + b_w.``), a column effect ``c_m`` and an interaction; its ANOVA mean squares ``MS_row``,
``MS_col``, ``MS_int`` have expectations ``s_E + M s_A``, ``s_E + W s_c`` and ``s_E``, so

    Var(y...) = (MS_row + MS_col - MS_int) / (W M)                                         (3)

is unbiased for (2). Its two parts are estimated with very different degrees of freedom: the rows'
``V_rows = MS_row / (W M)`` with ``W - 1``, the mazes' ``V_mazes = (MS_col - MS_int) / (W M)`` with
``M - 1``. The interval scales each by its own t quantile,

    mean +- sqrt(t_{W-1}^2 V_rows + t_{M-1}^2 V_mazes),                                     (4)

exact when either part vanishes and conservative between (with the studies' five warm-ups the row part
gets t with 4 degrees of freedom, 2.78; with three, 4.30: what "three independent runs" supports). A value
measured once per run (entropy) has ``M = 1``: (4) is the t interval of the warm-up means.

Rows are warm-ups when the study has at least two; with one warm-up seed they are its replicates,
and the interval then covers RL and test-maze noise but *not* the variation between warm-ups
(``rows == "replicates"`` in the result, and the report says so). A single run has no interval.

Coverage is measured, not assumed: tests/experiment/test_stats.py simulates 1,000 studies from (1)
at the studies' shapes with variance components taken from our committed runs and checks that the
95% interval covers the true ``mu`` at least 93% of the time (and that the percentile bootstrap the
studies used before does not).

Claims are tested against a null value (0 for "better than", ``-margin`` for the non-inferiority of
"does not cost"), and a study's claims are adjusted together by Holm's step-down procedure
(:func:`holm`), with intervals at the level of the step that decides each claim
(:func:`holm_levels`), so that an adjusted interval excludes the null exactly when Holm rejects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as scipy_stats
from scipy.optimize import brentq

ALPHA = 0.05
"""Family-wise error rate of a study's claims, and 1 - the level of every unadjusted interval."""


def _anova_terms(z: np.ndarray) -> tuple[float, float, float]:
    """``(MS_row, MS_col, MS_int)`` of the two-way table ``z`` ``[rows, M]`` (one value per cell)."""
    n_rows, n_cols = z.shape
    grand = z.mean()
    row_means = z.mean(axis=1)
    col_means = z.mean(axis=0)
    ms_row = n_cols * float(np.sum((row_means - grand) ** 2)) / (n_rows - 1)
    if n_cols == 1:
        return ms_row, 0.0, 0.0
    ms_col = n_rows * float(np.sum((col_means - grand) ** 2)) / (n_cols - 1)
    residual = z - row_means[:, None] - col_means[None, :] + grand
    ms_int = float(np.sum(residual**2)) / ((n_rows - 1) * (n_cols - 1))
    return ms_row, ms_col, ms_int


def rows_of(values: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, str]:
    """The two-way table of (3): ``[W, M]`` warm-up means over replicates, or ``[R, M]`` with one seed.

    ``values`` ``[U, M]``: one row per run; ``seeds[u]``: run u's warm-up seed (every seed must have
    the same number of replicates).
    """
    seeds = np.asarray(seeds)
    groups = [np.flatnonzero(seeds == s) for s in np.unique(seeds)]
    if len({g.size for g in groups}) != 1:
        raise ValueError(f"every warm-up seed needs the same number of replicates, got {[g.size for g in groups]}")
    if len(groups) == 1:
        return values, "replicates"
    return np.stack([values[g].mean(axis=0) for g in groups]), "warm-ups"


def variance_parts(z: np.ndarray) -> tuple[float, int, float, int]:
    """``(V_rows, df_rows, V_mazes, df_mazes)``: eq. (3) split into the part estimated from the rows
    and the part from the mazes, each with its degrees of freedom.

    ``V_rows = MS_row / (W M)`` is the variance of the row means over ``W`` (it holds the row effect,
    the interaction and the sampling noise); ``V_mazes = (MS_col - MS_int) / (W M)`` is the maze
    effect's ``s_c / M``, set to 0 when negative. ``V_rows + V_mazes`` is (3).
    """
    n_rows, n_cols = z.shape
    ms_row, ms_col, ms_int = _anova_terms(z)
    v_rows = ms_row / (n_rows * n_cols)
    if n_cols == 1:
        return v_rows, n_rows - 1, 0.0, 0
    return v_rows, n_rows - 1, max(ms_col - ms_int, 0.0) / (n_rows * n_cols), n_cols - 1


def half_width(parts, alpha: float) -> float:
    """``sqrt(t_{df_rows}^2 V_rows + t_{df_mazes}^2 V_mazes)`` at level ``1 - alpha`` (eq. 4): each part
    scaled by its own t quantile. With three warm-ups ``df_rows = 2``; Satterthwaite's pooled degrees of
    freedom are too many there (its simulated coverage falls to 92%), this form keeps 95%."""
    v_rows, df_rows, v_mazes, df_mazes = parts
    q = 1.0 - alpha / 2.0
    width2 = 0.0
    # a part that is exactly 0 adds nothing at any level (its quantile is infinite as alpha -> 0: 0 * inf is NaN)
    for variance, df in ((v_rows, df_rows), (v_mazes, df_mazes)):
        if variance > 0:
            width2 += float(scipy_stats.t.ppf(q, df)) ** 2 * variance
    return float(np.sqrt(width2))


def interval_at(mean: float, parts, alpha: float) -> tuple[float, float]:
    """The ``1 - alpha`` interval of eq. (4) around ``mean``."""
    half = half_width(parts, alpha)
    return mean - half, mean + half


def p_value(mean: float, parts, null: float = 0.0) -> float:
    """The two-sided p-value of ``mean == null`` that matches eq. (4): the ``alpha`` at which the
    ``1 - alpha`` interval's end reaches ``null``."""
    distance = abs(mean - null)
    if parts[0] + parts[2] == 0.0:
        return 0.0 if distance > 0 else 1.0
    if distance == 0.0:
        return 1.0
    if half_width(parts, 1e-300) < distance:
        return 0.0
    # the half-width falls as alpha grows: find log(alpha) where it equals the distance
    log_alpha = brentq(lambda x: half_width(parts, float(np.exp(x))) - distance,
                       np.log(1e-300), np.log(1.0 - 1e-12), xtol=1e-12)
    return float(np.exp(log_alpha))


def crossed_interval(values_by_run: list[np.ndarray], seeds: list[int], *, alpha: float = ALPHA,
                     null: float = 0.0) -> dict[str, Any]:
    """Mean over runs of the per-maze ``values`` with its ``1 - alpha`` interval, eq. (4).

    ``values_by_run``: one array ``[M]`` per run, the same test mazes in the same order for every run
    (``M = 1`` for a value measured once per run); ``seeds[u]``: run u's warm-up seed. The result
    keeps the variance ``parts``, so the interval at another level is :func:`interval_at`.
    """
    values = np.stack([np.asarray(v, dtype=np.float64) for v in values_by_run])  # [U, M]
    empty = {"mean": None, "low": None, "high": None, "se": None, "p": None, "rows": None, "parts": None,
             "per_run": [], "per_warmup": []}
    if values.shape[1] == 0:  # e.g. no unseen maze sizes in this study's test set
        return empty
    per_run = values.mean(axis=1)
    z, rows = rows_of(values, np.asarray(seeds))
    per_warmup = rows_of(per_run[:, None], np.asarray(seeds))[0][:, 0].tolist() if rows == "warm-ups" else []
    mean = float(per_run.mean())
    result = {**empty, "mean": mean, "rows": rows, "per_run": per_run.tolist(), "per_warmup": per_warmup}
    if z.shape[0] < 2:  # one run: no estimate of run-to-run noise, so no interval
        return result
    parts = variance_parts(z)
    low, high = interval_at(mean, parts, alpha)
    return {**result, "low": low, "high": high, "se": float(np.sqrt(parts[0] + parts[2])),
            "p": p_value(mean, parts, null), "parts": list(parts)}


# ------------------------------------------------------------------------------------- multiplicity


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values: ``p~_(j) = max_{i <= j} min(1, (m - i + 1) p_(i))``."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted.tolist()


def holm_levels(p_values: list[float], alpha: float = ALPHA) -> list[float]:
    """The per-claim ``alpha_j`` whose ``1 - alpha_j`` interval excludes the null iff Holm rejects it.

    Sorted by p, Holm rejects steps ``1 .. s-1`` and stops at the first step ``s`` with
    ``p_(s) >= alpha / (m - s + 1)``. A rejected claim of rank ``j`` gets ``alpha / (m - j + 1)``,
    its own step's level; every claim from ``s`` on gets ``alpha / (m - s + 1)``, the level of the
    step where Holm stopped (its p is at least ``p_(s)``, so its interval contains the null).
    """
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    levels = np.empty(m)
    stopped: float | None = None
    for rank, index in enumerate(order):
        step_alpha = alpha / (m - rank)
        if stopped is None and p_values[index] >= step_alpha:
            stopped = step_alpha
        levels[index] = step_alpha if stopped is None else stopped
    return levels.tolist()


def verdict(mean: float | None, p_adjusted: float | None, null: float = 0.0, alpha: float = ALPHA) -> str:
    """"reproduced" (above ``null``), "not reproduced" (below) when the test rejects, else "inconclusive"."""
    if mean is None:
        return "not measured"
    if p_adjusted is None:
        return "inconclusive"
    if p_adjusted < alpha:
        return "reproduced" if mean > null else "not reproduced"
    return "inconclusive"
