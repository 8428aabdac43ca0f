"""How fast one RL step of the embedded trainer is, and where its time goes; measured in one run.

Prints, for the default ``passkrl train`` batch (16 mazes x 16 rollouts of 7x7 mazes, 2 optimiser steps per
batch; other shapes with ``--n-prompts`` / ``--n-rollouts``):

1. **Same work as TRL.** A randomly initialised tiny model of the default size (no warm-up) and an
   HF Llama of the same width, depth and heads (its SwiGLU sized to the same parameter count), on
   the same compact maze prompts, the same answer limit, temperature 1.0, the same DAPO loss
   (clip 0.2 / 0.28, no KL), 2 optimiser steps per generation, one sampling round per step (no
   dynamic sampling). EOS is made unsampleable on both
   sides, so every answer runs to the limit and both do exactly the same number of tokens. The
   median time per RL step of passkrl's ``rl_step`` and of TRL's ``GRPOTrainer`` (measured by a
   callback over the two optimiser steps of each generation), and their ratio. Target: >= 5x. With
   ``--precision bfloat16`` both updates run under bfloat16 autocast (TRL: ``bf16=True``).
2. **Where the step goes** (sample / score / advantage / update) on that work.
3. **Rollout tokens per second**: the prompt-shared sampler (one prefill per prompt, finished
   groups leave the batch), the same with every prompt repeated n times, and the recomputing
   reference (no KV cache), on the default warm-up's answers when a cached warm-up exists,
   else on the random model's.
4. **The update's share of this machine's matmul peak**: a float32 GEMM of the model's width, and
   the update's FLOPs (6 per weight per token processed for forward and backward, plus 2 for the no-grad pass
   over the mini-batches after the first; prompts once, answers once; attention
   not counted) divided by its time.
5. **Dynamic sampling's scoring pass** (the default regime, on the cached warm-up when one exists):
   ``collect_batch``, which scores no round (the update takes the old log-probabilities of the kept
   groups from its own passes; the no-grad pass it runs over the later mini-batches is timed here too),
   against the same rounds each scored as sampled (the reference), on the same steps and seeds:
   seconds per batch, rounds per batch, and the ratio.
6. **The evaluation** of the whole default test pool (256 mazes x 16 answers, same policy as 5):
   entropies reported by the sampler, against a second no-grad pass of the network for them (the
   reference); the same answers (checked), seconds each and the ratio.

    python benchmarks/bench_trainer.py [--steps 6] [--skip-trl] [--n-prompts 8 --n-rollouts 32] [--precision bfloat16]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from passkrl.core.schedule import KSchedule
from passkrl.models.tiny import TinyTransformer
from passkrl.tasks import maze as maze_task
from passkrl.train.config import TrainConfig
from passkrl.train.policy import max_answer_tokens
from passkrl.train.trainer import make_data, rl_step, step_generators
from passkrl.train.training_task import MAZE


def matmul_gflops(width: int, rows: int = 4096, repeats: int = 30, dtype: torch.dtype = torch.float32) -> float:
    a, b = torch.randn(rows, width, dtype=dtype), torch.randn(width, 4 * width, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * rows * width * 4 * width * repeats / (time.perf_counter() - start) / 1e9


def never_stopping(policy) -> None:
    """Make EOS unsampleable, so that every answer runs to the answer limit (as a random HF model's do)."""
    cfg = policy.model.cfg
    suppressed = dataclasses.replace(cfg, suppress_ids=tuple(cfg.suppress_ids) + (policy.tokenizer.eos_id,))
    model = TinyTransformer(suppressed)
    model.load_state_dict(policy.model.state_dict())
    policy.model = model


def bench_passkrl(cfg: TrainConfig, steps: int) -> dict:
    data = make_data(cfg)
    policy = MAZE.build_policy(cfg, data)
    never_stopping(policy)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=cfg.lr)
    schedule = KSchedule.parse(str(cfg.k))
    records = [rl_step(policy, optimizer, data, cfg, schedule, step) for step in range(steps + 1)][1:]
    return {"records": records, "policy": policy, "data": data}


def bench_trl(cfg: TrainConfig, data, steps: int, answer_limit: int, tmp: Path) -> dict:
    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForCausalLM, PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    from bench_integrations import step_timer  # a sibling script: its directory is sys.path[0]

    from passkrl.models.tiny_hf import char_tokenizer

    tokenizer = char_tokenizer()
    d = cfg.d_model
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=d, num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.n_heads, intermediate_size=(8 * d) // 3 // 8 * 8,  # SwiGLU: 3 matrices ~ 2 of 4d
        max_position_embeddings=2048, tie_word_embeddings=True, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
    ))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.suppress_tokens = [tokenizer.eos_token_id]  # answers run to the limit, as ours
    n_generations = steps + 1
    mazes = data.train[: cfg.n_prompts * n_generations]
    dataset = Dataset.from_list([{"prompt": maze_task.compact_prompt(m), "grid": m.grid} for m in mazes])

    def reward(completions, grid, **kwargs) -> list[float]:
        return [maze_task.score_compact(g, c) for c, g in zip(completions, grid)]

    rollouts = cfg.n_prompts * cfg.n_rollouts
    config = GRPOConfig(
        output_dir=str(tmp / "trl"), max_steps=cfg.mini_batches * n_generations, num_generations=cfg.n_rollouts,
        per_device_train_batch_size=rollouts // cfg.mini_batches, steps_per_generation=cfg.mini_batches,
        max_completion_length=answer_limit, temperature=cfg.temperature, top_p=1.0, learning_rate=cfg.lr,
        loss_type="dapo", epsilon=cfg.clip_low, epsilon_high=cfg.clip_high, beta=0.0, seed=0, report_to="none",
        use_cpu=True, bf16=cfg.precision == "bfloat16", save_strategy="no", logging_steps=1, disable_tqdm=True, shuffle_dataset=False,
    )
    timer = step_timer()
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[reward], args=config,
                          train_dataset=dataset, callbacks=[timer])
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    per_generation = [sum(timer.times[i:i + cfg.mini_batches]) for i in range(0, len(timer.times), cfg.mini_batches)]
    lengths = [log["completions/mean_length"] for log in trainer.state.log_history if "completions/mean_length" in log]
    return {"step_s": per_generation[1:], "mean_length": float(np.mean(lengths)) if lengths else float("nan")}


def rollout_rates(policy, mazes: list, n: int) -> dict[str, float]:
    """Answer tokens per second of the three samplers, on the same prompts and seeds."""
    prompts = policy._prompt_ids(mazes)
    limit = policy.answer_limit(mazes)
    options = dict(temperature=1.0, top_p=1.0, eos_id=policy.tokenizer.eos_id, pad_id=policy.tokenizer.pad_id)
    variants = {
        "prompt-shared, finished groups leave": dict(prompts=prompts, n_samples=n),
        "each prompt repeated n times": dict(prompts=[p for p in prompts for _ in range(n)], n_samples=1),
        "no KV cache (reference)": dict(prompts=[p for p in prompts for _ in range(n)], n_samples=1, use_cache=False),
    }
    rates = {}
    for name, kwargs in variants.items():
        gen, _ = step_generators(0, 0, 0)
        start = time.perf_counter()
        out = policy.model.generate(max_new_tokens=limit, generator=gen, **options, **kwargs)
        rates[name] = float(out.completion_mask.sum()) / (time.perf_counter() - start)
    return rates


class ScoredEveryRound:
    """The policy, with every sampling round scored as sampled: the reference for section 5."""

    def __init__(self, policy):
        self._policy = policy

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def sample(self, *args, logprobs: bool = True, **kwargs):
        return self._policy.sample(*args, logprobs=True, **kwargs)


class EntropyBySecondPass:
    """The policy, with a sampler that reports no entropies: the evaluation's reference for section 6."""

    def __init__(self, policy):
        self._policy = policy

    def __getattr__(self, name):
        return getattr(self._policy, name)

    def sample(self, *args, **kwargs):
        rollout = self._policy.sample(*args, **kwargs)
        rollout.mean_entropy = np.full(len(rollout.answers), np.nan)  # evaluate() then runs add_logprobs
        return rollout


def evaluation_times(policy, data, cfg: TrainConfig) -> dict[str, float]:
    """Seconds of one ``evaluate`` of ``data.test``, sampler's entropies vs a second pass (same answers)."""
    from passkrl.train.trainer import evaluate

    times, results = {}, {}
    for name, evaluated in (("entropies from the sampler", policy), ("second pass (reference)", EntropyBySecondPass(policy))):
        start = time.perf_counter()
        results[name] = evaluate(evaluated, data.test, cfg, step=0)
        times[name] = time.perf_counter() - start
    first, second = results.values()
    if first["correct"] != second["correct"] or abs(first["entropy"] - second["entropy"]) > 1e-5:
        raise AssertionError("the two evaluations differ")
    return times


def dynamic_sampling_times(policy, data, cfg: TrainConfig, steps: int) -> dict[str, list[float]]:
    """Seconds per batch with dynamic sampling: kept groups scored by the update's own passes vs every round scored."""
    from passkrl.train.trainer import collect_batch, mini_batch_parts, take_later_old_logprobs

    dynamic = dataclasses.replace(cfg, dynamic_sampling=True)
    times: dict[str, list[float]] = {"scored by the update": [], "every round scored (reference)": [], "rounds": []}
    for step in range(steps):
        for name, sampler in (("scored by the update", policy), ("every round scored (reference)", ScoredEveryRound(policy))):
            start = time.perf_counter()
            batch = collect_batch(sampler, data, dynamic, step)
            if name == "scored by the update":  # rl_step's no-grad pass over the mini-batches after the first
                take_later_old_logprobs(policy, mini_batch_parts(batch.rollout, cfg.mini_batches), cfg.precision)
            times[name].append(time.perf_counter() - start)
        times["rounds"].append(batch.sampled["rounds"])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6, help="timed RL steps per trainer (after one untimed)")
    parser.add_argument("--skip-trl", action="store_true", help="leave out the TRL comparison")
    parser.add_argument("--n-prompts", type=int, default=TrainConfig.n_prompts, help="mazes per RL step")
    parser.add_argument("--n-rollouts", type=int, default=TrainConfig.n_rollouts, help="answers per maze")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                        help="arithmetic of both trainers' updates (TRL: bf16=True, autocast on the CPU)")
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every code path (the test suite runs it); figures meaningless")
    args = parser.parse_args()
    if args.smoke:  # the options not given keep their smoke values
        parser.set_defaults(steps=1, n_prompts=2, n_rollouts=4)
        args = parser.parse_args()
    os.environ.setdefault("PASSKRL_CACHE", os.path.join(tempfile.gettempdir(), "passkrl-bench-cache"))
    torch.set_num_threads(os.cpu_count() or 1)
    # one sampling round per step, as TRL does (dynamic sampling would resample the random model's all-zero groups)
    size = dict(d_model=32, n_layers=1, n_heads=2, train_sizes=(7,), test_sizes=(7,), n_train_problems=200,
                n_test_problems=2, eval_samples=4, dynamic_max_rounds=2) if args.smoke else {}
    cfg = TrainConfig(progress=False, n_prompts=args.n_prompts, n_rollouts=args.n_rollouts,
                      k=min(TrainConfig.k, args.n_rollouts), dynamic_sampling=False, precision=args.precision, **size)
    train_sizes = tuple(cfg.train_sizes)
    answer_limit = max_answer_tokens(train_sizes)

    ours = bench_passkrl(cfg, args.steps)
    policy, data, records = ours["policy"], ours["data"], ours["records"]
    n_params = policy.model.num_parameters()
    step_s = [sum(r["time_s"].values()) for r in records]
    tokens = np.mean([r["completion_tokens"] for r in records])
    print(f"batch: {cfg.n_prompts} mazes x {cfg.n_rollouts} rollouts of sizes {cfg.train_sizes}, answer limit "
          f"{answer_limit} tokens, {cfg.mini_batches} optimiser steps per batch; {torch.get_num_threads()} threads; "
          f"update in {cfg.precision}")
    print(f"passkrl tiny transformer: {n_params / 1e6:.2f} M parameters, {tokens / (cfg.n_prompts * cfg.n_rollouts):.1f} "
          f"answer tokens per rollout, median RL step {statistics.median(step_s) * 1e3:.0f} ms")
    if not args.skip_trl:
        with tempfile.TemporaryDirectory() as tmp:
            trl = bench_trl(cfg, data, args.steps, answer_limit, Path(tmp))
        trl_median = statistics.median(trl["step_s"])
        print(f"TRL GRPOTrainer, HF Llama of the same shape: {trl['mean_length']:.1f} answer tokens per rollout, "
              f"median RL step {trl_median * 1e3:.0f} ms")
        print(f"=> passkrl is {trl_median / statistics.median(step_s):.1f}x faster per RL step (target >= 5x)")

    phases = ("sample", "score", "advantage", "update")
    total = sum(np.mean([r["time_s"][p] for r in records]) for p in phases)
    print(f"\nwhere a passkrl RL step goes (mean of {len(records)}): {total * 1e3:.0f} ms")
    for phase in phases:
        mean = np.mean([r["time_s"][phase] for r in records])
        print(f"  {phase:<10}{mean * 1e3:9.1f} ms  {100 * mean / total:5.1f}%")

    # rollouts of the trained policy when a cached default warm-up exists (answers of realistic length)
    from passkrl.train.warmup import weights_path

    cached = weights_path(cfg)
    trained = MAZE.build_policy(cfg)
    source = "random model"
    if cached.exists():
        trained.model.load_state_dict(torch.load(cached, map_location="cpu", weights_only=True))
        source = "cached default warm-up"
    trained.model.eval()
    rates = rollout_rates(trained, data.train[: cfg.n_prompts], cfg.n_rollouts)
    print(f"\nrollout answer tokens/s ({source}, {cfg.n_prompts} mazes x {cfg.n_rollouts}):")
    reference = rates["no KV cache (reference)"]
    for name, rate in rates.items():
        print(f"  {name:<38}{rate:>10,.0f}   {rate / reference:5.1f}x the reference")

    peak = matmul_gflops(cfg.d_model, dtype=getattr(torch, cfg.precision))
    update_s = np.mean([r["time_s"]["update"] for r in records])
    prompt_tokens = cfg.n_prompts * (max(train_sizes) * (max(train_sizes) + 1) + 1)
    answer_tokens = cfg.n_prompts * cfg.n_rollouts * answer_limit
    # forward and backward of every mini-batch (6 per weight per token), and the no-grad forward (2) that takes
    # the old log-probabilities of the mini-batches after the first; the tied embedding counted once, as the head
    flops = (6 + 2 * (cfg.mini_batches - 1) / cfg.mini_batches) * n_params * (prompt_tokens + answer_tokens)
    achieved = flops / update_s / 1e9
    print(f"\nmatmul peak ({cfg.d_model}-wide {cfg.precision} GEMM, 4096 rows): {peak:.1f} GFLOP/s")
    print(f"update phase: {achieved:.1f} GFLOP/s = {100 * achieved / peak:.0f}% of it "
          f"({6 + 2 * (cfg.mini_batches - 1) / cfg.mini_batches:g} FLOPs per weight per token, prompts counted once, "
          "attention not counted)")

    times = dynamic_sampling_times(trained, data, cfg, args.steps)
    ours_s, reference_s = statistics.median(times["scored by the update"]), statistics.median(times["every round scored (reference)"])
    print(f"\ndynamic sampling ({source}, up to {cfg.dynamic_max_rounds} rounds, mean "
          f"{np.mean(times['rounds']):.1f} per batch), median seconds per batch over {args.steps} steps:")
    print(f"  kept groups scored by the update     {ours_s:8.3f}")
    print(f"  every round scored (reference)       {reference_s:8.3f}   => {reference_s / ours_s:.2f}x faster")

    seconds = evaluation_times(trained, data, cfg)
    ours_s, reference_s = seconds.values()
    print(f"\nevaluation ({source}, {len(data.test)} test mazes x {cfg.eval_samples} answers, same answers), seconds:")
    print(f"  entropies from the sampler           {ours_s:8.2f}")
    print(f"  second pass (reference)              {reference_s:8.2f}   => {reference_s / ours_s:.2f}x faster")


if __name__ == "__main__":
    main()
