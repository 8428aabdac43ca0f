"""Speed of passkrl's estimators against per-group Python references, measured in one run.

The references compute the same advantages the way released verl-based code does: the batch is a
flat list of responses with a ``uid`` each, a Python loop gathers the groups into a dict, each group
is computed with floating-point binomial coefficients (``float(math.comb(...))``; for the analytic
estimator with ``sigma + 1e-6`` in the denominator), and the advantages are written back per response. Every row prints both times, their ratio
and the largest difference between the two results.

    python benchmarks/bench_estimators.py            # full table
    python benchmarks/bench_estimators.py --quick    # smaller shapes, fewer repeats
    python benchmarks/bench_estimators.py --smoke    # seconds: every path once, figures meaningless

For slow references on large batches, the reference is timed on the first ``--ref-groups`` groups
and scaled linearly to the whole batch (it is a loop over independent groups); such rows are marked.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from collections import defaultdict

import numpy as np
import torch

from passkrl.estimators import compute


def comb_f(a: int, b: int) -> float:
    return float(math.comb(a, b)) if 0 <= b <= a else 0.0


def per_group_loop(rewards: np.ndarray, advantage_of_group) -> torch.Tensor:
    """The structure of released verl-based implementations: flatten the batch to ``B = P * N``
    responses with a ``uid`` per response, gather the scores of each uid into a dict by a loop over
    responses, compute each group's advantages in Python, and write them back response by response."""
    n_prompts, n_rollouts = rewards.shape
    scores = torch.from_numpy(rewards.reshape(-1))  # [B]
    index = np.repeat(np.arange(n_prompts), n_rollouts)  # uid of each response
    id2score: dict[int, list] = defaultdict(list)
    id2rows: dict[int, list] = defaultdict(list)
    for i in range(scores.shape[0]):
        id2score[index[i]].append(scores[i])
        id2rows[index[i]].append(i)
    advantages = torch.zeros_like(scores)
    for uid, group in id2score.items():
        values = advantage_of_group(torch.stack(group).numpy())
        for row, value in zip(id2rows[uid], values):
            advantages[row] = float(value)
    return advantages.reshape(n_prompts, n_rollouts)


def reference_analytic(rewards: np.ndarray, k: int) -> np.ndarray:
    """Eqs. 11-15 per group with float combs and sigma + 1e-6, as in the released code."""

    def group(row):
        n, c = len(row), int(row.sum())
        mu = 1 - comb_f(n - c, k) / comb_f(n, k)
        sigma = math.sqrt(mu * (1 - mu))
        a_pos = (1 - mu) / (sigma + 1e-6)
        a_neg = (1 - mu - comb_f(n - c - 1, k - 1) / comb_f(n - 1, k - 1)) / (sigma + 1e-6)
        return [a_pos if r == 1 else a_neg for r in row]

    return per_group_loop(rewards, group).numpy()


def reference_bootstrap_mean(rewards: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap sampling per group: n_groups = n subsets drawn with numpy, mean reduction."""

    def group(row):
        n = len(row)
        subsets = [rng.choice(n, size=k, replace=False) for _ in range(n)]
        maxima = np.array([row[s].max() for s in subsets])
        std = maxima.std()
        adv = (maxima - maxima.mean()) / std if std > 0 else np.zeros(n)
        total, count = np.zeros(n), np.zeros(n)
        for s, a in zip(subsets, adv):
            total[s] += a
            count[s] += 1
        return np.where(count > 0, total / np.maximum(count, 1), 0)

    return per_group_loop(rewards, group).numpy()


def reference_pkpo_loo1(rewards: np.ndarray, k: int) -> np.ndarray:
    """s_i - (k/n) rho_{k-1}(r_{-i}) per response with float combs (O(n^2) per group)."""

    def group(row):
        n = len(row)
        order = np.argsort(row, kind="stable")
        r = row[order]
        total = comb_f(n, k)
        adv = np.zeros(n)
        for i in range(n):
            s_i = r[i] * comb_f(i, k - 1) + sum(r[j] * comb_f(j - 1, k - 2) for j in range(i + 1, n))
            others = np.delete(r, i)
            rho = sum(others[j] * comb_f(j, k - 2) for j in range(n - 1)) / comb_f(n - 1, k - 1) if k > 1 else 0.0
            adv[i] = s_i / total - k / n * rho
        out = np.zeros(n)
        out[order] = adv
        return out

    return per_group_loop(rewards, group).numpy()


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) if repeats < 5 else statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller shapes and fewer repeats")
    parser.add_argument("--ref-groups", type=int, default=256, help="groups timed for slow references")
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every code path (the test suite runs it); figures meaningless")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    shapes = [(64, 16)] if args.smoke else [(1024, 32)] if args.quick else [(1024, 32), (4096, 64)]
    repeats = 1 if args.smoke else 5 if args.quick else 20
    worst = 0.0
    rng = np.random.default_rng(0)
    print(f"passkrl estimator benchmark | {platform.processor() or platform.machine()} | "
          f"torch {torch.__version__} | {torch.get_num_threads()} threads")
    header = f"{'estimator':<16}{'shape':>12}{'k':>4}{'passkrl ms':>12}{'reference ms':>14}{'speed-up':>10}{'max |diff|':>12}"
    print(header)
    print("-" * len(header))
    for n_prompts, n_rollouts in shapes:
        accuracy = rng.random((n_prompts, 1))
        rewards = (rng.random((n_prompts, n_rollouts)) < accuracy).astype(np.float64)
        rewards_t = torch.from_numpy(rewards)
        for k in (4, 16):
            cases = [
                ("passk_analytic", {}, lambda r: reference_analytic(r, k), False),
                ("passk_bootstrap", {"reduce": "mean"}, lambda r: reference_bootstrap_mean(r, k, rng), True),
                ("pkpo_loo1", {}, lambda r: reference_pkpo_loo1(r, k), True),
            ]
            for name, params, reference, slow in cases:
                ours_s = best_time(lambda: compute(name, rewards_t, k=k, generator=0, **params), repeats)
                n_ref = min(n_prompts, args.ref_groups) if slow else n_prompts
                sub = rewards[:n_ref]
                ref_s = best_time(lambda: reference(sub), 1 if slow else max(1, repeats // 4)) * (n_prompts / n_ref)
                ours = compute(name, sub, k=k, generator=0, **params)
                diff = np.abs(ours - reference(sub)).max()
                if name != "passk_bootstrap":
                    worst = max(worst, float(diff))
                note = "  (diff: sampling)" if name == "passk_bootstrap" else ""
                scaled = "*" if n_ref < n_prompts else " "
                print(f"{name:<16}{f'[{n_prompts},{n_rollouts}]':>12}{k:>4}{ours_s * 1e3:>12.3f}"
                      f"{ref_s * 1e3:>13.1f}{scaled}{ref_s / ours_s:>9.0f}x{diff:>12.2e}{note}")
    print("* reference timed on the first", args.ref_groups, "groups and scaled linearly to the batch.")
    print("passk_analytic differences are the reference's sigma + 1e-6 bias (largest for small sigma).")
    if worst > 1e-3:
        raise SystemExit(f"a deterministic estimator differs from its reference by {worst:.2e}")


if __name__ == "__main__":
    main()
