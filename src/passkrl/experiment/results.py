"""From finished runs to numbers: per-arm results and claim verdicts with 95% intervals.

Intervals. A study has ``S`` seeds; each seed has its own test mazes (the same for every arm of
that seed), ``M`` of them. Test-maze metrics (pass@1, pass@k, their gap, alpha_k) get a two-level
percentile bootstrap: resample the seeds, and within each resampled seed its test mazes, then
average; the 95% interval is the 2.5-97.5 percentile range over 2000 resamples. It reflects both
training noise (seeds) and evaluation noise (which mazes were drawn). Metrics stored only per run
(entropy, distinct wrong answers) are bootstrapped over seeds alone. With 3 seeds the seed level is
coarse; the report says how many seeds and mazes every number rests on.

Claims compare two arms on the same seeds and mazes, so their difference is bootstrapped *paired*
(the same resampled seeds and mazes for both arms). Verdict: "reproduced" when the whole interval
of ``better - worse`` lies above 0, "not reproduced" when it lies below 0 (the opposite holds),
"inconclusive" otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from passkrl.experiment.runner import RunSpec
from passkrl.experiment.studies import Claim, Study
from passkrl.metrics import pass_at_k
from passkrl.train.config import parse_int_list

N_BOOTSTRAP = 2000
PER_MAZE = ("pass@1", "pass@k", "gap", "alpha_k")
PER_RUN = ("entropy", "distinct_wrong")
SIZE_SETS = ("all", "trained", "unseen")
ALPHA_K = 4  # the k of alpha_k = k (1 - p)^(k-1) shown by the diagnostic study (the training k)


@dataclass
class RunRecords:
    """The evaluations of one finished run, in step order."""

    spec: RunSpec
    evals: list[dict[str, Any]]
    seconds: float | None
    step_times: list[dict[str, float]]  # per RL step: seconds spent sampling, scoring, on advantages, updating

    @property
    def final(self) -> dict[str, Any]:
        return self.evals[-1]


def load_run(spec: RunSpec) -> RunRecords:
    path = spec.run_dir / "metrics.jsonl"
    evals, step_times = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("kind") == "eval":
                evals.append(record)
            elif record.get("kind") == "train":
                step_times.append(record["time_s"])
    if not evals or "correct" not in evals[-1]:
        raise ValueError(f"{path} has no per-maze evaluation records; rerun it with this version of passkrl")
    timing = spec.run_dir / "timing.json"
    seconds = json.loads(timing.read_text())["seconds"] if timing.exists() else None
    return RunRecords(spec, evals, seconds, step_times)


def per_maze(record: dict[str, Any], metric: str, sizes: str, train_sizes: set[int]) -> np.ndarray:
    """Per-maze values of a test metric in an evaluation record, on the chosen maze sizes."""
    n = int(record["samples_per_maze"])
    correct = np.asarray(record["correct"], dtype=np.int64)
    maze_sizes = np.asarray(record["sizes"], dtype=np.int64)
    if sizes == "trained":
        keep = np.isin(maze_sizes, list(train_sizes))
    elif sizes == "unseen":
        keep = ~np.isin(maze_sizes, list(train_sizes))
    else:
        keep = np.ones(correct.shape, dtype=bool)
    correct = correct[keep]
    if metric == "pass@1":
        return correct / n
    if metric == "pass@k":
        return np.asarray(pass_at_k(n, correct, n), dtype=np.float64)
    if metric == "gap":
        return np.asarray(pass_at_k(n, correct, n), dtype=np.float64) - correct / n
    if metric == "alpha_k":
        return ALPHA_K * (1.0 - correct / n) ** (ALPHA_K - 1)
    raise ValueError(f"unknown per-maze metric {metric!r}")


def _bootstrap_means(values_by_seed: list[np.ndarray], rng: np.random.Generator, *, mazes: bool) -> np.ndarray:
    """``[N_BOOTSTRAP]`` resampled means: seeds with replacement, then mazes within each seed."""
    n_seeds = len(values_by_seed)
    if mazes:
        seed_means = np.stack([
            v[rng.integers(0, v.size, size=(N_BOOTSTRAP, v.size))].mean(axis=1) if v.size else np.full(N_BOOTSTRAP, np.nan)
            for v in values_by_seed
        ])  # [S, B]
    else:
        seed_means = np.stack([np.full(N_BOOTSTRAP, float(np.mean(v))) for v in values_by_seed])
    pick = rng.integers(0, n_seeds, size=(N_BOOTSTRAP, n_seeds))  # [B, S]
    return seed_means[pick, np.arange(N_BOOTSTRAP)[:, None]].mean(axis=1)


def summarise(values_by_seed: list[np.ndarray], *, mazes: bool, seed: int = 0) -> dict[str, Any]:
    """Mean over seeds of the per-seed means, with its 95% bootstrap interval."""
    if any(v.size == 0 for v in values_by_seed):  # e.g. no unseen maze sizes in this study's test set
        return {"mean": None, "low": None, "high": None, "per_seed": []}
    rng = np.random.default_rng(seed)
    per_seed = [float(np.mean(v)) for v in values_by_seed]
    draws = _bootstrap_means(values_by_seed, rng, mazes=mazes)
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return {"mean": float(np.mean(per_seed)), "low": float(low), "high": float(high), "per_seed": per_seed}


def paired_difference(better: list[np.ndarray], worse: list[np.ndarray], *, mazes: bool, seed: int = 0) -> dict[str, Any]:
    """Mean of ``better - worse`` (paired by seed and maze) with its 95% bootstrap interval."""
    differences = [b - w for b, w in zip(better, worse, strict=True)]
    return summarise(differences, mazes=mazes, seed=seed)


def verdict(difference: dict[str, Any]) -> str:
    if difference["mean"] is None:
        return "not measured"
    if difference["low"] > 0:
        return "reproduced"
    if difference["high"] < 0:
        return "not reproduced"
    return "inconclusive"


def _values(runs: list[RunRecords], metric: str, sizes: str, train_sizes: set[int], which: int = -1) -> list[np.ndarray]:
    if metric in PER_MAZE:
        return [per_maze(r.evals[which], metric, sizes, train_sizes) for r in runs]
    return [np.array([float(r.evals[which][metric])]) for r in runs]


def collect(study: Study, specs: list[RunSpec]) -> dict[str, Any]:
    """Every number of the study's report, as a JSON-ready dict."""
    runs_by_arm: dict[str, list[RunRecords]] = {arm.label: [] for arm in study.arms}
    for spec in specs:
        runs_by_arm[spec.arm.label].append(load_run(spec))
    first = specs[0].config
    train_sizes = set(parse_int_list(first.train_sizes, "train_sizes"))
    test_sizes = parse_int_list(first.test_sizes, "test_sizes")
    seeds = sorted({spec.seed for spec in specs})
    samples = int(next(iter(runs_by_arm.values()))[0].final["samples_per_maze"])

    arms = []
    for arm in study.arms:
        runs = sorted(runs_by_arm[arm.label], key=lambda r: r.spec.seed)
        final, before = {}, {}
        for metric in PER_MAZE + PER_RUN:
            for sizes in SIZE_SETS if metric in PER_MAZE else ("all",):
                key = f"{metric}/{sizes}"
                mazes = metric in PER_MAZE
                final[key] = summarise(_values(runs, metric, sizes, train_sizes), mazes=mazes)
                before[key] = summarise(_values(runs, metric, sizes, train_sizes, which=0), mazes=mazes)
        arms.append({
            "label": arm.label,
            "note": arm.note,
            "overrides": arm.overrides,
            "runs": [str(r.spec.run_dir.name) for r in runs],
            "train_seconds": [r.seconds for r in runs],
            "step_ms": _median_step_ms(runs),
            "final": final,
            "before": before,
        })

    claims = []
    for claim in study.claims:
        claims.append(_judge(claim, runs_by_arm, train_sizes))

    curves: dict[str, Any] = {}
    for metric in study.curves:
        curves[metric] = {}
        for arm in study.arms:
            runs = sorted(runs_by_arm[arm.label], key=lambda r: r.spec.seed)
            steps = [int(record["step"]) for record in runs[0].evals]
            points = [summarise(_values(runs, metric, "all", train_sizes, which=i), mazes=metric in PER_MAZE)
                      for i in range(len(steps))]
            curves[metric][arm.label] = {
                "steps": steps,
                "mean": [p["mean"] for p in points],
                "low": [p["low"] for p in points],
                "high": [p["high"] for p in points],
            }

    return {
        "study": study.name,
        "title": study.title,
        "question": study.question,
        "seeds": seeds,
        "rl_steps": first.rl_steps,
        "test_mazes_per_size": first.n_test_mazes,
        "test_sizes": test_sizes,
        "train_sizes": sorted(train_sizes),
        "samples_per_maze": samples,
        "k_of_pass_at_k": samples,
        "n_bootstrap": N_BOOTSTRAP,
        "arms": arms,
        "claims": claims,
        "curves": curves,
    }


def _median_step_ms(runs: list[RunRecords]) -> dict[str, float]:
    """Median milliseconds per RL step of each phase, over every step of every seed."""
    times = [t for r in runs for t in r.step_times]
    phases = ("sample", "score", "advantage", "update")
    out = {phase: float(np.median([t[phase] for t in times]) * 1e3) for phase in phases}
    out["total"] = float(np.median([sum(t[phase] for phase in phases) for t in times]) * 1e3)
    return out


def _judge(claim: Claim, runs_by_arm: dict[str, list[RunRecords]], train_sizes: set[int]) -> dict[str, Any]:
    better = sorted(runs_by_arm[claim.better], key=lambda r: r.spec.seed)
    worse = sorted(runs_by_arm[claim.worse], key=lambda r: r.spec.seed)
    if [r.spec.seed for r in better] != [r.spec.seed for r in worse]:
        raise ValueError(f"claim {claim.text!r}: arms {claim.better!r} and {claim.worse!r} ran different seeds")
    mazes = claim.metric in PER_MAZE
    difference = paired_difference(
        _values(better, claim.metric, claim.sizes, train_sizes),
        _values(worse, claim.metric, claim.sizes, train_sizes),
        mazes=mazes,
    )
    return {
        "text": claim.text,
        "source": claim.source,
        "metric": claim.metric,
        "sizes": claim.sizes,
        "better": claim.better,
        "worse": claim.worse,
        "difference": difference,
        "verdict": verdict(difference),
    }


def read_results(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
