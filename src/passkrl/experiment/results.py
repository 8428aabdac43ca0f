"""From finished runs to numbers: per-arm results and claim verdicts with intervals.

Intervals (:mod:`passkrl.experiment.stats`). A study's runs are units ``(seed, replicate)``: ``W``
warm-up seeds with ``R`` RL replicates each, every run evaluated on the same ``M`` test mazes (mazes are
crossed with runs). Every number gets the crossed random-effects interval of ``stats`` (eq. 4): the
warm-up means carry the warm-up, replicate and interaction noise with ``W - 1`` degrees of freedom, the
maze effect its own part with ``M - 1``. With one warm-up seed the rows are its replicates and the
interval does not cover the variation between warm-ups (the report says so). Its coverage is measured
by simulation in tests/experiment/test_stats.py. Metrics stored only per run (entropy, distinct wrong
answers) are intervals over the warm-up means alone.

Claims compare two arms on the same runs' units and mazes, so their difference is taken *paired*
(maze by maze, run by run) before the interval. A claim is a test of ``better - worse`` against 0, or,
for a non-inferiority claim with ``margin``, against ``-margin``. A study's claims are one family:
Holm's procedure adjusts their p-values, and each claim's adjusted interval is taken at the level of
the Holm step that decides it, so it excludes the null exactly when the adjusted verdict rejects.
Verdict: "reproduced" when the test rejects with the difference above the null, "not reproduced"
when it rejects below (the opposite holds, or for non-inferiority: worse by more than the margin),
"inconclusive" otherwise; both the unadjusted and the Holm verdict are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from passkrl.experiment import stats
from passkrl.experiment.runner import RunSpec
from passkrl.experiment.studies import WARM_UP, Claim, Study
from passkrl.metrics import pass_at_k
from passkrl.runs import RunDir
from passkrl.train.config import TrainConfig

PER_MAZE = ("pass@1", "pass@k", "gap", "alpha_k")
PER_RUN = ("entropy", "distinct_wrong")
SIZE_SETS = ("all", "trained", "unseen")
PASS_K = TrainConfig.k
"""The default primary k of a study's pass@k (and of alpha_k = k (1 - p)^(k-1)): the trainer's training k,
estimated without bias from every test maze's ``eval_samples`` answers (eq. 3). A study may declare
another (``Study.pass_k``); every k from 1 to the samples per maze is reported as well."""


@dataclass
class RunRecords:
    """The evaluations of one finished run, in step order."""

    spec: RunSpec
    evals: list[dict[str, Any]]
    """From the start of the compared phase (step 0: after the Pass@1 phase, or after the warm-up) to the end."""
    seconds: float | None
    step_times: list[dict[str, float]]  # per RL step: seconds spent sampling, scoring, on advantages, updating
    warm_up: dict[str, Any] | None = None
    """The evaluation after the warm-up, where the run had a Pass@1 phase after it (else ``evals[0]``)."""

    @property
    def final(self) -> dict[str, Any]:
        return self.evals[-1]


def load_run(spec: RunSpec) -> RunRecords:
    files = RunDir(spec.run_dir)
    records = files.read_metrics()
    evals = [record for record in records if record.get("kind") == "eval"]
    # the compared phase only: the Pass@1 phase's steps (<= 0) are the shared start, not this arm's training
    step_times = [record["time_s"] for record in records if record.get("kind") == "train" and record.get("phase") != "pass1"]
    if not evals or "correct" not in evals[-1]:
        raise ValueError(f"{files.metrics_path} has no per-maze evaluation records; rerun it with this version of passkrl")
    warm_up = None
    if any(record.get("phase") == "pass1" for record in evals):
        warm_up = next(record for record in evals if record.get("phase") == "warm-up")
        evals = [record for record in evals if record["step"] >= 0]
    return RunRecords(spec, evals, files.seconds(), step_times, warm_up)


def per_maze(record: dict[str, Any], metric: str, sizes: str, train_sizes: set[int], k: int = PASS_K) -> np.ndarray:
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
    if metric.startswith("pass@") and metric[5:].isdigit():  # pass@<k> at an explicit k
        return np.asarray(pass_at_k(n, correct, int(metric[5:])), dtype=np.float64)
    k = min(k, n)
    if metric == "pass@k":
        return np.asarray(pass_at_k(n, correct, k), dtype=np.float64)
    if metric == "gap":
        return np.asarray(pass_at_k(n, correct, k), dtype=np.float64) - correct / n
    if metric == "alpha_k":
        return k * (1.0 - correct / n) ** (k - 1)
    raise ValueError(f"unknown per-maze metric {metric!r}")


def summarise(values_by_run: list[np.ndarray], seeds: list[int], *, null: float = 0.0) -> dict[str, Any]:
    """Mean over runs of the per-run means, with its 95% interval (``seeds``: each run's warm-up seed)."""
    return stats.crossed_interval(values_by_run, seeds, null=null)


def paired_difference(better: list[np.ndarray], worse: list[np.ndarray], seeds: list[int], *,
                      null: float = 0.0) -> dict[str, Any]:
    """Mean of ``better - worse`` (paired by run unit and maze) with its 95% interval and p-value against ``null``."""
    differences = [b - w for b, w in zip(better, worse, strict=True)]
    return summarise(differences, seeds, null=null)


def adjust(claims: list[dict[str, Any]]) -> None:
    """Holm over a study's measured claims: adjusted p, the adjusted interval and both verdicts, in place."""
    measured = [c for c in claims if c["difference"]["p"] is not None]
    adjusted = stats.holm([c["difference"]["p"] for c in measured])
    levels = stats.holm_levels([c["difference"]["p"] for c in measured])
    for claim, p_holm, level in zip(measured, adjusted, levels, strict=True):
        difference = claim["difference"]
        low, high = stats.interval_at(difference["mean"], difference["parts"], level)
        claim["holm"] = {"p": p_holm, "level": 1.0 - level, "low": low, "high": high}
    for claim in claims:
        difference, null = claim["difference"], claim["null"]
        claim["verdict_unadjusted"] = stats.verdict(difference["mean"], difference["p"], null)
        claim["verdict"] = stats.verdict(difference["mean"], claim.get("holm", {}).get("p"), null)
        if difference["mean"] is not None and difference["p"] is None:
            claim["verdict"] = claim["verdict_unadjusted"] = "no interval (one run)"


def _values(runs: list[RunRecords], metric: str, sizes: str, train_sizes: set[int], which: int | str = -1,
            k: int = PASS_K) -> list[np.ndarray]:
    """Per-run values of ``metric`` in evaluation ``which`` (an index into ``evals``, or ``"warm_up"``)."""

    def record(r: RunRecords) -> dict[str, Any]:
        if which == "warm_up":
            return r.warm_up if r.warm_up is not None else r.evals[0]
        return r.evals[which]

    if metric in PER_MAZE or metric.startswith("pass@"):
        if any(record(r)["sizes"] != record(runs[0])["sizes"] for r in runs):
            raise ValueError("runs of one study were evaluated on different test mazes; rerun them with one test pool")
        return [per_maze(record(r), metric, sizes, train_sizes, k) for r in runs]
    return [np.array([float(record(r)[metric])]) for r in runs]


def collect(study: Study, specs: list[RunSpec]) -> dict[str, Any]:
    """Every number of the study's report, as a JSON-ready dict."""
    runs_by_arm: dict[str, list[RunRecords]] = {arm.label: [] for arm in study.arms}
    for spec in specs:
        runs_by_arm[spec.arm.label].append(load_run(spec))
    first = specs[0].config
    train_sizes = set(first.train_sizes)
    test_sizes = first.test_sizes
    seeds = sorted({spec.seed for spec in specs})
    units = sorted({spec.unit for spec in specs})
    unit_seeds = [seed for seed, _ in units]
    runs_by_arm = {label: _in_unit_order(runs, units, label) for label, runs in runs_by_arm.items()}
    samples = int(next(iter(runs_by_arm.values()))[0].final["samples_per_maze"])
    k = min(study.pass_k, samples)

    def summary(runs: list[RunRecords], metric: str, sizes: str = "all", which: int | str = -1) -> dict[str, Any]:
        return summarise(_values(runs, metric, sizes, train_sizes, which=which, k=k), unit_seeds)

    arms = []
    for arm in study.arms:
        runs = runs_by_arm[arm.label]
        final, before, warm_up = {}, {}, {}
        for metric in PER_MAZE + PER_RUN:
            for sizes in SIZE_SETS if metric in PER_MAZE else ("all",):
                final[f"{metric}/{sizes}"] = summary(runs, metric, sizes)
                before[f"{metric}/{sizes}"] = summary(runs, metric, sizes, which=0)
                warm_up[f"{metric}/{sizes}"] = summary(runs, metric, sizes, which="warm_up")
        arms.append({
            "label": arm.label,
            "note": arm.note,
            "overrides": arm.overrides,
            "runs": [str(r.spec.run_dir.name) for r in runs],
            "train_seconds": [r.seconds for r in runs],
            "step_ms": _median_step_ms(runs),
            "final": final,
            "before": before,  # the start of the compared phase: after the Pass@1 phase, or after the warm-up
            "warm_up": warm_up,  # after the warm-up (equal to "before" without a Pass@1 phase)
            # every k from 1 to the samples per maze, on all test sizes
            "pass_at_every_k": {"final": [summary(runs, f"pass@{j}") for j in range(1, samples + 1)],
                                "before": [summary(runs, f"pass@{j}", which=0) for j in range(1, samples + 1)],
                                "warm_up": [summary(runs, f"pass@{j}", which="warm_up") for j in range(1, samples + 1)]},
        })

    claims = [_judge(claim, runs_by_arm, unit_seeds, train_sizes, k) for claim in study.claims]
    adjust(claims)
    claims[study.primary]["primary"] = True

    curves: dict[str, Any] = {}
    for metric in study.curves:
        curves[metric] = {}
        for arm in study.arms:
            runs = runs_by_arm[arm.label]
            steps = [int(record["step"]) for record in runs[0].evals]
            points = [summary(runs, metric, which=i) for i in range(len(steps))]
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
        "replicates": len(units) // len(seeds),
        "units": [list(unit) for unit in units],
        "rl_steps": first.rl_steps,
        "pass1_steps": first.pass1_steps,
        "eval_pool": first.eval_pool,
        "test_mazes_per_size": first.n_test_problems,
        "test_sizes": test_sizes,
        "train_sizes": sorted(train_sizes),
        "samples_per_maze": samples,
        "k_of_pass_at_k": k,
        "statistics": {"method": "crossed random effects, eq. (4) of passkrl.experiment.stats", "alpha": stats.ALPHA,
                       "rows": "warm-ups" if len(seeds) > 1 else "replicates", "multiplicity": "Holm, over the study's claims"},
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


def _in_unit_order(runs: list[RunRecords], units: list[tuple[int, int]], label: str) -> list[RunRecords]:
    """The runs of one arm sorted by (seed, replicate); every arm must have run every unit once."""
    ordered = sorted(runs, key=lambda r: r.spec.unit)
    if [r.spec.unit for r in ordered] != units:
        raise ValueError(f"arm {label!r} ran seeds/replicates {[r.spec.unit for r in ordered]}, the study {units}")
    return ordered


def _judge(claim: Claim, runs_by_arm: dict[str, list[RunRecords]], unit_seeds: list[int],
           train_sizes: set[int], k: int = PASS_K) -> dict[str, Any]:
    """``runs_by_arm``: every arm's runs in unit order (``unit_seeds``: each unit's warm-up seed)."""
    if claim.better == WARM_UP == claim.worse:
        raise ValueError(f"claim {claim.text!r} compares the warm-up with itself")
    other = claim.worse if claim.better == WARM_UP else claim.better

    def values(label: str) -> list[np.ndarray]:
        # WARM_UP: the other arm's own runs at step 0, so the difference is that arm's change during RL
        runs = runs_by_arm[other if label == WARM_UP else label]
        return _values(runs, claim.metric, claim.sizes, train_sizes, which=0 if label == WARM_UP else -1, k=k)

    null = -claim.margin if claim.margin is not None else 0.0
    difference = paired_difference(values(claim.better), values(claim.worse), unit_seeds, null=null)
    return {
        "text": claim.text,
        "source": claim.source,
        "metric": claim.metric,
        "sizes": claim.sizes,
        "better": claim.better,
        "worse": claim.worse,
        "margin": claim.margin,
        "null": null,
        "difference": difference,
    }


def read_results(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
