"""passkrl inside verl: every estimator and shaper in verl's advantage-estimator registry.

Install ``pip install "passkrl[verl]"`` and pick an estimator in the usual verl way::

    python3 -m verl.trainer.main_ppo algorithm.adv_estimator=passk_analytic +algorithm.passk.k=8 ...

Nothing has to be imported by hand: passkrl declares this module as a ``verl.plugins`` entry point,
and verl imports every such entry point whenever ``verl`` itself is imported (in the driver and in
every Ray worker). ``VERL_USE_EXTERNAL_MODULES=passkrl.integrations.verl`` (verl's external-module
mechanism) and a plain ``import passkrl.integrations.verl`` do the same.

Names (:data:`VERL_NAMES`). verl already owns ``grpo``, ``rloo``, ``grpo_passk``, ... so passkrl's
estimators are registered under names that cannot clash:

* Pass@k estimators keep their name: ``passk_analytic``, ``passk_bootstrap``, ``passk_full``,
  ``pkpo``, ``pkpo_loo``, ``pkpo_loo1``;
* the shapers of arXiv 2508.10751 §4 get a ``passk_`` prefix: ``passk_combination``,
  ``passk_exceeding``, ``passk_drop_easy``, ``passk_adaptive_entropy``, ``passk_alpha_reweight``;
* passkrl's pass@1 baselines get a ``passkrl_`` prefix: ``passkrl_grpo``, ``passkrl_dr_grpo``,
  ``passkrl_rloo``, ``passkrl_grpo_passk_tang`` (useful as exact, vectorised controls).

Parameters come from ``algorithm.passk`` in verl's config: ``k`` (required by every Pass@k
estimator), ``seed`` (optional, for the sampling estimators) and the estimator's own parameters,
e.g. ``+algorithm.passk.k=8 +algorithm.passk.threshold=0.6`` for ``passk_drop_easy``. ``k`` follows
the one rule of :func:`passkrl.core.k.check_k` (an integer, not ``8.0`` or ``true``, ``>= 1``, at most
the responses of a prompt), as everywhere in passkrl. Unknown keys, a missing or invalid ``k``, and
a ``k`` above every ``uid`` group fail at the first step with a message naming the setting to change.
The section is read once per advantage computation.

Groups are verl's ``uid`` index, so groups may have different sizes (e.g. after filtering). Each
response's scalar reward is the sum of its token-level rewards (verl puts the verifier's score on
the last response token); its advantage is broadcast over the response mask exactly as verl's own
GRPO does, in the rewards' dtype and on their device.

A ``k`` that changes over training (the P@k -> P@1 transfer of §3.5):
``'+algorithm.passk.k_schedule=[8@0,1@100]'`` (Hydra reads an unquoted comma as a sweep, so give a
list or a quoted string), parsed by :class:`passkrl.core.schedule.KSchedule` like the embedded trainer's
and TRL's ``passk_k_schedule``. The step is verl's global step (1 for the first step), see
:func:`current_global_step`.

Step metrics: every advantage computation of a passkrl estimator leaves ``passk/*`` figures
(:func:`batch_metrics`) that reach verl's own step metrics, hence its ``Tracking`` logger (console,
wandb, ...): in the legacy trainer through ``compute_data_metrics`` (its ``fit`` merges the result
into the step's metrics), in the v1 trainer through the ``metrics`` dict of
``PPOTrainer._compute_advantage``. :data:`METRICS_WRAPPED` names the two wrapped functions.

Per-response entropies for ``passk_adaptive_entropy`` (§4.2.3): verl calls an estimator with the
rewards, the response mask, the ``uid`` index and the config only. This module therefore wraps
verl's ``compute_advantage`` (the function both of its PPO trainers call) so that, while it runs,
the estimator can read the batch's per-token entropies ``entropys`` when present, and otherwise the
per-token surprisal ``-old_log_probs`` of the sampled response (whose expectation under the
rollout policy is the token entropy), averaged over each response's tokens. The wrapper changes
nothing else and is installed when this module is imported (or when verl's trainer module is
imported later); see :func:`enable_entropy_route`.
"""

from __future__ import annotations

import contextvars
import importlib.abc
import importlib.util
import inspect
import logging
import sys
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from passkrl import estimators as _estimators
from passkrl.core.k import check_k
from passkrl.core.schedule import KSchedule
from passkrl.metrics import alpha_k as _alpha_k
from passkrl.metrics import pass_at_k as _pass_at_k

# passkrl estimator name -> name in verl's registry
_SHAPERS = ("combination", "exceeding", "drop_easy", "adaptive_entropy", "alpha_reweight")
_BASELINES = ("grpo", "dr_grpo", "rloo", "grpo_passk_tang")
# config keys under algorithm.passk that are not estimator parameters
_ADAPTER_KEYS = ("k", "k_schedule", "seed", "small_groups")


def verl_name(name: str) -> str:
    """The name under which the passkrl estimator ``name`` is registered in verl."""
    if name in _SHAPERS:
        return f"passk_{name}"
    if name in _BASELINES:
        return f"passkrl_{name}"
    if name.startswith(("passk_", "pkpo")):
        return name
    return f"passkrl_{name}"


def _verl_names() -> dict[str, str]:
    return {verl_name(name): name for name in _estimators.names()}


VERL_NAMES: dict[str, str] = _verl_names()
"""verl registry name -> passkrl estimator name, for every estimator passkrl registers."""


# --------------------------------------------------------------------------------------------------
# Configuration: algorithm.passk
# --------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """OmegaConf containers (and verl's dataclass configs) as plain Python values."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(value, (DictConfig, ListConfig)):
            return OmegaConf.to_container(value, resolve=True)
    except ImportError:  # pragma: no cover - omegaconf ships with verl
        pass
    return value


def _passk_section(config: Any) -> dict[str, Any]:
    section = None
    if config is not None:
        section = config.get("passk", None) if hasattr(config, "get") else getattr(config, "passk", None)
    section = _plain(section)
    if section is None:
        section = {}
    if not isinstance(section, Mapping):
        raise ValueError(  # noqa: TRY004 (a configuration error, like the others)
            f"algorithm.passk must be a mapping of settings (e.g. +algorithm.passk.k=8), got {section!r}"
        )
    return dict(section)


def passk_small_groups(config: Any) -> str:
    """``algorithm.passk.small_groups`` (:data:`SMALL_GROUP_POLICIES`; default ``zero``)."""
    return _small_groups(_passk_section(config))


def _small_groups(settings: Mapping[str, Any]) -> str:
    policy = settings.get("small_groups", "zero")
    if policy not in SMALL_GROUP_POLICIES:
        raise ValueError(f"algorithm.passk.small_groups must be one of {', '.join(SMALL_GROUP_POLICIES)}, got {policy!r}")
    return policy


def _k_schedule(value: Any) -> KSchedule:
    """``algorithm.passk.k_schedule`` (a ``"8@0,1@100"`` string, a list of ``K@STEP`` entries or an
    integer) as a :class:`KSchedule`; ``ValueError`` naming the setting otherwise."""
    text = ",".join(str(part) for part in value) if isinstance(value, (list, tuple)) else value
    if isinstance(text, bool) or not isinstance(text, (str, int, np.integer)):
        raise ValueError(f"algorithm.passk.k_schedule must be a schedule such as '8@0,1@100', got {value!r}")
    try:
        return KSchedule.parse(str(text))
    except ValueError as err:
        raise ValueError(
            f"algorithm.passk.k_schedule={value!r}: {err}; write it as '+algorithm.passk.k_schedule=[8@0,1@100]' "
            "(k = 8 from the first step, k = 1 from verl's global step 100 on)"
        ) from None


@dataclass(frozen=True)
class _Settings:
    """``algorithm.passk`` for one estimator, read and checked once."""

    schedule: KSchedule  # k_schedule, or the constant k
    seed: int | None
    params: dict[str, Any]  # the estimator's own parameters
    small_groups: str  # one of SMALL_GROUP_POLICIES


def passk_schedule(config: Any, name: str) -> KSchedule:
    """The ``k`` schedule of the passkrl estimator ``name``: ``algorithm.passk.k_schedule`` when set
    (it overrides ``algorithm.passk.k``), else the constant ``algorithm.passk.k``.

    Raises ``ValueError`` naming the ``algorithm.passk`` setting to change.
    """
    return _resolve(config, name).schedule


def passk_settings(config: Any, name: str, *, step: int | None = None) -> tuple[int, int | None, dict[str, Any]]:
    """``(k, seed, params)`` for the passkrl estimator ``name`` from verl's ``algorithm`` config; ``k`` is
    the one in force at verl's global step ``step`` (the schedule's first ``k`` when ``step`` is None).

    Raises ``ValueError`` naming the ``algorithm.passk`` setting to change.
    """
    settings = _resolve(config, name)
    return settings.schedule.k_at(0 if step is None else step), settings.seed, settings.params


def _resolve(config: Any, name: str) -> _Settings:
    vname = verl_name(name)
    settings = _passk_section(config)
    small_groups = _small_groups(settings)

    record = _estimators.lookup(name)
    schedule = None
    if settings.get("k_schedule") is not None and str(settings["k_schedule"]).strip():
        schedule = _k_schedule(settings["k_schedule"])
    if "k" not in settings or settings["k"] is None:
        if record.uses_k and schedule is None:
            raise ValueError(
                f"algorithm.adv_estimator={vname} needs k: add +algorithm.passk.k=K to the command line "
                "(K >= 1 and at most actor_rollout_ref.rollout.n, the responses per prompt)"
            )
        k = 1  # the pass@1 baselines ignore k
    else:
        k = check_k(settings["k"], name="algorithm.passk.k")
    if schedule is None:
        schedule = KSchedule.of(k)

    seed = settings.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"algorithm.passk.seed must be an integer or null, got {seed!r}")

    params = {key: value for key, value in settings.items() if key not in _ADAPTER_KEYS}
    accepted = record.param_names
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"algorithm.passk.{unknown[0]} is not a setting of algorithm.adv_estimator={vname}; "
            f"it accepts: k, k_schedule, seed, small_groups{''.join(', ' + p for p in accepted)}"
        )
    try:
        _estimators.check_params(name, params)
    except ValueError as err:
        raise ValueError(f"algorithm.passk of algorithm.adv_estimator={vname}: {err}") from None
    return _Settings(schedule, None if seed is None else int(seed), params, small_groups)


# --------------------------------------------------------------------------------------------------
# Groups from verl's uid index
# --------------------------------------------------------------------------------------------------


def group_rows(index: Any) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """``(group, position, uids)``: each row's group number (first-appearance order), its position
    inside the group (batch order) and the uid of every group."""
    if index is None:
        raise ValueError(
            "passkrl estimators need verl's uid index to group responses by prompt; the batch has no "
            "'uid' in non_tensor_batch"
        )
    uids: list[Any] = []
    number: dict[Any, int] = {}
    group = np.empty(len(index), dtype=np.int64)
    for row, uid in enumerate(index):
        g = number.get(uid)
        if g is None:
            g = number[uid] = len(uids)
            uids.append(uid)
        group[row] = g
    # Position inside the group: rank of the row among the rows of its group, in batch order.
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group, minlength=len(uids))
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    position = np.empty_like(group)
    position[order] = np.arange(len(group)) - np.repeat(starts, sizes)
    return group, position, uids


SMALL_GROUP_POLICIES = ("zero", "shrink", "raise")
"""What ``algorithm.passk.small_groups`` does with a prompt that has fewer than k valid responses (failed
agent sessions, filtered samples): ``zero`` (default) gives its responses advantage 0, as verl's GRPO
does for a lone response; ``shrink`` computes it with k = its size; ``raise`` stops the job."""

_LOG = logging.getLogger("passkrl.integrations.verl")
_BATCH_STATS: dict[str, int] = {}


def last_batch_stats() -> dict[str, int]:
    """What the last advantage computation met: ``rows``, ``padding_rows`` (all-zero response mask, e.g.
    the rows verl's ``_balance_batch`` adds), ``groups`` and ``small_groups`` (fewer than k valid responses)."""
    return dict(_BATCH_STATS)


def _group_advantages(name: str, scores: torch.Tensor, group: np.ndarray, position: np.ndarray, n_groups: int,
                      *, k: int, seed: int | None, entropy: torch.Tensor | None, params: dict[str, Any]) -> torch.Tensor:
    """The estimator on rows already numbered by group (``0..n_groups-1``) and position; ``[rows]``."""
    device = scores.device
    sizes = np.bincount(group, minlength=n_groups)
    rows = torch.as_tensor(group, device=device)
    cols = torch.as_tensor(position, device=device)
    shape = (n_groups, int(sizes.max()))
    rewards = torch.zeros(shape, dtype=torch.float64, device=device)
    rewards[rows, cols] = scores.detach().to(torch.float64)
    mask = None
    if bool((sizes != shape[1]).any()):
        mask = torch.zeros(shape, dtype=torch.bool, device=device)
        mask[rows, cols] = True
    extra: dict[str, Any] = dict(params)
    if "entropy" in _estimators.lookup(name).needs:
        if entropy is None:
            raise ValueError(
                f"algorithm.adv_estimator={verl_name(name)} needs per-response entropies, which verl passes "
                "only through passkrl's compute_advantage wrapper: import passkrl.integrations.verl before "
                "verl's trainer runs (it is a verl plugin, so installing passkrl[verl] is enough) and keep "
                "old_log_probs in the batch (actor_rollout_ref.rollout.mode async, the default)"
            )
        ent = torch.zeros(shape, dtype=torch.float64, device=device)
        ent[rows, cols] = entropy.detach().to(device=device, dtype=torch.float64)
        extra["entropy"] = ent
    try:
        advantages = _estimators.compute(name, rewards, k=k, mask=mask, generator=seed, **extra)
    except ValueError as error:
        raise ValueError(f"algorithm.adv_estimator={verl_name(name)}: {error}") from error
    return advantages[rows, cols]


def grouped_advantages(
    name: str,
    scores: torch.Tensor,
    index: Any,
    *,
    k: int,
    seed: int | None = None,
    entropy: torch.Tensor | None = None,
    valid: Any = None,
    small_groups: str = "zero",
    **params: Any,
) -> torch.Tensor:
    """Per-response advantages ``[B]`` of the passkrl estimator ``name`` for scalar ``scores`` ``[B]``
    grouped by ``index`` (verl's ``uid``s); groups may differ in size.

    Rows with ``valid`` false (verl passes rows whose response mask is all zero: padding) take part in no
    group and get 0. A group with fewer than ``k`` valid rows follows ``small_groups``
    (:data:`SMALL_GROUP_POLICIES`); when *every* group is smaller than ``k`` the setting itself is wrong
    and a ``ValueError`` says so. :func:`last_batch_stats` tells what this call met.
    """
    k = check_k(k)
    n_rows = int(scores.shape[0])
    keep = np.ones(n_rows, dtype=bool) if valid is None else np.asarray(
        valid.detach().cpu() if isinstance(valid, torch.Tensor) else valid, dtype=bool)
    kept = np.nonzero(keep)[0]
    out = torch.zeros(n_rows, dtype=scores.dtype, device=scores.device)
    _BATCH_STATS.clear()
    _BATCH_STATS.update(rows=n_rows, padding_rows=n_rows - len(kept), groups=0, small_groups=0)
    if not len(kept):
        return out
    index_kept = [index[i] for i in kept] if index is not None else None
    group, position, uids = group_rows(index_kept)
    sizes = np.bincount(group, minlength=len(uids))
    short = sizes < k
    _BATCH_STATS.update(groups=len(uids), small_groups=int(short.sum()))
    vname = verl_name(name)
    if bool(short.all()):  # k above every group: the setting is wrong, not the batch
        _check_k_fits(k, int(sizes.max()), context=f"algorithm.adv_estimator={vname} with algorithm.passk.k={k}",
                      lower="lower +algorithm.passk.k")
    if bool(short.any()):
        g = int(np.nonzero(short)[0][0])
        if small_groups == "raise":
            raise ValueError(
                f"algorithm.adv_estimator={vname} with algorithm.passk.k={k}: the group of uid {uids[g]!r} has only "
                f"{int(sizes[g])} valid responses (failed or filtered trajectories); set "
                "+algorithm.passk.small_groups=zero (advantage 0 for such prompts) or shrink (k = their size)")
        _LOG.info("passkrl: %d of %d prompts have fewer than k=%d valid responses (e.g. uid %r with %d); "
                  "algorithm.passk.small_groups=%s", int(short.sum()), len(uids), k, uids[g], int(sizes[g]), small_groups)
    parts = [(~short, k)]
    if small_groups == "shrink":
        parts += [(sizes == size, int(size)) for size in np.unique(sizes[short])]
    kept_scores = scores[torch.as_tensor(kept, device=scores.device)]
    kept_entropy = None if entropy is None else entropy[torch.as_tensor(kept, device=entropy.device)]
    for chosen, k_used in parts:
        in_part = chosen[group]  # [kept rows]
        if not in_part.any():
            continue
        renumber = np.cumsum(chosen) - 1  # old group -> group inside this part
        part_rows = torch.as_tensor(np.nonzero(in_part)[0], device=scores.device)
        advantages = _group_advantages(
            name, kept_scores[part_rows], renumber[group[in_part]], position[in_part], int(chosen.sum()), k=k_used,
            seed=seed, entropy=None if kept_entropy is None else kept_entropy[part_rows.to(kept_entropy.device)],
            params=params)
        out[torch.as_tensor(kept[in_part], device=scores.device)] = advantages.to(scores.dtype)
    return out


# --------------------------------------------------------------------------------------------------
# Step metrics
# --------------------------------------------------------------------------------------------------

CORRECT_THRESHOLD = 0.5
"""A response counts as correct for ``passk/pass@1``, ``passk/pass@k`` and the group shares iff its score
(the sum of its token-level rewards) is strictly above this; for 0/1 verifiers that is ``score == 1``.
The same threshold as TRL's ``PassKGRPOTrainer``."""

METRIC_NAMES = ("passk/pass@1", "passk/pass@k", "passk/eta", "passk/alpha_k", "passk/frac_all_wrong",
                "passk/frac_mixed", "passk/frac_all_right", "passk/padding_rows", "passk/short_groups", "passk/k")
"""The step metrics :func:`batch_metrics` returns (``pass@k``, ``eta`` and the shares only when some group
can be measured). None of the names contains ``max``, ``min``, ``sum``, ``total`` or ``mean``, so the v1
trainer's ``MetricsAggregator`` averages them (weighted by samples) when a step computes advantages
more than once."""

_STEP_METRICS: dict[str, float] = {}


def last_step_metrics() -> dict[str, float]:
    """The ``passk/*`` figures of the last advantage computation by a passkrl estimator (empty after one
    by a verl estimator); the wrapped verl functions hand the same figures to verl's step metrics."""
    return dict(_STEP_METRICS)


def batch_metrics(scores: Any, index: Any, advantages: Any, *, k: int, valid: Any = None,
                  small_groups: str = "zero") -> dict[str, float]:
    """The ``passk/*`` step metrics of one batch (:data:`METRIC_NAMES`).

    ``scores`` ``[B]`` (one per response), ``index`` the ``uid`` of each row, ``advantages`` ``[B]`` (one per
    response) and ``valid`` ``[B]`` (False for padding rows), as the verl estimator sees them. Groups are the
    ``uid`` groups of the valid rows; a response is correct iff its score is above :data:`CORRECT_THRESHOLD`.

    * ``pass@1``: mean over groups of ``c/n``; ``pass@k``: mean over the groups with ``n >= k`` of the unbiased
      ``1 - C(n-c, k)/C(n, k)`` (:func:`passkrl.metrics.pass_at_k`);
    * ``eta``: ``sum_i |A_i|`` per group (arXiv 2508.10751 eq. 16), averaged over the groups that were estimated
      (all groups with ``small_groups=shrink``, else those with ``n >= k``);
    * ``alpha_k``: ``k (1 - p)^(k-1)`` at ``p = pass@1`` (:func:`passkrl.metrics.alpha_k`), the weight pass@k
      training puts on the pass@1 gradient at the batch's accuracy;
    * ``frac_all_wrong``, ``frac_mixed``, ``frac_all_right``: shares of groups with no, some and only correct
      responses;
    * ``padding_rows``: rows with an empty response; ``short_groups``: groups with fewer than ``k`` valid
      responses; ``k``: the ``k`` in force.
    """
    k = check_k(k)
    values = np.asarray(scores.detach().cpu().double() if isinstance(scores, torch.Tensor) else scores,
                        dtype=np.float64).reshape(-1)
    adv = np.asarray(advantages.detach().cpu().double() if isinstance(advantages, torch.Tensor) else advantages,
                     dtype=np.float64).reshape(-1)
    keep = np.ones(len(values), dtype=bool) if valid is None else np.asarray(
        valid.detach().cpu() if isinstance(valid, torch.Tensor) else valid, dtype=bool).reshape(-1)
    kept = np.nonzero(keep)[0]
    out = {"passk/k": float(k), "passk/padding_rows": float(len(values) - len(kept)), "passk/short_groups": 0.0}
    if not len(kept):
        return out
    group, _, uids = group_rows([index[i] for i in kept])
    n_groups = len(uids)
    n = np.bincount(group, minlength=n_groups)
    c = np.bincount(group, weights=(values[kept] > CORRECT_THRESHOLD).astype(np.float64), minlength=n_groups)
    c = c.round().astype(np.int64)
    short = n < k
    out["passk/short_groups"] = float(short.sum())
    pass1 = float(np.mean(_pass_at_k(n, c, 1)))
    out["passk/pass@1"] = pass1
    if bool((~short).any()):
        out["passk/pass@k"] = float(np.mean(_pass_at_k(n[~short], c[~short], k)))
    out["passk/alpha_k"] = float(_alpha_k(min(max(pass1, 0.0), 1.0), k))
    out["passk/frac_all_wrong"] = float(np.mean(c == 0))
    out["passk/frac_all_right"] = float(np.mean(c == n))
    out["passk/frac_mixed"] = float(np.mean((c > 0) & (c < n)))
    estimated = np.ones(n_groups, dtype=bool) if small_groups == "shrink" else ~short
    if bool(estimated.any()):
        abs_sum = np.bincount(group, weights=np.abs(adv[kept]), minlength=n_groups)
        out["passk/eta"] = float(np.mean(abs_sum[estimated]))
    return out


# Global step of the batch whose advantages are being computed, when verl put one in its meta_info.
_BATCH_STEP: contextvars.ContextVar[int | None] = contextvars.ContextVar("passkrl_verl_batch_step", default=None)
_OWN_STEPS = [0]  # advantage computations by passkrl estimators in this process (the last resort)
_WARNED_FALLBACK: list[bool] = []


def current_global_step() -> tuple[int, str]:
    """``(step, source)``: verl's global step for the advantage computation under way, for ``k_schedule``.

    In order: ``data.meta_info["global_steps"]`` of the batch handed to ``compute_advantage``, when the
    trainer puts it there (verl 0.9.1's trainers put it on the generation batch only, so it is normally
    absent); else ``verl.utils.skip.SkipManager.step``, which both of verl 0.9.1's trainers (legacy
    ``RayPPOTrainer.fit`` and v1 ``PPOTrainer.fit``) set to ``self.global_steps`` before every step, in the
    process that computes the advantages (1 for the first step, a resumed run's step after a resume); else,
    when neither is there (verl's functions called outside its trainers), the number of advantage
    computations passkrl's estimators have made in this process, counting this one (1, 2, ...), which equals
    the global step of a fresh run of the legacy trainer.
    """
    step = _BATCH_STEP.get()
    if step is not None:
        return int(step), "meta_info"
    manager = sys.modules.get("verl.utils.skip.skip_manager")
    skip_step = getattr(getattr(manager, "SkipManager", None), "step", -1)
    if isinstance(skip_step, (int, np.integer)) and not isinstance(skip_step, bool) and skip_step >= 0:
        return int(skip_step), "SkipManager"
    return _OWN_STEPS[0], "count"


# --------------------------------------------------------------------------------------------------
# The functions verl calls
# --------------------------------------------------------------------------------------------------

# Per-response entropies of the batch whose advantages are being computed (see enable_entropy_route).
_BATCH_ENTROPY: contextvars.ContextVar[torch.Tensor | None] = contextvars.ContextVar(
    "passkrl_verl_batch_entropy", default=None
)


def make_verl_estimator(name: str) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """verl's estimator signature around the passkrl estimator ``name``.

    verl calls it as ``fn(token_level_rewards=[B, T], response_mask=[B, T], config=algorithm,
    index=uid array, ...)`` and expects ``(advantages, returns)``, both ``[B, T]``; for outcome
    rewards both are the per-response advantage broadcast over the response tokens.
    """

    def estimator(
        token_level_rewards: torch.Tensor,
        response_mask: torch.Tensor,
        index: Any = None,
        config: Any = None,
        **_: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        _STEP_METRICS.clear()
        _OWN_STEPS[0] += 1
        settings = _resolve(config, name)  # algorithm.passk, read once per call
        k = settings.schedule.k_at(_scheduled_step(settings.schedule))
        scores = token_level_rewards.sum(dim=-1)  # [B]: the verifier's score sits on the last token
        valid = response_mask.sum(dim=-1) > 0  # [B]: rows with an empty response (padding) join no group
        if len(settings.schedule.points) > 1:
            _check_schedule_fits(settings.schedule, index, valid, name)
        with torch.no_grad():
            per_response = grouped_advantages(
                name, scores, index, k=k, seed=settings.seed, entropy=_BATCH_ENTROPY.get(), valid=valid,
                small_groups=settings.small_groups, **settings.params
            )
            advantages = per_response.unsqueeze(-1) * response_mask
        _STEP_METRICS.update(batch_metrics(scores, index, per_response, k=k, valid=valid,
                                           small_groups=settings.small_groups))
        return advantages, advantages

    estimator.__name__ = estimator.__qualname__ = f"passkrl_{name}_for_verl"
    estimator.__doc__ = f"passkrl estimator {name!r} in verl's advantage-estimator signature. {_estimators.REGISTRY[name].summary}"
    return estimator


def _scheduled_step(schedule: KSchedule) -> int:
    if len(schedule.points) == 1:
        return 0
    step, source = current_global_step()
    if source == "count" and not _WARNED_FALLBACK:
        _WARNED_FALLBACK.append(True)
        _LOG.warning("passkrl: algorithm.passk.k_schedule=%s: verl's global step is not available here (neither "
                     "meta_info['global_steps'] nor SkipManager.step); counting this process's advantage "
                     "computations instead (step %d now)", schedule, step)
    return step


def _check_schedule_fits(schedule: KSchedule, index: Any, valid: torch.Tensor, name: str) -> None:
    """A schedule that will ask for more responses than any prompt has fails now, not at its later step."""
    kept = np.nonzero(valid.detach().cpu().numpy())[0]
    if index is None or not len(kept):
        return  # grouped_advantages says what is wrong
    sizes = np.bincount(group_rows([index[i] for i in kept])[0])
    step = next(s for s, k in schedule.points if k == schedule.max_k)
    _check_k_fits(schedule.max_k, int(sizes.max()), lower="lower the schedule's k",
                  context=f"algorithm.adv_estimator={verl_name(name)} with algorithm.passk.k_schedule={schedule} "
                          f"(k={schedule.max_k} from step {step} on)")


def _check_k_fits(k: int, largest: int, *, context: str, lower: str) -> None:
    """The k rule (:func:`passkrl.core.k.check_k`) against the largest ``uid`` group, with what to change in verl."""
    try:
        check_k(k, largest, n_name="the largest group's size n")
    except ValueError as err:
        raise ValueError(f"{context}: {err}; every prompt has fewer than k responses: raise "
                         f"actor_rollout_ref.rollout.n to >= {k} or {lower}") from None


_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def register_with_verl(names: list[str] | None = None) -> dict[str, str]:
    """Register passkrl estimators (all by default) in verl's registry; returns ``{verl name: passkrl name}``.

    Safe to call again (for instance after ``passkrl.estimators.register`` added a new estimator).
    Raises ``ValueError`` if a verl name is already taken by a different function.
    """
    from verl.trainer.ppo import core_algos

    registered: dict[str, str] = {}
    for name in names if names is not None else _estimators.names():
        vname = verl_name(name)
        fn = _FUNCTIONS.get(vname)
        if fn is None:
            fn = _FUNCTIONS[vname] = make_verl_estimator(name)
        existing = core_algos.ADV_ESTIMATOR_REGISTRY.get(vname)
        if existing is not None and existing is not fn:
            raise ValueError(
                f"verl already has an advantage estimator named {vname!r} ({existing!r}); passkrl will not replace it"
            )
        core_algos.register_adv_est(vname)(fn)
        registered[vname] = name
        VERL_NAMES[vname] = name
    return registered


# --------------------------------------------------------------------------------------------------
# The entropy route
# --------------------------------------------------------------------------------------------------


def response_entropy(batch: Any) -> torch.Tensor | None:
    """Mean per-token entropy ``[B]`` of each response of a verl batch (a TensorDict), or None.

    Uses ``entropys`` (per-token entropies) when the batch has them, else ``-old_log_probs`` (or
    ``-rollout_log_probs``): the surprisal of the sampled token, an unbiased estimate of the token
    entropy under the policy that sampled it.
    """
    keys = set(batch.keys())
    if "response_mask" not in keys:
        return None
    mask = batch["response_mask"].to(torch.float64)
    if "entropys" in keys:
        per_token = batch["entropys"].to(torch.float64)
    elif "old_log_probs" in keys:
        per_token = -batch["old_log_probs"].to(torch.float64)
    elif "rollout_log_probs" in keys:
        per_token = -batch["rollout_log_probs"].to(torch.float64)
    else:
        return None
    return (per_token * mask).sum(dim=-1) / mask.sum(dim=-1).clamp_min(1.0)


def _meta_step(data: Any) -> int | None:
    """``data.meta_info["global_steps"]`` as a non-negative int, or None."""
    step = (getattr(data, "meta_info", None) or {}).get("global_steps")
    try:
        step = int(step)
    except (TypeError, ValueError):
        return None
    return step if step >= 0 else None


def _wrap_compute_advantage(original: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(original, "_passkrl_entropy_route", False):
        return original

    def compute_advantage(data: Any, *args: Any, **kwargs: Any) -> Any:
        token = _BATCH_ENTROPY.set(response_entropy(data.batch))
        step_token = _BATCH_STEP.set(_meta_step(data))
        _STEP_METRICS.clear()
        try:
            result = original(data, *args, **kwargs)
        finally:
            _BATCH_STEP.reset(step_token)
            _BATCH_ENTROPY.reset(token)
        _hand_over(result, data)
        return result

    compute_advantage.__wrapped__ = original  # type: ignore[attr-defined]
    compute_advantage.__doc__ = original.__doc__
    compute_advantage._passkrl_entropy_route = True  # type: ignore[attr-defined]
    return compute_advantage


def final_outputs(batch_keys: list[str]) -> tuple[list[int], list[int]]:
    """``(final_rows, session_of_row)`` for verl's multi-output agent loops.

    A key is ``{uid}_{session}_{output}``; all outputs of one session carry the session's reward, so
    only its last output is a sample of the prompt. ``final_rows[s]`` is the row of session ``s``'s
    last output and ``session_of_row[i]`` the session of row ``i`` (sessions in first-appearance order).
    """
    last: dict[tuple[str, str], tuple[int, int]] = {}
    session_of_row: list[int] = []
    number: dict[tuple[str, str], int] = {}
    for row, key in enumerate(batch_keys):
        parts = str(key).rsplit("_", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            raise ValueError(f"verl batch key {key!r} is not '{{uid}}_{{session}}_{{output}}'")
        session, output = (parts[0], parts[1]), int(parts[2])
        session_of_row.append(number.setdefault(session, len(number)))
        if session not in last or last[session][0] < output:
            last[session] = (output, row)
    return [last[session][1] for session in number], session_of_row


def _wrap_sessions(original: Callable[..., Any]) -> Callable[..., Any]:
    """verl's v1 trainer collapses the outputs of one agent session to its last output only for its own
    GRPO; the wrapper does the same for passkrl's estimators, so a multi-output session counts once
    towards n and pass@k, and every output of it receives the session's advantage."""
    if getattr(original, "_passkrl_sessions", False):
        return original
    signature = inspect.signature(original)

    def compute_advantage_for_multi_trajectories(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        call = dict(bound.arguments)
        data, batch_keys, estimator = call.pop("data"), call.pop("batch_keys"), call["adv_estimator"]
        name = str(getattr(estimator, "value", estimator))
        final_rows, session_of_row = final_outputs(list(batch_keys)) if name in VERL_NAMES else ([], [])
        if name not in VERL_NAMES or len(final_rows) == len(session_of_row):
            return original(*args, **kwargs)  # verl's own estimators, or one output per session
        holder = sys.modules[original.__module__]
        final = holder.compute_advantage(data.select_idxs(final_rows), **call)
        mask = final.batch["response_mask"]
        per_session = (final.batch["advantages"] * mask).sum(dim=-1) / mask.sum(dim=-1).clamp_min(1)  # [S]
        advantages = per_session[torch.as_tensor(session_of_row, device=per_session.device)].unsqueeze(-1)
        data.batch["advantages"] = advantages * data.batch["response_mask"]
        data.batch["returns"] = data.batch["advantages"]
        return data

    compute_advantage_for_multi_trajectories.__wrapped__ = original  # type: ignore[attr-defined]
    compute_advantage_for_multi_trajectories.__doc__ = original.__doc__
    compute_advantage_for_multi_trajectories._passkrl_sessions = True  # type: ignore[attr-defined]
    return compute_advantage_for_multi_trajectories


# --------------------------------------------------------------------------------------------------
# The metrics route: passk/* figures into verl's step metrics
# --------------------------------------------------------------------------------------------------

# (weak reference to the batch, its figures): the last batch a passkrl estimator computed advantages for.
_PENDING: list[tuple[weakref.ref, dict[str, float]]] = []


def _hand_over(result: Any, data: Any) -> None:
    """Keep the figures of the batch ``compute_advantage`` just returned until verl computes its metrics."""
    _PENDING.clear()
    if _STEP_METRICS:
        try:
            _PENDING.append((weakref.ref(result if result is not None else data), dict(_STEP_METRICS)))
        except TypeError:  # pragma: no cover - DataProto supports weak references
            pass


def _wrap_data_metrics(original: Callable[..., Any]) -> Callable[..., Any]:
    """The legacy ``RayPPOTrainer.fit`` calls ``compute_data_metrics(batch=batch, ...)`` on the batch it just
    computed advantages for and merges the result into the step's metrics, which it hands to its
    ``Tracking`` logger: the wrapper adds that batch's ``passk/*`` figures."""
    if getattr(original, "_passkrl_metrics", False):
        return original
    signature = inspect.signature(original)

    def compute_data_metrics(*args: Any, **kwargs: Any) -> Any:
        metrics = original(*args, **kwargs)
        batch = signature.bind(*args, **kwargs).arguments.get("batch")
        if _PENDING and batch is not None and _PENDING[0][0]() is batch:
            metrics = {**metrics, **_PENDING.pop()[1]}
        return metrics

    compute_data_metrics.__wrapped__ = original  # type: ignore[attr-defined]
    compute_data_metrics.__doc__ = original.__doc__
    compute_data_metrics._passkrl_metrics = True  # type: ignore[attr-defined]
    return compute_data_metrics


def _wrap_trainer_advantage(original: Callable[..., Any]) -> Callable[..., Any]:
    """The v1 ``PPOTrainer._compute_advantage(batch, metrics)`` fills ``metrics``, which ``step`` aggregates
    (``MetricsAggregator``) into the step's metrics for its ``Tracking`` logger: the wrapper adds the
    ``passk/*`` figures of the advantage computation it made."""
    if getattr(original, "_passkrl_metrics", False):
        return original
    signature = inspect.signature(original)

    def _compute_advantage(*args: Any, **kwargs: Any) -> Any:
        _STEP_METRICS.clear()
        result = original(*args, **kwargs)
        metrics = signature.bind(*args, **kwargs).arguments.get("metrics")
        if _STEP_METRICS and isinstance(metrics, dict):
            metrics.update(_STEP_METRICS)
        return result

    _compute_advantage.__wrapped__ = original  # type: ignore[attr-defined]
    _compute_advantage.__doc__ = original.__doc__
    _compute_advantage.__name__ = _compute_advantage.__qualname__ = original.__name__
    _compute_advantage._passkrl_metrics = True  # type: ignore[attr-defined]
    return _compute_advantage


# --------------------------------------------------------------------------------------------------
# Installing the wrappers
# --------------------------------------------------------------------------------------------------

WRAPPED = ("verl.trainer.ppo.ray_trainer.compute_advantage", "verl.trainer.ppo.v1.utils.compute_advantage",
           "verl.trainer.ppo.v1.utils.compute_advantage_for_multi_trajectories")
"""The verl functions passkrl wraps for its estimators: ``compute_advantage`` of the legacy and the v1
trainers (the entropy route, the batch's global step), and the v1 trainer's
``compute_advantage_for_multi_trajectories`` (one sample per agent session)."""
METRICS_WRAPPED = ("verl.trainer.ppo.ray_trainer.compute_data_metrics",
                   "verl.trainer.ppo.v1.trainer_base.PPOTrainer._compute_advantage")
"""The verl functions passkrl wraps to add its ``passk/*`` figures to verl's step metrics: the legacy
trainer's ``compute_data_metrics`` (as ``verl.trainer.ppo.ray_trainer`` calls it) and the v1 trainer's
``PPOTrainer._compute_advantage`` (which every v1 trainer class inherits)."""
_TARGETS: dict[str, tuple[str, str, Callable[..., Any], str]] = {
    # full name -> (holder module, attribute path inside it, wrapper, flag the wrapper sets)
    "verl.trainer.ppo.ray_trainer.compute_advantage":
        ("verl.trainer.ppo.ray_trainer", "compute_advantage", _wrap_compute_advantage, "_passkrl_entropy_route"),
    "verl.trainer.ppo.v1.utils.compute_advantage":
        ("verl.trainer.ppo.v1.utils", "compute_advantage", _wrap_compute_advantage, "_passkrl_entropy_route"),
    "verl.trainer.ppo.v1.utils.compute_advantage_for_multi_trajectories":
        ("verl.trainer.ppo.v1.utils", "compute_advantage_for_multi_trajectories", _wrap_sessions, "_passkrl_sessions"),
    "verl.trainer.ppo.ray_trainer.compute_data_metrics":
        ("verl.trainer.ppo.ray_trainer", "compute_data_metrics", _wrap_data_metrics, "_passkrl_metrics"),
    "verl.trainer.ppo.v1.trainer_base.PPOTrainer._compute_advantage":
        ("verl.trainer.ppo.v1.trainer_base", "PPOTrainer._compute_advantage", _wrap_trainer_advantage,
         "_passkrl_metrics"),
}
_HOLDERS = tuple(dict.fromkeys(holder for holder, _, _, _ in _TARGETS.values()))


def _owner(module: Any, path: str) -> tuple[Any, str]:
    *parents, attribute = path.split(".")
    owner = module
    for parent in parents:
        owner = getattr(owner, parent, None)
    return owner, attribute


def _patch(module: Any) -> None:
    for holder, path, wrap, _ in _TARGETS.values():
        if holder != module.__name__:
            continue
        owner, attribute = _owner(module, path)
        if owner is not None and attribute in vars(owner):
            setattr(owner, attribute, wrap(getattr(owner, attribute)))


def _is_wrapped(name: str) -> bool:
    holder, path, _, flag = _TARGETS[name]
    module = sys.modules.get(holder)
    if module is None:
        return False
    owner, attribute = _owner(module, path)
    return bool(getattr(getattr(owner, attribute, None), flag, False))


class _WrappingLoader:
    """The real loader of a :data:`WRAPPED` module (every attribute delegated, so that tracebacks and
    ``inspect`` still find the source), wrapping ``compute_advantage`` once the module has run."""

    def __init__(self, loader: Any):
        self._loader = loader

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._loader, attribute)

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        _patch(module)
        if all(name in sys.modules for name in _HOLDERS) and _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)  # nothing left to wrap: stop looking at every import


class _WrapOnImport(importlib.abc.MetaPathFinder):
    """A meta-path finder for the modules of :data:`WRAPPED` only: the other finders locate the
    module and :class:`_WrappingLoader` runs it with its real loader. It leaves ``sys.meta_path``
    once every holder module has been loaded."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _HOLDERS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _WrappingLoader(spec.loader)
                return spec
        return None


_FINDER = _WrapOnImport()


def entropy_route() -> dict[str, bool]:
    """For each function of :data:`WRAPPED`: is it wrapped now (False while its module is not imported)."""
    return {name: _is_wrapped(name) for name in WRAPPED}


def metrics_route() -> dict[str, bool]:
    """For each function of :data:`METRICS_WRAPPED`: is it wrapped now (False while its module is not imported)."""
    return {name: _is_wrapped(name) for name in METRICS_WRAPPED}


def enable_entropy_route() -> None:
    """Install the wrappers of :data:`WRAPPED` and :data:`METRICS_WRAPPED` (idempotent): the entropy route of
    ``passk_adaptive_entropy``, the batch's global step, one sample per agent session, and the ``passk/*``
    step metrics.

    Wraps the functions whose modules are already imported, and, while one is not, keeps one finder in
    ``sys.meta_path`` that wraps it as soon as it loads.
    """
    for name in _HOLDERS:
        if name in sys.modules:
            _patch(sys.modules[name])
    pending = any(name not in sys.modules for name in _HOLDERS)
    if pending and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


if importlib.util.find_spec("verl") is None:  # pragma: no cover - exercised without the extra
    raise ImportError('passkrl.integrations.verl needs verl: pip install "passkrl[verl]"', name="verl")

register_with_verl()
enable_entropy_route()

__all__ = [
    "CORRECT_THRESHOLD",
    "METRICS_WRAPPED",
    "METRIC_NAMES",
    "VERL_NAMES",
    "WRAPPED",
    "batch_metrics",
    "current_global_step",
    "enable_entropy_route",
    "entropy_route",
    "group_rows",
    "grouped_advantages",
    "last_batch_stats",
    "last_step_metrics",
    "make_verl_estimator",
    "metrics_route",
    "passk_schedule",
    "passk_settings",
    "register_with_verl",
    "response_entropy",
    "verl_name",
]
