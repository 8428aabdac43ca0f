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
e.g. ``+algorithm.passk.k=8 +algorithm.passk.threshold=0.6`` for ``passk_drop_easy``. Unknown keys,
a missing or invalid ``k``, and a ``uid`` group with fewer than ``k`` responses fail at the first
step with a message naming the setting to change.

Groups are verl's ``uid`` index, so groups may have different sizes (e.g. after filtering). Each
response's scalar reward is the sum of its token-level rewards (verl puts the verifier's score on
the last response token); its advantage is broadcast over the response mask exactly as verl's own
GRPO does, in the rewards' dtype and on their device.

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
import inspect
import logging
import importlib.util
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from passkrl import estimators as _estimators

# passkrl estimator name -> name in verl's registry
_SHAPERS = ("combination", "exceeding", "drop_easy", "adaptive_entropy", "alpha_reweight")
_BASELINES = ("grpo", "dr_grpo", "rloo", "grpo_passk_tang")
# config keys under algorithm.passk that are not estimator parameters
_ADAPTER_KEYS = ("k", "seed", "small_groups")


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


def passk_settings(config: Any, name: str) -> tuple[int, int | None, dict[str, Any]]:
    """``(k, seed, params)`` for the passkrl estimator ``name`` from verl's ``algorithm`` config.

    Raises ``ValueError`` naming the ``algorithm.passk`` setting to change.
    """
    vname = verl_name(name)
    settings = _passk_section(config)
    _small_groups(settings)

    record = _estimators.lookup(name)
    if "k" not in settings or settings["k"] is None:
        if record.uses_k:
            raise ValueError(
                f"algorithm.adv_estimator={vname} needs k: add +algorithm.passk.k=K to the command line "
                "(K >= 1 and at most actor_rollout_ref.rollout.n, the responses per prompt)"
            )
        k = 1  # the pass@1 baselines ignore k
    else:
        k = settings["k"]
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 1:
            raise ValueError(f"algorithm.passk.k must be an integer >= 1, got {k!r}")
        k = int(k)

    seed = settings.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"algorithm.passk.seed must be an integer or null, got {seed!r}")

    params = {key: value for key, value in settings.items() if key not in _ADAPTER_KEYS}
    accepted = record.param_names
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"algorithm.passk.{unknown[0]} is not a setting of algorithm.adv_estimator={vname}; "
            f"it accepts: k, seed, small_groups{''.join(', ' + p for p in accepted)}"
        )
    try:
        _estimators.check_params(name, params)
    except ValueError as err:
        raise ValueError(f"algorithm.passk of algorithm.adv_estimator={vname}: {err}") from None
    return k, (None if seed is None else int(seed)), params


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
    if bool(short.all()):
        raise ValueError(
            f"algorithm.adv_estimator={vname} with algorithm.passk.k={k}: every prompt has fewer than k responses "
            f"(the largest group has {int(sizes.max())}); raise actor_rollout_ref.rollout.n to >= {k} or lower "
            "+algorithm.passk.k")
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
        k, seed, params = passk_settings(config, name)
        scores = token_level_rewards.sum(dim=-1)  # [B]: the verifier's score sits on the last token
        valid = response_mask.sum(dim=-1) > 0  # [B]: rows with an empty response (padding) join no group
        with torch.no_grad():
            per_response = grouped_advantages(
                name, scores, index, k=k, seed=seed, entropy=_BATCH_ENTROPY.get(), valid=valid,
                small_groups=passk_small_groups(config), **params
            )
            advantages = per_response.unsqueeze(-1) * response_mask
        return advantages, advantages

    estimator.__name__ = estimator.__qualname__ = f"passkrl_{name}_for_verl"
    estimator.__doc__ = f"passkrl estimator {name!r} in verl's advantage-estimator signature. {_estimators.REGISTRY[name].summary}"
    return estimator


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


def _wrap_compute_advantage(original: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(original, "_passkrl_entropy_route", False):
        return original

    def compute_advantage(data: Any, *args: Any, **kwargs: Any) -> Any:
        token = _BATCH_ENTROPY.set(response_entropy(data.batch))
        try:
            return original(data, *args, **kwargs)
        finally:
            _BATCH_ENTROPY.reset(token)

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


WRAPPED = ("verl.trainer.ppo.ray_trainer.compute_advantage", "verl.trainer.ppo.v1.utils.compute_advantage",
           "verl.trainer.ppo.v1.utils.compute_advantage_for_multi_trajectories")
"""The verl functions passkrl wraps: ``compute_advantage`` of the legacy and the v1 trainers (the entropy
route), and the v1 trainer's ``compute_advantage_for_multi_trajectories`` (one sample per agent session)."""
_HOLDERS = tuple(dict.fromkeys(name.rsplit(".", 1)[0] for name in WRAPPED))
_WRAPPERS = {"compute_advantage": (_wrap_compute_advantage, "_passkrl_entropy_route"),
             "compute_advantage_for_multi_trajectories": (_wrap_sessions, "_passkrl_sessions")}


def _patch(module: Any) -> None:
    for name in WRAPPED:
        holder, function = name.rsplit(".", 1)
        if holder == module.__name__ and hasattr(module, function):
            setattr(module, function, _WRAPPERS[function][0](getattr(module, function)))


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
    status = {}
    for name in WRAPPED:
        holder, function = name.rsplit(".", 1)
        flag = _WRAPPERS[function][1]
        status[name] = bool(getattr(getattr(sys.modules.get(holder), function, None), flag, False))
    return status


def enable_entropy_route() -> None:
    """Let ``passk_adaptive_entropy`` see per-response entropies inside verl (idempotent).

    Wraps the :data:`WRAPPED` functions whose modules are already imported, and, while one is not,
    keeps one finder in ``sys.meta_path`` that wraps it as soon as it loads.
    """
    for name in _HOLDERS:
        if name in sys.modules:
            _patch(sys.modules[name])
    pending = any(name not in sys.modules for name in _HOLDERS)
    if pending and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


if importlib.util.find_spec("verl") is None:  # pragma: no cover - exercised without the extra
    raise ImportError('passkrl.integrations.verl needs verl: pip install "passkrl[verl]"')

register_with_verl()
enable_entropy_route()

__all__ = [
    "VERL_NAMES",
    "WRAPPED",
    "enable_entropy_route",
    "entropy_route",
    "group_rows",
    "grouped_advantages",
    "make_verl_estimator",
    "passk_settings",
    "register_with_verl",
    "response_entropy",
    "verl_name",
]
