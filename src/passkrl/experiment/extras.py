"""Analyses that need no training run: estimator scatter and cost, and the tabular gradient check."""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import torch

from passkrl import estimators
from passkrl.experiment.diagnostic import TabularPolicy, gradient_report
from passkrl.train.config import TrainConfig

VARIANCE_ESTIMATORS = ("passk_full", "passk_bootstrap", "pkpo_loo1", "passk_analytic")
COST_ESTIMATORS = ("grpo", "rloo", "passk_analytic", "passk_bootstrap", "passk_full", "pkpo_loo1")


def estimator_variance(*, n: int = TrainConfig.n_rollouts, k: int = TrainConfig.k, draws: int = 400, seed: int = 0) -> dict[str, Any]:
    """Scatter of each estimator's advantages around the exact analytic ones, per correct count c.

    For a group of ``n`` with ``c`` correct answers, each estimator is drawn ``draws`` times (the
    deterministic ones once); ``bias`` is the mean over responses of ``|E[A] - A_analytic|`` and
    ``sd`` the mean over responses of the standard deviation across draws.
    """
    rewards = torch.tensor([[1.0] * c + [0.0] * (n - c) for c in range(n + 1)], dtype=torch.float64)  # [n+1, n]
    exact = estimators.compute("passk_analytic", rewards, k=k)
    generator = torch.Generator().manual_seed(seed)
    table: dict[str, Any] = {"n": n, "k": k, "draws": draws, "c": list(range(n + 1)), "estimators": {}}
    for name in VARIANCE_ESTIMATORS:
        sampling = name in ("passk_full", "passk_bootstrap")
        samples = torch.stack([
            estimators.compute(name, rewards, k=k, generator=generator) for _ in range(draws if sampling else 1)
        ])  # [D, n+1, n]
        mean = samples.mean(dim=0)
        sd = samples.std(dim=0, unbiased=False)
        table["estimators"][name] = {
            "bias": (mean - exact).abs().mean(dim=1).tolist(),
            "sd": sd.mean(dim=1).tolist(),
            "mean_bias": float((mean - exact).abs().mean()),
            "mean_sd": float(sd.mean()),
        }
    return table


def estimator_cost(shapes: tuple[tuple[int, int], ...] = ((TrainConfig.n_prompts, TrainConfig.n_rollouts), (1024, 32)), *,
                   k: int = TrainConfig.k,
                   repeats: int = 15, seed: int = 0) -> dict[str, Any]:
    """Median milliseconds per call of each estimator on binary rewards of the given shapes."""
    rng = np.random.default_rng(seed)
    result: dict[str, Any] = {"k": k, "repeats": repeats, "shapes": [list(s) for s in shapes], "ms": {}}
    for name in COST_ESTIMATORS:
        result["ms"][name] = []
        for shape in shapes:
            rewards = torch.as_tensor(rng.integers(0, 2, shape), dtype=torch.float64)
            estimators.compute(name, rewards, k=k, generator=0)  # warm the caches
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                estimators.compute(name, rewards, k=k, generator=0)
                times.append(time.perf_counter() - start)
            result["ms"][name].append(statistics.median(times) * 1e3)
    return result


def tabular_diagnostic(*, n: int = 5, k: int = 2) -> dict[str, Any]:
    """Exact expected gradients of a 3-answer tabular policy for a sweep of pass@1 (Yang Yu, "Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective").

    Rows: pass@1 ``p``, ``alpha_k = k (1-p)^(k-1)``, and for each estimator the coefficient ``c`` in
    ``E[g] = c grad pass@1`` computed by enumerating all ``3^n`` answer tuples.
    """
    rows = []
    residual = 0.0
    names = ("pkpo", "passk_analytic", "grpo")
    for logit in np.linspace(-3.0, 4.0, 8):
        policy = TabularPolicy(np.array([logit, 0.0, 0.0]), np.array([True, False, False]))
        row: dict[str, float] = {}
        for name in names:
            report = gradient_report(policy, name, n=n, k=k)
            row["p"], row["alpha_k"] = report["p"], report["alpha_k"]
            row[name] = report["coef"]
            residual = max(residual, report["relative_residual"])
        rows.append(row)
    worst = max(abs(r["pkpo"] - r["alpha_k"]) for r in rows)
    return {"n": n, "k": k, "estimators": list(names), "rows": rows, "max_relative_residual": residual,
            "max_abs_pkpo_minus_alpha_k": worst}
