"""How well the surprisal of the sampled tokens stands in for the true token entropy.

verl 0.9.1 does not hand the per-token entropy to the advantage step, so passkrl's verl integration
ranks prompts for ``passk_adaptive_entropy`` (arXiv 2508.10751 §4.2.3) by the mean surprisal
``-log pi(y_t)`` of the sampled tokens: an unbiased estimate of the mean entropy of each step. This
script measures, on passkrl's tiny maze policy after a short supervised warm-up, how close the two
are per answer and per prompt, and how often the ranking the shaper uses (the higher-entropy half of
the prompts of a batch) comes out the same.

    python benchmarks/entropy_standin.py                 # about 2 minutes on 2 cores
    python benchmarks/entropy_standin.py --warmup-steps 600 --prompts 96
    python benchmarks/entropy_standin.py --smoke         # seconds: every step once, figures meaningless
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from passkrl.train.config import TrainConfig
from passkrl.train.policy import mean_over_answer
from passkrl.train.trainer import build
from passkrl.train.warmup import warm_up


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    rank = lambda x: np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(float)  # noqa: E731
    return float(np.corrcoef(rank(a), rank(b))[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup-steps", type=int, default=300)
    parser.add_argument("--prompts", type=int, default=64, help="prompts per batch (the shaper ranks a batch)")
    parser.add_argument("--samples", type=int, default=16, help="answers per prompt")
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every code path (the test suite runs it); figures meaningless")
    args = parser.parse_args()
    if args.smoke:  # the options not given keep their smoke values
        parser.set_defaults(warmup_steps=4, prompts=4, samples=4, batches=1)
        args = parser.parse_args()
    size = dict(d_model=32, n_layers=1, train_sizes=(7,), test_sizes=(7,), n_train_problems=200, n_test_problems=4,
                warmup_batch_size=16) if args.smoke else dict(d_model=64, n_layers=2, n_train_problems=4000)
    cfg = dataclasses.replace(TrainConfig(), n_heads=2, warmup_steps=args.warmup_steps, progress=False, **size)
    torch.manual_seed(0)
    started = time.perf_counter()
    data, policy = build(cfg)
    warm_up(policy, data.train, cfg)
    policy.model.eval()
    per_answer_entropy, per_answer_surprisal, same_half = [], [], []
    prompt_pairs = []
    rng = np.random.default_rng(0)
    for batch in range(args.batches):
        mazes = [data.train[i] for i in rng.choice(len(data.train), args.prompts, replace=False)]
        rollout = policy.sample(mazes, args.samples, temperature=1.0, top_p=1.0,
                                generator=torch.Generator().manual_seed(batch))
        entropy = np.asarray(rollout.mean_entropy)  # [B] mean true entropy over each answer's tokens
        surprisal = mean_over_answer(-rollout.old_logprobs, rollout.completion_mask)  # [B]
        surprisal = np.asarray(surprisal)
        per_answer_entropy.append(entropy)
        per_answer_surprisal.append(surprisal)
        prompt_entropy = entropy.reshape(args.prompts, args.samples).mean(1)
        prompt_surprisal = surprisal.reshape(args.prompts, args.samples).mean(1)
        prompt_pairs.append((prompt_entropy, prompt_surprisal))
        half = args.prompts // 2
        top_true = set(np.argsort(-prompt_entropy, kind="stable")[:half])
        top_standin = set(np.argsort(-prompt_surprisal, kind="stable")[:half])
        same_half.append(len(top_true & top_standin) / half)
    e, s = np.concatenate(per_answer_entropy), np.concatenate(per_answer_surprisal)
    pe = np.concatenate([p for p, _ in prompt_pairs])
    ps = np.concatenate([q for _, q in prompt_pairs])
    print(f"tiny maze policy (d_model {cfg.d_model}, {cfg.n_layers} layers) after {args.warmup_steps} warm-up steps; "
          f"{args.batches} batches of {args.prompts} prompts x {args.samples} answers, T = 1, top-p = 1")
    print(f"per answer : Pearson {np.corrcoef(e, s)[0, 1]:.3f}, Spearman {spearman(e, s):.3f}; "
          f"mean entropy {e.mean():.3f} vs mean surprisal {s.mean():.3f} nats/token")
    print(f"per prompt : Pearson {np.corrcoef(pe, ps)[0, 1]:.3f}, Spearman {spearman(pe, ps):.3f}")
    print(f"same higher-entropy half of the batch (what adaptive_entropy uses): {np.mean(same_half):.1%} of prompts "
          f"(chance: 50%)  [{time.perf_counter() - started:.0f} s]")


if __name__ == "__main__":
    main()
