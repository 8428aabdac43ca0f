r"""Every scorer, fed hostile text, returns a float in [0, 1] within its time limit and never raises.

Hostile: numbers too large to compute (``9**9**9``, ``10^{10^{10^{10}}}``), a megabyte of digits,
deeply nested LaTeX, unbalanced braces and tags, NUL bytes, lone surrogates, right-to-left marks,
and a megabyte of text; each bare, inside ``<answer>`` tags and inside ``\boxed{}``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("reasoning_gym")
pytest.importorskip("math_verify")

from passkrl.tasks import maths as MA
from passkrl.tasks import maze as MZ
from passkrl.tasks import puzzles as PZ
from passkrl.tasks import rewards as R

TIMEOUT_S = 0.5
HOSTILE_CORES = [
    "9**9**9", "9^{9^{9}}", "10^{10^{10^{10}}}", "(10**10**10)!", "\\frac{1}{0}", "0/0", "oo - oo", "1e999999",
    "9" * 5000, "\\sqrt{" * 300 + "2" + "}" * 300, "\\frac{" * 200 + "1}{2}" * 200, "{{{{{{", "}}}}}}",
    "\\left(" * 100, "\\begin{matrix}" * 50, "\x00\x00\x00", "\ud800\udfff", "\u202e\u200b\ufeff", "😀" * 100,
    "x" * 100_000, "<answer>", "</answer>", "\\boxed{", "$$$$", "\\", "%", "\n" * 1000,
]
MEGABYTE = "1234567890" * 100_000
WRAPPERS = [lambda s: s, lambda s: f"<answer>{s}</answer>", lambda s: f"\\boxed{{{s}}}"]
HOSTILE = [wrap(core) for core in HOSTILE_CORES for wrap in WRAPPERS] + [
    MEGABYTE, f"<answer>{MEGABYTE}</answer>", f"\\boxed{{{MEGABYTE}}}", "<answer>" * 100_000, "\\boxed{" * 100_000,
]
# Texts that run math-verify or sympy into the time limit cost a killed and restarted child each
# (about a second); the default run keeps one of them, the slow run (-m slow) all.
SLOW_CORES = {"9**9**9", "10^{10^{10^{10}}}", "(10**10**10)!", "\\left(" * 100, "\\begin{matrix}" * 50}
QUICK = [text for text in HOSTILE if not any(core in text for core in SLOW_CORES)]
FULL_OR_QUICK = pytest.mark.parametrize("texts", [pytest.param(QUICK, id="quick"),
                                                  pytest.param(HOSTILE, id="full", marks=pytest.mark.slow)])


def check(scores: list, n: int) -> None:
    assert len(scores) == n
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)


def test_maze():
    grid = MZ.generate_maze(7, np.random.default_rng(0)).grid
    started = time.perf_counter()
    scores = [MZ.compute_score(MZ.DATA_SOURCE, text, grid) for text in HOSTILE]
    check(scores, len(HOSTILE))
    assert time.perf_counter() - started < 5


@FULL_OR_QUICK
def test_maths_every_call_within_the_limit(texts):
    gold = "\\frac{1}{2}"
    slowest = 0.0
    for text in texts:
        started = time.perf_counter()
        value = MA.score(gold, text, timeout_s=TIMEOUT_S)
        slowest = max(slowest, time.perf_counter() - started)
        assert value == 0.0, repr(text[:80])
    # the limit, plus killing the child (a call after a kill also waits for the new child's imports)
    assert slowest < TIMEOUT_S + 3.0


@FULL_OR_QUICK
def test_maths_lenient_batch(texts):
    scores = MA.score_responses(["\\frac{1}{2}"] * len(texts), texts, timeout_s=TIMEOUT_S, lenient=True, workers=2)
    check(scores, len(texts))


@FULL_OR_QUICK
def test_every_puzzle_scorer_of_the_mix(texts):
    task = PZ.PuzzleTask(timeout_s=TIMEOUT_S)
    rng = np.random.default_rng(0)
    problems = [task.problem_from(name, int(rng.integers(2**31))) for name in task.datasets]
    texts = [text for text in texts if text.startswith("<answer>")] + HOSTILE[-5:]
    batch = [(p, t) for p in problems for t in texts]
    started = time.perf_counter()
    scores = task.score_batch([p for p, _ in batch], [t for _, t in batch], workers=2)
    elapsed = time.perf_counter() - started
    check(scores, len(batch))
    # in-process scorers are fast; isolated ones may each hit the limit on some texts
    n_isolated_calls = sum(p.meta["dataset"] in task.isolated for p, _ in batch)
    assert elapsed < 20 + n_isolated_calls * (TIMEOUT_S + 1.5) / 2


def test_dispatcher_never_raises_on_responses():
    grid = MZ.generate_maze(5, np.random.default_rng(1)).grid
    rows = [("passkrl/maze", grid, {}), ("passkrl/maths", "3", {"timeout_s": TIMEOUT_S}),
            ("passkrl/puzzles/chain_sum", "7", {}), ("passkrl/puzzles/syllogism", "{not json", {})]
    texts = [HOSTILE[i] for i in range(0, len(HOSTILE), 7)] + [None, 12, ["x"]]
    for source, truth, info in rows:
        scores = R.compute_score_batch([source] * len(texts), texts, [truth] * len(texts), [info] * len(texts))
        check(scores, len(texts))


ANY_TEXT = st.text(st.characters(blacklist_categories=(), codec=None), max_size=300)
ANSWERISH = st.one_of(ANY_TEXT, ANY_TEXT.map(lambda s: f"<answer>{s}</answer>"), ANY_TEXT.map(lambda s: f"\\boxed{{{s}}}"),
                      st.from_regex(r"\\boxed\{[-+*/^(){}0-9x. \\a-z]{0,40}\}", fullmatch=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANSWERISH)
def test_property_maths_in_range_and_deterministic(text):
    first = MA.score("\\frac{1}{2}", text, timeout_s=TIMEOUT_S)
    assert first in (0.0, 1.0)
    assert MA.score("\\frac{1}{2}", text, timeout_s=TIMEOUT_S) == first


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANSWERISH, st.sampled_from(["chain_sum", "knights_knaves", "mini_sudoku", "shortest_path", "tower_of_hanoi"]))
def test_property_puzzles_in_range_and_deterministic(text, name):
    task = PZ.PuzzleTask([name])
    problem = task.problem_from(name, 17)
    first = task.score(problem, text)
    assert 0.0 <= first <= 1.0 and task.score(problem, text) == first
