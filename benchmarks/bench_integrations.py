"""Cost of the passkrl engine integrations, measured against the engine's own trainer in one run.

Sections (``--only`` picks one; each is a function ``bench_<name>(args)`` registered in
``SECTIONS``, so another engine's section is one function more):

* ``trl``: optimisation-step time of TRL's ``GRPOTrainer`` and of ``PassKGRPOTrainer`` on a tiny
  offline model (:mod:`passkrl.models.tiny_hf`) and the maze prompts, trainers alternated
  ``--repeats`` times, learning rate 0 so that all sample the same completions; the median step,
  its ratio to TRL's, and the share of the step spent in
  passkrl (advantages from the gathered rewards, the ``passk/*`` metrics, the completions-table
  swap). Target: that share < 1%. On a real model the step is dominated by generation and the
  share is far smaller.

* ``verl``: verl's own advantage dispatch (``verl.trainer.ppo.ray_trainer.compute_advantage``, the
  function its PPO trainer calls) on a ``[1024 x 32]`` batch of ragged responses of up to 256 tokens,
  with verl's ``grpo`` and ``grpo_vectorized`` and with passkrl's registered estimators; median
  time and the speed-up over verl's ``grpo``. Target: ``passk_analytic`` no slower than ``grpo``.

    python benchmarks/bench_integrations.py [--only trl|verl] [--steps 8] [--repeats 2]
    python benchmarks/bench_integrations.py --smoke    # seconds: both sections once, figures meaningless
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch


# ------------------------------------------------------------------------------------------ TRL


def _first_char_even(completions, **kwargs) -> list[float]:
    """A binary reward a random model earns about half the time, so the advantages are not all 0."""
    texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
    return [1.0 if t and ord(t[0]) % 2 == 0 else 0.0 for t in texts]


def step_timer():
    """A ``transformers`` trainer callback that records the wall time of every optimisation step in ``.times``."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_step_begin(self, *_, **__) -> None:
            self._start = time.perf_counter()

        def on_step_end(self, *_, **__) -> None:
            self.times.append(time.perf_counter() - self._start)

    return StepTimer()


def _run_trl(kind: str, estimator: str, model_dir: Path, out_dir: Path, args: argparse.Namespace) -> dict:
    """Train ``args.warmup + args.steps`` steps; return the step times after warm-up and passkrl's time."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from trl import GRPOConfig, GRPOTrainer

    import passkrl.integrations.trl as integration

    settings = {
        "output_dir": str(out_dir), "max_steps": args.warmup + args.steps, "num_generations": args.generations,
        "per_device_train_batch_size": args.prompts * args.generations, "max_completion_length": args.length,
        # Learning rate 0: every arm samples exactly the same completions (same seed, same weights), so
        # the step times differ only by the advantage computation, not by what was generated.
        "learning_rate": 0.0, "seed": 0, "report_to": "none", "use_cpu": True, "bf16": False,
        "gradient_checkpointing": False, "save_strategy": "no", "logging_steps": 10**6, "disable_tqdm": True,
    }
    if kind == "trl":
        config, trainer_cls = GRPOConfig(**settings), GRPOTrainer
    else:
        config = integration.PassKGRPOConfig(**settings, passk_estimator=estimator, passk_k=args.k)
        trainer_cls = integration.PassKGRPOTrainer
    timer = step_timer()
    trainer = trainer_cls(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
        reward_funcs=[integration.maze_reward, _first_char_even],
        args=config,
        train_dataset=integration.maze_dataset([5, 7, 9], 4 * (args.warmup + args.steps) * args.prompts, seed=0),
        callbacks=[timer],
    )
    trainer.remove_callback(PrinterCallback)
    # Time passkrl's own work inside the trainer: the functions it calls after TRL's scoring.
    spent: list[float] = []
    originals = {name: getattr(integration, name) for name in ("passk_advantages", "passk_metrics")}

    def timed(fn: Callable) -> Callable:
        def wrapper(*a, **kw):
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent.append(time.perf_counter() - start)
        return wrapper

    for name, fn in originals.items():
        setattr(integration, name, timed(fn))
    swap = trainer_cls._replace_logged_advantages if kind != "trl" else None
    if swap is not None:
        trainer._replace_logged_advantages = timed(swap.__get__(trainer))
    try:
        trainer.train()
    finally:
        for name, fn in originals.items():
            setattr(integration, name, fn)
    n_calls_per_step = 3 if kind != "trl" else 0
    passk_per_step = [sum(spent[i:i + n_calls_per_step]) for i in range(0, len(spent), n_calls_per_step)] \
        if n_calls_per_step else []
    return {"steps": timer.times[args.warmup:], "passk": passk_per_step[args.warmup:]}


def bench_trl(args: argparse.Namespace) -> None:
    from passkrl.models.tiny_hf import save_tiny_lm

    torch.set_num_threads(os.cpu_count() or 1)
    estimators = args.estimators.split(",")
    arms = [("trl", "TRL scale_rewards=group")] + [("passk", name) for name in estimators]
    step_times: dict[str, list[float]] = {label: [] for _, label in arms}
    passk_times: dict[str, list[float]] = {label: [] for _, label in arms}
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = save_tiny_lm(Path(tmp) / "model", seed=0)
        for repeat in range(args.repeats):
            for kind, label in arms:
                result = _run_trl(kind, label, model_dir, Path(tmp) / f"out-{repeat}-{label}", args)
                step_times[label] += result["steps"]
                passk_times[label] += result["passk"]
    print(f"TRL section: tiny Llama (2 layers, hidden 32, char vocab), {args.prompts} prompts x "
          f"{args.generations} generations per step, {args.length} completion tokens, k={args.k}, "
          f"{args.steps} timed steps x {args.repeats} repeats after {args.warmup} warm-up, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    reference = statistics.median(step_times[arms[0][1]])
    header = f"{'trainer':<12} {'estimator':<26} {'median step ms':>15} {'vs TRL':>8} {'passkrl ms':>11} {'share':>7}"
    print(header)
    print("-" * len(header))
    for kind, label in arms:
        median = statistics.median(step_times[label])
        trainer = "GRPOTrainer" if kind == "trl" else "PassKGRPO"
        if passk_times[label]:
            passk_ms = statistics.median(passk_times[label]) * 1e3
            share = f"{100 * passk_ms / (median * 1e3):.2f}%"
            passk_col = f"{passk_ms:.3f}"
        else:
            passk_col, share = "-", "-"
        print(f"{trainer:<12} {label:<26} {median * 1e3:>15.1f} {median / reference:>8.3f} {passk_col:>11} {share:>7}")


# ----------------------------------------------------------------------------------------- verl

VERL_NAMES_TIMED = ("grpo", "grpo_vectorized", "passkrl_grpo", "passk_analytic", "pkpo_loo1", "passk_combination")


def _verl_batch(n_prompts: int, n_rollouts: int, response_len: int, seed: int = 0):
    """A verl DataProto like one PPO step's: binary scores on the last token of ragged-length responses."""
    import numpy as np
    from verl import DataProto

    rng = np.random.default_rng(seed)
    batch = n_prompts * n_rollouts
    # verl repeats each prompt's uid n times (interleave=True), so a group's rows are contiguous
    uids = np.repeat(np.array([f"uid-{p}" for p in range(n_prompts)], dtype=object), n_rollouts)
    lengths = torch.as_tensor(rng.integers(1, response_len + 1, batch))
    mask = (torch.arange(response_len)[None, :] < lengths[:, None]).to(torch.float32)
    rewards = torch.zeros(batch, response_len)
    rewards[torch.arange(batch), lengths - 1] = torch.as_tensor(rng.integers(0, 2, batch), dtype=torch.float32)
    return DataProto.from_dict(tensors={"token_level_rewards": rewards, "response_mask": mask}, non_tensors={"uid": uids})


def bench_verl(args: argparse.Namespace) -> None:
    """Median time of verl's ``compute_advantage`` per estimator on one batch, and the ratio to verl's ``grpo``."""
    n_prompts, n_rollouts, response_len = args.verl_prompts, args.verl_rollouts, args.verl_length
    k, repeats = args.verl_k, args.verl_repeats
    import verl
    from omegaconf import OmegaConf
    from verl.trainer.ppo import ray_trainer

    import passkrl.integrations.verl  # noqa: F401  (registers the estimators; verl's plugin loading does too)

    data = _verl_batch(n_prompts, n_rollouts, response_len)
    config = OmegaConf.create({"norm_adv_by_std_in_grpo": True, "passk": {"k": k}})
    print(f"\nverl {verl.__version__}: compute_advantage on [{n_prompts} x {n_rollouts}] responses of <= {response_len} "
          f"tokens, k={k}, median of {repeats}")
    print(f"{'adv_estimator':<22} {'ms':>9} {'vs grpo':>9}")
    medians: dict[str, float] = {}
    for name in VERL_NAMES_TIMED:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            ray_trainer.compute_advantage(data, adv_estimator=name, config=config)
            times.append(time.perf_counter() - start)
        medians[name] = statistics.median(times) * 1e3
        print(f"{name:<22} {medians[name]:>9.1f} {medians['grpo'] / medians[name]:>8.1f}x")
    verdict = "met" if medians["passk_analytic"] <= medians["grpo"] else "NOT met"
    print(f"target (passk_analytic no slower than verl's grpo): {verdict}")


# ------------------------------------------------------------------------------------------ main

SECTIONS: dict[str, Callable[[argparse.Namespace], None]] = {"trl": bench_trl, "verl": bench_verl}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(SECTIONS), help="run one section (default: all)")
    parser.add_argument("--steps", type=int, default=8, help="timed optimisation steps per trainer and repeat")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=2, help="times each trainer is run, alternating")
    parser.add_argument("--prompts", type=int, default=4, help="prompts per step")
    parser.add_argument("--generations", type=int, default=8, help="completions per prompt (num_generations)")
    parser.add_argument("--length", type=int, default=32, help="max_completion_length")
    parser.add_argument("--k", type=int, default=4, help="passk_k")
    parser.add_argument("--estimators", default="passk_analytic,passk_bootstrap,pkpo_loo1",
                        help="comma-separated passkrl estimators to time")
    parser.add_argument("--verl-prompts", type=int, default=1024, help="verl section: prompts (groups) in the batch")
    parser.add_argument("--verl-rollouts", type=int, default=32, help="verl section: responses per prompt")
    parser.add_argument("--verl-length", type=int, default=256, help="verl section: response tokens")
    parser.add_argument("--verl-k", type=int, default=8, help="verl section: algorithm.passk.k")
    parser.add_argument("--verl-repeats", type=int, default=7, help="verl section: timed calls per estimator")
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every code path (the test suite runs it); figures meaningless")
    args = parser.parse_args()
    if args.smoke:  # the options not given keep their smoke values
        parser.set_defaults(steps=1, warmup=0, repeats=1, prompts=2, generations=4, length=8, k=2,
                            verl_prompts=8, verl_rollouts=4, verl_length=8, verl_k=2, verl_repeats=1)
        args = parser.parse_args()
    for name in [args.only] if args.only else sorted(SECTIONS):
        SECTIONS[name](args)
        print()


if __name__ == "__main__":
    main()
