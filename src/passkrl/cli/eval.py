"""``passkrl eval SAMPLES.jsonl``: unbiased pass@k / max@k / maj@k with bootstrap intervals.

Input: one JSON object per line, one per sampled answer::

    {"prompt_id": "maze-17", "correct": true, "answer": "RRDDL"}
    {"prompt_id": 3, "reward": 0.25}

* ``prompt_id`` (string or integer; ``1`` and ``"1"`` are different prompts) groups the samples;
* exactly one of ``reward`` (a finite number) or ``correct`` (``true``/``false``/``0``/``1``);
* optional ``answer`` (string or ``null``): enables maj@k and the count of distinct wrong answers.
  Lines without it count as unanswered (no vote). Other fields are ignored; blank lines are skipped.

verl's generation dumps are read as they are: a line with ``input``, ``output`` and ``score`` is a
sample of the prompt ``input`` with reward ``score`` (its answer is the output's final ``<answer>``
or ``\\boxed{}``), and a directory (``trainer.validation_data_dir``) means its newest ``<step>.jsonl``.
verl's own ``best@N`` is a bootstrap estimate; this is the unbiased pass@k with an interval.

A sample is *correct* when ``correct`` is true or ``reward >= --threshold`` (default 1, so for
binary rewards ``reward == 1``). Reported, for each ``k``, as the mean over prompts with a
percentile-bootstrap interval over prompts (:func:`passkrl.core.metrics.bootstrap_ci`):

* ``pass@k``: unbiased ``1 - C(n-c, k)/C(n, k)`` per prompt (Chen et al. 2021, arXiv 2107.03374);
* ``max@k``: unbiased expected best reward of ``k`` samples, when rewards are not all 0/1;
* ``maj@k``: exact majority-vote accuracy (ties split at random), when answers are given;
* the number of distinct wrong answers per prompt (arXiv 2508.10751, Fig. 7a), when answers are given.

Prompts may have different numbers of samples ``n``. Every prompt must have ``n >= k`` for every
requested ``k``: an explicit ``--k`` larger than some prompt's ``n`` is an error naming that prompt
(dropping the prompt, or the ``k``, silently would change what the number means). Without ``--k``
the default ``1,2,4,8,16,32`` is clipped to the smallest ``n``, with a note on stderr.

Bad input raises ``ValueError`` (``FileNotFoundError`` for a missing file) naming the line and
the problem; the ``passkrl`` dispatcher prints it as one line and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import tyro

from passkrl.core.metrics import (
    bootstrap_ci,
    distinct_wrong_answers,
    maj_at_k,
    max_at_k,
    pass_at_k,
)
from passkrl.io import check_output_file, write_json_atomic
from passkrl.parsing import IntTuple, int_list
from passkrl.tasks.answers import extract_answer

DEFAULT_KS = (1, 2, 4, 8, 16, 32)


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Unbiased pass@k / max@k / maj@k with 95% bootstrap intervals from a JSONL of samples."""

    samples: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="SAMPLES.jsonl")]
    """JSONL file, one sampled answer per line: {"prompt_id": ..., "reward": x | "correct": b, "answer": "..."}; or a verl generation dump (a <step>.jsonl, or the trainer.validation_data_dir directory: its latest step)."""
    k: IntTuple | None = None
    """k values, e.g. 1,4,16 or 1 4 16; each must be <= every prompt's number of samples. Default: 1,2,4,8,16,32 up to the smallest number of samples per prompt."""
    threshold: float = 1.0
    """A sample given as a reward counts as correct when reward >= threshold."""
    plot: Annotated[Path | None, tyro.conf.arg(metavar="FILE.png")] = None
    """Draw the metrics against k (log2 axis, with interval bands) into this PNG file."""
    json: Annotated[Path | None, tyro.conf.arg(metavar="FILE.json")] = None
    """Write every number (summary and per prompt) to this JSON file."""
    level: float = 0.95
    """Confidence level of the bootstrap intervals."""
    n_boot: int = 2000
    """Number of bootstrap resamples of the prompts."""
    seed: int = 0
    """Seed of the bootstrap."""


# ------------------------------------------------------------------------------------- reading


@dataclasses.dataclass
class PromptSamples:
    """The samples of one prompt, in file order."""

    prompt_id: str | int
    lines: list[int] = dataclasses.field(default_factory=list)
    rewards: list[float] = dataclasses.field(default_factory=list)
    correct: list[bool] = dataclasses.field(default_factory=list)
    answers: list[str | None] = dataclasses.field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.rewards)


@dataclasses.dataclass(frozen=True)
class SampleSet:
    prompts: list[PromptSamples]
    has_answers: bool  # at least one line carries an "answer" field
    binary: bool  # every reward is 0 or 1 (lines given as "correct" count as 0/1)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {json.dumps(value) if isinstance(value, (str, bool)) else value!r}"


VERL_DUMP_FIELDS = ("input", "output", "score")
"""The fields of a line of verl's generation dumps (``trainer.validation_data_dir``, ``rollout_data_dir``):
``input`` (the prompt text), ``output`` (the response), ``gts``, ``score`` and ``step``."""


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


def _parse_line(obj: Any, threshold: float) -> tuple[str | int, float, bool, bool, str | None]:
    """(prompt_id, reward, correct, has_answer, answer) of one decoded line; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    if "prompt_id" not in obj and all(field in obj for field in VERL_DUMP_FIELDS):
        obj = _from_verl_dump(obj)
    if "prompt_id" not in obj:
        raise ValueError("missing field 'prompt_id'")
    pid = obj["prompt_id"]
    if isinstance(pid, bool) or not isinstance(pid, (str, int)):
        raise ValueError(f"'prompt_id' must be a string or an integer, got {_describe(pid)}")
    has_reward, has_correct = "reward" in obj, "correct" in obj
    if has_reward and has_correct:
        raise ValueError("has both 'reward' and 'correct'; give exactly one")
    if not (has_reward or has_correct):
        raise ValueError("needs a 'reward' (number) or a 'correct' (true/false/0/1) field")
    if has_reward:
        reward = obj["reward"]
        if isinstance(reward, bool) or not isinstance(reward, (int, float)):
            raise ValueError(f"'reward' must be a number, got {_describe(reward)} (use 'correct' for true/false)")
        try:
            reward = float(reward)
        except OverflowError:
            raise ValueError("'reward' is too large for a float") from None
        if not math.isfinite(reward):
            raise ValueError(f"'reward' must be finite, got {reward}")
        correct = reward >= threshold
    else:
        flag = obj["correct"]
        if isinstance(flag, bool):
            correct = flag
        elif isinstance(flag, int) and flag in (0, 1):
            correct = bool(flag)
        else:
            raise ValueError(f"'correct' must be true, false, 0 or 1, got {_describe(flag)}")
        reward = 1.0 if correct else 0.0
    answer = obj.get("answer")
    if answer is not None and not isinstance(answer, str):
        raise ValueError(f"'answer' must be a string or null, got {_describe(answer)} (quote it)")
    return pid, reward, correct, "answer" in obj, answer


def latest_dump(directory: Path) -> tuple[Path, str]:
    """The newest ``<step>.jsonl`` of a verl dump directory, and a note saying which it is."""
    steps = sorted((int(p.stem), p) for p in Path(directory).glob("*.jsonl") if p.stem.isdigit())
    if not steps:
        raise ValueError(f"samples path {str(directory)!r} is a directory without verl dumps (<step>.jsonl); "
                         "give a JSONL file, or verl's trainer.validation_data_dir")
    step, path = steps[-1]
    return path, f"note: reading verl's dump of step {step} ({path}), the latest of {len(steps)} step(s)"


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
    steps: dict[Any, int] = {}
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
                pid, reward, correct, has_answer, answer = _parse_line(obj, threshold)
                if isinstance(obj, dict) and "prompt_id" not in obj and "step" in obj:
                    steps.setdefault(obj["step"], line_no)
                    if len(steps) > 1:
                        first, second = list(steps)[:2]
                        raise ValueError(f"verl dump lines of steps {first} and {second} in one file; pass one "
                                         "step's dump (verl writes DIR/<step>.jsonl)")
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
    return SampleSet(list(prompts.values()), has_answers, binary)


def parse_ks(text: str | tuple[int, ...]) -> list[int]:
    """``"1,4,16"`` -> ``[1, 4, 16]`` (sorted, duplicates removed); ValueError for anything else."""
    ks = int_list(text, "--k", example="1,4,16", check=lambda k: "every k must be >= 1" if k < 1 else None)
    return sorted(set(ks))


def choose_ks(spec: str | None, samples: SampleSet) -> tuple[list[int], str | None]:
    """The k values to report and an optional note; ValueError when an explicit k exceeds some prompt's n."""
    smallest = min(samples.prompts, key=lambda g: g.n)
    if spec is None:
        ks = [k for k in DEFAULT_KS if k <= smallest.n]
        note = None
        if len(ks) < len(DEFAULT_KS):
            note = (f"note: default k clipped to {','.join(map(str, ks))}: prompt {smallest.prompt_id!r} "
                    f"has only {smallest.n} samples")
        return ks, note
    ks = parse_ks(spec)
    too_big = [k for k in ks if k > smallest.n]
    if too_big:
        k = too_big[0]
        short = sum(g.n < k for g in samples.prompts)
        raise ValueError(
            f"k={k} is larger than the {smallest.n} samples of prompt {smallest.prompt_id!r} "
            f"(first seen on line {smallest.lines[0]}); {short} of {len(samples.prompts)} prompts have fewer "
            f"than {k} samples. Use --k values <= {smallest.n}, or draw more samples for those prompts"
        )
    return ks, None


# ----------------------------------------------------------------------------------- evaluating


def _check_answer_consistency(group: PromptSamples) -> None:
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


def _interval_rows(values_pk: np.ndarray, ks: list[int], cfg: EvalConfig) -> list[dict[str, float]]:
    ci = bootstrap_ci(values_pk, n_boot=cfg.n_boot, level=cfg.level, seed=cfg.seed)
    return [
        {"k": k, "mean": float(ci.mean[j]), "low": float(ci.low[j]), "high": float(ci.high[j])}
        for j, k in enumerate(ks)
    ]


def evaluate(samples: SampleSet, ks: list[int], cfg: EvalConfig) -> dict[str, Any]:
    """Every number of the report, as a JSON-ready dict (see :func:`main` for the layout)."""
    groups = samples.prompts
    n_p = np.array([g.n for g in groups])  # [P] samples per prompt
    c_p = np.array([sum(g.correct) for g in groups])  # [P] correct samples per prompt
    ks_arr = np.array(ks)
    per_prompt: dict[str, Any] = {
        "prompt_id": [g.prompt_id for g in groups],
        "n": n_p.tolist(),
        "n_correct": c_p.tolist(),
    }
    metrics: dict[str, np.ndarray] = {"pass@k": pass_at_k(n_p[:, None], c_p[:, None], ks_arr[None, :])}  # [P, K]
    if not samples.binary:
        # Ragged rewards -> padded [P, N_max] with a validity mask.
        rewards_pn = np.zeros((len(groups), int(n_p.max())))
        mask_pn = np.arange(rewards_pn.shape[1])[None, :] < n_p[:, None]
        for i, g in enumerate(groups):
            rewards_pn[i, : g.n] = g.rewards
        metrics["max@k"] = np.stack([max_at_k(rewards_pn, k, mask=mask_pn) for k in ks], axis=1)
        per_prompt["mean_reward"] = [float(np.mean(g.rewards)) for g in groups]
    wrong = None
    if samples.has_answers:
        for g in groups:
            _check_answer_consistency(g)
        answers = [g.answers for g in groups]
        correct = [g.correct for g in groups]
        metrics["maj@k"] = np.stack([maj_at_k(answers, correct, k) for k in ks], axis=1)
        wrong = distinct_wrong_answers(answers, correct).astype(np.float64)  # [P]
        per_prompt["distinct_wrong_answers"] = wrong.astype(int).tolist()
    for name, values_pk in metrics.items():
        per_prompt[name] = values_pk.tolist()
    result: dict[str, Any] = {
        "samples": str(cfg.samples),
        "n_prompts": len(groups),
        "n_samples": int(n_p.sum()),
        "samples_per_prompt": {"min": int(n_p.min()), "max": int(n_p.max())},
        "rewards": "binary" if samples.binary else "continuous",
        "threshold": cfg.threshold,
        "level": cfg.level,
        "n_boot": cfg.n_boot,
        "seed": cfg.seed,
        "k": ks,
        "metrics": {name: _interval_rows(values_pk, ks, cfg) for name, values_pk in metrics.items()},
        "per_prompt": per_prompt,
    }
    if wrong is not None:
        ci = bootstrap_ci(wrong, n_boot=cfg.n_boot, level=cfg.level, seed=cfg.seed)
        result["distinct_wrong_answers"] = {"mean": ci.mean, "low": ci.low, "high": ci.high}
    return result


# ------------------------------------------------------------------------------------- output


def _cell(row: dict[str, float]) -> str:
    return f"{row['mean']:.4f} [{row['low']:.4f}, {row['high']:.4f}]"


def format_table(result: dict[str, Any]) -> str:
    """Plain, aligned text: a header and one row per k."""
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
    fmt = lambda row: "  ".join(  # noqa: E731
        cell.rjust(widths[c]) if c == 0 else cell.ljust(widths[c]) for c, cell in enumerate(row)
    ).rstrip()
    lines.append(fmt(header))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(fmt(row) for row in cells)
    if "distinct_wrong_answers" in result:
        d = result["distinct_wrong_answers"]
        lines.append("")
        lines.append(f"distinct wrong answers per prompt: {d['mean']:.2f} [{d['low']:.2f}, {d['high']:.2f}]")
    return "\n".join(lines)


def draw(result: dict[str, Any], path: Path) -> None:
    """Each metric against k on a log2 axis, with its interval as a band."""
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


def main(argv: list[str]) -> int:
    """Run ``passkrl eval``; JSON layout: ``{"k": [...], "metrics": {"pass@k": [{"k", "mean", "low",
    "high"}, ...], "max@k": ..., "maj@k": ...}, "distinct_wrong_answers": {...}, "per_prompt": {...}}``
    plus the header numbers (``n_prompts``, ``samples_per_prompt``, ...)."""
    cfg = tyro.cli(EvalConfig, args=argv, prog="passkrl eval")
    if not 0.0 < cfg.level < 1.0:
        raise ValueError(f"--level must lie in (0, 1), got {cfg.level}")
    if cfg.n_boot < 1:
        raise ValueError(f"--n-boot must be >= 1, got {cfg.n_boot}")
    if not math.isfinite(cfg.threshold):
        raise ValueError(f"--threshold must be finite, got {cfg.threshold}")
    check_output_file(cfg.plot, "--plot", suffix=".png", inputs=(("SAMPLES", cfg.samples),))
    check_output_file(cfg.json, "--json", inputs=(("SAMPLES", cfg.samples),))
    if cfg.plot is not None and cfg.json is not None and cfg.plot == cfg.json:
        raise ValueError(f"--plot and --json name the same file {str(cfg.plot)!r}")
    if cfg.k is not None:
        parse_ks(cfg.k)  # fail on a malformed --k before reading a large file
    source = cfg.samples
    if source.is_dir():  # verl's trainer.validation_data_dir
        source, dump_note = latest_dump(source)
        print(dump_note, file=sys.stderr)
    samples = read_samples(source, threshold=cfg.threshold)
    ks, note = choose_ks(cfg.k, samples)
    if note:
        print(note, file=sys.stderr)
    result = evaluate(samples, ks, cfg)
    print(format_table(result))
    if cfg.json is not None:
        write_json_atomic(cfg.json, result)
        print(f"\nnumbers written to {cfg.json}")
    if cfg.plot is not None:
        draw(result, cfg.plot)
        print(f"plot written to {cfg.plot}")
    return 0
