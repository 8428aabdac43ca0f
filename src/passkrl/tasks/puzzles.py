"""Puzzles from reasoning-gym, scored by reasoning-gym's own scorers; an Enigmata-like default mix.

Needs the ``puzzles`` extra (``pip install "passkrl[puzzles]"``). Any reasoning-gym data set can be
used by name (``PuzzleTask(datasets=["chain_sum"])``); without names the task samples the default
mix :data:`ENIGMATA_MIX`, which stands in for the Enigmata benchmark of the Pass@k Training paper
(arXiv 2508.10751, §3 and appendix B; Enigmata is arXiv 2505.19914): a category is drawn uniformly
from its seven (crypto, arithmetic, logic, grid, graph, search, sequential), then a data set
uniformly within the category. ``docs/tasks.md`` explains the choice per category.

**Problems.** reasoning-gym builds a data set from a config with a ``seed`` and a ``size``; one
problem here is item 0 of the data set of ``size=1`` whose seed is drawn from the numpy generator,
so ``generate(rng)`` is deterministic and ``(dataset, seed, config)`` regenerates the item. The
prompt is reasoning-gym's question followed by :data:`INSTRUCTION` (the answer in
``<answer> ... </answer>``, as reasoning-gym's own system prompts ask).

**Scoring.** The final answer is the content of the last complete ``<answer>`` block (else the last
``\\boxed{}``), stripped of surrounding white space (as reasoning-gym's ``extract_answer`` does); it
goes to the data set's ``score_answer(answer, entry)``, with the data set built from the same
config. Many scorers give partial credit (e.g. ``len(oracle) / len(answer)`` when the answer
contains the oracle, 0.01 or 0.05 for a well-formed but wrong answer); ``binary_threshold=t`` turns
a score into 1.0 if it is ``>= t`` and 0.0 otherwise, and ``reward_is_binary`` says so. No answer,
an empty one, or one longer than ``max_answer_chars`` scores 0 without calling the scorer.

**Safety.** Scorers never raise out of this module (an exception is a reward of 0). The data sets
in :data:`ISOLATED` parse the answer with sympy (``parse_expr("9**9**9")`` does not return), so
they are scored in a child process killed after ``timeout_s`` seconds (:mod:`passkrl.tasks.timeout`).
The data sets in :data:`EVAL_SCORERS` call Python's ``eval`` on the model's answer, which runs
arbitrary code; they are refused unless ``allow_eval=True`` (and then always isolated, which limits
time, not what the code may do).

**verl rows.** ``data_source`` is ``passkrl/puzzles/<dataset>``; the ground truth is a JSON string
holding the data set's name, its config, the reference answer and the item's metadata: everything
the scorer needs, so :func:`compute_score` works from the row alone.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from passkrl.parsing import json_object
from passkrl.tasks.answers import extract_answer
from passkrl.tasks.base import Problem
from passkrl.tasks.registry import (DataCommand, Extra, TaskSpec, TrainPreset, Variant, get_task, merge_options,
                                    register)
from passkrl.tasks.timeout import shared_pool

DATA_SOURCE_PREFIX = "passkrl/puzzles/"
"""``data_source`` of a puzzle row is this prefix followed by the reasoning-gym data set's name."""
INSTRUCTION = ("Give only the final answer, with no explanation, between <answer> and </answer> tags, "
               "e.g. <answer>42</answer>.")

ENIGMATA_MIX: dict[str, tuple[str, ...]] = {
    "crypto": ("caesar_cipher", "cryptarithm"),
    "arithmetic": ("basic_arithmetic", "chain_sum", "puzzle24", "countdown"),
    "logic": ("knights_knaves", "zebra_puzzles", "syllogism", "circuit_logic", "self_reference"),
    "grid": ("mini_sudoku", "futoshiki", "kakurasu", "survo"),
    "graph": ("shortest_path", "course_schedule", "largest_island", "family_relationships"),
    "search": ("maze", "sokoban", "word_ladder", "jugs"),
    "sequential": ("tower_of_hanoi", "quantum_lock", "number_sequence"),
}
"""The default mix: Enigmata's seven categories -> reasoning-gym data sets (docs/tasks.md)."""

ISOLATED = frozenset({
    "countdown", "puzzle24", "dice", "bitwise_arithmetic", "propositional_logic", "simple_integration",
    "intermediate_integration", "polynomial_multiplication", "polynomial_equations",
})
"""Data sets whose scorer parses the answer with sympy (checked in reasoning-gym 0.1.25): scored in a
child process with a hard time limit."""

EVAL_SCORERS = frozenset({"binary_matrix", "n_queens", "spiral_matrix", "string_insertion"})
"""Data sets whose scorer calls ``eval`` on the answer (reasoning-gym 0.1.25): refused by default."""

DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MAX_ANSWER_CHARS = 20_000


EXTRA = Extra(module="reasoning_gym", name="puzzles")
"""The optional dependency of every puzzle task: reasoning-gym, installed by ``passkrl[puzzles]``."""


def require_reasoning_gym() -> None:
    """:class:`passkrl.tasks.MissingExtraError` with the install command when the ``puzzles`` extra is missing."""
    EXTRA.require("puzzles")


def dataset_names() -> list[str]:
    """Every reasoning-gym data set name (``composite`` excluded: it mixes others itself)."""
    from reasoning_gym.factory import DATASETS

    return sorted(name for name in DATASETS if name != "composite")


def category_of(name: str) -> str:
    """The Enigmata category of a mix data set, else reasoning-gym's own category (its module)."""
    for category, names in ENIGMATA_MIX.items():
        if name in names:
            return category
    from reasoning_gym.factory import DATASETS

    parts = DATASETS[name][0].__module__.split(".")
    return parts[1] if len(parts) >= 3 else "other"


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def to_json(value: Any) -> str:
    """JSON text of an item or config; sets become lists, other unknown objects their ``str``."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)


@functools.lru_cache(maxsize=256)
def _scorer_dataset(name: str, config_json: str) -> Any:
    """A data set built from ``config`` whose ``score_answer`` scores items of that config."""
    import reasoning_gym

    return reasoning_gym.create_dataset(name, **{"seed": 0, "size": 1, **json.loads(config_json)})


def _child_warm_up() -> None:
    """Import reasoning-gym and sympy's parser in a new scoring child (untimed, see passkrl.tasks.timeout)."""
    import reasoning_gym  # noqa: F401
    from sympy.parsing.sympy_parser import parse_expr

    parse_expr("1 + 2*3")


def score_with_dataset(name: str, config_json: str, answer: str, entry: dict[str, Any]) -> float:
    """``score_answer`` of data set ``name`` (runs here or in the child); raises on a scorer error."""
    value = float(_scorer_dataset(name, config_json).score_answer(answer, entry))
    return value if math.isfinite(value) else 0.0


def _check_names(names: Sequence[str], allow_eval: bool) -> tuple[str, ...]:
    known = set(dataset_names())
    names = tuple(names)
    if not names:
        raise ValueError("datasets: no reasoning-gym data set named")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"datasets: unknown reasoning-gym data set(s) {unknown}; known: {', '.join(sorted(known))}")
    unsafe = sorted(set(names) & EVAL_SCORERS)
    if unsafe and not allow_eval:
        raise ValueError(f"datasets: the scorer of {', '.join(unsafe)} calls eval() on the model's answer "
                         "(arbitrary code); pass allow_eval=True to use it anyway")
    return names


def _clip(value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0


class PuzzleTask:
    """reasoning-gym data sets behind the :class:`passkrl.tasks.base.Task` protocol.

    ``datasets``: names (or one comma-separated string) to sample uniformly; None for
    :data:`ENIGMATA_MIX` (uniform over categories, then over the category's data sets).
    ``options``: per data set, config fields passed to reasoning-gym (``{"chain_sum": {"max_terms": 3}}``).
    ``binary_threshold``: score >= threshold -> 1.0 else 0.0; None keeps reasoning-gym's scores.
    ``isolate``: score in a child process with a ``timeout_s`` limit (None: only :data:`ISOLATED`).
    """

    def __init__(self, datasets: Sequence[str] | str | None = None, *, options: Mapping[str, Mapping[str, Any]] | None = None,
                 binary_threshold: float | None = None, timeout_s: float = DEFAULT_TIMEOUT_S, isolate: bool | None = None,
                 allow_eval: bool = False, max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS, name: str = "puzzles"):
        require_reasoning_gym()
        if isinstance(datasets, str):
            datasets = [part.strip() for part in datasets.split(",") if part.strip()]
        if datasets is None:
            self.categories = {category: _check_names(names, allow_eval) for category, names in ENIGMATA_MIX.items()}
        else:
            names = _check_names(datasets, allow_eval)
            self.categories = {"": names}
        self.datasets = tuple(name for names in self.categories.values() for name in names)
        options = dict(options or {})
        stray = sorted(set(options) - set(self.datasets))
        if stray:
            raise ValueError(f"options: given for {stray}, which are not among the data sets {list(self.datasets)}")
        self.options = {name: dict(options.get(name, {})) for name in self.datasets}
        for dataset, config in self.options.items():
            bad = {"seed", "size"} & set(config)
            if bad:
                raise ValueError(f"options[{dataset!r}]: {', '.join(sorted(bad))} are drawn from the generator; do not set them")
            try:
                _scorer_dataset(dataset, to_json(config))
            except Exception as err:  # noqa: BLE001 - reasoning-gym reports bad configs in many ways
                raise ValueError(f"options[{dataset!r}] = {config!r} is not a valid config: {type(err).__name__}: {err}") from None
        if binary_threshold is not None and not 0.0 < float(binary_threshold) <= 1.0:
            raise ValueError(f"binary_threshold must be in (0, 1] or None, got {binary_threshold!r}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
        if max_answer_chars < 1:
            raise ValueError(f"max_answer_chars must be >= 1, got {max_answer_chars!r}")
        self.binary_threshold = None if binary_threshold is None else float(binary_threshold)
        self.reward_is_binary = self.binary_threshold is not None
        self.timeout_s, self.max_answer_chars = float(timeout_s), int(max_answer_chars)
        self.isolated = frozenset(name for name in self.datasets
                                  if (isolate is None and (name in ISOLATED or name in EVAL_SCORERS)) or isolate)
        self.name = name

    def __repr__(self) -> str:
        which = "ENIGMATA_MIX" if "" not in self.categories else list(self.datasets)
        return f"PuzzleTask({which}, binary_threshold={self.binary_threshold})"

    # --- problems

    def _pick(self, rng: np.random.Generator) -> str:
        categories = list(self.categories)
        names = self.categories[categories[int(rng.integers(len(categories)))]]
        return names[int(rng.integers(len(names)))]

    def problem_from(self, dataset: str, seed: int) -> Problem:
        """Item 0 of reasoning-gym's ``dataset`` built with ``seed``, ``size=1`` and this task's options."""
        import reasoning_gym

        config = self.options[dataset]
        entry = reasoning_gym.create_dataset(dataset, **{**config, "seed": int(seed), "size": 1})[0]
        answer = entry.get("answer")
        return Problem(
            id=f"{dataset}-{seed}",
            question=f"{entry['question']}\n\n{INSTRUCTION}",
            answer="" if answer is None else str(answer),
            meta={"text": entry["question"], "group": dataset, "dataset": dataset, "category": category_of(dataset),
                  "seed": int(seed), "config": config, "entry": entry},
        )

    def generate(self, rng: np.random.Generator) -> Problem:
        dataset = self._pick(rng)
        seed = int(rng.integers(2**31))
        return self.problem_from(dataset, seed)

    def prompt(self, problem: Problem) -> str:
        return problem.question

    # --- scoring

    def _threshold(self, raw: float) -> float:
        raw = _clip(raw)
        if self.binary_threshold is None:
            return raw
        return 1.0 if raw >= self.binary_threshold else 0.0

    def _jobs(self, problems: Sequence[Problem], answers: Sequence[str | None]) -> list[float | tuple]:
        jobs: list[float | tuple] = []
        for problem, answer in zip(problems, answers):
            if not isinstance(answer, str):
                jobs.append(0.0)
                continue
            answer = answer.strip()
            if not answer or len(answer) > self.max_answer_chars:
                jobs.append(0.0)
                continue
            dataset = problem.meta["dataset"]
            jobs.append((dataset, to_json(problem.meta.get("config", {})), answer, problem.meta["entry"]))
        return jobs

    def _run(self, jobs: list[float | tuple], workers: int) -> list[float]:
        raw = [job if isinstance(job, float) else 0.0 for job in jobs]
        isolated = [i for i, job in enumerate(jobs) if isinstance(job, tuple) and job[0] in self.isolated]
        for i, job in enumerate(jobs):
            if isinstance(job, tuple) and job[0] not in self.isolated:
                try:
                    raw[i] = score_with_dataset(*job)
                except Exception:  # noqa: BLE001 - a scorer error is a reward of 0, never a crash
                    raw[i] = 0.0
        if isolated:
            results = shared_pool().map("passkrl.tasks.puzzles:score_with_dataset", [jobs[i] for i in isolated],
                                        timeout_s=self.timeout_s, workers=workers)
            for i, result in zip(isolated, results):
                raw[i] = result if isinstance(result, float) else 0.0
        return [self._threshold(value) for value in raw]

    data_source = DATA_SOURCE_PREFIX

    def to_row(self, problem: Problem, split: str, index: int) -> dict[str, Any]:
        """One verl RL row; a binary threshold travels in ``extra_info`` so the row scores the same."""
        row = to_verl_row(problem, split, index)
        if self.binary_threshold is not None:
            row["extra_info"]["binary_threshold"] = self.binary_threshold
        return row

    def score(self, problem: Problem, response: str) -> float:
        return self.score_batch([problem], [response])[0]

    def score_answer(self, problem: Problem, answer: str) -> float:
        """Reward of a bare final answer (no tags needed)."""
        return self.score_answers([problem], [answer])[0]

    def score_batch(self, problems: Sequence[Problem], responses: Sequence[str], workers: int = 1) -> list[float]:
        """Rewards of ``responses[i]`` to ``problems[i]``; isolated scorers run in ``workers`` processes."""
        if len(problems) != len(responses):
            raise ValueError(f"{len(problems)} problems but {len(responses)} responses")
        answers = [extract_answer(r) if isinstance(r, str) else None for r in responses]
        return self._run(self._jobs(problems, answers), workers)

    def score_answers(self, problems: Sequence[Problem], answers: Sequence[str], workers: int = 1) -> list[float]:
        """Rewards of bare final answers, like :meth:`score_batch`."""
        if len(problems) != len(answers):
            raise ValueError(f"{len(problems)} problems but {len(answers)} answers")
        return self._run(self._jobs(problems, answers), workers)


# ------------------------------------------------------------------------------------- verl rows


def ground_truth(problem: Problem) -> str:
    """The JSON ground truth of a verl row: data set, config, reference answer, item metadata."""
    entry = problem.meta["entry"]
    return to_json({"dataset": problem.meta["dataset"], "config": problem.meta.get("config", {}),
                    "answer": entry.get("answer"), "metadata": entry.get("metadata", {})})


def problem_from_ground_truth(data_source: str, ground_truth: Any) -> Problem:
    """A scorable :class:`Problem` from a row's ``data_source`` and ground truth.

    A ground truth that is not this module's JSON is taken as the plain reference answer of the data
    set named by ``data_source`` (with empty metadata: fine for scorers that only compare answers).
    """
    dataset = str(data_source)[len(DATA_SOURCE_PREFIX):] if str(data_source).startswith(DATA_SOURCE_PREFIX) else ""
    parsed: Any = None
    if isinstance(ground_truth, str):
        try:
            parsed = json.loads(ground_truth)
        except ValueError:
            parsed = None
    if isinstance(parsed, dict) and "metadata" in parsed:
        dataset = str(parsed.get("dataset") or dataset)
        config = parsed.get("config") or {}
        entry = {"answer": parsed.get("answer"), "metadata": parsed.get("metadata") or {}}
    else:
        config, entry = {}, {"answer": None if ground_truth is None else str(ground_truth), "metadata": {}}
    answer = entry["answer"]
    return Problem(id=f"{dataset}-row", question="", answer="" if answer is None else str(answer),
                   meta={"dataset": dataset, "config": config, "entry": entry, "group": dataset})


@functools.lru_cache(maxsize=256)
def row_task(dataset: str, config_json: str, binary_threshold: float | None = None, allow_eval: bool = False,
             timeout_s: float = DEFAULT_TIMEOUT_S) -> PuzzleTask:
    """The (cached) one-data-set task that scores rows of ``dataset`` with these settings."""
    config = json.loads(config_json)
    return PuzzleTask([dataset], options={dataset: config} if config else None, binary_threshold=binary_threshold,
                      allow_eval=allow_eval, timeout_s=timeout_s)


def row_settings(extra_info: Any, kwargs: Mapping[str, Any]) -> tuple[float | None, bool, float]:
    """``(binary_threshold, allow_eval, timeout_s)`` of a row: keyword arguments, else ``extra_info``, else defaults."""
    info = extra_info if isinstance(extra_info, dict) else {}
    threshold = kwargs.get("binary_threshold", info.get("binary_threshold"))
    timeout_s = kwargs.get("timeout_s", info.get("timeout_s", DEFAULT_TIMEOUT_S))
    return (None if threshold is None else float(threshold), bool(kwargs.get("allow_eval", False)), float(timeout_s))


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **kwargs: Any) -> float:
    """verl's reward-function signature for ``passkrl/puzzles/<dataset>`` rows; never raises on the response.

    ``extra_info["binary_threshold"]`` and ``extra_info["timeout_s"]`` (or the keywords) set the
    threshold and the time limit; ``ValueError`` for a data source that is not a puzzle or names an
    unknown data set.
    """
    if not str(data_source).startswith(DATA_SOURCE_PREFIX):
        raise ValueError(f"compute_score handles data_source {DATA_SOURCE_PREFIX}<dataset>, got {data_source!r}")
    problem = problem_from_ground_truth(data_source, ground_truth)
    task = row_task(problem.meta["dataset"], to_json(problem.meta["config"]), *row_settings(extra_info, kwargs))
    return task.score(problem, solution_str)


def rewards_of_rows(data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                    extra_infos: Sequence[dict | None], *, workers: int = 1, **kwargs: Any) -> list[float]:
    """Rewards of puzzle rows in order, equal to :func:`compute_score` on each: the rows of one data set and
    settings are scored together (:meth:`PuzzleTask.score_batch`), isolated scorers in ``workers`` processes."""
    groups: dict[tuple, list[int]] = {}
    problems = {}
    for i, (source, truth, info) in enumerate(zip(data_sources, ground_truths, extra_infos)):
        problem = problem_from_ground_truth(source, truth)
        key = (problem.meta["dataset"], to_json(problem.meta["config"]), *row_settings(info, kwargs))
        groups.setdefault(key, []).append(i)
        problems[i] = problem
    rewards = [0.0] * len(data_sources)
    for key, rows in groups.items():
        scores = row_task(*key).score_batch([problems[i] for i in rows], [solution_strs[i] for i in rows],
                                            workers=workers)
        for i, value in zip(rows, scores):
            rewards[i] = value
    return rewards


def to_verl_row(problem: Problem, split: str, index: int) -> dict[str, Any]:
    """One verl RL row for a puzzle."""
    return {
        "data_source": DATA_SOURCE_PREFIX + problem.meta["dataset"],
        "prompt": [{"role": "user", "content": problem.question}],
        "ability": "puzzle",
        "reward_model": {"style": "rule", "ground_truth": ground_truth(problem)},
        "extra_info": {"split": split, "index": int(index), "dataset": problem.meta["dataset"],
                       "category": problem.meta.get("category", ""), "seed": int(problem.meta.get("seed", -1)),
                       "answer": problem.answer},
    }


# ------------------------------------------------------------------------------------- passkrl data puzzles


@dataclass(frozen=True)
class PuzzlesDataConfig:
    """Write reasoning-gym puzzles as verl data set rows (data_source passkrl/puzzles/<dataset>)."""

    out: Path
    """Output file: .jsonl or .json (one JSON row per line) or .parquet (needs pyarrow)."""
    n: int
    """Number of distinct puzzles (by prompt)."""
    datasets: str = ""
    """Comma-separated reasoning-gym data sets, sampled uniformly (empty: the Enigmata-like mix, see docs/tasks.md)."""
    options: str = "{}"
    """reasoning-gym config fields per data set as JSON, e.g. '{"chain_sum": {"max_terms": 3}}'."""
    binary_threshold: float | None = None
    """Stored in extra_info: scores >= this become 1.0, others 0.0 (default: reasoning-gym's own scores)."""
    allow_eval: bool = False
    """Allow data sets whose scorer calls eval() on the answer (n_queens, binary_matrix, ...)."""
    seed: int = 0
    """Seed; each split draws from its own stream derived from it."""
    split: Literal["train", "test", "validation"] = "train"
    """Split name, stored in extra_info and choosing the random stream."""
    exclude: tuple[Path, ...] = ()
    """Data files (.jsonl/.json/.parquet rows of this command) whose prompts must not appear again."""
    progress: bool = True
    """Show a progress bar for large data sets."""


def write_puzzles_data(cfg: PuzzlesDataConfig, task_name: str = "puzzles") -> int:
    """``passkrl data puzzles``: draw distinct puzzles and write their rows; returns the number written."""
    from passkrl.tasks import rows

    rows.check_output(cfg.out, exclude=cfg.exclude)
    rows.check_count(cfg.n, cfg.seed)
    options = json_object(cfg.options, "--options", example='{"chain_sum": {"max_terms": 3}}')
    task = get_task(task_name, datasets=cfg.datasets or None, options=options, binary_threshold=cfg.binary_threshold,
                    allow_eval=cfg.allow_eval)
    return rows.write_task_data(task, n=cfg.n, seed=cfg.seed, split=cfg.split, out=cfg.out, exclude=cfg.exclude,
                                progress=cfg.progress)


# ------------------------------------------------------------------------------------- the registry


def _one_dataset(dataset: str, options: dict[str, Any]) -> dict[str, Any]:
    """``puzzles/<dataset>``: the puzzles task restricted to that reasoning-gym data set."""
    if "datasets" in options:
        raise ValueError(f"task 'puzzles/{dataset}' names its data set; do not pass datasets={options['datasets']!r}")
    return {**options, "datasets": [dataset]}


def _train_options(preset: Mapping[str, Any], task_options: dict[str, Any], partial_credit: bool) -> dict[str, Any]:
    """A puzzle preset for the tiny model: ``--task-options`` are reasoning-gym config fields of its one data
    set; the reward is 1 only for a score of 1 unless ``--partial-credit`` keeps reasoning-gym's scores."""
    dataset = preset["datasets"][0]
    options = merge_options(preset, {"options": {dataset: task_options}})
    options["binary_threshold"] = None if partial_credit else 1.0
    return options


SPEC = register(TaskSpec(
    name="puzzles",
    data_source=DATA_SOURCE_PREFIX,
    build=PuzzleTask,
    description='reasoning-gym puzzles: the Enigmata-like mix, or --datasets (pip install "passkrl[puzzles]")',
    score_row=compute_score,
    score_rows=rewards_of_rows,
    extra=EXTRA,
    variant=Variant("reasoning-gym data set", _one_dataset),
    data_command=DataCommand(PuzzlesDataConfig, write_puzzles_data,
                             lambda cfg: cfg.datasets or "the Enigmata-like mix"),
    trainable={
        "chain_sum": TrainPreset(
            {"datasets": ["chain_sum"], "options": {"chain_sum": {
                "min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 1, "allow_negation": False}}},
            "reasoning-gym chain_sum: sums and differences of 2-3 one-digit numbers", _train_options),
        "basic_arithmetic": TrainPreset(
            {"datasets": ["basic_arithmetic"], "options": {"basic_arithmetic": {
                "min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 1, "operators": ["+", "-", "*"],
                "allow_parentheses": False, "allow_negation": False}}},
            "reasoning-gym basic_arithmetic: 2-3 one-digit numbers with + - *", _train_options),
    },
))
"""The puzzles in the task registry: ``puzzles``, ``puzzles/<dataset>``, and the presets the tiny model learns."""

register(SPEC.alias("enigmata_mix", "the same as puzzles (its default mix)", options={"name": "enigmata_mix"}))
