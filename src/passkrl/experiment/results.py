"""From finished runs to numbers: per-arm results and claim verdicts with 95% intervals.

Intervals. A study's runs are units ``(seed, replicate)``: ``W`` warm-up seeds with ``R`` RL
replicates each. Every run is evaluated on the same fixed held-out pool of ``M`` test mazes, so mazes
are crossed with runs. Test-maze metrics (pass@1, pass@k, their gap, alpha_k) get a percentile
bootstrap that resamples the three sources of noise independently: warm-up seeds with replacement,
replicates with replacement within each drawn seed, and one resample of the ``M`` test mazes shared
by every run (the same maze is hard for every run, so resampling it per run would understate the
maze noise). The 95% interval is the 2.5-97.5 percentile range over 2000 resamples. Metrics stored
only per run (entropy, distinct wrong answers) are bootstrapped over seeds and replicates alone. The
report says how many seeds, replicates and mazes every number rests on; with one warm-up seed the
intervals cover RL and maze noise, not the variation between warm-ups.

Claims compare two arms on the same runs' units and mazes, so their difference is bootstrapped
*paired* (the same resampled units and mazes for both arms). Verdict: "reproduced" when the whole
interval of ``better - worse`` lies above 0, "not reproduced" when it lies below 0 (the opposite
holds), "inconclusive" otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from passkrl.experiment.runner import RunSpec
from passkrl.experiment.studies import WARM_UP, Claim, Study
from passkrl.metrics import pass_at_k
from passkrl.runs import RunDir
from passkrl.train.config import TrainConfig

N_BOOTSTRAP = 2000
PER_MAZE = ("pass@1", "pass@k", "gap", "alpha_k")
PER_RUN = ("entropy", "distinct_wrong")
SIZE_SETS = ("all", "trained", "unseen")
PASS_K = TrainConfig.k
"""The k of the studies' pass@k (and of alpha_k = k (1 - p)^(k-1)): the trainer's default training k,
estimated without bias from every test maze's ``eval_samples`` answers (eq. 3)."""


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
    files = RunDir(spec.run_dir)
    records = files.read_metrics()
    evals = [record for record in records if record.get("kind") == "eval"]
    step_times = [record["time_s"] for record in records if record.get("kind") == "train"]
    if not evals or "correct" not in evals[-1]:
        raise ValueError(f"{files.metrics_path} has no per-maze evaluation records; rerun it with this version of passkrl")
    return RunRecords(spec, evals, files.seconds(), step_times)


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
    k = min(PASS_K, n)
    if metric == "pass@k":
        return np.asarray(pass_at_k(n, correct, k), dtype=np.float64)
    if metric == "gap":
        return np.asarray(pass_at_k(n, correct, k), dtype=np.float64) - correct / n
    if metric == "alpha_k":
        return k * (1.0 - correct / n) ** (k - 1)
    raise ValueError(f"unknown per-maze metric {metric!r}")


def _bootstrap_means(values: np.ndarray, seeds: np.ndarray, rng: np.random.Generator, *, mazes: bool) -> np.ndarray:
    """``[N_BOOTSTRAP]`` resampled means of ``values`` ``[U, M]`` (U runs, M mazes shared by all runs).

    Resamples warm-up seeds, replicates within each drawn seed (``seeds[u]`` is run u's warm-up
    seed; every seed has the same number of replicates), and, if ``mazes``, the M mazes once per draw.
    """
    groups = [np.flatnonzero(seeds == s) for s in np.unique(seeds)]
    if len({g.size for g in groups}) != 1:
        raise ValueError(f"every warm-up seed needs the same number of replicates, got {[g.size for g in groups]}")
    units = np.stack(groups)  # [W, R] run indices
    n_seeds, n_replicates = units.shape
    if mazes:
        pick_mazes = rng.integers(0, values.shape[1], size=(N_BOOTSTRAP, values.shape[1]))  # [B, M]
        run_means = values[:, pick_mazes].mean(axis=2)  # [U, B]
    else:
        run_means = np.repeat(values.mean(axis=1, keepdims=True), N_BOOTSTRAP, axis=1)  # [U, B]
    pick_seeds = rng.integers(0, n_seeds, size=(N_BOOTSTRAP, n_seeds))  # [B, W]
    pick_replicates = rng.integers(0, n_replicates, size=(N_BOOTSTRAP, n_seeds, n_replicates))  # [B, W, R]
    runs = units[pick_seeds[:, :, None], pick_replicates].reshape(N_BOOTSTRAP, -1)  # [B, W*R]
    return run_means[runs, np.arange(N_BOOTSTRAP)[:, None]].mean(axis=1)


def summarise(values_by_run: list[np.ndarray], seeds: list[int], *, mazes: bool, seed: int = 0) -> dict[str, Any]:
    """Mean over runs of the per-run means, with its 95% bootstrap interval (``seeds``: each run's warm-up seed)."""
    if any(v.size == 0 for v in values_by_run):  # e.g. no unseen maze sizes in this study's test set
        return {"mean": None, "low": None, "high": None, "per_run": []}
    rng = np.random.default_rng(seed)
    values = np.stack(values_by_run)  # [U, M]: the same test mazes, in the same order, for every run
    per_run = values.mean(axis=1)
    draws = _bootstrap_means(values, np.asarray(seeds), rng, mazes=mazes)
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return {"mean": float(per_run.mean()), "low": float(low), "high": float(high), "per_run": per_run.tolist()}


def paired_difference(better: list[np.ndarray], worse: list[np.ndarray], seeds: list[int], *, mazes: bool,
                      seed: int = 0) -> dict[str, Any]:
    """Mean of ``better - worse`` (paired by run unit and maze) with its 95% bootstrap interval."""
    differences = [b - w for b, w in zip(better, worse, strict=True)]
    return summarise(differences, seeds, mazes=mazes, seed=seed)


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
        if any(r.evals[which]["sizes"] != runs[0].evals[which]["sizes"] for r in runs):
            raise ValueError("runs of one study were evaluated on different test mazes; rerun them with one test pool")
        return [per_maze(r.evals[which], metric, sizes, train_sizes) for r in runs]
    return [np.array([float(r.evals[which][metric])]) for r in runs]


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

    arms = []
    for arm in study.arms:
        runs = runs_by_arm[arm.label]
        final, before = {}, {}
        for metric in PER_MAZE + PER_RUN:
            for sizes in SIZE_SETS if metric in PER_MAZE else ("all",):
                key = f"{metric}/{sizes}"
                mazes = metric in PER_MAZE
                final[key] = summarise(_values(runs, metric, sizes, train_sizes), unit_seeds, mazes=mazes)
                before[key] = summarise(_values(runs, metric, sizes, train_sizes, which=0), unit_seeds, mazes=mazes)
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
        claims.append(_judge(claim, runs_by_arm, unit_seeds, train_sizes))

    curves: dict[str, Any] = {}
    for metric in study.curves:
        curves[metric] = {}
        for arm in study.arms:
            runs = runs_by_arm[arm.label]
            steps = [int(record["step"]) for record in runs[0].evals]
            points = [summarise(_values(runs, metric, "all", train_sizes, which=i), unit_seeds, mazes=metric in PER_MAZE)
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
        "replicates": len(units) // len(seeds),
        "units": [list(unit) for unit in units],
        "rl_steps": first.rl_steps,
        "test_mazes_per_size": first.n_test_mazes,
        "test_sizes": test_sizes,
        "train_sizes": sorted(train_sizes),
        "samples_per_maze": samples,
        "k_of_pass_at_k": min(PASS_K, samples),
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


def _in_unit_order(runs: list[RunRecords], units: list[tuple[int, int]], label: str) -> list[RunRecords]:
    """The runs of one arm sorted by (seed, replicate); every arm must have run every unit once."""
    ordered = sorted(runs, key=lambda r: r.spec.unit)
    if [r.spec.unit for r in ordered] != units:
        raise ValueError(f"arm {label!r} ran seeds/replicates {[r.spec.unit for r in ordered]}, the study {units}")
    return ordered


def _judge(claim: Claim, runs_by_arm: dict[str, list[RunRecords]], unit_seeds: list[int],
           train_sizes: set[int]) -> dict[str, Any]:
    """``runs_by_arm``: every arm's runs in unit order (``unit_seeds``: each unit's warm-up seed)."""
    if claim.better == WARM_UP == claim.worse:
        raise ValueError(f"claim {claim.text!r} compares the warm-up with itself")
    other = claim.worse if claim.better == WARM_UP else claim.better

    def values(label: str) -> list[np.ndarray]:
        # WARM_UP: the other arm's own runs at step 0, so the difference is that arm's change during RL
        runs = runs_by_arm[other if label == WARM_UP else label]
        return _values(runs, claim.metric, claim.sizes, train_sizes, which=0 if label == WARM_UP else -1)

    mazes = claim.metric in PER_MAZE
    difference = paired_difference(
        values(claim.better),
        values(claim.worse),
        unit_seeds,
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
