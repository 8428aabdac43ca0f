"""TRL adapter: Pass@k Training inside ``trl.GRPOTrainer`` (``pip install "passkrl[trl]"``).

TRL (1.16) computes GRPO advantages inline in ``GRPOTrainer._generate_and_score_completions``; there
is no hook for another estimator. :class:`PassKGRPOTrainer` therefore

1. wraps ``_calculate_rewards`` to keep the reward matrix ``[B_global, n_funcs]`` that TRL gathers
   across processes (every process sees the whole generation batch);
2. lets TRL's ``_generate_and_score_completions`` run unchanged (generation, reference log-probs,
   TRL's own reward metrics), then
3. recomputes the advantages with a passkrl estimator (:func:`passk_advantages`) on those gathered
   rewards, grouped as TRL groups them (``view(-1, num_generations)``: the ``num_generations``
   completions of a prompt are contiguous), keeps this process's slice
   ``[process_index * B_local, (process_index + 1) * B_local)`` exactly like TRL, and replaces
   ``output["advantages"]`` and the advantages TRL logged for the completions table.

The reward of a completion is TRL's weighted sum of its reward functions (``reward_weights``,
NaN-skipping, as with ``multi_objective_aggregation="sum_then_normalize"``). A completion for which
every reward function returned ``None`` is *unscorable*: it is masked out of its group (the
estimator's ``mask``; docs/estimators.md) and gets advantage 0. A group left with fewer than ``k`` scorable
completions cannot form a k-subset; all its completions get advantage 0 and the metric
``passk/frac_groups_skipped`` counts it.

The maths of every estimator is in :mod:`passkrl.core.estimators` (docs/estimators.md; arXiv 2508.10751
§2-4); the η metric is eq. 16 of the paper (:func:`passkrl.metrics.eta`). TRL's ``scale_rewards``
is ignored by this trainer (the estimator defines the normalisation); only TRL's own logging uses it.

Also importable from here: :func:`~passkrl.tasks.rewards.maze_reward`, a TRL reward function for the
maze task (arXiv 2508.10751 App. A.1), and :func:`~passkrl.tasks.rewards.maze_dataset`, a
``datasets.Dataset`` of maze prompts for it (both live with the other reward adapters in
:mod:`passkrl.tasks.rewards`). See ``docs/trl.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from trl import GRPOConfig, GRPOTrainer

from passkrl import estimators as _estimators
from passkrl.core.k import check_k
from passkrl.core.schedule import KSchedule
from passkrl.parsing import json_object
from passkrl.metrics import eta as _eta
from passkrl.metrics import pass_at_k as _pass_at_k
from passkrl.tasks.rewards import maze_dataset, maze_reward

__all__ = [
    "CORRECT_THRESHOLD",
    "PassKBatch",
    "PassKGRPOConfig",
    "PassKGRPOTrainer",
    "maze_dataset",
    "maze_reward",
    "passk_advantages",
    "passk_metrics",
]

CORRECT_THRESHOLD = 0.5
"""A completion counts as correct for the logged ``passk/pass@1`` and ``passk/pass@k`` iff its
(weighted) reward is strictly above this. For binary rewards that is exactly ``reward == 1``."""

TRAINER_INPUTS = ("entropy",)
"""Inputs an estimator may declare it ``needs`` that the trainer provides: ``entropy``, the mean
token entropy of every completion (one extra no-grad forward pass, only when the estimator needs it)."""


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


def _check_estimator(name: str, k_values: Iterable[int], params: dict[str, Any], num_generations: int) -> None:
    """Raise ``ValueError`` naming the config field for anything the estimator would reject later."""
    try:
        record = _estimators.lookup(name, what="passk_estimator=")
        _estimators.check_params(name, params)
    except ValueError as err:
        raise ValueError(f"passk_params={params!r} for passk_estimator={name!r}: {err}") from None
    unsupported = sorted(set(record.needs) - set(TRAINER_INPUTS))
    if unsupported:
        raise ValueError(f"passk_estimator={name!r} needs {', '.join(unsupported)}, which PassKGRPOTrainer does not "
                         f"provide (it provides: {', '.join(TRAINER_INPUTS)})")
    # A dry run on a small binary batch catches what depends on k and the group size (pkpo_loo: k < n).
    rewards = torch.zeros(2, num_generations, dtype=torch.float64)
    rewards[0, 0] = 1.0
    rewards[1, : num_generations // 2 + 1] = 1.0
    trial = {key: torch.tensor([0.5, 1.0], dtype=torch.float64) for key in record.needs}
    for k in sorted(set(k_values)):
        try:
            _estimators.compute(name, rewards, k=k, generator=0, **params, **trial)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"passk_estimator={name!r} with passk_k={k} and passk_params={params!r} fails on a test batch: {err}"
            ) from None


@dataclass
class PassKGRPOConfig(GRPOConfig):
    """``trl.GRPOConfig`` plus the Pass@k Training options (all prefixed ``passk_``).

    Every TRL option keeps its meaning, except ``scale_rewards``, which only affects TRL's own
    ``frac_reward_zero_std`` log: the advantage normalisation is the estimator's. From the command
    line (``HfArgumentParser``): ``--passk_estimator passk_analytic --passk_k 8
    --passk_params '{"form": "binary"}'``.
    """

    passk_estimator: str = field(
        default="passk_analytic",
        metadata={"help": "passkrl advantage estimator (any name in passkrl.estimators.names()), e.g. "
                          "passk_analytic, passk_bootstrap, pkpo_loo1, combination, grpo."},
    )
    passk_k: int = field(
        default=4,
        metadata={"help": "k of Pass@k Training: an integer, 1 <= passk_k <= num_generations (4.0 is refused)."},
    )
    passk_params: dict[str, Any] | str | None = field(
        default=None,
        metadata={"help": "Extra estimator parameters as a dict or a JSON object string, e.g. "
                          "'{\"base\": \"passk_analytic\", \"threshold\": 0.6}' for drop_easy."},
    )
    passk_k_schedule: str | None = field(
        default=None,
        metadata={"help": "Optional k schedule over optimizer steps, e.g. '8@0,1@100' (P@k -> P@1 transfer, "
                          "arXiv 2508.10751 §3.5); overrides passk_k when set."},
    )

    def __post_init__(self) -> None:
        self.passk_params = json_object(self.passk_params, "passk_params")
        self.passk_k = check_k(self.passk_k, name="passk_k")
        schedule = None
        if self.passk_k_schedule is not None and str(self.passk_k_schedule).strip():
            try:
                schedule = KSchedule.parse(self.passk_k_schedule)
            except ValueError as err:
                raise ValueError(f"passk_k_schedule={self.passk_k_schedule!r}: {err}") from None
            self.passk_k_schedule = str(schedule)
        else:
            self.passk_k_schedule = None
        self._passk_schedule = schedule or KSchedule.of(self.passk_k)  # parsed once, read every batch
        super().__post_init__()
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError(
                f"multi_objective_aggregation={self.multi_objective_aggregation!r} is not supported by "
                "PassKGRPOTrainer: Pass@k estimators need the raw (weighted-sum) rewards; use 'sum_then_normalize'"
            )
        k_values = [k for _, k in schedule.points] if schedule is not None else [self.passk_k]
        field_name = "passk_k_schedule" if schedule is not None else "passk_k"
        for label, n in (("num_generations", self.num_generations), ("num_generations_eval", self.num_generations_eval)):
            if n is None:
                continue
            try:  # the k rule of passkrl.core.k: every group must hold at least k completions
                if schedule is None:
                    check_k(self.passk_k, n, name="passk_k", n_name=label)
                else:
                    check_k(schedule.max_k, n, n_name=label)
            except ValueError as err:
                where = "" if schedule is None else f"passk_k_schedule={schedule}: "
                raise ValueError(f"{where}{err}; every group must hold at least k completions: raise {label} or "
                                 f"lower {field_name}") from None
        _check_estimator(self.passk_estimator, k_values, self.passk_params, self.num_generations)

    def passk_k_at(self, step: int) -> int:
        """The ``k`` in force at optimizer step ``step`` (``passk_k`` unless a schedule is set)."""
        return self._passk_schedule.k_at(step)


# --------------------------------------------------------------------------------------------------
# Pure logic: gathered rewards -> grouped estimator -> per-process slice (unit-tested without TRL)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassKBatch:
    """Advantages of one generation batch, plus what was needed to compute and log them."""

    advantages: torch.Tensor  # [B_local] this process's slice, float32 on the rewards' device
    all_advantages: torch.Tensor  # [B_global] every process's advantages (identical on all processes)
    rewards_pn: torch.Tensor  # [P, N] float64 weighted rewards; NaN where unscorable (CPU)
    valid_pn: torch.Tensor  # [P, N] bool, scorable completions
    estimated_p: torch.Tensor  # [P] bool, groups with >= k scorable completions (the others get 0)
    advantages_pn: torch.Tensor  # [P, N] float64 (CPU)
    k: int
    entropy_pn: torch.Tensor | None = None  # [P, N] mean token entropy per completion (adaptive_entropy only)


def weighted_rewards(rewards_per_func: torch.Tensor, reward_weights: torch.Tensor) -> torch.Tensor:
    """TRL's reward of a completion: ``sum_f w_f r_f`` skipping NaN (``[B]``); NaN if every ``r_f`` is NaN."""
    if rewards_per_func.dim() != 2:
        raise ValueError(f"rewards_per_func must be [B, n_funcs], got shape {tuple(rewards_per_func.shape)}")
    weights = torch.as_tensor(reward_weights, dtype=rewards_per_func.dtype, device=rewards_per_func.device)
    if weights.shape != (rewards_per_func.shape[1],):
        raise ValueError(f"{weights.numel()} reward weights for {rewards_per_func.shape[1]} reward functions")
    rewards = (rewards_per_func * weights[None, :]).nansum(dim=1)  # [B], same arithmetic as TRL
    unscorable = torch.isnan(rewards_per_func).all(dim=1)
    return torch.where(unscorable, torch.full_like(rewards, float("nan")), rewards)


def passk_advantages(
    rewards_per_func: torch.Tensor,
    reward_weights: torch.Tensor | Sequence[float],
    *,
    num_generations: int,
    process_index: int,
    local_batch_size: int,
    estimator: str,
    k: int,
    params: dict[str, Any] | None = None,
    entropy: torch.Tensor | None = None,
    generator: torch.Generator | int | None = None,
) -> PassKBatch:
    """Advantages of a gathered generation batch, and this process's slice of them.

    Args:
        rewards_per_func: ``[B_global, n_funcs]`` rewards gathered across processes (TRL's
            ``_calculate_rewards``); NaN where a reward function returned ``None``.
        reward_weights: ``[n_funcs]`` (TRL's ``reward_weights``).
        num_generations: completions per prompt; rows ``g*N .. g*N + N - 1`` form group ``g``.
        process_index, local_batch_size: this process keeps rows
            ``[process_index * local_batch_size, (process_index + 1) * local_batch_size)``.
        estimator, k, params: passed to :func:`passkrl.estimators.compute`.
        entropy: ``[B_global]`` mean token entropy per completion, for ``adaptive_entropy``.
        generator: drives the sampling estimators; give every process the same seed so that all
            compute the same advantages.

    The estimator runs on CPU in float64 (the batch is small; this also lets one CPU generator
    serve every device). Unscorable completions are masked out of their group and get 0; groups
    with fewer than ``k`` scorable completions get 0 everywhere.
    """
    params = dict(params or {})
    n_global = rewards_per_func.shape[0]
    if num_generations < 1 or n_global % num_generations != 0:
        raise ValueError(f"{n_global} gathered rewards do not split into groups of num_generations={num_generations}")
    if local_batch_size < 1 or process_index < 0 or (process_index + 1) * local_batch_size > n_global:
        raise ValueError(
            f"process {process_index} with {local_batch_size} local rows does not fit in {n_global} gathered rows"
        )
    device = rewards_per_func.device
    rewards = weighted_rewards(rewards_per_func, torch.as_tensor(reward_weights)).detach().cpu().to(torch.float64)
    rewards_pn = rewards.view(-1, num_generations)  # [P, N], TRL's grouping
    valid_pn = ~torch.isnan(rewards_pn)
    estimated_p = valid_pn.sum(dim=1) >= k  # [P]
    advantages_pn = torch.zeros_like(rewards_pn)
    entropy_pn = None
    if entropy is not None:
        if entropy.numel() != n_global:
            raise ValueError(f"entropy has {entropy.numel()} values for {n_global} completions")
        entropy_pn = torch.nan_to_num(entropy.detach().cpu().to(torch.float64).reshape(-1, num_generations))
    if bool(estimated_p.any()):
        sub_rewards = torch.nan_to_num(rewards_pn[estimated_p], nan=0.0)
        sub_valid = valid_pn[estimated_p]
        mask = None if bool(sub_valid.all()) else sub_valid
        if entropy_pn is not None:
            params["entropy"] = entropy_pn[estimated_p]
        try:
            sub_adv = _estimators.compute(estimator, sub_rewards, k=k, mask=mask, generator=generator, **params)
        except ValueError as err:
            hint = ""
            if "binary" in str(err):
                hint = (" Make every reward function return 0 or 1 (with reward_weights summing to 1 for the rows "
                        "they score), or pick a passk_estimator that takes real rewards (e.g. passk_analytic: max@k).")
            raise ValueError(
                f"PassKGRPOTrainer: passk_estimator={estimator!r} (passk_k={k}) rejected this batch's rewards: {err}."
                + hint
            ) from None
        advantages_pn[estimated_p] = sub_adv.to(torch.float64)
    all_advantages = advantages_pn.reshape(-1).to(device=device, dtype=torch.float32)
    local = all_advantages[process_index * local_batch_size:(process_index + 1) * local_batch_size]
    return PassKBatch(local, all_advantages, rewards_pn, valid_pn, estimated_p, advantages_pn, int(k), entropy_pn)


def passk_metrics(batch: PassKBatch) -> dict[str, float]:
    """The ``passk/*`` metrics of one generation batch (computed on the gathered batch).

    * ``pass@1``, ``pass@k``: mean over groups of the unbiased ``pass@k = 1 - C(n-c, k)/C(n, k)``
      (Chen et al. 2021) with ``c`` the completions whose reward is above :data:`CORRECT_THRESHOLD`
      and ``n`` the scorable ones (pass@1 over groups with ``n >= 1``, pass@k over ``n >= k``);
    * ``adv_mean``, ``adv_std`` (population), ``adv_abs_max``, ``adv_pos_frac`` (share ``> 0``):
      over the scorable completions of the estimated groups;
    * ``eta``: ``sum_i |A_i|`` per estimated group (arXiv 2508.10751 eq. 16), averaged over them;
    * ``frac_groups_skipped``: share of groups with fewer than ``k`` scorable completions;
    * ``k``: the ``k`` in force.
    """
    valid_pn, rewards_pn = batch.valid_pn, batch.rewards_pn
    n_p = valid_pn.sum(dim=1)  # [P]
    c_p = ((torch.nan_to_num(rewards_pn, nan=0.0) > CORRECT_THRESHOLD) & valid_pn).sum(dim=1)  # [P]
    out: dict[str, float] = {"passk/k": float(batch.k)}
    has_any = n_p >= 1
    if bool(has_any.any()):
        out["passk/pass@1"] = float((c_p[has_any] / n_p[has_any]).mean())
    est = batch.estimated_p
    out["passk/frac_groups_skipped"] = float((~est).double().mean())
    if bool(est.any()):
        n_est, c_est = n_p[est].numpy(), c_p[est].numpy()
        out["passk/pass@k"] = float(np.mean(_pass_at_k(n_est, c_est, batch.k)))
        adv_pn, mask_pn = batch.advantages_pn[est], valid_pn[est]
        values = adv_pn[mask_pn]
        out["passk/adv_mean"] = float(values.mean())
        out["passk/adv_std"] = float(values.std(correction=0))
        out["passk/adv_abs_max"] = float(values.abs().max())
        out["passk/adv_pos_frac"] = float((values > 0).double().mean())
        out["passk/eta"] = float(np.mean(_eta(adv_pn.numpy(), mask_pn.numpy())))
    return out


# --------------------------------------------------------------------------------------------------
# The trainer
# --------------------------------------------------------------------------------------------------


class PassKGRPOTrainer(GRPOTrainer):
    """``trl.GRPOTrainer`` whose advantages come from a passkrl estimator (see the module docstring).

    Takes the same arguments as ``GRPOTrainer``; ``args`` must be a :class:`PassKGRPOConfig`. After
    each generation batch, :attr:`last_passk` holds the :class:`PassKBatch` that was used.

    ``adaptive_entropy`` is supported: the trainer runs one extra no-grad forward pass over the
    local completions to get their mean token entropy (text models only), gathers it across
    processes and ranks the prompts of the whole generation batch.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.args, PassKGRPOConfig):
            raise TypeError(
                f"PassKGRPOTrainer needs args=PassKGRPOConfig(...), got {type(self.args).__name__}; "
                "the passk_* options live there"
            )
        self._passk_gathered: torch.Tensor | None = None
        self._passk_calls = 0
        self._passk_capture: list[torch.Tensor] | None = None  # entropies of TRL's own old-log-prob forward
        self.passk_entropy_forwards = {"reused": 0, "extra": 0}
        """How the entropies for ``adaptive_entropy`` were obtained: from the old-log-prob forward TRL made
        anyway (vLLM importance sampling, or generation not aligned with optimizer steps), or by one
        extra no-grad forward."""
        self.last_passk: PassKBatch | None = None

    def _get_per_token_logps_and_entropies(self, model, *args: Any, compute_entropy: bool = False, **kwargs: Any):
        # While a generation batch is scored, TRL's first forward of the policy is its old-log-prob pass;
        # computing the entropies in that same pass makes passkrl's extra forward unnecessary.
        capture = self._passk_capture is not None and not self._passk_capture and model is self.model
        if not capture or compute_entropy:
            return super()._get_per_token_logps_and_entropies(model, *args, compute_entropy=compute_entropy, **kwargs)
        logps, entropies, aux = super()._get_per_token_logps_and_entropies(model, *args, compute_entropy=True, **kwargs)
        self._passk_capture.append(entropies)
        return logps, None, aux

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        # TRL returns the rewards gathered across processes [B_global, n_funcs]; keep them for the estimator.
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._passk_gathered = rewards_per_func
        return rewards_per_func

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        mode = "train" if self.model.training else "eval"
        self._passk_gathered = None
        args: PassKGRPOConfig = self.args  # type: ignore[assignment]
        needs_entropy = "entropy" in _estimators.lookup(args.passk_estimator).needs
        self._passk_capture = [] if needs_entropy else None
        try:
            output = super()._generate_and_score_completions(inputs)
        finally:
            captured, self._passk_capture = self._passk_capture, None
        rewards_per_func, self._passk_gathered = self._passk_gathered, None
        if rewards_per_func is None:
            raise RuntimeError(
                "PassKGRPOTrainer: TRL did not call _calculate_rewards during _generate_and_score_completions; "
                "this TRL version is not supported (passkrl[trl] needs trl>=1.16,<2)"
            )
        num_generations = self.num_generations if mode == "train" else self.num_generations_eval
        local_batch_size = len(inputs)
        entropy = None
        if needs_entropy:
            entropy = self._passk_entropies(output, mode, captured[0] if captured else None)
        generator = torch.Generator().manual_seed((args.seed * 1_000_003 + self._passk_calls) % (2**63))
        self._passk_calls += 1
        batch = passk_advantages(
            rewards_per_func,
            self.reward_weights,
            num_generations=num_generations,
            process_index=self.accelerator.process_index,
            local_batch_size=local_batch_size,
            estimator=args.passk_estimator,
            k=args.passk_k_at(self.state.global_step),
            params=args.passk_params,
            entropy=entropy,
            generator=generator,
        )
        old = output["advantages"]
        if old.shape != batch.advantages.shape:
            raise RuntimeError(
                f"PassKGRPOTrainer: TRL's local advantages have shape {tuple(old.shape)}, passkrl computed "
                f"{tuple(batch.advantages.shape)}; this TRL version is not supported"
            )
        output["advantages"] = batch.advantages.to(device=old.device, dtype=old.dtype)
        self._replace_logged_advantages(batch.all_advantages)
        for name, value in passk_metrics(batch).items():
            self._metrics[mode][name].append(value)
        self.last_passk = batch
        return output

    def _replace_logged_advantages(self, all_advantages: torch.Tensor) -> None:
        """TRL appended its own advantages of this batch to the completions table; swap in ours."""
        logged = self._logs["advantages"]
        for _ in range(min(len(logged), all_advantages.numel())):
            logged.pop()
        logged.extend(all_advantages.tolist())

    def _completion_tokens(self, output: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """``(token mask [B_local, T], truncated [B_local])``: each completion's own tokens.

        With ``mask_truncated_completions=True`` TRL zeroes the whole mask of a completion that ran out of
        tokens (it is not trained on), which would make its entropy 0 and the entropy ranking of its prompt
        arbitrary; its tokens are everything before its padding, so that mask is rebuilt here.
        """
        mask = output["completion_mask"]
        if not getattr(self, "mask_truncated_completions", False):
            return mask, torch.zeros(mask.shape[0], dtype=torch.bool, device=mask.device)
        ids = output["completion_ids"]
        positions = torch.arange(ids.shape[1], device=ids.device)
        not_pad = ids != self._tokenizer.pad_token_id
        length = torch.where(not_pad, positions + 1, torch.zeros_like(positions)).amax(dim=1)  # [B_local]
        own = (positions[None, :] < length[:, None]).to(mask.dtype)
        truncated = (mask.sum(dim=1) == 0) & (length > 0)
        return torch.where(truncated[:, None], own, mask), truncated

    @torch.no_grad()
    def _passk_entropies(self, output: dict[str, Any], mode: str, captured: torch.Tensor | None = None) -> torch.Tensor:
        """Mean token entropy of every completion of the generation batch ``[B_global]``.

        ``captured``: the entropies TRL's own old-log-prob forward computed; used unless a truncated
        completion was masked out of that forward's attention (then one extra forward sees its tokens).
        """
        if any(key in output for key in ("pixel_values", "image_grid_thw", "num_images")):
            raise ValueError(
                "passk_estimator='adaptive_entropy' is not supported for multimodal inputs by PassKGRPOTrainer; "
                "choose another passk_estimator"
            )
        token_mask, truncated = self._completion_tokens(output)
        if captured is not None and not bool(truncated.any()):
            entropies = captured
            self.passk_entropy_forwards["reused"] += 1
        else:
            input_ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
            attention_mask = torch.cat([output["prompt_mask"], token_mask], dim=1)
            batch_size = (self.args.per_device_train_batch_size if mode == "train"
                          else self.args.per_device_eval_batch_size)
            _, entropies, _ = self._get_per_token_logps_and_entropies(
                self.model, input_ids, attention_mask, output["completion_ids"].size(1),
                batch_size=batch_size, compute_entropy=True,
            )  # [B_local, T]
            self.passk_entropy_forwards["extra"] += 1
        mask = token_mask.to(entropies.dtype)
        if "tool_mask" in output:
            mask = mask * output["tool_mask"].to(entropies.dtype)
        per_completion = (entropies * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)  # [B_local]
        return self.accelerator.gather(per_completion.float())
