"""Where the time of one RL step goes, for the default ``passkrl train`` configuration.

Prints, measured in one run on this machine:

* the split of an RL step into sampling, scoring, advantages and update (mean over steps);
* rollout tokens per second with and without the KV cache, and their ratio;
* the matmul throughput of this machine (a float32 GEMM of the model's width) and the fraction of
  it achieved by the update phase (forward + backward, about 6 FLOPs per parameter per token).

    python benchmarks/bench_trainer.py [--steps 5] [--smoke]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time

import numpy as np
import torch

from passkrl.core.shaping import KSchedule
from passkrl.train.config import TrainConfig, resolve
from passkrl.train.policy import build_policy
from passkrl.train.trainer import make_data, rl_step, step_generators
from passkrl.train.warmup import warm_up


def matmul_gflops(width: int, rows: int = 2048, repeats: int = 20) -> float:
    a, b = torch.randn(rows, width), torch.randn(width, 4 * width)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * rows * width * 4 * width * repeats / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="RL steps to time")
    parser.add_argument("--smoke", action="store_true", help="the --smoke configuration instead of the default")
    args = parser.parse_args()
    os.environ.setdefault("PASSKRL_CACHE", os.path.join(tempfile.gettempdir(), "passkrl-bench-cache"))
    cfg = resolve(dataclasses.replace(TrainConfig(smoke=args.smoke), progress=False))
    torch.set_num_threads(os.cpu_count() or 1)
    data = make_data(cfg)
    policy = build_policy(cfg)
    warm_up(policy, data.train, cfg)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=cfg.lr)
    schedule = KSchedule.parse(str(cfg.k))
    n_params = sum(p.numel() for p in policy.model.parameters())
    print(f"config: {cfg.n_prompts} prompts x {cfg.n_rollouts} rollouts, model {n_params / 1e6:.2f} M parameters, "
          f"{torch.get_num_threads()} threads")

    splits, tokens = [], []
    for step in range(args.steps):
        record = rl_step(policy, optimizer, data, cfg, schedule, step)
        splits.append(record["time_s"])
        tokens.append(record["completion_tokens"])
    phases = ("sample", "score", "advantage", "update")
    total = sum(np.mean([s[p] for s in splits]) for p in phases)
    print(f"\nRL step, mean of {args.steps}: {total * 1e3:.0f} ms")
    for phase in phases:
        mean = np.mean([s[phase] for s in splits])
        print(f"  {phase:<10}{mean * 1e3:9.1f} ms  {100 * mean / total:5.1f}%")

    mazes = data.train[: cfg.n_prompts]
    rates = {}
    for use_cache in (True, False):
        gen, _ = step_generators(cfg.seed, 0, 0)
        prompts = [ids for ids in policy._prompt_ids(mazes) for _ in range(cfg.n_rollouts)]
        start = time.perf_counter()
        out = policy.model.generate(prompts, policy.max_new_tokens, temperature=1.0, top_p=1.0,
                                    eos_id=policy.tokenizer.eos_id, pad_id=policy.tokenizer.pad_id,
                                    generator=gen, use_cache=use_cache)
        rates[use_cache] = float(out.completion_mask.sum()) / (time.perf_counter() - start)
    print(f"\nrollout tokens/s: with KV cache {rates[True]:,.0f}, without {rates[False]:,.0f}, "
          f"ratio {rates[True] / rates[False]:.1f}x")

    peak = matmul_gflops(cfg.d_model)
    update_s = np.mean([s["update"] for s in splits])
    # tokens processed by the update: prompt + completion of every sequence, forward and backward
    seq_tokens = np.mean(tokens) * 1.0
    prompt_tokens = cfg.n_prompts * cfg.n_rollouts * (max(int(x) for x in cfg.train_sizes.split(",")) ** 2)
    achieved = 6 * n_params * (seq_tokens + prompt_tokens) / update_s / 1e9
    print(f"\nmatmul throughput ({cfg.d_model}-wide float32 GEMM): {peak:.1f} GFLOP/s")
    print(f"update phase: ~{achieved:.2f} GFLOP/s = {100 * achieved / peak:.1f}% of it "
          "(6 FLOPs per parameter per token, attention not counted)")


if __name__ == "__main__":
    main()
