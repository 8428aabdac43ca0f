r"""The maths task: math-verify equivalence, the hard time limit, the sympy generator, user data files.

The direct integer comparison is checked against math-verify itself; the time limit is checked from
the main thread, another thread and a daemonic multiprocessing worker (where math-verify's own
``signal.alarm`` limit cannot work).
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("math_verify")

from passkrl.tasks import Task, get_task
from passkrl.tasks import maths as MA

HALF = "\\frac{1}{2}"


@pytest.mark.parametrize("response", [
    "\\boxed{1/2}", "\\boxed{0.5}", "\\boxed{\\frac12}", "\\boxed{\\frac{1}{2}}", "\\boxed{\\dfrac{1}{2}}",
    "\\boxed{2/4}", "\\boxed{0.50}", "<answer>0.5</answer>", "<answer> 1/2 </answer>",
    "first \\boxed{3}, then corrected: \\boxed{\\tfrac{1}{2}}", "$x = \\boxed{\\frac{1}{2}}$",
])
def test_equivalent_forms_of_one_half_score_1(response):
    assert MA.score(HALF, response) == 1.0


@pytest.mark.parametrize("response", [
    "\\boxed{0.51}", "\\boxed{1/3}", "\\boxed{2}", "\\boxed{}", "\\boxed{x}", "\\boxed{1/2",  # unbalanced
    "1/2", "The answer is 1/2.",  # no box and no tags: not an answer (strict mode)
    "\\boxed{1/2} but finally <answer>3</answer>",  # the <answer> block wins
    "<answer>1/2", "<answer></answer>",
])
def test_wrong_or_malformed_answers_score_0(response):
    assert MA.score(HALF, response) == 0.0


def test_symbolic_equivalence_and_lenient_mode():
    assert MA.score("6x^{2} + 7x + 2", "\\boxed{(2x+1)(3x+2)}") == 1.0
    assert MA.score("6x^{2} + 7x + 2", "\\boxed{6x^2+7x+3}") == 0.0
    assert MA.score("\\sqrt{2}", "\\boxed{2^{1/2}}") == 1.0
    assert MA.score("3", "\\boxed{x = 3}") == 1.0
    assert MA.score(HALF, "The final answer is $\\frac{1}{2}$.") == 0.0
    assert MA.score(HALF, "The final answer is $\\frac{1}{2}$.", lenient=True) == 1.0
    assert MA.score(HALF, "The final answer is $\\frac{1}{3}$.", lenient=True) == 0.0


def test_overlong_answer_is_not_parsed():
    long_half = "\\frac{1}{2}" + " " * 2000
    assert MA.score(HALF, f"\\boxed{{{long_half}}}") == 1.0  # white space is stripped first
    long_sum = "+".join(["0"] * 600) + "+1/2"
    assert MA.score(HALF, f"\\boxed{{{long_sum}}}") == 0.0
    assert MA.score(HALF, f"\\boxed{{{long_sum}}}", max_answer_chars=5000) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(-10**15 + 1, 10**15 - 1), st.integers(-10**15 + 1, 10**15 - 1), st.booleans())
def test_direct_integer_comparison_agrees_with_math_verify(a, b, same):
    if same:
        b = a
    direct = MA._answer_job(str(a), str(b), MA.DEFAULT_MAX_ANSWER_CHARS)
    assert isinstance(direct, float)  # decided without math-verify
    assert direct == float(MA.verify_answer(str(a), str(b)))  # math-verify, in this process


def test_time_limit_from_the_main_thread():
    for response in ("\\boxed{9^{9^{9}}}", "<answer>9**9**9</answer>", "\\boxed{10^{10^{10^{10}}}}"):
        started = time.perf_counter()
        assert MA.score("1", response, timeout_s=0.5) == 0.0
        assert time.perf_counter() - started < 0.5 + 1.5  # the limit, plus killing the child
    assert MA.score(HALF, "\\boxed{0.5}", timeout_s=0.5) == 1.0  # a fresh child took over


def test_math_verifys_own_limit_fails_in_threads_ours_does_not():
    from math_verify import parse

    outcome = {}

    def work():
        try:
            parse("\\boxed{1}", parsing_timeout=1)
            outcome["math_verify"] = "ok"
        except ValueError as err:
            outcome["math_verify"] = str(err)
        started = time.perf_counter()
        outcome["ours"] = (MA.score(HALF, "\\boxed{0.5}"), MA.score("1", "\\boxed{9^{9^{9}}}", timeout_s=0.5),
                           time.perf_counter() - started)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert "thread" in outcome["math_verify"]  # signal-based limits only work in the main thread
    assert outcome["ours"][:2] == (1.0, 0.0) and outcome["ours"][2] < 3.0


def _score_in_worker(args):
    gold, response = args
    return MA.score(gold, response, timeout_s=0.5)


def test_time_limit_inside_a_daemonic_worker_process():
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:  # pool workers are daemonic: they may not start multiprocessing children
        results = pool.map(_score_in_worker, [(HALF, "\\boxed{0.5}"), ("1", "\\boxed{9^{9^{9}}}"), (HALF, "\\boxed{1}")])
    assert results == [1.0, 0.0, 0.0]


def test_score_batch_parallel_equals_serial():
    task = MA.MathsTask(timeout_s=0.5)
    rng = np.random.default_rng(7)
    problems = [task.generate(rng) for _ in range(12)]
    responses = []
    for i, problem in enumerate(problems):
        responses += [f"\\boxed{{{problem.answer}}}", f"<answer>{problem.answer}1</answer>",
                      "\\boxed{9^{9^{9}}}" if i == 3 else "no answer"]
    batch = [p for p in problems for _ in range(3)]
    serial = [task.score(p, r) for p, r in zip(batch, responses)]
    assert task.score_batch(batch, responses, workers=3) == serial == task.score_batch(batch, responses, workers=1)
    assert serial[0::3] == [1.0] * 12 and sum(serial) == 12 + sum(
        MA.score(p.answer, r) for p, r in zip(problems, responses[1::3]))


@pytest.mark.parametrize("kind", MA.KINDS)
def test_generated_reference_answers_score_1_and_others_0(kind):
    task = MA.MathsTask(kinds=[kind])
    rng = np.random.default_rng(11)
    problems = [task.generate(rng) for _ in range(8)]
    assert all(p.meta["group"] == kind for p in problems)
    assert task.score_batch(problems, [f"\\boxed{{{p.answer}}}" for p in problems]) == [1.0] * 8
    assert task.score_answers(problems, [p.answer for p in problems]) == [1.0] * 8
    shifted = [f"\\boxed{{{p.answer} + 1}}" for p in problems]
    assert task.score_batch(problems, shifted) == [0.0] * 8


def test_generator_is_deterministic_and_follows_the_protocol():
    task = get_task("maths")
    assert isinstance(task, Task) and task.name == "maths" and task.reward_is_binary
    a = [task.generate(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1] and a[0].question.endswith(MA.INSTRUCTION) and task.prompt(a[0]) == a[0].question
    rng = np.random.default_rng(3)
    many = [task.generate(rng) for _ in range(200)]
    assert len({p.id for p in many}) > 150 and {p.meta["group"] for p in many} == set(MA.KINDS)


def test_generator_needs_only_the_maths_extra():
    code = ("import sys; sys.modules['reasoning_gym'] = None; sys.modules['torch'] = None\n"
            "import numpy as np\n"
            "from passkrl.tasks import get_task\n"
            "task = get_task('maths')\n"
            "rng = np.random.default_rng(0)\n"
            "ps = [task.generate(rng) for _ in range(30)]\n"
            "print(sum(task.score(p, '\\\\boxed{' + p.answer + '}') for p in ps))\n")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "30.0"


def test_user_data_file(tmp_path):
    path = tmp_path / "mine.jsonl"
    rows = [{"problem": "What is 1/2 + 1/4?", "solution": {"final": "\\frac{3}{4}"}},
            {"problem": "What is 2 + 2?", "solution": {"final": "4"}}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = get_task("maths", data=path, question_field="problem", answer_field="solution.final")
    rng = np.random.default_rng(0)
    problems = [task.generate(rng) for _ in range(20)]
    assert {p.meta["text"] for p in problems} == {r["problem"] for r in rows}
    for p in problems:
        assert task.score(p, f"\\boxed{{{p.answer}}}") == 1.0
    three_quarters = next(p for p in problems if p.answer == "\\frac{3}{4}")
    assert task.score(three_quarters, "\\boxed{0.75}") == 1.0 and task.score(three_quarters, "\\boxed{0.7}") == 0.0
    with pytest.raises(ValueError, match="no field 'answer'"):
        get_task("maths", data=path, question_field="problem")


@pytest.mark.parametrize("options, message", [
    ({"kinds": ["nope"]}, "kinds"), ({"kinds": []}, "kinds"), ({"max_int": 0}, "max_int"),
    ({"timeout_s": 0}, "timeout_s"), ({"max_answer_chars": 0}, "max_answer_chars"),
])
def test_bad_options_are_value_errors_naming_them(options, message):
    with pytest.raises(ValueError, match=message):
        MA.MathsTask(**options)


def test_compute_score_checks_its_data_source():
    assert MA.compute_score("passkrl/maths", "\\boxed{0.5}", HALF) == 1.0
    assert MA.compute_score("passkrl/maths", "It is 0.5", HALF, {"lenient": True}) == 1.0
    with pytest.raises(ValueError, match="passkrl/maths"):
        MA.compute_score("openai/gsm8k", "\\boxed{0.5}", HALF)


def test_missing_extra_is_explained(monkeypatch):
    from passkrl.tasks import MissingExtraError

    monkeypatch.setitem(sys.modules, "math_verify", None)
    with pytest.raises(MissingExtraError, match=r'pip install "passkrl\[maths\]"'):
        get_task("maths")
