"""The puzzles task: reasoning-gym's items and scorers through our prompt, extraction and thresholds.

The oracle is reasoning-gym itself: for every data set of the default mix, an item it generates
with a seed is the item we generate with that seed, and our pipeline (``<answer>`` tags ->
extraction -> scorer) gives the score that ``dataset.score_answer`` gives the bare answer.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

rg = pytest.importorskip("reasoning_gym")

from passkrl.tasks import MissingExtraError, Task, get_task
from passkrl.tasks import puzzles as PZ

MIX = [name for names in PZ.ENIGMATA_MIX.values() for name in names]
ENIGMATA_CATEGORIES = {"crypto", "arithmetic", "logic", "grid", "graph", "search", "sequential"}


def tagged(answer: str) -> str:
    return f"Let me think step by step.\n<answer>{answer}</answer>"


def test_the_mix_covers_the_seven_enigmata_categories():
    assert set(PZ.ENIGMATA_MIX) == ENIGMATA_CATEGORIES
    assert all(PZ.ENIGMATA_MIX.values()) and len(MIX) == len(set(MIX))
    assert not set(MIX) & PZ.EVAL_SCORERS
    assert set(MIX) <= set(PZ.dataset_names())


@pytest.mark.parametrize("name", MIX)
def test_agrees_with_reasoning_gyms_own_items_and_scorer(name):
    task = PZ.PuzzleTask([name])
    for seed in (5, 12345):
        entry = rg.create_dataset(name, seed=seed, size=1)[0]
        problem = task.problem_from(name, seed)
        assert problem.meta["entry"] == entry and problem.meta["text"] == entry["question"]
        assert problem.question.startswith(entry["question"]) and problem.question.endswith(PZ.INSTRUCTION)
        scorer = rg.create_dataset(name, seed=seed, size=1)
        reference = entry["answer"]
        other = rg.create_dataset(name, seed=seed + 1, size=1)[0]["answer"]
        for answer in (reference, other, reference + " extra words", "wrong"):
            assert task.score(problem, tagged(answer)) == pytest.approx(scorer.score_answer(answer, entry)), answer
        assert task.score(problem, tagged(reference)) == 1.0
        assert task.score(problem, tagged("wrong")) < 1.0
        assert task.score(problem, "no tags at all: " + reference) == 0.0


def test_generate_is_deterministic_and_samples_every_category():
    task = get_task("puzzles")
    assert isinstance(task, Task) and task.name == "puzzles" and not task.reward_is_binary
    first = [task.generate(np.random.default_rng(0)) for _ in range(2)]
    assert first[0] == first[1] and first[0].meta == first[1].meta
    rng = np.random.default_rng(1)
    problems = [task.generate(rng) for _ in range(60)]
    assert {p.meta["category"] for p in problems} == ENIGMATA_CATEGORIES
    assert get_task("enigmata_mix").name == "enigmata_mix"


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_same_seed_same_problem(seed):
    task = PZ.PuzzleTask(["chain_sum", "syllogism", "mini_sudoku"])
    a, b = task.generate(np.random.default_rng(seed)), task.generate(np.random.default_rng(seed))
    assert a == b and a.meta["entry"] == b.meta["entry"]
    assert task.score(a, tagged(a.answer)) == 1.0


def test_binary_threshold():
    raw = PZ.PuzzleTask(["chain_sum"])
    problem = raw.problem_from("chain_sum", 3)
    padded = problem.answer + " is the sum"  # the default scorer: len(oracle) / len(answer)
    partial = raw.score(problem, tagged(padded))
    assert 0.0 < partial < 1.0 and not raw.reward_is_binary
    strict = PZ.PuzzleTask(["chain_sum"], binary_threshold=1.0)
    loose = PZ.PuzzleTask(["chain_sum"], binary_threshold=partial)
    assert strict.reward_is_binary and loose.reward_is_binary
    assert strict.score(problem, tagged(padded)) == 0.0 and loose.score(problem, tagged(padded)) == 1.0
    assert strict.score(problem, tagged(problem.answer)) == 1.0


def test_options_reach_reasoning_gym_and_its_scorer():
    task = get_task("puzzles/chain_sum", options={"chain_sum": {"min_terms": 2, "max_terms": 2, "max_digits": 1}})
    rng = np.random.default_rng(0)
    problems = [task.generate(rng) for _ in range(20)]
    assert all(p.meta["config"]["max_terms"] == 2 for p in problems)
    assert all(p.meta["text"].count("+") + p.meta["text"].count("-") <= 2 for p in problems)
    assert task.score_answers(problems, [p.answer for p in problems]) == [1.0] * 20


def test_isolated_scorer_has_a_hard_time_limit():
    task = PZ.PuzzleTask(["countdown"], timeout_s=0.5)
    assert task.isolated == {"countdown"}
    problem = task.generate(np.random.default_rng(0))
    started = time.perf_counter()
    assert task.score(problem, tagged("9**9**9")) == 0.0  # sympy's parse_expr would compute 9^387420489
    assert time.perf_counter() - started < 0.5 + 1.5
    assert task.score(problem, tagged(problem.answer)) == 1.0


def test_batch_parallel_equals_serial():
    task = PZ.PuzzleTask(["countdown", "chain_sum", "syllogism"], timeout_s=0.5)
    rng = np.random.default_rng(2)
    problems = [task.generate(rng) for _ in range(9)]
    responses = [tagged(p.answer) for p in problems] + [tagged("1 + 2") for _ in problems]
    batch = problems + problems
    serial = [task.score(p, r) for p, r in zip(batch, responses)]
    assert task.score_batch(batch, responses, workers=2) == serial
    assert serial[:9] == [1.0] * 9 and all(s < 1.0 for s in serial[9:])


@pytest.mark.parametrize("kwargs, message", [
    ({"datasets": ["nope"]}, "unknown reasoning-gym data set"),
    ({"datasets": []}, "no reasoning-gym data set"),
    ({"datasets": ["n_queens"]}, "calls eval"),
    ({"datasets": ["chain_sum"], "options": {"chain_sum": {"seed": 3}}}, "seed"),
    ({"datasets": ["chain_sum"], "options": {"chain_sum": {"max_terms": 0}}}, "not a valid config"),
    ({"datasets": ["chain_sum"], "options": {"gcd": {}}}, "not among the data sets"),
    ({"datasets": ["chain_sum"], "binary_threshold": 1.5}, "binary_threshold"),
    ({"datasets": ["chain_sum"], "timeout_s": 0}, "timeout_s"),
])
def test_bad_settings_are_value_errors_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PZ.PuzzleTask(**kwargs)


def test_eval_scorers_only_on_request_and_then_isolated():
    task = PZ.PuzzleTask(["n_queens"], allow_eval=True)
    assert task.isolated == {"n_queens"}
    problem = task.generate(np.random.default_rng(0))
    assert task.score(problem, tagged(problem.meta["entry"]["metadata"]["valid_answers"][0])) == 1.0


def test_missing_extra_is_explained(monkeypatch, capsys, tmp_path):
    from passkrl.cli import main

    monkeypatch.setitem(sys.modules, "reasoning_gym", None)
    with pytest.raises(MissingExtraError, match=r'pip install "passkrl\[puzzles\]"'):
        get_task("puzzles")
    assert main(["data", "puzzles", "--n", "2", "--out", str(tmp_path / "x.jsonl")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install "passkrl[puzzles]"' in err[0]
