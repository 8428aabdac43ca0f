r"""Maths answers checked by math-verify, with a hard time limit; a built-in problem generator.

Needs the ``maths`` extra (``pip install "passkrl[maths]"``: math-verify, which brings sympy).

**Which answer counts.** The final answer is the content of the last complete
``<answer> ... </answer>`` block, else of the last ``\boxed{...}`` (balanced braces), read in linear
time by :func:`passkrl.tasks.answers.extract_answer`; without either the reward is 0 (as for the maze:
a number in the prose is not an answer). ``lenient=True`` instead lets math-verify look for a final
answer in the last :data:`TAIL_CHARS` characters ("The final answer is 3", the last ``$...$``), its
usual behaviour.

**Equivalence.** The answer and the ground truth are parsed by math-verify (LaTeX first, then plain
expressions such as ``1/2`` or ``x**2``) and compared by its ``verify``: numerically, symbolically
and as sets, so ``1/2``, ``0.5``, ``\frac12``, ``\dfrac{1}{2}`` and ``2/4`` all match ``\frac{1}{2}``,
and ``(2x+1)(3x+2)`` matches ``6x^2+7x+2``. Two plain integers of at most 15 digits are compared
directly, without math-verify (a test checks that this agrees with it).

**Time limit.** math-verify's own limit uses ``signal.alarm``: it raises in any thread but the main
one and cannot interrupt a long C call (see :mod:`passkrl.tasks.timeout`). Here every math-verify
call runs in a child process that is killed after ``timeout_s`` seconds (default 3), so ``9**9**9``
or ``10^{10^{10^{10}}}`` costs at most that and a reward of 0. Answers longer than
``max_answer_chars`` (default 1,000) get 0 without being parsed.

**Generator.** Without a data file, :class:`MathsTask` draws problems from sympy with a seeded numpy
RNG, no downloads: integer arithmetic, sums of fractions, linear equations, the larger root of a
quadratic with integer roots, polynomial expansion, and a derivative evaluated at a point
(:data:`KINDS`). With ``data=FILE`` it samples rows of a JSONL or Parquet file instead (field names
configurable, dotted paths such as ``reward_model.ground_truth`` allowed).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from passkrl.tasks.answers import extract_answer
from passkrl.tasks.base import Problem
from passkrl.tasks.registry import DataCommand, Extra, TaskSpec, TrainPreset, register
from passkrl.tasks.timeout import shared_pool

DATA_SOURCE = "passkrl/maths"
"""The ``data_source`` of maths rows; :func:`passkrl.tasks.rewards.compute_score` routes on it."""
INSTRUCTION = "Put your final answer within \\boxed{}."
"""Appended to every question (what :func:`extract_answer` reads)."""
KINDS = ("arithmetic", "fraction", "linear", "quadratic", "expand", "derivative")
"""Problem kinds of the built-in generator."""
TAIL_CHARS = 4000
"""With ``lenient=True``, how much of the end of a response math-verify searches for an answer."""
DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MAX_ANSWER_CHARS = 1000

_PLAIN_INT = re.compile(r"[+-]?[0-9]{1,15}")  # anchored with fullmatch: linear, no backtracking


EXTRA = Extra(module="math_verify", name="maths")
"""The optional dependency of the maths task: math-verify, installed by ``passkrl[maths]``."""


def require_math_verify() -> None:
    """:class:`passkrl.tasks.MissingExtraError` with the install command when the ``maths`` extra is missing."""
    EXTRA.require("maths")


# ------------------------------------------------------------------------------------- in the child


def _silence_math_verify() -> None:
    import logging

    # With its own timeouts off (the child is killed instead) math-verify warns once; parse failures log too.
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)


def _child_warm_up() -> None:
    """Import math-verify and run it once (its parsers load lazily): untimed, see passkrl.tasks.timeout."""
    verify_answer("\\frac{1}{2}", "0.5")
    verify_answer("x^2", "x**2")


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> tuple:
    """math-verify's parse of one bare answer: LaTeX (as if boxed), else a plain expression."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    _silence_math_verify()
    parsed = parse("\\boxed{" + text + "}", [LatexExtractionConfig()], parsing_timeout=None)
    if not any(not isinstance(item, str) for item in parsed):
        parsed = parse(text, [ExprExtractionConfig()], parsing_timeout=None) or parsed
    return tuple(parsed)


def verify_answer(gold: str, answer: str) -> bool:
    """True iff math-verify finds ``answer`` equal to ``gold`` (both bare answers). Runs in the child."""
    from math_verify import verify

    gold_parsed, answer_parsed = _parse(gold), _parse(answer)
    if not gold_parsed or not answer_parsed:
        return False
    return bool(verify(list(gold_parsed), list(answer_parsed), timeout_seconds=None))


def verify_tail(gold: str, tail: str) -> bool:
    """True iff math-verify's own final-answer extraction on ``tail`` matches ``gold``. Runs in the child."""
    from math_verify import parse, verify

    _silence_math_verify()
    gold_parsed = _parse(gold)
    answer_parsed = parse(tail, parsing_timeout=None)
    if not gold_parsed or not answer_parsed:
        return False
    return bool(verify(list(gold_parsed), answer_parsed, timeout_seconds=None))


# ------------------------------------------------------------------------------------- the scorer


def _plain_int(text: str) -> int | None:
    stripped = text.strip()
    return int(stripped) if _PLAIN_INT.fullmatch(stripped) else None


def _answer_job(gold: str, answer: str, max_answer_chars: int) -> float | tuple[str, tuple]:
    """A reward decided here, or the child call ``(function, args)`` that decides it."""
    if not isinstance(gold, str) or not isinstance(answer, str):
        return 0.0
    answer = answer.strip()
    if not answer or len(answer) > max_answer_chars:
        return 0.0
    gold_int, answer_int = _plain_int(gold), _plain_int(answer)
    if gold_int is not None and answer_int is not None:
        return float(gold_int == answer_int)
    return ("passkrl.tasks.maths:verify_answer", (gold, answer))


def _response_job(gold: str, response: str, lenient: bool, max_answer_chars: int) -> float | tuple[str, tuple]:
    if not isinstance(gold, str) or not isinstance(response, str):
        return 0.0
    answer = extract_answer(response)
    if answer is None:
        return ("passkrl.tasks.maths:verify_tail", (gold, response[-TAIL_CHARS:])) if lenient else 0.0
    return _answer_job(gold, answer, max_answer_chars)


def _as_reward(result: Any) -> float:
    return 1.0 if result is True else 0.0  # False, a CallFailed (timeout, error, crash): 0


def _run_jobs(jobs: list[float | tuple[str, tuple]], timeout_s: float, workers: int) -> list[float]:
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    rewards = [job if isinstance(job, float) else 0.0 for job in jobs]
    pending = [i for i, job in enumerate(jobs) if not isinstance(job, float)]
    by_function: dict[str, list[int]] = {}
    for i in pending:
        by_function.setdefault(jobs[i][0], []).append(i)
    for function, indices in by_function.items():
        results = shared_pool().map(function, [jobs[i][1] for i in indices], timeout_s=timeout_s, workers=workers)
        for i, result in zip(indices, results):
            rewards[i] = _as_reward(result)
    return rewards


def score_responses(golds: Sequence[str], responses: Sequence[str], *, timeout_s: float = DEFAULT_TIMEOUT_S,
                    workers: int = 1, lenient: bool = False,
                    max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS) -> list[float]:
    """Rewards (1.0 or 0.0) of ``responses[i]`` against ``golds[i]``, ``workers`` child processes at once.

    Each math-verify call is limited to ``timeout_s`` seconds; the result does not depend on
    ``workers``. Never raises on any response.
    """
    if len(golds) != len(responses):
        raise ValueError(f"{len(golds)} ground truths but {len(responses)} responses")
    return _run_jobs([_response_job(g, r, lenient, max_answer_chars) for g, r in zip(golds, responses)],
                     timeout_s, workers)


def score_answers(golds: Sequence[str], answers: Sequence[str], *, timeout_s: float = DEFAULT_TIMEOUT_S,
                  workers: int = 1, max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS) -> list[float]:
    """Like :func:`score_responses` for bare final answers (no tags), e.g. a tiny model's completions."""
    if len(golds) != len(answers):
        raise ValueError(f"{len(golds)} ground truths but {len(answers)} answers")
    return _run_jobs([_answer_job(g, a, max_answer_chars) for g, a in zip(golds, answers)], timeout_s, workers)


def score(gold: str, response: str, *, timeout_s: float = DEFAULT_TIMEOUT_S, lenient: bool = False,
          max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS) -> float:
    r"""1.0 iff the final answer of ``response`` (last ``<answer>`` block, else last ``\boxed{}``)
    equals ``gold`` for math-verify; 0.0 otherwise, on a timeout, or on any malformed input."""
    return score_responses([gold], [response], timeout_s=timeout_s, lenient=lenient,
                           max_answer_chars=max_answer_chars)[0]


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None,
                  **kwargs: Any) -> float:
    """verl's reward-function signature; ``extra_info`` may set ``lenient`` and ``timeout_s``."""
    if not str(data_source).startswith(DATA_SOURCE):
        raise ValueError(f"compute_score handles data_source {DATA_SOURCE!r}, got {data_source!r}")
    info = extra_info if isinstance(extra_info, dict) else {}
    return score(ground_truth, solution_str, timeout_s=float(info.get("timeout_s", DEFAULT_TIMEOUT_S)),
                 lenient=bool(info.get("lenient", False)))


def _gold(ground_truth: Any) -> str:
    """A row's ground truth as the gold answer: a number stored as such becomes its text, a missing one ``""``."""
    return "" if ground_truth is None else str(ground_truth)


def reward_of_row(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **_: Any) -> float:
    """The reward adapter of maths rows (:mod:`passkrl.tasks.rewards` routes them here): :func:`compute_score`
    with the ground truth as text."""
    return compute_score(data_source, solution_str, _gold(ground_truth), extra_info)


def rewards_of_rows(data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                    extra_infos: Sequence[dict | None], *, workers: int = 1, **_: Any) -> list[float]:
    """Rewards of maths rows in order, equal to :func:`reward_of_row` on each: the rows with the same
    ``lenient`` and ``timeout_s`` are scored together, math-verify in ``workers`` processes."""
    settings: dict[tuple[bool, float], list[int]] = {}
    for i, info in enumerate(extra_infos):
        info = info if isinstance(info, dict) else {}
        key = (bool(info.get("lenient", False)), float(info.get("timeout_s", DEFAULT_TIMEOUT_S)))
        settings.setdefault(key, []).append(i)
    rewards = [0.0] * len(data_sources)
    for (lenient, timeout_s), rows in settings.items():
        scores = score_responses([_gold(ground_truths[i]) for i in rows], [solution_strs[i] for i in rows],
                                 timeout_s=timeout_s, lenient=lenient, workers=workers)
        for i, value in zip(rows, scores):
            rewards[i] = value
    return rewards


# ------------------------------------------------------------------------------------- the generator


def _signed(value: int) -> str:
    return f"({value})" if value < 0 else str(value)


def _nonzero(rng: np.random.Generator, low: int, high: int) -> int:
    value = 0
    while value == 0:
        value = int(rng.integers(low, high + 1))
    return value


def _arithmetic(rng: np.random.Generator, max_int: int) -> tuple[str, str]:
    import sympy

    n_terms = int(rng.integers(2, 4))
    values = [int(rng.integers(-max_int, max_int + 1)) for _ in range(n_terms)]
    ops = [str(rng.choice(["+", "-", "*"])) for _ in range(n_terms - 1)]
    text = _signed(values[0])
    for op, value in zip(ops, values[1:]):
        text += f" {op} {_signed(value)}"
    result = sympy.sympify(text)  # sympy follows the usual precedence (* before + and -)
    return f"Compute {text}.", str(int(result))


def _fraction(rng: np.random.Generator, max_int: int) -> tuple[str, str]:
    import sympy

    a, c = (int(rng.integers(1, max_int + 1)) for _ in range(2))
    b, d = (int(rng.integers(2, max_int + 2)) for _ in range(2))
    op = str(rng.choice(["+", "-"]))
    result = sympy.Rational(a, b) + (1 if op == "+" else -1) * sympy.Rational(c, d)
    return (f"Compute \\frac{{{a}}}{{{b}}} {op} \\frac{{{c}}}{{{d}}} as a fraction in lowest terms.",
            sympy.latex(result))


def _linear(rng: np.random.Generator, max_int: int) -> tuple[str, str]:
    import sympy

    x = sympy.Symbol("x")
    a = _nonzero(rng, -max_int, max_int)
    b, d = (int(rng.integers(-max_int, max_int + 1)) for _ in range(2))
    c = int(rng.integers(-max_int, max_int + 1))
    while c == a:
        c = int(rng.integers(-max_int, max_int + 1))
    equation = sympy.Eq(a * x + b, c * x + d)
    (solution,) = sympy.solve(equation, x)
    return f"Solve for x: ${sympy.latex(equation.lhs)} = {sympy.latex(equation.rhs)}$.", sympy.latex(solution)


def _quadratic(rng: np.random.Generator, max_int: int) -> tuple[str, str]:
    import sympy

    x = sympy.Symbol("x")
    r1, r2 = (int(rng.integers(-max_int, max_int + 1)) for _ in range(2))
    poly = sympy.expand((x - r1) * (x - r2))
    return f"Find the largest real root of ${sympy.latex(poly)} = 0$.", str(max(r1, r2))


def _expand(rng: np.random.Generator, max_int: int) -> tuple[str, str]:
    import sympy

    x = sympy.Symbol("x")
    a, c = (_nonzero(rng, -max_int, max_int) for _ in range(2))
    b, d = (int(rng.integers(-max_int, max_int + 1)) for _ in range(2))
    product = sympy.Mul(a * x + b, c * x + d, evaluate=False)
    return f"Expand ${sympy.latex(product)}$.", sympy.latex(sympy.expand(product))


def _derivative(rng: np.random.Generator, max_int: int) -> tuple[str, str]:
    import sympy

    x = sympy.Symbol("x")
    degree = int(rng.integers(2, 4))
    coefficients = [int(rng.integers(-max_int, max_int + 1)) for _ in range(degree)] + [_nonzero(rng, -max_int, max_int)]
    f = sum(coef * x**power for power, coef in enumerate(coefficients))
    at = int(rng.integers(-3, 4))
    value = sympy.diff(f, x).subs(x, at)
    return f"Let $f(x) = {sympy.latex(f)}$. Compute $f'({at})$.", str(int(value))


GENERATORS: dict[str, Callable[[np.random.Generator, int], tuple[str, str]]] = {
    "arithmetic": _arithmetic, "fraction": _fraction, "linear": _linear, "quadratic": _quadratic,
    "expand": _expand, "derivative": _derivative,
}


def generate_problem(rng: np.random.Generator, kinds: Sequence[str] = KINDS, max_int: int = 9) -> tuple[str, str, str]:
    """``(kind, question, answer)`` of one generated problem; deterministic given ``rng``'s state."""
    kind = kinds[int(rng.integers(len(kinds)))]
    question, answer = GENERATORS[kind](rng, max_int)
    return kind, question, answer


# ------------------------------------------------------------------------------------- the task


def _field(row: dict[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return value


def load_rows(path: str | Path, question_field: str = "question", answer_field: str = "answer") -> list[tuple[str, str]]:
    """``(question, answer)`` of every row of a JSONL or Parquet file; ``ValueError`` naming a bad row."""
    from passkrl.tasks.rows import read_rows

    pairs = []
    for i, row in enumerate(read_rows(Path(path))):
        try:
            question, answer = _field(row, question_field), _field(row, answer_field)
        except KeyError as err:
            raise ValueError(f"{str(path)!r} row {i} has no field {err.args[0]!r} "
                             f"(set question_field / answer_field; fields: {', '.join(map(str, row))})") from None
        if isinstance(question, list) and question and isinstance(question[-1], dict):  # chat messages
            question = question[-1].get("content", "")
        pairs.append((str(question), str(answer)))
    if not pairs:
        raise ValueError(f"{str(path)!r} has no rows")
    return pairs


class MathsTask:
    """Maths problems (generated, or from a data file) scored by math-verify with a hard time limit.

    ``kinds`` and ``max_int`` shape the generator (``max_int`` bounds the integers it draws);
    ``data`` switches to the rows of a JSONL / Parquet file. Rewards are binary.
    """

    name = "maths"
    reward_is_binary = True
    data_source = DATA_SOURCE

    def __init__(self, data: str | Path | None = None, question_field: str = "question", answer_field: str = "answer",
                 kinds: Sequence[str] = KINDS, max_int: int = 9, timeout_s: float = DEFAULT_TIMEOUT_S,
                 lenient: bool = False, max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS):
        require_math_verify()
        kinds = tuple(kinds) if not isinstance(kinds, str) else tuple(k.strip() for k in kinds.split(",") if k.strip())
        unknown = [kind for kind in kinds if kind not in GENERATORS]
        if unknown or not kinds:
            raise ValueError(f"kinds: unknown or empty {list(kinds)!r}; known: {', '.join(KINDS)}")
        if isinstance(max_int, bool) or not isinstance(max_int, (int, np.integer)) or max_int < 1:
            raise ValueError(f"max_int must be an int >= 1, got {max_int!r}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        if max_answer_chars < 1:
            raise ValueError(f"max_answer_chars must be >= 1, got {max_answer_chars!r}")
        self.kinds, self.max_int = kinds, int(max_int)
        self.timeout_s, self.lenient, self.max_answer_chars = float(timeout_s), bool(lenient), int(max_answer_chars)
        self.data = None if data is None else Path(data)
        self.rows = None if data is None else load_rows(data, question_field, answer_field)

    def __repr__(self) -> str:
        source = f"data={str(self.data)!r}" if self.data else f"kinds={self.kinds}, max_int={self.max_int}"
        return f"MathsTask({source}, timeout_s={self.timeout_s})"

    def problem(self, question: str, answer: str, **meta: Any) -> Problem:
        """A :class:`Problem` for a bare question; ``question`` of the result is the full prompt."""
        digest = hashlib.sha1(json.dumps([question, answer]).encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return Problem(id=f"maths-{digest}", question=f"{question}\n\n{INSTRUCTION}", answer=answer,
                       meta={"text": question, "group": meta.pop("kind", "data"), **meta})

    def generate(self, rng: np.random.Generator) -> Problem:
        if self.rows is not None:
            index = int(rng.integers(len(self.rows)))
            question, answer = self.rows[index]
            return self.problem(question, answer, kind="data", row=index)
        kind, question, answer = generate_problem(rng, self.kinds, self.max_int)
        return self.problem(question, answer, kind=kind)

    def prompt(self, problem: Problem) -> str:
        return problem.question

    def score(self, problem: Problem, response: str) -> float:
        return self.score_batch([problem], [response])[0]

    def score_answer(self, problem: Problem, answer: str) -> float:
        """Reward of a bare final answer (no tags needed)."""
        return self.score_answers([problem], [answer])[0]

    def score_answers(self, problems: Sequence[Problem], answers: Sequence[str], workers: int = 1) -> list[float]:
        """Rewards of bare final answers, like :meth:`score_batch`."""
        return score_answers([p.answer for p in problems], answers, timeout_s=self.timeout_s, workers=workers,
                             max_answer_chars=self.max_answer_chars)

    def score_batch(self, problems: Sequence[Problem], responses: Sequence[str], workers: int = 1) -> list[float]:
        """Rewards of ``responses[i]`` to ``problems[i]``, math-verify in ``workers`` processes; equal to serial."""
        return score_responses([p.answer for p in problems], responses, timeout_s=self.timeout_s, workers=workers,
                               lenient=self.lenient, max_answer_chars=self.max_answer_chars)


    def to_row(self, problem: Problem, split: str, index: int) -> dict[str, Any]:
        """One verl RL row (``data_source`` :data:`DATA_SOURCE`, the gold answer as ground truth)."""
        return to_verl_row(problem, split, index)


def to_verl_row(problem: Problem, split: str, index: int) -> dict[str, Any]:
    """One verl RL row (``data_source`` :data:`DATA_SOURCE`, the gold answer as ground truth)."""
    return {
        "data_source": DATA_SOURCE,
        "prompt": [{"role": "user", "content": problem.question}],
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": problem.answer},
        "extra_info": {"split": split, "index": int(index), "kind": str(problem.meta.get("group", "")),
                       "question": str(problem.meta.get("text", ""))},
    }


# ------------------------------------------------------------------------------------- passkrl data maths


@dataclass(frozen=True)
class MathsDataConfig:
    """Write maths problems as verl data set rows (data_source passkrl/maths), generated or from --input."""

    out: Path
    """Output file: .jsonl or .json (one JSON row per line) or .parquet (needs pyarrow)."""
    n: int | None = None
    """Number of distinct generated problems; with --input, at most this many rows (default: all)."""
    input: Path | None = None
    """A JSONL/Parquet file of your own problems to convert (one row per problem) instead of generating."""
    question_field: str = "question"
    """Field of --input rows holding the question (dotted paths such as 'extra_info.question' work)."""
    answer_field: str = "answer"
    """Field of --input rows holding the final answer (e.g. 'reward_model.ground_truth')."""
    kinds: str = "arithmetic,fraction,linear,quadratic,expand,derivative"
    """Kinds of generated problems, comma-separated."""
    max_int: int = 9
    """Largest integer the generator draws (coefficients, terms, roots)."""
    seed: int = 0
    """Seed; each split draws from its own stream derived from it."""
    split: Literal["train", "test", "validation"] = "train"
    """Split name, stored in extra_info and choosing the random stream."""
    exclude: tuple[Path, ...] = ()
    """Data files whose prompts must not appear again."""
    progress: bool = True
    """Show a progress bar for large data sets."""


def write_maths_data(cfg: MathsDataConfig, task_name: str = "maths") -> int:
    """``passkrl data maths``: generate problems (or convert the ``--input`` rows) and write their rows;
    returns the number written."""
    from passkrl.tasks import rows

    rows.check_output(cfg.out, exclude=cfg.exclude, input_file=cfg.input)
    rows.check_count(cfg.n, cfg.seed)
    if cfg.input is None and cfg.n is None:
        raise ValueError("--n is required when generating problems (or give --input FILE to convert)")
    if cfg.input is None:
        task = SPEC(kinds=cfg.kinds, max_int=cfg.max_int)
        return rows.write_task_data(task, n=int(cfg.n), seed=cfg.seed, split=cfg.split, out=cfg.out,
                                    exclude=cfg.exclude, progress=cfg.progress)
    excluded = rows.excluded_prompts(cfg.exclude)
    task = SPEC(data=cfg.input, question_field=cfg.question_field, answer_field=cfg.answer_field)
    converted = (task.problem(question, answer, kind="data", row=i) for i, (question, answer) in enumerate(task.rows))
    kept = (p for p in converted if p.question not in excluded)
    limit = cfg.n if cfg.n is not None else len(task.rows)
    problems: Iterable[Problem] = (p for _, p in zip(range(limit), kept))
    return rows.write_data(task, problems, cfg.out, split=cfg.split, n=limit, progress=cfg.progress)


SPEC = register(TaskSpec(
    name="maths",
    data_source=DATA_SOURCE,
    build=MathsTask,
    description='maths answers checked by math-verify: generated, or --input rows (pip install "passkrl[maths]")',
    score_row=reward_of_row,
    score_rows=rewards_of_rows,
    extra=EXTRA,
    data_command=DataCommand(MathsDataConfig, write_maths_data,
                             lambda cfg: f"from {cfg.input}" if cfg.input else f"generated: {cfg.kinds}"),
    trainable={"maths": TrainPreset({"kinds": ["arithmetic"], "max_int": 9},
                                    "the maths generator's integer arithmetic, checked by math-verify")},
))
"""The maths task in the task registry, with the preset the tiny model learns (``passkrl train --task maths``)."""
