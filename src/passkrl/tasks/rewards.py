"""Reward functions for verl and TRL: one dispatcher over every registered task, plain functions.

**verl** (``custom_reward_function.path=pkg://passkrl.tasks.rewards custom_reward_function.name=compute_score``)::

    compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float

routes on the row's ``data_source`` (what ``passkrl data TASK`` writes) to the task that registered it
(:func:`passkrl.tasks.registry.spec_for_source`) and calls that task's reward adapter: ``passkrl/maze``
and ``passkrl/visual_maze`` go to the maze verifier, ``passkrl/puzzles/<dataset>`` to reasoning-gym's
scorer, ``passkrl/maths`` to math-verify, and a task of your own to its ``score_row``. A data source no
task registered is a ``ValueError`` (a configuration error, not a bad response); any response text
gives a float in ``[0, 1]``. :func:`compute_score_batch` has the signature of verl's batch reward manager
(``reward_model.reward_manager=batch``) and hands each task its rows at once, so slow verifiers (maths,
isolated puzzles) score in parallel.

**TRL** (``GRPOTrainer(reward_funcs=[passkrl_reward], ...)``): TRL calls a reward function as
``reward(prompts=..., completions=..., **columns)`` where every extra column of the data set
arrives as a list with one value per completion, and each completion is a string or, for
conversational data sets, a list of chat messages ``[{"role": "assistant", "content": ...}]``.
:func:`passkrl_reward` reads the columns of ``passkrl data`` rows (``data_source``, ``reward_model``
or ``ground_truth``, ``extra_info``), so the same files train with verl and TRL.
:func:`make_trl_reward` builds a reward function for rows without ``data_source``.

Nothing here imports verl or TRL, and nothing here names a task but the maze helpers at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from passkrl.tasks.registry import data_source_of, require_extra, spec_for_source


def route(data_source: str) -> str:
    """The name of the task whose rows carry ``data_source`` (``"maze"``, ``"puzzles"``, ...); ``ValueError``
    if no registered task does."""
    return spec_for_source(data_source).name


def _text(solution: Any) -> str:
    return solution if isinstance(solution, str) else ""


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **kwargs: Any) -> float:
    """verl's ``compute_score``: the reward of ``solution_str`` for a row of any registered task."""
    spec = spec_for_source(data_source)
    require_extra(spec)
    return spec.score_row(data_source, _text(solution_str), ground_truth, extra_info, **kwargs)


def compute_score_batch(data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                        extra_infos: Sequence[dict | None] | None = None, *, workers: int = 1,
                        **kwargs: Any) -> list[float]:
    """Rewards of a batch of rows (verl's batch reward manager signature), in order.

    The rows of each task go to its ``score_rows`` together (maths answers and isolated puzzles are
    then checked in ``workers`` processes at once); the result equals ``[compute_score(...) for each row]``.
    """
    n = len(data_sources)
    if not (len(solution_strs) == len(ground_truths) == n):
        raise ValueError(f"batch lengths differ: {n} data sources, {len(solution_strs)} solutions, "
                         f"{len(ground_truths)} ground truths")
    infos = list(extra_infos) if extra_infos is not None else [None] * n
    if len(infos) != n:
        raise ValueError(f"batch lengths differ: {n} data sources, {len(infos)} extra_infos")
    by_task: dict[str, tuple[Any, list[int]]] = {}
    for i, source in enumerate(data_sources):  # every data source is checked before anything is scored
        spec = spec_for_source(source)
        by_task.setdefault(spec.name, (spec, []))[1].append(i)
    rewards = [0.0] * n
    for spec, rows in by_task.values():
        require_extra(spec)
        scores = spec.score_rows([data_sources[i] for i in rows], [_text(solution_strs[i]) for i in rows],
                                 [ground_truths[i] for i in rows], [infos[i] for i in rows], workers=workers, **kwargs)
        for i, value in zip(rows, scores):
            rewards[i] = value
    return rewards


# ------------------------------------------------------------------------------------- TRL


def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string, or the content of the last assistant message.

    Message content may itself be a list of parts (``[{"type": "text", "text": ...}]``); their
    texts are joined. Anything else gives ``""`` (a reward of 0, never an exception).
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)):
        messages = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"] or messages
        if not assistant:
            return ""
        content = assistant[-1].get("content", "")
        if isinstance(content, str):
            return content
        if isinstance(content, (list, tuple)):
            return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content
                           if isinstance(part, (dict, str)))
    return ""


def _column(kwargs: dict[str, Any], name: str, n: int) -> list[Any] | None:
    values = kwargs.get(name)
    if values is None:
        return None
    values = list(values)
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} values for {n} completions")
    return values


def _ground_truths(kwargs: dict[str, Any], n: int) -> list[Any]:
    direct = _column(kwargs, "ground_truth", n)
    if direct is not None:
        return direct
    nested = _column(kwargs, "reward_model", n)
    if nested is not None:
        return [value.get("ground_truth") if isinstance(value, dict) else None for value in nested]
    answers = _column(kwargs, "answer", n)
    if answers is not None:
        return answers
    raise ValueError("no ground truth among the data set's columns: expected 'reward_model' "
                     "(passkrl/verl rows), 'ground_truth' or 'answer'")


def _extra_infos(kwargs: dict[str, Any], n: int) -> list[dict | None]:
    infos = _column(kwargs, "extra_info", n) or [None] * n
    parsed = []
    for info in infos:
        if isinstance(info, str):  # some loaders keep nested columns as JSON text
            try:
                info = json.loads(info)
            except ValueError:
                info = None
        parsed.append(info if isinstance(info, dict) else None)
    return parsed


def passkrl_reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
                   **kwargs: Any) -> list[float]:
    """TRL reward function for ``passkrl data`` rows (columns ``data_source``, ``reward_model``, ``extra_info``).

    ``workers`` (keyword, default 1) scores maths and isolated puzzles in that many processes.
    """
    completions = list(completions or [])
    n = len(completions)
    sources = _column(kwargs, "data_source", n)
    if sources is None:
        raise ValueError("passkrl_reward needs a 'data_source' column (rows of `passkrl data`); "
                         "for other data sets use make_trl_reward(task)")
    return compute_score_batch(sources, [completion_text(c) for c in completions], _ground_truths(kwargs, n),
                               _extra_infos(kwargs, n), workers=int(kwargs.get("workers", 1)))


def make_trl_reward(task: str | None = None, *, workers: int = 1, **options: Any) -> Callable[..., list[float]]:
    """A TRL reward function.

    ``task=None``: :func:`passkrl_reward` (rows carry ``data_source``). A task name: rows with a
    ``ground_truth`` / ``answer`` column (or ``reward_model``) are scored as that task's rows, e.g.
    ``"maths"`` (maths answers), ``"puzzles/<dataset>"`` (answers to that reasoning-gym data set: ground
    truth JSON from ``passkrl data`` or a plain reference answer), ``"maze"`` (the ground truth is the
    grid), or a task of your own. ``options`` go into ``extra_info`` (e.g. ``binary_threshold=1.0``,
    ``lenient=True``).
    """
    if task is None:
        source = None
    else:
        try:
            source = data_source_of(task)
        except ValueError as err:
            raise ValueError(f"make_trl_reward: task must be None or a registered task whose rows have one "
                             f"data_source, got {task!r}: {err}") from None

    def reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] | None = None,
               **kwargs: Any) -> list[float]:
        completions = list(completions or [])
        n = len(completions)
        if source is None:
            return passkrl_reward(prompts, completions, workers=workers, **kwargs)
        infos = [{**(info or {}), **options} if options else info for info in _extra_infos(kwargs, n)]
        return compute_score_batch([source] * n, [completion_text(c) for c in completions], _ground_truths(kwargs, n),
                                   infos, workers=workers)

    reward.__name__ = f"passkrl_{(task or 'reward').replace('/', '_')}"  # TRL logs rewards by function name
    return reward


def maze_reward(
    prompts: Sequence[Any] | None = None,
    completions: Sequence[Any] | None = None,
    grid: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[float]:
    """TRL reward function: 1.0 iff the completion's final ``<answer>`` solves the maze, else 0.0.

    ``grid`` is the data set column holding each row's maze grid (see :func:`maze_dataset`);
    completions may be strings or chat messages. Scoring is :func:`passkrl.tasks.maze.score`.
    """
    from passkrl.tasks import maze

    completions = list(completions or [])
    if grid is None:
        raise ValueError("maze_reward needs a 'grid' column in the data set (see passkrl.tasks.rewards.maze_dataset)")
    grids = list(grid)
    if len(grids) != len(completions):
        raise ValueError(f"maze_reward got {len(grids)} grids for {len(completions)} completions")
    return [maze.score(g, completion_text(c)) for g, c in zip(grids, completions)]


def maze_dataset(sizes: Sequence[int] = (9, 11, 13, 15), n: int = 1000, seed: int = 0, *,
                 conversational: bool = True):
    """A ``datasets.Dataset`` of ``n`` distinct mazes for ``GRPOTrainer`` with :func:`maze_reward`.

    Columns: ``prompt`` (the paper's Fig. 14 prompt; a one-message chat if ``conversational``,
    else plain text), ``grid``, ``size`` and ``solution`` (a shortest path, for inspection).
    Deterministic given ``seed``; sizes are taken round-robin (:func:`passkrl.tasks.maze.make_mazes`).
    """
    from datasets import Dataset

    from passkrl.tasks import maze

    mazes = maze.make_mazes(list(sizes), n, seed)
    prompts: list[Any] = [maze.prompt(m) for m in mazes]
    if conversational:
        prompts = [[{"role": "user", "content": p}] for p in prompts]
    return Dataset.from_dict({
        "prompt": prompts,
        "grid": [m.grid for m in mazes],
        "size": [m.size for m in mazes],
        "solution": [m.solution for m in mazes],
    })


__all__ = ["completion_text", "maze_dataset", "maze_reward", "compute_score", "compute_score_batch", "make_trl_reward", "passkrl_reward", "route"]
