"""The Pass@1 phase: GRPO from the warm-up until the policy has sharpened, cached like the warm-up.

Chen et al., "Pass@k Training for Adaptively Balancing Exploration and Exploitation of Large Reasoning
Models" (arXiv 2508.10751), use the Pass@k reward "to continually train a model that has already
undergone Pass@1 Training" (Introduction, §2.1): the comparison starts from a *sharpened* policy,
which either continues with Pass@1 Training or switches to Pass@k Training. Every run gets that start
(:func:`passkrl.train.trainer.sharpen` runs the phase; this module holds its settings and its cache):
``pass1_steps`` RL steps of GRPO (Pass@1 Training: k = 1, binary rewards, the paper's
DAPO subset, i.e. clip-higher and token-level averaging, no dynamic sampling) at ``pass1_lr``, from the
cached warm-up. The resulting weights and the phase's per-step records are cached under a key made of
the warm-up's key and every setting the phase reads, so all arms and RL replicates of one warm-up
continue from the same checkpoint and only the first run pays for it.

Randomness: step ``t`` of the phase draws from the trainer's generators of step ``PASS1_STEP_OFFSET + t``,
a stream no RL run reaches, so the compared phase's draws are independent of the phase's.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch

from passkrl.io import atomic_open, write_json_atomic
from passkrl.train.config import TrainConfig, setting_text
from passkrl.train.warmup import cache_dir, cache_key, settings_digest

PASS1_FIELDS = ("pass1_steps", "pass1_lr", "n_prompts", "n_rollouts", "mini_batches", "lr_warmup_steps", "clip_low",
                "clip_high", "grad_clip", "temperature", "partial_credit")
"""What the phase depends on besides the warm-up (whose key is part of the phase's)."""
PASS1_STEP_OFFSET = 2**40
"""Step ``t`` of the phase uses the generators of step ``2**40 + t`` (see the module docstring)."""
PASS1_VERSION = 1


def phase_config(cfg: TrainConfig) -> TrainConfig:
    """The run's settings as the Pass@1 phase uses them: GRPO, k = 1, binary rewards, the paper's DAPO subset,
    ``pass1_lr``. An arm that changes only the compared phase (partial credit, noise rewards, an entropy
    bonus, another estimator) continues the same checkpoint as every other arm of its warm-up. A task whose
    warm-up depends on partial credit (a text task) builds it into its scorer, so every phase of it scores
    that way and keeps the setting; the maze chooses per scoring call, so its phase is binary."""
    task_carries_it = "partial_credit" in cfg.training.warmup_fields
    return dataclasses.replace(cfg, estimator="grpo", k=1, k_schedule=None, estimator_params="{}", reward_noise=0.0,
                               entropy_coef=0.0, dynamic_sampling=False,
                               partial_credit=cfg.partial_credit if task_carries_it else False, lr=cfg.pass1_lr,
                               rl_steps=cfg.pass1_steps, rl_seed=0)


def phase_key(cfg: TrainConfig) -> str:
    warm_up = cache_key(cfg)
    phase = phase_config(cfg)  # the settings the phase runs with (on mazes binary rewards, whatever the arm's)
    settings = {name: setting_text(getattr(phase, name)) for name in PASS1_FIELDS}
    settings["warm_up"] = warm_up
    settings["version"] = PASS1_VERSION
    return f"{warm_up}-pass1-{settings_digest(settings)}"


def weights_path(cfg: TrainConfig) -> Path:
    """Where the weights after the Pass@1 phase are cached (its records beside them, ``.json``)."""
    return cache_dir() / f"{phase_key(cfg)}.pt"


def start_key(cfg: TrainConfig) -> str:
    """What identifies the policy the compared phase starts from: the warm-up's key, or the phase's."""
    return phase_key(cfg) if cfg.pass1_steps else cache_key(cfg)


def load(policy, cfg: TrainConfig) -> list[dict[str, Any]] | None:
    """The cached phase's records, with its weights loaded into ``policy``; None when it is not cached yet.

    A damaged cache entry counts as absent (it is rebuilt, never fatal).
    """
    path = weights_path(cfg)
    records_path = path.with_suffix(".json")
    if not (path.exists() and records_path.exists()):
        return None
    try:
        records = json.loads(records_path.read_text(encoding="utf-8"))
        policy.model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as err:  # torch and json raise many kinds for a damaged file
        print(f"Pass@1 phase: ignoring unreadable cache entry {path} ({type(err).__name__})")
        return None
    print(f"Pass@1 phase: reusing cached weights {path}")
    return records


def save(policy, cfg: TrainConfig, records: list[dict[str, Any]]) -> None:
    """Cache the phase: its records, then its weights (an entry with weights is complete)."""
    path = weights_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path.with_suffix(".json"), records)
    with atomic_open(path, "wb") as handle:
        torch.save(policy.model.state_dict(), handle)
