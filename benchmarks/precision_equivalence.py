"""Does bfloat16 learn what float32 learns? The default ``passkrl train`` in both precisions, on the same seeds.

For each warm-up seed (``--seeds``) the default run (warm-up, Pass@1 phase, Pass@k phase) is trained
twice, ``--precision float32`` and ``--precision bfloat16``, and compared:

1. **Time** of the warm-up (built here, from an empty cache entry) and of the whole run, per precision.
2. **Warm-up curves**: the mean training loss of every 10 steps (the curve the warm-up keeps beside its
   weights), bfloat16 minus float32 at each point, and the float32 seeds' own spread at the same point.
3. **Test pass@k** after the warm-up, after the Pass@1 phase and after the Pass@k phase: bfloat16
   minus float32, paired by seed and test maze, with the 95% interval of the studies (warm-up seeds
   crossed with mazes, eq. 4 of docs/experiments.md). bfloat16 learns the same when these intervals
   hold 0 and are narrow beside the effects the studies measure.
4. **The importance ratio's mismatch**: the sampler computes in float32 and the update in the run's
   precision. On each run's final policy, answers are sampled (float32) and their log-probabilities
   recomputed under float32 and under bfloat16 autocast: the mean |log ratio| over answer tokens is
   how far from on-policy the first mini-batch would be if the old log-probabilities were the
   sampler's. (The trainer takes them from the update's own arithmetic, so its ratio starts at 1;
   its logged ``first_log_ratio`` is this same sampler/update disagreement on the first mini-batch
   of every step, also printed; runs from before it measured that, logged ~0.)

Runs are kept under ``--out`` and reused when rerun (a finished run is read, not retrained); the
warm-ups use ``$PASSKRL_CACHE`` like any run.

    python benchmarks/precision_equivalence.py [--seeds 0,1,2] [--out runs/precision] [--smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from passkrl.experiment.results import paired_difference, per_maze
from passkrl.train import trainer
from passkrl.train.config import TrainConfig, resolve
from passkrl.train.precision import bf16_supported
from passkrl.train.warmup import curve, warm_up

PRECISIONS = ("float32", "bfloat16")
POINTS = ("warm_up", "before", "after")
POINT_NAMES = {"warm_up": "after warm-up", "before": "after Pass@1 phase", "after": "after Pass@k phase"}


def train_one(cfg: TrainConfig, run_dir: Path) -> dict:
    """Warm up (timed, when not cached) and train ``cfg`` into ``run_dir``, or read it back when finished."""
    eval_path = run_dir / "eval.json"
    warm_s = None
    if not eval_path.exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
        data, policy = trainer.build(cfg)
        started = time.perf_counter()
        if not warm_up(policy, data.train, cfg):
            warm_s = time.perf_counter() - started
        started = time.perf_counter()
        trainer.run(cfg, run_dir)
        (run_dir / "bench_times.json").write_text(json.dumps({"warm_up_s": warm_s,
                                                             "run_s": time.perf_counter() - started}))
    times = json.loads((run_dir / "bench_times.json").read_text()) if (run_dir / "bench_times.json").exists() else {}
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return {"eval": json.loads(eval_path.read_text()), "records": records, "times": times, "curve": curve(cfg)}


def sampler_mismatch(cfg: TrainConfig, run_dir: Path) -> dict[str, float]:
    """Mean |log pi_update - log pi_sampler| over sampled answer tokens of the run's final policy."""
    data, policy = trainer.build(cfg)
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=False)
    policy.model.load_state_dict(state["model"])
    policy.model.eval()
    problems = data.test[: cfg.n_prompts]
    out = policy.model.generate(policy._prompt_ids(problems), policy.answer_limit(problems), temperature=1.0,
                                top_p=1.0, eos_id=policy.tokenizer.eos_id, pad_id=policy.tokenizer.pad_id,
                                generator=torch.Generator().manual_seed(0), n_samples=cfg.n_rollouts)
    mask = out.completion_mask.float()
    result = {}
    for precision in PRECISIONS:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            logprobs, _ = policy.model.shared_logprobs(out.prompt_ids, out.prompt_mask, out.completion_ids,
                                                      out.completion_mask, cfg.n_rollouts)
        result[precision] = float(((logprobs - out.logprobs).abs() * mask).sum() / mask.sum())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="warm-up seeds (at least 2 for an interval)")
    parser.add_argument("--out", default="runs/precision", help="where the runs are kept (and reused)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every code path (the test suite runs it); figures meaningless")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    print(f"bfloat16 natively supported here: {bf16_supported()}; seeds {seeds}; runs under {out}")

    runs: dict[tuple[int, str], dict] = {}
    configs: dict[tuple[int, str], TrainConfig] = {}
    for seed in seeds:
        for precision in PRECISIONS:
            cfg = resolve(TrainConfig(seed=seed, precision=precision, smoke=args.smoke, threads=args.threads,
                                      progress=False))
            run_dir = out / f"seed{seed}-{precision}"
            print(f"seed {seed}, {precision}: {run_dir}", flush=True)
            configs[seed, precision] = cfg
            runs[seed, precision] = train_one(cfg, run_dir)

    print("\n1. time (s): warm-up built here, whole run after it (None: the warm-up came from the cache)")
    for seed in seeds:
        cells = []
        for precision in PRECISIONS:
            times = runs[seed, precision]["times"]
            warm, whole = times.get("warm_up_s"), times.get("run_s")
            cells.append(f"{precision} warm-up {warm and round(warm)} run {whole and round(whole)}")
        f32, bf16 = (runs[seed, p]["times"].get("warm_up_s") for p in PRECISIONS)
        ratio = f"   warm-up float32 / bfloat16 = {f32 / bf16:.2f}" if f32 and bf16 else ""
        print(f"  seed {seed}: " + "; ".join(cells) + ratio)

    print("\n2. warm-up loss curves (mean loss of every 10 steps): bfloat16 - float32")
    curves = {key: run["curve"] for key, run in runs.items()}
    if all(curves.values()):
        for seed in seeds:
            a, b = (np.array([p["loss"] for p in curves[seed, p]]) for p in PRECISIONS)
            print(f"  seed {seed}: final {a[-1]:.4f} (float32) {b[-1]:.4f} (bfloat16), difference {b[-1] - a[-1]:+.5f}; "
                  f"mean |difference| over the curve {np.abs(b - a).mean():.5f}, largest {np.abs(b - a).max():.5f}")
        if len(seeds) > 1:
            f32_final = np.array([curves[s, "float32"][-1]["loss"] for s in seeds])
            f32_all = np.stack([[p["loss"] for p in curves[s, "float32"]] for s in seeds])
            print(f"  float32 seeds' own spread: final loss sd {f32_final.std(ddof=1):.4f}; "
                  f"mean sd over the curve {f32_all.std(axis=0, ddof=1).mean():.4f}")
    else:
        print("  (a warm-up came from a cache entry without a curve: remove it to rebuild)")

    print("\n3. test pass@k, bfloat16 - float32, paired by seed and maze (95% interval, warm-ups x mazes)")
    n = runs[seeds[0], "float32"]["eval"]["after"]["samples_per_maze"]
    ks = [k for k in (1, 8, 16) if k <= n]
    for point in POINTS:
        cells = []
        for k in ks:
            by_precision = {p: [per_maze(runs[s, p]["eval"][point], f"pass@{k}", "all", set()) for s in seeds]
                            for p in PRECISIONS}
            diff = paired_difference(by_precision["bfloat16"], by_precision["float32"], seeds)
            f32_mean = float(np.mean([v.mean() for v in by_precision["float32"]]))
            span = "" if diff["low"] is None else f" [{diff['low']:+.3f}, {diff['high']:+.3f}]"
            cells.append(f"pass@{k} {f32_mean:.3f} {diff['mean']:+.3f}{span}")
        print(f"  {POINT_NAMES[point]:<20} " + "   ".join(cells))

    print("\n4. importance-ratio mismatch: mean |log pi_update - log pi_sampler| over answer tokens, final policies")
    for seed in seeds:
        mismatch = sampler_mismatch(configs[seed, "bfloat16"], out / f"seed{seed}-bfloat16")
        logged = [r["first_log_ratio"] for r in runs[seed, "bfloat16"]["records"] if "first_log_ratio" in r]
        print(f"  seed {seed}: update in float32 {mismatch['float32']:.2e}, update in bfloat16 {mismatch['bfloat16']:.2e}; "
              f"logged first_log_ratio (bfloat16 run) mean {np.mean(logged):.1e}")
    print("\nend of the comparison")


if __name__ == "__main__":
    main()
