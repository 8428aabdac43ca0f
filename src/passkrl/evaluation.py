"""Evaluate sampled answers: unbiased pass@k / max@k / maj@k per ``k`` with bootstrap intervals.

>>> from passkrl.evaluation import evaluate_path, format_table
>>> result = evaluate_path("samples.jsonl", ks=[1, 4, 16])        # doctest: +SKIP
>>> print(format_table(result))                                   # doctest: +SKIP

``passkrl eval`` is this module behind a command line. Input: one JSON object per line, one per
sampled answer::

    {"prompt_id": "maze-17", "correct": true, "answer": "RRDDL"}
    {"prompt_id": 3, "reward": 0.25}

* ``prompt_id`` (string or integer; ``1`` and ``"1"`` are different prompts) groups the samples;
* exactly one of ``reward`` (a finite number) or ``correct`` (``true``/``false``/``0``/``1``);
* optional ``answer`` (string or ``null``): enables maj@k and the count of distinct wrong answers.
  Lines without it count as unanswered (no vote). Other fields are ignored; blank lines are skipped.

verl's generation dumps are read as they are: a line with ``input``, ``output`` and ``score`` is a
sample of the prompt ``input`` with reward ``score`` (its answer is the output's final ``<answer>``
or ``\\boxed{}``), and a directory (``trainer.validation_data_dir``) means its newest ``<step>.jsonl``
(:func:`latest_dump`). verl's own ``best@N`` is a bootstrap estimate; this is the unbiased pass@k with
an interval.

A sample is *correct* when ``correct`` is true or ``reward >= threshold`` (default 1, so for binary
rewards ``reward == 1``). Reported, for each ``k``, as the mean over prompts with a
percentile-bootstrap interval over prompts (:func:`passkrl.core.metrics.bootstrap_ci`):

* ``pass@k``: unbiased ``1 - C(n-c, k)/C(n, k)`` per prompt (Chen et al. 2021, arXiv 2107.03374);
* ``max@k``: unbiased expected best reward of ``k`` samples, when rewards are not all 0/1;
* ``maj@k``: exact majority-vote accuracy (ties split at random), when answers are given;
* the number of distinct wrong answers per prompt (arXiv 2508.10751, Fig. 7a), when answers are given.

Prompts may have different numbers of samples ``n``. Every prompt must have ``n >= k`` for every
requested ``k``: an explicit ``k`` larger than some prompt's ``n`` is an error naming that prompt
(dropping the prompt, or the ``k``, silently would change what the number means). Without ``ks``
the default ``1,2,4,8,16,32`` is clipped to the smallest ``n``, with a note (:func:`choose_ks`).

Bad input raises ``ValueError`` (``FileNotFoundError`` for a missing file) naming the line and the
problem.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from passkrl.core.k import check_k
from passkrl.core.metrics import (
    bootstrap_ci,
    distinct_wrong_answers,
    maj_at_k,
    max_at_k,
    pass_at_k,
)
from passkrl.parsing import int_list
from passkrl.tasks.answers import extract_answer

DEFAULT_KS = (1, 2, 4, 8, 16, 32)

VERL_DUMP_FIELDS = ("input", "output", "score")
"""The fields of a line of verl's generation dumps (``trainer.validation_data_dir``, ``rollout_data_dir``):
``input`` (the prompt text), ``output`` (the response), ``gts``, ``score`` and ``step``."""


# ------------------------------------------------------------------------------------- reading


@dataclasses.dataclass
class PromptSamples:
    """The samples of one prompt, in file order."""

    prompt_id: str | int
    lines: list[int] = dataclasses.field(default_factory=list)  # line number of each sample in the file
    rewards: list[float] = dataclasses.field(default_factory=list)
    correct: list[bool] = dataclasses.field(default_factory=list)
    answers: list[str | None] = dataclasses.field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.rewards)


@dataclasses.dataclass(frozen=True)
class SampleSet:
    """The samples of a file grouped by prompt, in first-seen order."""

    prompts: list[PromptSamples]
    has_answers: bool  # at least one line carries an "answer" field
    binary: bool  # every reward is 0 or 1 (lines given as "correct" count as 0/1)
    path: Path  # the file read
    threshold: float  # a reward counts as correct when >= threshold


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {json.dumps(value) if isinstance(value, (str, bool)) else value!r}"


def _from_verl_dump(obj: dict[str, Any]) -> dict[str, Any]:
    """A verl dump line as a samples line: the prompt text groups, the score is the reward, the final
    ``<answer>`` / ``\\boxed{}`` of the output is the answer (for maj@k), when it has one."""
    if not isinstance(obj["input"], str):
        raise ValueError(f"'input' of a verl dump line must be the prompt text, got {_describe(obj['input'])}")
    line = {"prompt_id": obj["input"], "reward": obj["score"]}
    answer = extract_answer(obj["output"]) if isinstance(obj["output"], str) else None
    if answer is not None:
        line["answer"] = answer.strip()
    return line


def _reward(obj: dict[str, Any], threshold: float) -> tuple[float, bool]:
    """(reward, correct) of a line with exactly one of ``reward`` and ``correct``."""
    has_reward, has_correct = "reward" in obj, "correct" in obj
    if has_reward and has_correct:
        raise ValueError("has both 'reward' and 'correct'; give exactly one")
    if not (has_reward or has_correct):
        raise ValueError("needs a 'reward' (number) or a 'correct' (true/false/0/1) field")
    if has_correct:
        flag = obj["correct"]
        if isinstance(flag, bool):
            correct = flag
        elif isinstance(flag, int) and flag in (0, 1):
            correct = bool(flag)
        else:
            raise ValueError(f"'correct' must be true, false, 0 or 1, got {_describe(flag)}")
        return (1.0 if correct else 0.0), correct
    reward = obj["reward"]
    if isinstance(reward, bool) or not isinstance(reward, (int, float)):
        raise ValueError(f"'reward' must be a number, got {_describe(reward)} (use 'correct' for true/false)")
    try:
        reward = float(reward)
    except OverflowError:
        raise ValueError("'reward' is too large for a float") from None
    if not math.isfinite(reward):
        raise ValueError(f"'reward' must be finite, got {reward}")
    return reward, reward >= threshold


def parse_line(obj: Any, threshold: float = 1.0) -> tuple[str | int, float, bool, bool, str | None]:
    """``(prompt_id, reward, correct, has_answer, answer)`` of one decoded line (a samples line or a verl
    dump line); ``ValueError`` says what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "prompt_id" not in obj and all(field in obj for field in VERL_DUMP_FIELDS):
        obj = _from_verl_dump(obj)
    if "prompt_id" not in obj:
        raise ValueError("missing field 'prompt_id'")
    pid = obj["prompt_id"]
    if isinstance(pid, bool) or not isinstance(pid, (str, int)):
        raise ValueError(f"'prompt_id' must be a string or an integer, got {_describe(pid)}")
    reward, correct = _reward(obj, threshold)
    answer = obj.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise ValueError(f"'answer' must be a string or null, got {_describe(answer)} (quote it)")
    return pid, reward, correct, "answer" in obj, answer


def latest_dump(directory: str | Path) -> tuple[Path, str]:
    """The newest ``<step>.jsonl`` of a verl dump directory, and a note saying which it is."""
    steps = sorted((int(p.stem), p) for p in Path(directory).glob("*.jsonl") if p.stem.isdigit())
    if not steps:
        raise ValueError(f"samples path {str(directory)!r} is a directory without verl dumps (<step>.jsonl); "
                         "give a JSONL file, or verl's trainer.validation_data_dir")
    step, path = steps[-1]
    return path, f"reading verl's dump of step {step} ({path}), the latest of {len(steps)} step(s)"


def _check_one_step(steps: dict[Any, int], obj: Any, line_no: int) -> None:
    """Record the ``step`` of a verl dump line; ``ValueError`` when a file mixes two steps."""
    if isinstance(obj, dict) and "prompt_id" not in obj and "step" in obj:
        steps.setdefault(obj["step"], line_no)
        if len(steps) > 1:
            first, second = list(steps)[:2]
            raise ValueError(f"verl dump lines of steps {first} and {second} in one file; pass one "
                             "step's dump (verl writes DIR/<step>.jsonl)")


def read_samples(path: str | Path, *, threshold: float = 1.0) -> SampleSet:
    """Read a samples JSONL file (format in the module docstring), grouped by prompt in first-seen order.

    A line of verl's generation dumps (``input``, ``output``, ``score``, ``step``) is read as a sample of
    the prompt ``input`` with reward ``score``; one file must hold one step.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"samples file {str(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"samples path {str(path)!r} is a directory, expected a JSONL file")
    prompts: dict[str | int, PromptSamples] = {}
    steps: dict[Any, int] = {}  # verl dump step -> first line
    has_answers = False
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as err:
                    raise ValueError(f"not valid JSON ({err.msg} at column {err.colno})") from None
                pid, reward, correct, has_answer, answer = parse_line(obj, threshold)
                _check_one_step(steps, obj, line_no)
            except UnicodeDecodeError:
                raise ValueError(f"{path}, line {line_no}: not valid UTF-8") from None
            except ValueError as err:
                raise ValueError(f"{path}, line {line_no}: {err}") from None
            group = prompts.setdefault(pid, PromptSamples(pid))
            group.lines.append(line_no)
            group.rewards.append(reward)
            group.correct.append(correct)
            group.answers.append(answer)
            has_answers |= has_answer
    if not prompts:
        raise ValueError(f"{path} holds no samples (every line is blank)")
    binary = all(r in (0.0, 1.0) for g in prompts.values() for r in g.rewards)
    return SampleSet(list(prompts.values()), has_answers, binary, path, threshold)


def parse_ks(text: str | Sequence[int]) -> list[int]:
    """``"1,4,16"`` (or a sequence of integers) -> ``[1, 4, 16]``, sorted, duplicates removed;
    ``ValueError`` naming ``--k`` for anything else."""
    ks = int_list(text, "--k", example="1,4,16", check=_k_complaint)
    return sorted(set(ks))


def _k_complaint(k: int) -> str | None:
    """What the one k rule (:func:`passkrl.core.k.check_k`) says of one parsed ``--k`` value, or None."""
    try:
        check_k(k, name="k")
    except ValueError:
        return "every k must be >= 1"
    return None


def choose_ks(samples: SampleSet, ks: str | Sequence[int] | None = None) -> tuple[list[int], str | None]:
    """The k values to report and an optional note; ``ValueError`` when an explicit k exceeds some
    prompt's number of samples. Without ``ks``: :data:`DEFAULT_KS` up to the smallest group."""
    smallest = min(samples.prompts, key=lambda g: g.n)
    if ks is None:
        chosen = [k for k in DEFAULT_KS if k <= smallest.n]
        note = None
        if len(chosen) < len(DEFAULT_KS):
            note = (f"default k clipped to {','.join(map(str, chosen))}: prompt {smallest.prompt_id!r} "
                    f"has only {smallest.n} samples")
        return chosen, note
    chosen = parse_ks(ks)
    for k in chosen:  # the k rule against the smallest group: k <= n for every prompt
        try:
            check_k(k, smallest.n, n_name="n", where=f" (the samples of prompt {smallest.prompt_id!r}, first seen on "
                                                    f"line {smallest.lines[0]})")
        except ValueError as err:
            short = sum(g.n < k for g in samples.prompts)
            raise ValueError(f"{err}; {short} of {len(samples.prompts)} prompts have fewer than {k} samples. Use --k "
                             f"values <= {smallest.n}, or draw more samples for those prompts") from None
    return chosen, None


# ----------------------------------------------------------------------------------- evaluating


def check_answer_consistency(group: PromptSamples) -> None:
    """``ValueError`` when one answer of a prompt is correct on one line and wrong on another."""
    first: dict[str, tuple[bool, int]] = {}
    for answer, ok, line in zip(group.answers, group.correct, group.lines):
        if answer is None:
            continue
        seen = first.setdefault(answer, (ok, line))
        if seen[0] != ok:
            good, bad = (seen[1], line) if seen[0] else (line, seen[1])
            raise ValueError(
                f"answer {answer!r} of prompt {group.prompt_id!r} is correct on line {good} but wrong on line "
                f"{bad}; maj@k needs correctness to depend only on the answer (drop the 'answer' field to skip maj@k)"
            )


def _interval_rows(values_pk: np.ndarray, ks: list[int], *, level: float, n_boot: int,
                   seed: int) -> list[dict[str, float]]:
    ci = bootstrap_ci(values_pk, n_boot=n_boot, level=level, seed=seed)
    return [
        {"k": k, "mean": float(ci.mean[j]), "low": float(ci.low[j]), "high": float(ci.high[j])}
        for j, k in enumerate(ks)
    ]


def metrics_per_prompt(samples: SampleSet, ks: list[int]) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """``({"pass@k": [P, K], "max@k": [P, K], "maj@k": [P, K]}, distinct wrong answers [P])``: max@k only
    for rewards that are not all 0/1, maj@k and the wrong answers (else None) only when answers are given."""
    groups = samples.prompts
    n_p = np.array([g.n for g in groups])  # [P] samples per prompt
    c_p = np.array([sum(g.correct) for g in groups])  # [P] correct samples per prompt
    ks_arr = np.array(ks)
    metrics: dict[str, np.ndarray] = {"pass@k": pass_at_k(n_p[:, None], c_p[:, None], ks_arr[None, :])}  # [P, K]
    if not samples.binary:
        # Ragged rewards -> padded [P, N_max] with a validity mask.
        rewards_pn = np.zeros((len(groups), int(n_p.max())))
        mask_pn = np.arange(rewards_pn.shape[1])[None, :] < n_p[:, None]
        for i, g in enumerate(groups):
            rewards_pn[i, : g.n] = g.rewards
        metrics["max@k"] = np.stack([max_at_k(rewards_pn, k, mask=mask_pn) for k in ks], axis=1)
    wrong = None
    if samples.has_answers:
        for g in groups:
            check_answer_consistency(g)
        answers = [g.answers for g in groups]
        correct = [g.correct for g in groups]
        metrics["maj@k"] = np.stack([maj_at_k(answers, correct, k) for k in ks], axis=1)
        wrong = distinct_wrong_answers(answers, correct).astype(np.float64)  # [P]
    return metrics, wrong


def evaluate(samples: SampleSet, ks: list[int], *, level: float = 0.95, n_boot: int = 2000, seed: int = 0,
             source: str | Path | None = None) -> dict[str, Any]:
    """Every number of the report, as a JSON-ready dict.

    Layout: ``{"k": [...], "metrics": {"pass@k": [{"k", "mean", "low", "high"}, ...], "max@k": ...,
    "maj@k": ...}, "distinct_wrong_answers": {"mean", "low", "high"}, "per_prompt": {...}}`` plus the
    header numbers (``samples``, ``n_prompts``, ``n_samples``, ``samples_per_prompt``, ``rewards``,
    ``threshold``, ``level``, ``n_boot``, ``seed``). ``source`` names the samples in the report (default:
    the file read); intervals are ``level`` percentile-bootstrap intervals over prompts.
    """
    groups = samples.prompts
    n_p = np.array([g.n for g in groups])  # [P]
    metrics, wrong = metrics_per_prompt(samples, ks)
    per_prompt: dict[str, Any] = {
        "prompt_id": [g.prompt_id for g in groups],
        "n": n_p.tolist(),
        "n_correct": [int(sum(g.correct)) for g in groups],
    }
    if not samples.binary:
        per_prompt["mean_reward"] = [float(np.mean(g.rewards)) for g in groups]
    if wrong is not None:
        per_prompt["distinct_wrong_answers"] = wrong.astype(int).tolist()
    for name, values_pk in metrics.items():
        per_prompt[name] = values_pk.tolist()
    boot = {"level": level, "n_boot": n_boot, "seed": seed}
    result: dict[str, Any] = {
        "samples": str(samples.path if source is None else source),
        "n_prompts": len(groups),
        "n_samples": int(n_p.sum()),
        "samples_per_prompt": {"min": int(n_p.min()), "max": int(n_p.max())},
        "rewards": "binary" if samples.binary else "continuous",
        "threshold": samples.threshold,
        **boot,
        "k": ks,
        "metrics": {name: _interval_rows(values_pk, ks, **boot) for name, values_pk in metrics.items()},
        "per_prompt": per_prompt,
    }
    if wrong is not None:
        ci = bootstrap_ci(wrong, n_boot=n_boot, level=level, seed=seed)
        result["distinct_wrong_answers"] = {"mean": ci.mean, "low": ci.low, "high": ci.high}
    return result


def evaluate_path(path: str | Path, ks: str | Sequence[int] | None = None, *, threshold: float = 1.0,
                  level: float = 0.95, n_boot: int = 2000, seed: int = 0,
                  note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """:func:`evaluate` of a samples file, or of the latest step of a verl dump directory.

    ``ks`` as in :func:`choose_ks`; ``note`` receives the notes (which dump step is read, how the default
    ``k`` values were clipped) as they arise.
    """
    source = Path(path)
    file = source
    if source.is_dir():  # verl's trainer.validation_data_dir
        file, dump_note = latest_dump(source)
        if note is not None:
            note(dump_note)
    samples = read_samples(file, threshold=threshold)
    chosen, ks_note = choose_ks(samples, ks)
    if ks_note and note is not None:
        note(ks_note)
    return evaluate(samples, chosen, level=level, n_boot=n_boot, seed=seed, source=source)


# ------------------------------------------------------------------------------------- output


def _cell(row: dict[str, float]) -> str:
    return f"{row['mean']:.4f} [{row['low']:.4f}, {row['high']:.4f}]"


def format_table(result: dict[str, Any]) -> str:
    """The result of :func:`evaluate` as plain, aligned text: a header and one row per k."""
    spp = result["samples_per_prompt"]
    level = f"{100 * result['level']:g}%"
    if result["rewards"] == "binary":
        correct_rule = "correct = reward >= {:g} (binary rewards)".format(result["threshold"])
    else:
        correct_rule = "pass@k: correct = reward >= {:g}; max@k: expected best reward of k".format(result["threshold"])
    lines = [
        f"samples: {result['samples']}",
        f"prompts: {result['n_prompts']}   samples per prompt: min {spp['min']}, max {spp['max']}   "
        f"samples: {result['n_samples']}",
        f"{correct_rule}; [{level} bootstrap interval over prompts, {result['n_boot']} resamples, seed {result['seed']}]",
        "",
    ]
    names = list(result["metrics"])
    cells = [[str(k)] + [_cell(result["metrics"][name][j]) for name in names] for j, k in enumerate(result["k"])]
    header = ["k"] + names
    widths = [max(len(header[c]), *(len(row[c]) for row in cells)) for c in range(len(header))]

    def fmt(row: list[str]) -> str:
        padded = (cell.rjust(widths[c]) if c == 0 else cell.ljust(widths[c]) for c, cell in enumerate(row))
        return "  ".join(padded).rstrip()

    lines.append(fmt(header))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(fmt(row) for row in cells)
    if "distinct_wrong_answers" in result:
        d = result["distinct_wrong_answers"]
        lines.append("")
        lines.append(f"distinct wrong answers per prompt: {d['mean']:.2f} [{d['low']:.2f}, {d['high']:.2f}]")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: str | Path) -> None:
    """Each metric of :func:`evaluate`'s result against k on a log2 axis, its interval as a band, as a PNG."""
    from passkrl.report.plotting import log2_k_axis, plot_with_band, pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ks = result["k"]
    for name, rows in result["metrics"].items():
        plot_with_band(ax, ks, [r["mean"] for r in rows], [r["low"] for r in rows], [r["high"] for r in rows],
                       label=name)
    log2_k_axis(ax, ks)
    all_values = [r[f] for rows in result["metrics"].values() for r in rows for f in ("low", "high")]
    if 0.0 <= min(all_values) and max(all_values) <= 1.0:
        ax.set_ylim(0.0, 1.0)
    spp = result["samples_per_prompt"]
    n_text = str(spp["min"]) if spp["min"] == spp["max"] else f"{spp['min']}-{spp['max']}"
    ax.set(xlabel="k", ylabel="score (mean over prompts)",
           title=f"{Path(result['samples']).name}: {result['n_prompts']} prompts, n = {n_text}")
    ax.grid(True, alpha=0.3)
    ax.legend(title=f"{100 * result['level']:g}% bootstrap band")
    save_png(fig, path)
