"""How fast one supervised warm-up step is in float32 and under bfloat16 autocast, and where it goes.

The default warm-up (600 steps of 64 7x7 mazes) is the largest part of a default ``passkrl train``.
This measures its step (loss, backward, AdamW) on the default model in both precisions, in one process,
alternating the two in rounds so that a change in the machine's load hits both alike: the median
milliseconds per step of each and their ratio. Then a ``torch.profiler`` table of each, grouped by
operator: where the step's time goes (matrix products, attention, element-wise work, casts).

    python benchmarks/bench_warmup.py [--steps 20] [--rounds 3] [--threads 0] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from passkrl.train.config import TrainConfig
from passkrl.train.precision import bf16_supported
from passkrl.train.trainer import build
from passkrl.train.warmup import train_step

PRECISIONS = ("float32", "bfloat16")
GROUPS = {  # operator name fragments -> what they are
    "matrix products": ("aten::mm", "aten::addmm", "aten::bmm"),
    "attention": ("scaled_dot_product",),
    "GELU": ("gelu",),
    "layer norm": ("layer_norm",),
    "casts and copies": ("aten::copy_", "aten::_to_copy"),
}


def make_step(policy, problems: list, batch_size: int, precision: str, seed: int = 0):
    """The warm-up's own step (``passkrl.train.warmup.train_step``) on a fresh batch each call, its AdamW
    as the warm-up builds it (the learning-rate schedule aside)."""
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=1e-5, weight_decay=0.01)

    def step() -> None:
        batch = [problems[i] for i in rng.choice(len(problems), size=batch_size, replace=False)]
        train_step(policy, optimizer, batch, precision)

    return step


def profile_shares(step, steps: int) -> dict[str, float]:
    """Share of the step's self CPU time per operator group (the rest under "other")."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    totals: dict[str, float] = {name: 0.0 for name in (*GROUPS, "other")}
    for event in prof.key_averages():
        group = next((name for name, parts in GROUPS.items() if any(p in event.key for p in parts)), "other")
        totals[group] += event.self_cpu_time_total
    whole = sum(totals.values()) or 1.0
    return {name: value / whole for name, value in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per precision and round")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two precisions")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every code path (the test suite runs it); figures meaningless")
    args = parser.parse_args()
    size = {}
    if args.smoke:
        args.steps, args.rounds = 2, 1
        size = dict(d_model=32, n_layers=1, n_heads=2, n_train_problems=200, n_test_problems=2, warmup_batch_size=8)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    cfg = TrainConfig(progress=False, **size)
    data, _ = build(cfg)
    print(f"warm-up step: batch {cfg.warmup_batch_size} of sizes {cfg.train_sizes}, d_model {cfg.d_model}, "
          f"{cfg.n_layers} layers; {torch.get_num_threads()} threads; bfloat16 native here: {bf16_supported()}")
    steps = {}
    for precision in PRECISIONS:
        _, policy = build(cfg)  # the same initial weights for both
        steps[precision] = make_step(policy, data.train, cfg.warmup_batch_size, precision)
        for _ in range(2):  # untimed: allocator and kernel choice
            steps[precision]()
    times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for _ in range(args.rounds):
        for precision in PRECISIONS:
            for _ in range(args.steps):
                started = time.perf_counter()
                steps[precision]()
                times[precision].append(time.perf_counter() - started)
    medians = {p: statistics.median(times[p]) * 1e3 for p in PRECISIONS}
    for precision in PRECISIONS:
        print(f"  {precision:<9} median {medians[precision]:6.0f} ms per step  "
              f"(per round: {', '.join(f'{statistics.median(times[precision][r * args.steps:(r + 1) * args.steps]) * 1e3:.0f}' for r in range(args.rounds))})")
    print(f"  => bfloat16 autocast is {medians['float32'] / medians['bfloat16']:.2f}x float32 per warm-up step; "
          f"the default warm-up's {TrainConfig.warmup_steps} steps: {TrainConfig.warmup_steps * medians['float32'] / 1e3:.0f} s "
          f"against {TrainConfig.warmup_steps * medians['bfloat16'] / 1e3:.0f} s")

    print("\nwhere a step goes (self CPU time, torch.profiler):")
    shares = {p: profile_shares(steps[p], max(1, args.steps // 4)) for p in PRECISIONS}
    print(f"  {'':<18}" + "".join(f"{p:>11}" for p in PRECISIONS))
    for group in (*GROUPS, "other"):
        print(f"  {group:<18}" + "".join(f"{100 * shares[p][group]:10.0f}%" for p in PRECISIONS))
    print("  (ms per step)     " + "".join(f"{medians[p]:11.0f}" for p in PRECISIONS))
    print("end of the warm-up benchmark")


if __name__ == "__main__":
    main()
