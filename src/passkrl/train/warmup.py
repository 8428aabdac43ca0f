"""Supervised warm-up on shortest paths, cached so that every run with the same settings reuses it.

The paper starts RL from an instruct model that already solves some mazes. Our tiny model starts
from random weights, so it first imitates BFS shortest paths for ``warmup_steps`` steps (cross-entropy
on the answer tokens only, AdamW, cosine decay). The warm-up is stopped early on purpose: RL must
start from a policy that sometimes succeeds and sometimes fails.

The cache key is a hash of every setting that changes the warm-up (data, model, optimiser, seed);
the cache lives in ``$PASSKRL_CACHE`` (default ``~/.cache/passkrl``). Beside the weights ``<key>.pt``,
``<key>.json`` keeps the warm-up's loss curve (:func:`curve`): the mean training loss of every
``CURVE_EVERY`` steps, with the learning rate and the precision it ran in.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import torch

from passkrl.io import atomic_open, write_json_atomic
from passkrl.train.config import TrainConfig, hashed_settings
from passkrl.train.precision import autocast, resolve

WARMUP_FIELDS = ("task", "model", "max_new_tokens", "seed", "train_sizes", "n_train_problems", "d_model", "n_layers",
                 "n_heads", "warmup_steps", "warmup_batch_size", "warmup_lr")
"""What the warm-up depends on for every task; a task adds its own (``warmup_fields`` of
:mod:`passkrl.train.training_task`: nothing for the maze, whose held-out pool is fixed and excluded from
training, the held-out settings for a text task). Renamed settings are hashed under their former names
(:func:`passkrl.train.config.hashed_name`)."""
CURVE_EVERY = 10
"""The warm-up's loss curve has a point per this many steps (the mean loss over them)."""
CACHE_VERSION = 3  # 2: rotary positions, the fixed held-out maze pool; 3: training excludes the test and validation pools


def cache_dir() -> Path:
    return Path(os.environ.get("PASSKRL_CACHE") or Path.home() / ".cache" / "passkrl") / "warmup"


def settings_digest(settings: dict, length: int = 16) -> str:
    """A short stable name for a dict of settings: hex SHA-256 of its sorted JSON."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:length]


def cache_key(cfg: TrainConfig) -> str:
    fields = WARMUP_FIELDS + cfg.training.warmup_fields
    settings: dict = hashed_settings(cfg, fields)
    settings["version"] = CACHE_VERSION
    precision = resolve(cfg.precision)
    if precision != "float32":  # float32 warm-ups keep the keys they had before --precision existed
        settings["precision"] = precision
    if cfg.model is not None and Path(cfg.model).is_dir():  # a changed model directory is a new warm-up
        settings["model_mtime"] = max((f.stat().st_mtime for f in Path(cfg.model).iterdir()), default=0.0)
    return settings_digest(settings)


def weights_path(cfg: TrainConfig) -> Path:
    """Where the warm-up's weights for these settings are cached."""
    return cache_dir() / f"{cache_key(cfg)}.pt"


def curve_path(cfg: TrainConfig) -> Path:
    """Where the warm-up's loss curve for these settings is cached (beside its weights)."""
    return weights_path(cfg).with_suffix(".json")


def curve(cfg: TrainConfig) -> list[dict] | None:
    """The cached warm-up's loss curve, ``[{"step", "loss", "lr"}, ...]``; None when it is not cached
    (or was cached before curves were kept, or is unreadable)."""
    try:
        return json.loads(curve_path(cfg).read_text(encoding="utf-8"))["curve"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def train_step(policy, optimizer: torch.optim.Optimizer, batch: list, precision: str) -> torch.Tensor:
    """One supervised step: the loss of ``batch`` under ``precision``, backward, gradient norm clipped at 1,
    the optimiser's step. Returns the loss, detached, in float32 (no synchronising ``.item()``)."""
    with autocast(precision):
        loss = policy.supervised_loss(batch)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(policy.model.parameters(), 1.0)
    optimizer.step()
    return loss.detach().float()


def warm_up(policy, train_problems: list, cfg: TrainConfig) -> bool:
    """Load the cached warm-up for these settings or train it; returns True if it came from the cache."""
    path = weights_path(cfg)
    if path.exists():
        try:
            policy.model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            print(f"warm-up: reusing cached weights {path}")
            return True
        except Exception as err:  # a damaged cache entry is rebuilt, never fatal
            print(f"warm-up: ignoring unreadable cache entry {path} ({type(err).__name__})")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng([cfg.seed, 10**6])
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=cfg.warmup_lr, weight_decay=0.01)
    policy.model.train()
    steps = range(cfg.warmup_steps)
    if cfg.progress and cfg.warmup_steps:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="warm-up (supervised)", unit="step", dynamic_ncols=True)
    points: list[dict] = []
    loss_sum = torch.zeros(())
    for step in steps:
        # cosine decay from warmup_lr to 5% of it, after 20 steps of linear warm-up
        scale = min(1.0, (step + 1) / 20) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(1, cfg.warmup_steps))))
        for group in optimizer.param_groups:
            group["lr"] = cfg.warmup_lr * scale
        batch = [train_problems[i] for i in rng.choice(len(train_problems), size=cfg.warmup_batch_size, replace=False)]
        loss_sum += train_step(policy, optimizer, batch, cfg.precision)
        if (step + 1) % CURVE_EVERY == 0 or step + 1 == cfg.warmup_steps:
            mean_loss = loss_sum.item() / (step % CURVE_EVERY + 1)
            loss_sum.zero_()
            points.append({"step": step + 1, "loss": mean_loss, "lr": cfg.warmup_lr * scale})
            if hasattr(steps, "set_postfix"):
                steps.set_postfix(loss=f"{mean_loss:.3f}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(curve_path(cfg), {"precision": resolve(cfg.precision), "every": CURVE_EVERY, "curve": points})
    with atomic_open(path, "wb") as handle:
        torch.save(policy.model.state_dict(), handle)
    return False
