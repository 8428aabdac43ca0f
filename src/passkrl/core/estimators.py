"""Advantage estimators for group-based RLVR: GRPO and its relatives, and every Pass@k estimator.

One prompt has a group of ``n`` sampled responses with rewards ``r_1..r_n``. A *k-subset* ``S`` is a
set of ``k`` distinct responses; its group reward is ``max_{i in S} r_i`` (for binary rewards: 1 if
any response in ``S`` is correct). Pass@k Training (Chen et al., arXiv 2508.10751) rewards a response
by the k-subsets it belongs to. Every estimator is one registered record (:class:`Estimator`) whose
kernel has one signature::

    kernel(groups: Groups, params: <its frozen dataclass>, *, k: int,
           generator: torch.Generator | None, **inputs) -> Tensor[P, N]

``P`` prompts (groups), ``N`` responses per prompt (the widest group); ``groups.valid`` marks the
valid responses of ragged groups, and masked entries get advantage 0. :func:`compute` is the one
place that validates (rewards, mask, ``k``, parameters, declared inputs such as ``entropy``) before
it calls a kernel; kernels, and the estimators a shaper wraps, receive checked groups.
Users call :func:`passkrl.estimators.compute`, which accepts numpy arrays and returns the same kind.

This module is the registry, and it is whole as soon as it is imported, whichever passkrl module
imports it first: it holds the pass@1 baselines, Pass@k Training and PKPO, and registers the shapers
of arXiv 2508.10751 §4 that :mod:`passkrl.core.shaping` declares (:data:`~passkrl.core.shaping.SHAPERS`;
that module imports only :mod:`passkrl.core.groups`, never the registry, so there is no cycle).

Notation in the comments: ``c`` correct responses in a group, ``q = C(n-c, k) / C(n, k)`` the chance
that a random k-subset holds no correct response, ``mu = 1 - q`` (eq. 11), ``sigma = sqrt(mu q)``
(eq. 12). Continuous rewards are sorted ascending, ``r_(0) <= ... <= r_(n-1)``, so that ``r_(j)`` is
the maximum of exactly ``C(j, k-1)`` k-subsets (ties do not matter: the maximum *value* is the same).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from passkrl.core.combinatorics import comb_ratio, log_miss_table
from passkrl.core.groups import Groups, as_tensor, group_mean, prepare
from passkrl.core.shaping import SHAPERS

Kernel = Callable[..., torch.Tensor]
"""``kernel(groups, params, *, k, generator, **inputs) -> Tensor[P, N]``: the maths of one estimator on
groups that :func:`compute` has already validated (``Groups``), with its parameters as one frozen
dataclass instance, the extra per-batch inputs it declared in ``needs`` (e.g. ``entropy``) and, for a
shaper, the advantages of the estimators it ``wraps``."""


@dataclass(frozen=True)
class NoParams:
    """The parameters of an estimator that takes none."""


@dataclass(frozen=True)
class Estimator:
    """One registered estimator: its kernel and everything :func:`compute` needs to know about it."""

    name: str
    kernel: Kernel
    params: type = NoParams  # frozen dataclass; its fields are the parameters, its defaults the defaults
    needs: tuple[str, ...] = ()  # per-batch inputs besides the rewards, e.g. ("entropy",)
    binary_only: bool = False  # rejects rewards outside {0, 1}
    zero_sum: bool = False  # advantages sum to zero over every group (a tested property)
    uses_k: bool = True  # False for the pass@1 baselines, which ignore k (callers may default it to 1)
    summary: str = ""
    wraps: tuple[str, ...] = ()  # parameters naming estimators whose advantages [P, N] the kernel receives

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.params))

    def make_params(self, values: Mapping[str, Any] | None = None) -> Any:
        """The parameters dataclass from ``values``; raises ``ValueError`` naming a bad name or value.

        Unknown names are refused, each value is checked by the dataclass (``__post_init__``), and a
        parameter naming another estimator (``metadata={"estimator": True}``) must name a registered
        one that needs no inputs this estimator does not receive.
        """
        values = dict(values or {})
        unknown = sorted(set(values) - set(self.param_names))
        if unknown:
            accepted = ", ".join(self.param_names) or "no parameters"
            raise ValueError(
                f"estimator {self.name!r} got unknown parameter(s) {', '.join(unknown)}; it accepts: {accepted}"
            )
        for f in dataclasses.fields(self.params):
            if f.metadata.get("estimator") and f.name in values:
                inner = lookup(values[f.name], what=f"{self.name} {f.name}=")
                missing = sorted(set(inner.needs) - set(self.needs))
                if missing:
                    raise ValueError(
                        f"estimator {self.name!r}: {f.name}={values[f.name]!r} needs {', '.join(missing)}, "
                        f"which {self.name} does not receive"
                    )
        return self.params(**values)


REGISTRY: dict[str, Estimator] = {}


def register(
    name: str,
    *,
    params: type = NoParams,
    needs: tuple[str, ...] = (),
    binary_only: bool = False,
    zero_sum: bool = False,
    uses_k: bool = True,
    summary: str = "",
    wraps: tuple[str, ...] = (),
) -> Callable[[Kernel], Kernel]:
    """Decorator: add the kernel ``fn(groups, params, *, k, generator, **inputs)`` under ``name``.

    ``groups`` is a validated :class:`Groups` (finite float64 rewards with masked entries 0,
    ``1 <= k <= n`` in every group, binary rewards where ``binary_only``), ``params`` an instance of
    the ``params`` dataclass and ``inputs`` the per-batch inputs named in ``needs``. The kernel returns
    advantages ``[P, N]`` (0 on masked entries). :func:`compute` does every check before the call.

    A shaper names the estimators it wraps in parameters declared with ``metadata={"estimator": True}``;
    those listed in ``wraps`` are run first (default parameters, same groups, ``k`` and generator, in
    the order of ``wraps``) and the kernel receives their advantages ``[P, N]`` as keyword arguments
    of the same names. A kernel may instead call :func:`nested` itself.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"estimator name must be a non-empty string, got {name!r}")
    if not (dataclasses.is_dataclass(params) and isinstance(params, type)):
        raise ValueError(f"params of estimator {name!r} must be a dataclass type, got {params!r}")
    names_estimator = {f.name for f in dataclasses.fields(params) if f.metadata.get("estimator")}
    stray = [field for field in wraps if field not in names_estimator]
    if stray:
        raise ValueError(f"estimator {name!r} wraps {stray[0]!r}, which is not a parameter of {params.__name__} "
                         'declared with metadata={"estimator": True}')

    def decorator(fn: Kernel) -> Kernel:
        if name in REGISTRY:
            raise ValueError(f"an estimator named {name!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY[name] = Estimator(
            name, fn, params, tuple(needs), binary_only, zero_sum, uses_k, summary or (doc[0] if doc else ""),
            tuple(wraps),
        )
        return fn

    return decorator


def lookup(name: Any, *, what: str = "") -> Estimator:
    """The registered estimator ``name``; ``ValueError`` listing the known names otherwise."""
    record = REGISTRY.get(name) if isinstance(name, str) else None
    if record is None:
        prefix = f"{what}{name!r} is not a registered estimator" if what else f"unknown estimator {name!r}"
        raise ValueError(f"{prefix}; known: {', '.join(sorted(REGISTRY))}")
    return record


def check_params(name: str, params: Mapping[str, Any] | None = None) -> Any:
    """Check ``params`` for the estimator ``name`` without computing anything; return its dataclass.

    The one check shared by :func:`compute`, the trainer's config and the verl and TRL adapters.
    """
    return lookup(name).make_params(params)


def compute(
    name: str,
    rewards: Any,
    *,
    k: int,
    mask: Any = None,
    generator: torch.Generator | int | None = None,
    **params_and_inputs: Any,
) -> Any:
    """Advantages ``[n_prompts, n_rollouts]`` of the estimator ``name`` for ``rewards`` of that shape.

    ``rewards`` may be a numpy array, a torch tensor (any device) or nested lists; the result is the
    same kind (lists give numpy), on the same device, in the rewards' floating dtype (float64 for
    integer or boolean rewards). ``mask`` (same shape, true = valid) marks ragged groups; masked
    entries get 0. ``generator`` (a ``torch.Generator`` or an int seed) drives the sampling
    estimators. Keyword arguments are the estimator's parameters and the inputs it ``needs``
    (``entropy=`` for ``adaptive_entropy``). Bad input raises ``ValueError`` naming the problem.
    """
    record = lookup(name)
    inputs = {key: params_and_inputs.pop(key) for key in record.needs if key in params_and_inputs}
    params = record.make_params(params_and_inputs)
    missing = [key for key in record.needs if inputs.get(key) is None]
    if missing:
        raise ValueError(f"estimator {name!r} needs {missing[0]}=... (see its docstring for the shape)")
    is_torch = isinstance(rewards, torch.Tensor)
    tensor = as_tensor(rewards)
    out_dtype = tensor.dtype if tensor.dtype.is_floating_point else torch.float64
    g = prepare(tensor, mask, k)
    if record.binary_only:
        g.require_binary(f"estimator {name!r}")
    gen = _as_generator(generator, tensor.device)
    advantages = _run(record, g, params, k=int(k), generator=gen, inputs=inputs).to(out_dtype)
    return advantages if is_torch else advantages.cpu().numpy()


def nested(name: str, g: Groups, *, k: int, generator: torch.Generator | None, **inputs: Any) -> torch.Tensor:
    """Run the registered estimator ``name`` with its default parameters on already-checked groups
    (how a shaper runs the estimator it wraps; :meth:`Estimator.make_params` checked the name)."""
    record = lookup(name)
    if record.binary_only:
        g.require_binary(f"estimator {name!r}")
    return _run(record, g, record.params(), k=k, generator=generator, inputs=inputs)


def _run(record: Estimator, g: Groups, params: Any, *, k: int, generator: torch.Generator | None,
         inputs: Mapping[str, Any]) -> torch.Tensor:
    """``record``'s kernel on checked groups, given the inputs it needs and the advantages of the
    estimators it wraps (each run by :func:`nested` on the same groups, ``k`` and generator)."""
    wrapped = {field: nested(getattr(params, field), g, k=k, generator=generator, **inputs) for field in record.wraps}
    return record.kernel(g, params, k=k, generator=generator, **wrapped, **{key: inputs[key] for key in record.needs})


def _check_choice(field: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{field} must be {', '.join(repr(c) for c in choices[:-1])} or {choices[-1]!r}, got {value!r}")


def _as_generator(generator: torch.Generator | int | None, device: torch.device) -> torch.Generator | None:
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        g = torch.Generator(device=device)
        g.manual_seed(int(generator))
        return g
    raise ValueError(f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}")


def _degenerate(g: Groups) -> torch.Tensor:
    """Groups whose valid rewards are all equal (exact test, no epsilon): ``[P]`` bool."""
    if g.full:
        return g.rewards.amax(dim=1) == g.rewards.amin(dim=1)
    hi = torch.where(g.valid, g.rewards, torch.full_like(g.rewards, -math.inf)).amax(dim=1)
    lo = torch.where(g.valid, g.rewards, torch.full_like(g.rewards, math.inf)).amin(dim=1)
    return hi == lo


def _centred(g: Groups, degenerate: torch.Tensor | None = None) -> torch.Tensor:
    """``r - mean`` per group; exactly 0 in all-equal groups (where rounding of the mean would not be)."""
    degenerate = _degenerate(g) if degenerate is None else degenerate
    centred = (g.rewards - group_mean(g)[:, None]) * g.valid  # [P, N]
    return torch.where(degenerate[:, None], torch.zeros_like(centred), centred)


def _unit_scale(g: Groups) -> Groups:
    """The groups divided by their largest ``|r|``: the same standardised advantages (they are
    scale-invariant), with no square that underflows (``|r| < 1e-154``) or overflows (``|r| > 1e154``)."""
    if g.binary:
        return g
    scale = torch.where(g.valid, g.rewards.abs(), torch.zeros_like(g.rewards)).amax(dim=1)  # [P]
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return Groups(g.rewards / scale[:, None], g.valid, g.n, g.full, False)


def _standardise(g: Groups) -> torch.Tensor:
    """``(r - mean) / std`` per group with the population std; all-equal groups give zeros."""
    g = _unit_scale(g)
    degenerate = _degenerate(g)
    centred = _centred(g, degenerate)  # [P, N]
    std = torch.sqrt((centred * centred).sum(dim=1) / g.n)  # [P]
    safe_std = torch.where(degenerate, torch.ones_like(std), std)
    return torch.where(degenerate[:, None], torch.zeros_like(centred), centred / safe_std[:, None])


# --------------------------------------------------------------------------------------------------
# Pass@1 baselines
# --------------------------------------------------------------------------------------------------


@register("grpo", zero_sum=True, uses_k=False, summary="GRPO: (r - mean) / std, population std; all-equal groups get 0")
def grpo(g: Groups, p: NoParams, *, k: int, generator) -> torch.Tensor:
    """GRPO (arXiv 2402.03300): ``A_i = (r_i - mean r) / std r``; ``k`` is ignored.

    The std is the population std (the ``1/N`` inside eq. 2 of arXiv 2508.10751 is a typo; eq. 12
    uses the population std). A group with all-equal rewards gets zeros, not a division by an epsilon.
    """
    return _standardise(g)


@register("dr_grpo", zero_sum=True, uses_k=False, summary="Dr. GRPO: r - mean (no std)")
def dr_grpo(g: Groups, p: NoParams, *, k: int, generator) -> torch.Tensor:
    """Dr. GRPO (arXiv 2503.20783): ``A_i = r_i - mean r``; ``k`` is ignored."""
    return _centred(g)


@register("rloo", zero_sum=True, uses_k=False, summary="RLOO: r_i - mean of the other responses")
def rloo(g: Groups, p: NoParams, *, k: int, generator) -> torch.Tensor:
    """REINFORCE leave-one-out (arXiv 2402.14740): ``A_i = r_i - mean_{j != i} r_j``.

    Equals ``n/(n-1) (r_i - mean r)``. A group of one response has no baseline and gets 0.
    """
    n = g.n.to(torch.float64)
    scale = torch.where(g.n > 1, n / (n - 1).clamp(min=1), torch.zeros_like(n))
    return _centred(g) * scale[:, None]


# --------------------------------------------------------------------------------------------------
# Pass@k Training, arXiv 2508.10751 §2.2-2.4
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalyticParams:
    form: Literal["auto", "binary", "continuous"] = "auto"
    """``binary``: closed form of eqs. 11-15 (rewards must be 0/1); ``continuous``: the exact max@k
    form for real rewards; ``auto``: binary when every reward is 0 or 1."""

    def __post_init__(self) -> None:
        _check_choice("form", self.form, ("auto", "binary", "continuous"))


@register(
    "passk_analytic",
    params=AnalyticParams,
    zero_sum=True,
    summary="Pass@k Training, analytic: exact mean over all k-subsets (eqs. 11-15; max@k for real rewards)",
)
def passk_analytic(g: Groups, p: AnalyticParams, *, k: int, generator) -> torch.Tensor:
    """``A_i = mean_{S containing i} (max(S) - mu) / sigma`` over all ``C(n, k)`` k-subsets.

    ``mu`` and ``sigma`` are the mean and population std of ``max(S)`` over all k-subsets.
    Binary rewards use the closed form of arXiv 2508.10751 eqs. 11-15, simplified:
    ``A_pos = (1-mu)/sigma = sqrt(q / (1-q))`` and ``A_neg = -(c / (n-c)) A_pos`` (because
    ``C(n-c-1, k-1)/C(n-1, k-1) = q n/(n-c)``), which makes the group sum ``c A_pos + (n-c) A_neg = 0``
    exact. Real-valued rewards use the rank form (see :func:`_analytic_continuous`). ``k = 1`` is GRPO.
    """
    if p.form == "binary":
        g.require_binary("passk_analytic with form='binary'")
    if p.form == "binary" or (p.form == "auto" and g.binary):
        return _analytic_binary(g, k)
    return _analytic_continuous(g, k)


@functools.lru_cache(maxsize=256)
def _log_miss(n: int, k: int) -> torch.Tensor:
    return torch.from_numpy(log_miss_table(n, k))


def _log_q(g: Groups, k: int, c: torch.Tensor) -> torch.Tensor:
    """``log q = log C(n-c, k) / C(n, k)`` per group, exact to rounding (one table per group size)."""
    if g.full:
        n_rollouts = g.rewards.shape[1]
        return _log_miss(n_rollouts, k).to(g.rewards.device)[c]
    log_q = torch.empty(c.shape, dtype=torch.float64, device=c.device)
    for n in torch.unique(g.n).tolist():
        rows = g.n == n
        log_q[rows] = _log_miss(int(n), k).to(c.device)[c[rows]]
    return log_q


def _analytic_binary(g: Groups, k: int) -> torch.Tensor:
    c = g.rewards.sum(dim=1).round().to(torch.int64)  # [P] correct responses
    log_q = _log_q(g, k, c)  # [P]
    # Degenerate groups: c = 0 (q = 1) or n - c < k (q = 0): every k-subset has the same max.
    degenerate = (log_q == 0) | torch.isneginf(log_q)
    safe_log_q = torch.where(degenerate, torch.full_like(log_q, -1.0), log_q)
    # A_pos = sqrt(q / (1 - q)) with 1 - q = -expm1(log q): full relative precision for q near 1 or 0.
    a_pos = torch.exp(0.5 * (safe_log_q - torch.log(-torch.expm1(safe_log_q))))
    n_wrong = (g.n - c).clamp(min=1).to(torch.float64)
    a_neg = -(c.to(torch.float64) / n_wrong) * a_pos
    a_pos = torch.where(degenerate, torch.zeros_like(a_pos), a_pos)
    a_neg = torch.where(degenerate, torch.zeros_like(a_neg), a_neg)
    out = torch.where(g.rewards == 1, a_pos[:, None], a_neg[:, None])
    return out if g.full else out * g.valid


@dataclass(frozen=True)
class _Sorted:
    """Rewards of each group sorted ascending, with the rank of every sorted slot in its group."""

    values: torch.Tensor  # [P, N] sorted rewards; padding slots (rank < 0) hold 0
    order: torch.Tensor  # [P, N] original column of each sorted slot
    rank: torch.Tensor  # [P, N] or [1, N] float64 rank j in 0..n-1 of each slot (negative for padding)
    n: torch.Tensor  # [P, 1] or [1, 1] float64 group sizes


def _sort_groups(g: Groups, values: torch.Tensor) -> _Sorted:
    n_rollouts = values.shape[1]
    keyed = values if g.full else torch.where(g.valid, values, torch.full_like(values, -math.inf))
    sorted_values, order = torch.sort(keyed, dim=1, stable=True)
    slot = torch.arange(n_rollouts, dtype=torch.float64, device=values.device)[None, :]  # [1, N]
    if g.full:
        # Every group has n = N: the rank weights are one row shared by all prompts (broadcast).
        n = torch.full((1, 1), float(n_rollouts), dtype=torch.float64, device=values.device)
        return _Sorted(sorted_values, order, slot, n)
    n = g.n.to(torch.float64)[:, None]  # [P, 1]
    rank = slot - (n_rollouts - n)  # [P, N]; padding sorts first, so valid slots are the last n
    sorted_values = torch.where(rank >= 0, sorted_values, torch.zeros_like(sorted_values))
    return _Sorted(sorted_values, order, rank, n)


def _unsort(s: _Sorted, sorted_out: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(sorted_out).scatter_(1, s.order, sorted_out)


def _suffix_sum_exclusive(x: torch.Tensor) -> torch.Tensor:
    """``out[:, j] = sum_{l > j} x[:, l]``."""
    total = x.flip(1).cumsum(1).flip(1)
    return total - x


def _subset_mean_containing(s: _Sorted, k: int) -> torch.Tensor:
    """``m_j = mean over k-subsets containing rank j of max(S)``, for every sorted slot ``[P, N]``.

    A subset containing rank ``p`` either has ``p`` as its maximum (the other ``k-1`` from the ``p``
    lower ranks: ``C(p, k-1)`` subsets) or its maximum is some ``j > p`` (the other ``k-2`` from the
    ``j-1`` lower ranks except ``p``: ``C(j-1, k-2)``). Dividing by ``C(n-1, k-1)``:
    ``m_p = r_p C(p, k-1)/C(n-1, k-1) + sum_{j>p} r_j C(j-1, k-2)/C(n-1, k-1)``.
    """
    j, n = s.rank, s.n
    self_weight = comb_ratio(j, k - 1, n - 1, k - 1)
    above_weight = comb_ratio(j - 1, k - 2, n - 1, k - 1) if k >= 2 else torch.zeros_like(j)
    return s.values * self_weight + _suffix_sum_exclusive(s.values * above_weight)


def _analytic_continuous(g: Groups, k: int) -> torch.Tensor:
    """Exact ``passk_analytic`` for real rewards in O(n log n) per group, in deficit form.

    With the rewards sorted ascending and ``d_j = r_(j) - r_(j-1)`` the gaps, ``max(S)`` falls short of
    the group's best reward by the *deficit* ``D(S) = sum_j d_j [S lies in ranks < j]``. Write
    ``Q_j = C(j, k)/C(n, k)`` (a k-subset lies below rank ``j``) and ``R_j = C(j-1, k-1)/C(n-1, k-1)``
    (it does, given that it contains rank ``p < j``); ``Q_j = R_j j/n``. Then

        ``r_(j) - mu = E[D] - sum_{l>j} d_l``,  ``E[D] = sum_j d_j Q_j``,
        ``sigma^2 = sum_j C(j, k-1)/C(n, k) (r_(j) - mu)^2``   (the max is rank ``j`` that often),
        ``m_p - mu = sum_{j<=p} d_j Q_j - sum_{j>p} d_j R_j (n-j)/n``,
        ``A_p = (m_p - mu) / sigma``.

    Every sum has terms of one sign, so nothing cancels when ``mu`` is within rounding of the best
    reward (a rare bad answer among many good ones with ``k`` near ``n/2``, where the form
    ``m - mu`` with ``mu`` summed directly loses every digit). Weights are ratios of binomials
    via ``lgamma`` (relative error ~1e-13 at ``n = 8192``).
    """
    g = _unit_scale(g)  # A is scale-invariant: keeps squares finite and nonzero at any magnitude
    s = _sort_groups(g, g.rewards)
    j, n = s.rank, s.n  # [P, N] (or [1, N]) ranks, [P, 1] sizes; padding has rank < 0 and value 0
    gaps = torch.diff(s.values, dim=1, prepend=s.values[:, :1])  # [P, N] d_j
    gaps = torch.where(j >= 1, gaps, torch.zeros_like(gaps))
    below = comb_ratio(j, k, n, k)  # [P, N] Q_j
    below_given = comb_ratio(j - 1, k - 1, n - 1, k - 1)  # [P, N] R_j
    weighted_gaps = gaps * below  # [P, N] d_j Q_j
    expected_deficit = weighted_gaps.sum(dim=1, keepdim=True)  # [P, 1] E[D] = r_top - mu
    deviation = expected_deficit - _suffix_sum_exclusive(gaps)  # [P, N] r_(j) - mu
    weight_max = comb_ratio(j, k - 1, n, k)  # [P, N] share of k-subsets whose max is rank j
    sigma = torch.sqrt((weight_max * deviation**2).sum(dim=1, keepdim=True))  # [P, 1]
    lower = weighted_gaps.cumsum(dim=1)  # [P, N] sum_{j<=p} d_j Q_j
    upper = _suffix_sum_exclusive(gaps * below_given * (n - j) / n)  # [P, N] sum_{j>p} d_j R_j (n-j)/n
    # max(S) is constant iff every gap above rank k-1 is 0 (the smallest possible max is the best reward).
    degenerate = (torch.where(j >= k, gaps, torch.zeros_like(gaps)).sum(dim=1, keepdim=True) == 0) | (sigma == 0)
    safe_sigma = torch.where(degenerate, torch.ones_like(sigma), sigma)
    adv_sorted = (lower - upper) / safe_sigma
    adv_sorted = torch.where(degenerate | (j < 0), torch.zeros_like(adv_sorted), adv_sorted)
    return _unsort(s, adv_sorted)


@register(
    "passk_full",
    zero_sum=True,
    summary="Pass@k Training, full sampling: disjoint groups of k, GRPO over group maxima (§2.2)",
)
def passk_full(g: Groups, p: NoParams, *, k: int, generator) -> torch.Tensor:
    """Full sampling (arXiv 2508.10751 §2.2): shuffle, cut into ``floor(n/k)`` disjoint groups of ``k``.

    Each group's reward is its maximum; the group rewards are GRPO-normalised across the groups of a
    prompt and every member receives its group's advantage. When ``k`` does not divide ``n`` the
    ``n mod k`` leftover responses get 0; with a single group (``n < 2k``) every advantage is 0.
    Advantages sum to zero over the responses that were grouped.
    """
    n_prompts, n_rollouts = g.rewards.shape
    # A uniformly random order of the valid responses of each group; padding is ordered last.
    keys = torch.rand(n_prompts, n_rollouts, generator=generator, dtype=torch.float64, device=g.rewards.device)
    if not g.full:
        keys = torch.where(g.valid, keys, torch.full_like(keys, 2.0))
    order = keys.argsort(dim=1)  # [P, N]
    shuffled = g.rewards.gather(1, order)
    n_subsets = n_rollouts // k
    n_grouped = (g.n // k) * k  # [P] responses that fall into a complete subset
    slot = torch.arange(n_rollouts, device=g.rewards.device)
    grouped = slot[None, :] < n_grouped[:, None]  # [P, N]
    block = shuffled[:, : n_subsets * k].reshape(n_prompts, n_subsets, k)  # [P, G, k]
    subset_max = block.amax(dim=2)  # [P, G]
    subset_valid = torch.arange(n_subsets, device=g.rewards.device)[None, :] < (g.n // k)[:, None]
    subset_adv = _standardise(
        Groups(subset_max * subset_valid, subset_valid, (g.n // k).clamp(min=1), bool(subset_valid.all()), g.binary)
    )  # [P, G]
    slot_adv = torch.zeros_like(shuffled)
    slot_adv[:, : n_subsets * k] = subset_adv.repeat_interleave(k, dim=1)
    slot_adv = slot_adv * grouped
    return torch.zeros_like(slot_adv).scatter_(1, order, slot_adv)


_MAX_BOOTSTRAP_KEYS = 1 << 28  # 2 GiB of float64 keys


@dataclass(frozen=True)
class BootstrapParams:
    n_groups: int | None = None
    """Number of random k-subsets drawn per prompt (default: the group width ``N``)."""
    reduce: Literal["sum", "mean"] = "sum"
    """``sum``: a response's advantage is the sum over the subsets containing it (eq. 6);
    ``mean``: their average, which converges to ``passk_analytic`` as ``n_groups`` grows."""

    def __post_init__(self) -> None:
        if self.n_groups is not None and (
            isinstance(self.n_groups, bool) or not isinstance(self.n_groups, (int, np.integer)) or self.n_groups < 1
        ):
            raise ValueError(f"n_groups must be a positive integer, got {self.n_groups!r}")
        _check_choice("reduce", self.reduce, ("sum", "mean"))


@register(
    "passk_bootstrap",
    params=BootstrapParams,
    summary="Pass@k Training, bootstrap sampling: random k-subsets, GRPO over their maxima (eq. 6)",
)
def passk_bootstrap(g: Groups, p: BootstrapParams, *, k: int, generator) -> torch.Tensor:
    """Bootstrap sampling (arXiv 2508.10751 §2.3, eq. 6).

    Draw ``n_groups`` k-subsets uniformly at random (each subset has distinct members; subsets are
    drawn independently), GRPO-normalise their maxima across the subsets of the prompt, and give each
    response the **sum** of the normalised rewards of the subsets that contain it (``reduce="sum"``,
    eq. 6) or their **mean** (``reduce="mean"``; a response in no subset gets 0). The sum form is on
    average ``n_groups k / n`` times the mean form.
    """
    n_prompts, n_rollouts = g.rewards.shape
    n_groups = n_rollouts if p.n_groups is None else int(p.n_groups)
    if n_prompts * n_groups * n_rollouts > _MAX_BOOTSTRAP_KEYS:
        raise ValueError(f"n_groups={n_groups} would draw {n_prompts} x {n_groups} x {n_rollouts} random keys; at most "
                         f"{_MAX_BOOTSTRAP_KEYS:,} fit in memory at once (lower n_groups, or use passk_analytic, its "
                         "exact limit)")
    # The k largest of n i.i.d. uniform keys are a uniformly random k-subset.
    keys = torch.rand(n_prompts, n_groups, n_rollouts, generator=generator, device=g.rewards.device)
    if not g.full:
        keys = torch.where(g.valid[:, None, :], keys, torch.full_like(keys, -1.0))
    members = keys.topk(k, dim=2).indices  # [P, G, k]
    subset_max = g.rewards.gather(1, members.reshape(n_prompts, -1)).reshape(n_prompts, n_groups, k).amax(dim=2)
    subset_adv = _standardise(
        Groups(subset_max, torch.ones_like(subset_max, dtype=torch.bool),
               torch.full((n_prompts,), n_groups, device=g.rewards.device), True, g.binary)
    )  # [P, G]
    flat_members = members.reshape(n_prompts, n_groups * k)
    total = torch.zeros_like(g.rewards).scatter_add_(1, flat_members, subset_adv.repeat_interleave(k, dim=1))
    if p.reduce == "sum":
        return total
    count = torch.zeros_like(g.rewards).scatter_add_(1, flat_members, torch.ones_like(flat_members, dtype=torch.float64))
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


# --------------------------------------------------------------------------------------------------
# PKPO, Walder & Karkhanis, arXiv 2505.15201
# --------------------------------------------------------------------------------------------------


def _loo_maxk(s: _Sorted, kk: int) -> torch.Tensor:
    """Unbiased max@kk of the *other* ``n-1`` responses, for every sorted slot ``[P, N]``.

    Removing rank ``p`` leaves ranks ``j < p`` in place and moves ``j > p`` down by one, so
    ``rho_kk(r_{-p}) = [sum_{j<p} r_j C(j, kk-1) + sum_{j>p} r_j C(j-1, kk-1)] / C(n-1, kk)``.
    ``kk = 0`` gives 0 (the maximum of an empty set is taken as 0, as in the paper's code).
    """
    if kk == 0:
        return torch.zeros_like(s.values)
    j, n = s.rank, s.n
    below = s.values * comb_ratio(j, kk - 1, n - 1, kk)
    above = s.values * comb_ratio(j - 1, kk - 1, n - 1, kk)
    below_exclusive = below.cumsum(1) - below
    return below_exclusive + _suffix_sum_exclusive(above)


def _pkpo_s(s: _Sorted, k: int) -> torch.Tensor:
    """``s_i = (1/C(n,k)) sum_{S containing i} max(S) = (k/n) m_i`` (arXiv 2505.15201 eq. 19)."""
    return (k / s.n) * _subset_mean_containing(s, k)


@register("pkpo", summary="PKPO s_i: unbiased max@k gradient weights, no baseline (2505.15201 eq. 19)")
def pkpo(g: Groups, p: NoParams, *, k: int, generator) -> torch.Tensor:
    """PKPO weights ``s_i = (1/C(n,k)) sum_{S containing i} max(S)`` (arXiv 2505.15201, eq. 19).

    ``sum_i s_i grad log pi(y_i)`` is an unbiased estimate of ``grad max@k``. Not centred: the weights
    sum to ``k`` times the unbiased max@k. ``passk_analytic = ((n/k) s_i - mu) / sigma``.
    """
    s = _sort_groups(g, g.rewards)
    return _unsort(s, torch.where(s.rank >= 0, _pkpo_s(s, k), torch.zeros_like(s.values)))


@register("pkpo_loo", summary="PKPO with the leave-one-out baseline (2505.15201 eq. 29); needs k < n")
def pkpo_loo(g: Groups, p: NoParams, *, k: int, generator) -> torch.Tensor:
    """``s_i - (k/(n-1)) rho_k(r_{-i})``: PKPO with a leave-one-out baseline (arXiv 2505.15201 eq. 29).

    The baseline ``(1/(n-1)) sum_{j != i} S(j, k, [n] \\ i)`` equals ``k/(n-1)`` times the unbiased
    max@k of the other ``n-1`` rewards; it needs ``k <= n - 1`` (use ``pkpo_loo1`` when ``k = n``).
    """
    if bool((g.n <= k).any()):
        group = int(torch.nonzero(g.n <= k)[0, 0])
        raise ValueError(
            f"pkpo_loo needs k < n, but group {group} has n={int(g.n[group])} and k={k}; use pkpo_loo1"
        )
    s = _sort_groups(g, g.rewards)
    adv = _pkpo_s(s, k) - (k / (s.n - 1)) * _loo_maxk(s, k)
    return _unsort(s, torch.where(s.rank >= 0, adv, torch.zeros_like(adv)))


@register("pkpo_loo1", summary="PKPO with the k-1 leave-one-out baseline (2505.15201 eq. 33), lowest variance")
def pkpo_loo1(g: Groups, p: NoParams, *, k: int, generator) -> torch.Tensor:
    """``(1/C(n,k)) sum_{S containing i} [max(S) - max(S \\ {i})]`` (arXiv 2505.15201, eq. 33).

    Equals ``s_i - (k/n) rho_{k-1}(r_{-i})``. For binary rewards: ``C(n-c, k-1)/C(n, k)`` for a correct
    response (the share of subsets where it is the only correct one) and 0 for a wrong one. ``k = 1``
    gives ``r_i / n`` (the maximum of the empty set is 0).
    """
    s = _sort_groups(g, g.rewards)
    adv = _pkpo_s(s, k) - (k / s.n) * _loo_maxk(s, k - 1)
    return _unsort(s, torch.where(s.rank >= 0, adv, torch.zeros_like(adv)))


@register("grpo_passk_tang", uses_k=False,
          summary="Tang et al. (verl's grpo_passk): only the best gets r_max - r_second")
def grpo_passk_tang(g: Groups, p: NoParams, *, k: int, generator) -> torch.Tensor:
    """Tang et al., arXiv 2503.19595 (what verl calls ``grpo_passk``), kept for comparison.

    Only the best response of a group gets ``r_max - r_second``; all others 0. With two or more correct
    binary answers every advantage is 0. ``k`` is ignored; every group needs two responses.
    """
    if bool((g.n < 2).any()):
        group = int(torch.nonzero(g.n < 2)[0, 0])
        raise ValueError(f"grpo_passk_tang needs at least 2 responses per group; group {group} has 1")
    keyed = g.rewards if g.full else torch.where(g.valid, g.rewards, torch.full_like(g.rewards, -math.inf))
    top2 = keyed.topk(2, dim=1)
    gap = top2.values[:, 0] - top2.values[:, 1]  # [P]
    out = torch.zeros_like(g.rewards)
    return out.scatter_(1, top2.indices[:, :1], gap[:, None])


# --------------------------------------------------------------------------------------------------
# The shapers of arXiv 2508.10751 §4, declared in passkrl.core.shaping and registered here, beside the
# registry, so that no passkrl module sees a registry without them
# --------------------------------------------------------------------------------------------------

for _name, _kernel, _properties in SHAPERS:
    register(_name, **_properties)(_kernel)
