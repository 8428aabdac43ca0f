"""The embedded trainer: Pass@k Training of a tiny transformer on mazes, readable top to bottom.

``--task`` other than ``maze`` swaps the problems and the policy for a short-answer text task
(:mod:`passkrl.train.text_policy`: reasoning-gym's chain_sum / basic_arithmetic, generated maths);
:mod:`passkrl.train.training_task` is the only place that knows which, and :func:`build` asks it; the steps
below are the same for all.

One RL step (arXiv 2508.10751 §2, Algorithm in appendix C):

1. **rollout**   sample ``n_prompts`` mazes and ``n_rollouts`` answers each from the current policy
   (one prefill per maze, shared by its answers; with ``--dynamic-sampling`` groups whose rewards
   are all equal are replaced by fresh ones, DAPO §3.2);
2. **reward**    score every answer with the maze verifier (1 iff the moves walk from S to E);
3. **advantage** any registered estimator or shaper turns the ``[n_prompts, n_rollouts]`` rewards
   into advantages (``passk_analytic`` by default: the exact mean over all k-subsets, eqs. 11-15);
4. **update**    the DAPO token-level clipped surrogate (clip-higher 0.2 / 0.28, no KL), in
   ``mini_batches`` optimiser steps per batch; each maze's prompt is computed once for its answers.

Where this departs from the paper, and why (docs/training.md has the measurements behind it):

* The policy is a ~0.8M-parameter character-level transformer with rotary positions, not
  Qwen2.5-7B-Instruct, and it reads a compact encoding of the maze (rows joined by ``/``) and answers
  with the bare move letters; the verifier is the same walk as for the paper's ``<answer>`` prompt.
* The paper compares from an instruct model that Pass@1 Training has already sharpened; we build that
  start from a supervised warm-up on shortest paths (stopped while the policy solves some mazes and
  fails others) and a Pass@1 phase of GRPO (:func:`sharpen`), both cached by their settings, and every
  estimator continues from it with a fresh optimiser.
* Laptop scale: mazes of 7x7 and 9x9 for training (the paper: 9-15), 7-11 for testing (7-21), on a
  fixed held-out pool of 128 mazes per size; smaller batches and a larger learning rate than a 7B model's.
* Every random draw of step ``t`` comes from generators seeded by ``(seed, t)`` (and ``--rl-seed``), so
  a run resumed from a checkpoint reproduces an uninterrupted run bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from passkrl import estimators
from passkrl.core.losses import dapo_policy_loss
from passkrl.core.schedule import KSchedule
from passkrl.io import write_json_atomic
from passkrl.metrics import distinct_wrong_answers, pass_at_k
from passkrl.runs import RunDir
from passkrl.train import checkpoint as ckpt
from passkrl.train.config import TrainConfig, hashed_settings
from passkrl.train.policy import Policy
from passkrl.train.precision import autocast
from passkrl.train.training_task import EVAL_CHUNK_ROWS, TrainingData
from passkrl.train.warmup import settings_digest, warm_up, weights_path

# ------------------------------------------------------------------------------------- data


MazeData = TrainingData
"""The former name of :class:`passkrl.train.training_task.TrainingData` (it holds any task's problems)."""


def make_data(cfg: TrainConfig) -> TrainingData:
    """The run's training problems and the held-out pool it evaluates on, as its task draws them."""
    return cfg.training.make_data(cfg)


def build(cfg: TrainConfig) -> tuple[TrainingData, Policy]:
    """The problems and the policy of a run, as its task builds them (:mod:`passkrl.train.training_task`)."""
    data = make_data(cfg)
    return data, cfg.training.build_policy(cfg, data)


def step_generators(seed: int, step: int, purpose: int, replicate: int = 0) -> tuple[torch.Generator, np.random.Generator]:
    """Independent generators for one step and purpose (0 rollout, 1 eval, 2 estimator, 3 noise).

    ``replicate`` (``--rl-seed``) gives an RL run its own stream from the same warm-up.
    """
    entropy = [seed, step, purpose] + ([replicate] if replicate else [])
    torch_gen = torch.Generator().manual_seed(int(np.random.SeedSequence(entropy).generate_state(1)[0]))
    return torch_gen, np.random.default_rng(entropy)


# ------------------------------------------------------------------------------------- evaluation




def evaluate(policy: Policy, problems: list, cfg: TrainConfig, step: int) -> dict[str, Any]:
    """Unbiased pass@1..pass@N on held-out problems at the paper's sampling settings (T=1.0, top-p 0.95)."""
    gen, _ = step_generators(cfg.seed, step, 1)
    n = cfg.eval_samples
    per_chunk = max(1, EVAL_CHUNK_ROWS // n)
    correct_by_problem, entropies, wrong_distinct, sizes = [], [], [], []
    for start in range(0, len(problems), per_chunk):
        chunk = problems[start : start + per_chunk]
        # no log-probabilities: only the entropies are needed, and the sampler reports them
        rollout = policy.sample(chunk, n, temperature=cfg.eval_temperature, top_p=cfg.eval_top_p, generator=gen,
                                logprobs=False)
        if np.isnan(rollout.mean_entropy).any():  # a sampler that does not (a Hugging Face model): one more pass
            policy.add_logprobs(rollout)
        rewards = policy.score(chunk, rollout.answers, partial=False).reshape(len(chunk), n)  # [M, n]
        answers = np.array(rollout.answers, dtype=object).reshape(len(chunk), n)
        correct_by_problem.extend(rewards.sum(axis=1).astype(int).tolist())
        entropies.extend(rollout.mean_entropy.reshape(len(chunk), n).mean(axis=1).tolist())
        wrong_distinct.extend(distinct_wrong_answers(answers.tolist(), (rewards == 1).tolist()))
        sizes.extend(policy.eval_group(m) for m in chunk)  # maze size, or a text task's data set / kind
    correct = np.array(correct_by_problem)
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= n]
    if n not in ks:
        ks.append(n)
    # the record's keys are those of the maze's first runs, which every reader of a run directory knows
    result: dict[str, Any] = {"step": step, "n_mazes": len(problems), "samples_per_maze": n}
    for k in ks:
        result[f"pass@{k}"] = float(np.mean(pass_at_k(n, correct, k)))
    result["entropy"] = float(np.mean(entropies))
    result["distinct_wrong"] = float(np.mean(wrong_distinct))
    by_size = {}
    for size in sorted(set(sizes)):
        rows = np.array(sizes) == size
        by_size[str(size)] = {f"pass@{k}": float(np.mean(pass_at_k(n, correct[rows], k))) for k in ks}
    result["by_size"] = by_size
    # per problem, for intervals over test prompts (paired: every run meets the same held-out pool)
    result["correct"] = correct.tolist()
    result["sizes"] = [int(size) if isinstance(size, (int, np.integer)) else size for size in sizes]  # text tasks: names
    return result


NOT_SEEN_AT_STEP_0 = ("out", "resume", "progress", "stop_after", "rl_seed", "estimator", "k", "k_schedule",
                     "estimator_params", "reward_noise", "rl_steps", "n_prompts", "n_rollouts", "dynamic_sampling",
                     "dynamic_max_rounds", "mini_batches", "lr", "lr_warmup_steps", "clip_low", "clip_high",
                     "entropy_coef", "grad_clip", "temperature", "eval_every", "checkpoint_every", "pass1_steps", "pass1_lr")
"""Settings the step-0 evaluation cannot depend on: it sees the warm-up's weights, the test problems
and the evaluation settings, and its draws come from ``(seed, 0, eval)``, never from ``--rl-seed``."""


def evaluate_cached(policy: Policy, problems: list, cfg: TrainConfig, weights: Path) -> dict[str, Any]:
    """The step-0 evaluation of the cached weights ``weights`` (the warm-up's, or the Pass@1 phase's), cached
    beside them: every RL run that starts from them (any estimator, any replicate) would compute exactly this,
    so only the first one does.

    The key is every other setting (threads included, since a thread count may change rounding) and
    the weights file's size and modification time, so a rebuilt warm-up is evaluated afresh.
    """
    if not weights.exists():
        return evaluate(policy, problems, cfg, step=0)
    stat = weights.stat()
    settings = hashed_settings(cfg, (f.name for f in dataclasses.fields(cfg) if f.name not in NOT_SEEN_AT_STEP_0))
    settings["weights"] = f"{stat.st_size}:{stat.st_mtime_ns}"
    # evaluation samples in float32 whatever the run's precision (the weights' name tells a bfloat16 warm-up
    # apart): hashed as the value every entry was written under before --precision had a default of auto
    settings["precision"] = "float32"
    path = weights.with_name(f"{weights.stem}-step0-{settings_digest(settings)}.json")
    if path.exists():
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
            print(f"step-0 evaluation: reusing cached result {path}")
            return result
        except (OSError, ValueError) as err:  # a damaged entry is recomputed, never fatal
            print(f"step-0 evaluation: ignoring unreadable cache entry {path} ({type(err).__name__})")
    result = evaluate(policy, problems, cfg, step=0)
    try:
        write_json_atomic(path, result)
    except OSError as err:  # a read-only or full cache costs the next run this evaluation, nothing else
        print(f"step-0 evaluation: could not cache it in {path.parent} ({type(err).__name__}: {err})")
    return result


# ------------------------------------------------------------------------------------- one RL step


@dataclass
class Batch:
    """The groups an RL step trains on: ``P`` prompts, ``n`` scored answers each."""

    problems: list
    rollout: Any  # passkrl.train.policy.Rollout
    rewards_pn: np.ndarray  # [P, n] rewards the estimator sees (noise included)
    solved_pn: np.ndarray  # [P, n] 1 where the verifier says solved
    sampled: dict[str, float]  # shares of all-wrong / mixed / all-right over every group sampled this step
    score_s: float  # seconds spent in the verifier


def collect_batch(policy: Policy, data: TrainingData, cfg: TrainConfig, step: int) -> Batch:
    """Steps 1 and 2: sample and score ``n_prompts`` groups.

    With ``--dynamic-sampling`` (DAPO, arXiv 2503.14476 §3.2) groups whose rewards are all equal, which
    give every estimator here a zero advantage, are dropped and fresh prompts are sampled until the
    batch holds ``n_prompts`` groups with different rewards, for at most ``--dynamic-max-rounds``
    rounds; a batch still short after that is filled with the dropped groups, so its shape is fixed.
    """
    from passkrl.train.policy import concat

    rollout_gen, rollout_rng = step_generators(cfg.seed, step, 0, cfg.rl_seed)
    _, noise_rng = step_generators(cfg.seed, step, 3, cfg.rl_seed)
    rounds = cfg.dynamic_max_rounds if cfg.dynamic_sampling else 1
    order = rollout_rng.choice(len(data.train), size=min(len(data.train), cfg.n_prompts * rounds), replace=False)
    kept: list[tuple] = []  # (round, index in that round, rewards [n], solved [n]) of each group
    spare: list[tuple] = []
    rounds_sampled: list[tuple] = []  # (problems, rollout) of each round
    counts = {"all_wrong": 0, "mixed": 0, "all_right": 0}
    score_s = 0.0
    for start in range(0, len(order), cfg.n_prompts):
        problems = [data.train[i] for i in order[start : start + cfg.n_prompts]]
        # no scoring pass: the update computes the old log-probabilities of the groups it keeps
        rollout = policy.sample(problems, cfg.n_rollouts, temperature=cfg.temperature, top_p=1.0, generator=rollout_gen,
                                logprobs=False)
        rounds_sampled.append((problems, rollout))
        scoring = time.perf_counter()
        rewards_pn = policy.score(problems, rollout.answers, partial=cfg.partial_credit)
        rewards_pn = rewards_pn.reshape(len(problems), cfg.n_rollouts)
        score_s += time.perf_counter() - scoring
        solved_pn = (rewards_pn == 1.0).astype(np.float64)  # partial credit is 1 exactly when solved
        if cfg.reward_noise > 0:  # noise rewards (§3.1): a share of the wrong answers is rewarded
            flip = (noise_rng.random(rewards_pn.shape) < cfg.reward_noise) & (solved_pn == 0)
            rewards_pn = np.where(flip, 1.0, rewards_pn)
        n_solved = solved_pn.sum(axis=1)
        for i in range(len(problems)):
            counts["all_wrong" if n_solved[i] == 0 else "all_right" if n_solved[i] == cfg.n_rollouts else "mixed"] += 1
            informative = rewards_pn[i].max() > rewards_pn[i].min()
            group = (len(rounds_sampled) - 1, i, rewards_pn[i], solved_pn[i])
            (kept if informative or not cfg.dynamic_sampling else spare).append(group)
        if len(kept) >= cfg.n_prompts:
            break
    groups = (kept + spare)[: cfg.n_prompts]
    n_groups = sum(counts.values())
    sampled = {name: count / n_groups for name, count in counts.items()}
    sampled["groups_sampled"] = n_groups
    sampled["rounds"] = len(rounds_sampled)
    if cfg.dynamic_sampling:  # the chosen groups, in the order they were chosen, joined into one rollout
        problems = [rounds_sampled[r][0][i] for r, i, _, _ in groups]
        rollout = concat([rounds_sampled[r][1].groups([i]) for r, i, _, _ in groups])
    else:  # the one round as sampled
        problems, rollout = rounds_sampled[0]
    if np.isnan(rollout.mean_entropy).any():  # a sampler that reports no entropies (a Hugging Face model)
        with autocast(cfg.precision):
            policy.add_logprobs(rollout)
    return Batch(problems, rollout, np.stack([g[2] for g in groups]), np.stack([g[3] for g in groups]), sampled,
                 score_s)


def mini_batch_parts(rollout, mini_batches: int) -> list:
    """The rollout split into ``mini_batches`` equal runs of whole groups, in order: one optimiser step each."""
    per_part = rollout.n_prompts // mini_batches
    return [rollout.groups(slice(mb * per_part, (mb + 1) * per_part)) for mb in range(mini_batches)]


def take_later_old_logprobs(policy: Policy, parts: list, precision: str) -> None:
    """The ratio's denominator, log pi_old, in the update's own arithmetic. The first mini-batch's is its own
    forward pass in :func:`rl_step` (detached: the ratio is exactly 1 there); the later mini-batches' are
    taken here, before the first optimiser step moves the weights, by a no-grad pass over the same rows."""
    with torch.no_grad(), autocast(precision):
        for part in parts[1:]:
            part.old_logprobs = policy.token_logprobs(part)[0]


def rl_step(policy: Policy, optimizer: torch.optim.Optimizer, data: TrainingData, cfg: TrainConfig,
            schedule: KSchedule, step: int) -> dict[str, Any]:
    started = time.perf_counter()
    k = schedule.k_at(step)

    # 1.-2. rollout and reward: n_prompts problems x n_rollouts answers, scored by the verifier
    policy.model.eval()
    batch = collect_batch(policy, data, cfg, step)
    rollout, rewards_pn, solved_pn = batch.rollout, batch.rewards_pn, batch.solved_pn
    t_sample = time.perf_counter()

    # 3. advantage: [P, N] -> [P, N] by the registered estimator
    # The inputs an estimator declares it needs (config.ROLLOUT_INPUTS lists what a rollout provides).
    available = {"entropy": lambda: rollout.mean_entropy.reshape(cfg.n_prompts, cfg.n_rollouts)}  # [P, N]
    inputs = {name: available[name]() for name in estimators.lookup(cfg.estimator).needs}
    estimator_gen, _ = step_generators(cfg.seed, step, 2, cfg.rl_seed)
    advantages_pn = estimators.compute(cfg.estimator, rewards_pn, k=k, generator=estimator_gen,
                                       **cfg.params(), **inputs)
    t_adv = time.perf_counter()

    # 4. update: DAPO token-level loss over the whole batch, in mini-batches of prompts
    advantages_b = torch.as_tensor(advantages_pn.reshape(-1), dtype=torch.float32)
    n_tokens_total = int(rollout.completion_mask.sum())
    per_mini = cfg.n_prompts // cfg.mini_batches * cfg.n_rollouts
    parts = mini_batch_parts(rollout, cfg.mini_batches)
    take_later_old_logprobs(policy, parts, cfg.precision)
    policy.model.train()
    losses, clip_fracs, grad_norms = [], [], []
    for mb, part in enumerate(parts):
        rows = slice(mb * per_mini, (mb + 1) * per_mini)
        with autocast(cfg.precision):
            logprobs, entropy = policy.token_logprobs(part)  # each prompt computed once for its n answers
        if mb == 0:
            # what the sampler's arithmetic (float32, KV cache) and the update's disagree by: ~1e-7 in
            # float32, ~3e-3 under bfloat16 autocast; the ratio itself is not affected (log pi_old := log pi)
            first_log_ratio = float(((logprobs.detach() - part.old_logprobs).abs() * part.completion_mask).sum()
                                    / part.completion_mask.sum().clamp(min=1))
            part.old_logprobs = logprobs.detach()
        loss, stats = dapo_policy_loss(
            logprobs, part.old_logprobs, advantages_b[rows], part.completion_mask,
            clip_low=cfg.clip_low, clip_high=cfg.clip_high, entropy_bt=entropy, entropy_coef=cfg.entropy_coef,
            n_tokens=max(1, n_tokens_total // cfg.mini_batches),
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norms.append(float(torch.nn.utils.clip_grad_norm_(policy.model.parameters(), cfg.grad_clip)))
        optimizer.step()
        losses.append(loss.item())
        clip_fracs.append(stats.clip_fraction)
    t_update = time.perf_counter()

    n_correct_p = solved_pn.sum(axis=1)
    return {
        "kind": "train",
        "step": step + 1,
        "k": k,
        "reward": float(rewards_pn.mean()),
        "solved": float(solved_pn.mean()),
        f"train_pass@{k}": float(np.mean(pass_at_k(cfg.n_rollouts, n_correct_p.astype(int), k))),
        # groups of the trained batch
        "all_wrong": float(np.mean(n_correct_p == 0)),
        "all_right": float(np.mean(n_correct_p == cfg.n_rollouts)),
        "mixed": float(np.mean((n_correct_p > 0) & (n_correct_p < cfg.n_rollouts))),
        # every group sampled this step (more than n_prompts with --dynamic-sampling)
        "sampled_all_wrong": batch.sampled["all_wrong"],
        "sampled_mixed": batch.sampled["mixed"],
        "sampled_all_right": batch.sampled["all_right"],
        "groups_sampled": batch.sampled["groups_sampled"],
        "adv_abs_mean": float(np.abs(advantages_pn).mean()),
        "eta": float(np.abs(advantages_pn).sum(axis=1).mean()),
        "loss": float(np.mean(losses)),
        "clip_fraction": float(np.mean(clip_fracs)),
        "first_log_ratio": first_log_ratio,
        "grad_norm": float(np.mean(grad_norms)),
        "entropy": float(rollout.mean_entropy.mean()),
        "completion_tokens": n_tokens_total,
        "lr": optimizer.param_groups[0]["lr"],
        "time_s": {"sample": t_sample - started - batch.score_s, "score": batch.score_s, "advantage": t_adv - t_sample, "update": t_update - t_adv},
    }


# ------------------------------------------------------------------------------------- the run


class Interrupted(Exception):
    """Raised after Ctrl-C once a checkpoint has been written."""


def lr_at(cfg: TrainConfig, optimizer_step: int) -> float:
    if cfg.lr_warmup_steps and optimizer_step < cfg.lr_warmup_steps:
        return cfg.lr * (optimizer_step + 1) / cfg.lr_warmup_steps
    return cfg.lr


def sharpen(policy: Policy, data: TrainingData, cfg: TrainConfig) -> list[dict[str, Any]]:
    """The Pass@1 phase (:mod:`passkrl.train.pass1_phase`): ``pass1_steps`` steps of GRPO from the policy's
    (warm-up) weights, loaded from the cache when it holds them.

    Returns the phase's per-step records (``phase: "pass1"``, steps ``1 - pass1_steps .. 0``, so that the
    compared phase starts at step 0 on every plot). Step ``t`` draws from the generators of step
    ``PASS1_STEP_OFFSET + t``, a stream no RL run reaches.
    """
    from passkrl.train import pass1_phase

    records = pass1_phase.load(policy, cfg)
    if records is not None:
        return records
    phase = pass1_phase.phase_config(cfg)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=phase.lr, betas=(0.9, 0.99), weight_decay=0.0)
    records = []
    bar = progress(range(phase.rl_steps), phase, total=phase.rl_steps, desc="Pass@1 phase (GRPO)")
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(phase, step * phase.mini_batches)
        record = rl_step(policy, optimizer, data, phase, phase.schedule, pass1_phase.PASS1_STEP_OFFSET + step)
        record.update(phase="pass1", step=step + 1 - phase.rl_steps)
        records.append(record)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(reward=f"{record['reward']:.2f}", entropy=f"{record['entropy']:.2f}")
    pass1_phase.save(policy, cfg, records)
    return records


def start_policy(policy: Policy, data: TrainingData, cfg: TrainConfig) -> dict[str, Any]:
    """The policy the compared RL phase starts from, built or loaded from the cache, with its evaluations.

    Warm-up (supervised, :mod:`passkrl.train.warmup`), evaluated; then, with ``pass1_steps``, the Pass@1 phase
    (GRPO until sharpened, :mod:`passkrl.train.pass1_phase`), evaluated again. Returns the evaluation after the
    warm-up (``warm_up``), the one the compared phase starts from (``before``) and the metrics records of both
    phases (``records``: the warm-up's evaluation at step ``-pass1_steps``, the phase's steps up to 0, the
    start's evaluation at step 0).
    """
    from passkrl.train import pass1_phase

    warm_up(policy, data.train, cfg)
    warm = evaluate_cached(policy, data.test, cfg, weights_path(cfg))
    if not cfg.pass1_steps:
        return {"warm_up": warm, "before": warm, "records": [{"kind": "eval", "phase": "warm-up", **warm}]}
    steps = sharpen(policy, data, cfg)
    start = evaluate_cached(policy, data.test, cfg, pass1_phase.weights_path(cfg))
    records = [{"kind": "eval", "phase": "warm-up", **warm, "step": -cfg.pass1_steps}, *steps,
               {"kind": "eval", "phase": "pass1", **start}]
    return {"warm_up": {**warm, "step": -cfg.pass1_steps}, "before": start, "records": records}


def run(cfg: TrainConfig, run_dir: Path, *, resume: bool = False) -> dict[str, Any]:
    """Warm up and sharpen with Pass@1 Training (or load both from the cache), then RL with periodic
    evaluation and checkpoints."""
    torch.set_num_threads(cfg.threads or os.cpu_count() or 1)
    schedule = cfg.schedule
    data, policy = build(cfg)
    files = RunDir(run_dir)

    # Warm-up: supervised imitation of reference answers, cached by its settings (identical for every estimator).
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
    state = ckpt.load_latest(run_dir) if resume else None
    if state is None:
        start_step = 0
        files.clear_metrics()  # a fresh start: drop every record of an earlier, abandoned attempt
        phases = start_policy(policy, data, cfg)
        for record in phases["records"]:
            files.append_metrics(record)
        before = phases["before"]
        ckpt.save(run_dir, 0, policy.model, optimizer, {"before": before, "warm_up": phases["warm_up"]})
    else:
        policy.model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_step = state["step"]
        before = state["extra"]["before"]
        phases = {"warm_up": state["extra"].get("warm_up", before)}
        files.truncate_metrics(start_step)

    interrupted = {"flag": False}

    def on_sigint(signum, frame):  # finish the current step, save, stop
        interrupted["flag"] = True

    previous = signal.signal(signal.SIGINT, on_sigint)
    latest_eval = before
    try:
        bar = progress(range(start_step, cfg.rl_steps), cfg, total=cfg.rl_steps, initial=start_step)
        for step in bar:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(cfg, step * cfg.mini_batches)
            record = rl_step(policy, optimizer, data, cfg, schedule, step)
            files.append_metrics(record)
            done = step + 1
            if done % cfg.eval_every == 0 or done == cfg.rl_steps:
                latest_eval = evaluate(policy, data.test, cfg, step=done)
                files.append_metrics({"kind": "eval", **latest_eval})
            if done % cfg.checkpoint_every == 0 or done == cfg.rl_steps or interrupted["flag"]:
                ckpt.save(run_dir, done, policy.model, optimizer, {"before": before, "warm_up": phases["warm_up"]})
            if hasattr(bar, "set_postfix"):
                top = max(k for k in (1, 2, 4, 8, 16, 32, 64, 128) if f"pass@{k}" in latest_eval)
                bar.set_postfix(reward=f"{record['reward']:.2f}", **{f"test_pass@{top}": f"{latest_eval[f'pass@{top}']:.2f}"})
            if cfg.stop_after is not None and done - start_step >= cfg.stop_after and done < cfg.rl_steps:
                ckpt.save(run_dir, done, policy.model, optimizer, {"before": before, "warm_up": phases["warm_up"]})
                raise Interrupted(done)
            if interrupted["flag"]:
                raise Interrupted(done)
    finally:
        signal.signal(signal.SIGINT, previous)
    after = latest_eval if latest_eval["step"] == cfg.rl_steps else evaluate(policy, data.test, cfg, step=cfg.rl_steps)
    summary = {"warm_up": phases["warm_up"], "before": before, "after": after, "pass1_steps": cfg.pass1_steps,
               "estimator": cfg.estimator, "k": cfg.k, "k_schedule": cfg.k_schedule,
               "task": cfg.task, "eval_pool": cfg.eval_pool}
    files.write_eval(summary)
    return summary


def progress(iterable, cfg: TrainConfig, **kwargs) -> Iterator:
    if not cfg.progress:
        return iter(iterable)
    from tqdm.auto import tqdm

    return tqdm(iterable, **{"desc": "RL", "unit": "step", "dynamic_ncols": True, **kwargs})
