"""Evaluation metrics: unbiased pass@k, max@k, maj@k, eta, alpha_k, token entropy, diversity, CIs.

Every function is small and pure, takes numpy arrays (or anything ``np.asarray`` accepts; torch
tensors where noted) and returns numpy values: a Python ``float`` when every input is a scalar (or one
prompt), an array otherwise. Bad input raises ``ValueError`` naming the argument and the value.

Notation: one prompt has ``n`` sampled responses, ``c`` of them correct, and ``1 <= k <= n``: every
``k`` obeys the one rule of :func:`passkrl.core.k.check_k` (an integer, not a bool or a float such as
``4.0``; ``k > n`` is an error naming both). The unbiased estimators average a quantity over all ``C(n, k)`` k-subsets of the ``n`` samples, i.e.
over ``k`` samples drawn *without replacement* (Chen et al. 2021, arXiv 2107.03374, §2.1).

Numerics: ratios of binomial coefficients are never formed as ``comb(a, b) / comb(c, d)`` of two
floats (they overflow near ``n = 1030``); they come from :func:`passkrl.core.combinatorics.log_miss_table`,
a sum of ``log1p`` terms that is accurate relative to its own size, so ``pass@k = -expm1(log ratio)``
keeps full relative precision even when it is ``1e-4`` (``n = 8192, c = 1, k = 1``).

Only the standard library, numpy and torch are imported here.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from passkrl.core.combinatorics import log_miss_table
from passkrl.core.k import check_k

__all__ = [
    "pass_at_k",
    "max_at_k",
    "maj_at_k",
    "eta",
    "alpha_k",
    "mean_token_entropy",
    "EntropyStats",
    "distinct_wrong_answers",
    "bootstrap_ci",
    "Interval",
]


# ----------------------------------------------------------------------------------- validation


def _to_numpy(x: Any, name: str) -> np.ndarray:
    """``np.asarray`` that also takes torch tensors (any device, with or without grad)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:  # ragged nested lists and the like
        raise ValueError(f"{name} must be array-like, got {type(x).__name__}: {err}") from None


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> str:
    """``"=value (at index i)"`` for the first offending element, for error messages."""
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    value = arr[index] if arr.ndim else arr[()]
    where = f" at index {index if len(index) > 1 else index[0]}" if arr.ndim else ""
    return f"{value!r}{where}"


def _as_counts(x: Any, name: str, fn: str) -> np.ndarray:
    """Validate non-negative integer counts (``3`` and ``3.0`` are fine, ``2.5``, NaN, -1 are not)."""
    arr = _to_numpy(x, name)
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if arr.dtype.kind in "iu":
        ints = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{fn}: {name} must be a finite integer, got {name}={_first_bad(arr, bad)}")
        bad = arr != np.round(arr)
        if bad.any():
            raise ValueError(f"{fn}: {name} must be an integer count, got {name}={_first_bad(arr, bad)}")
        ints = arr.astype(np.int64)
    else:
        raise ValueError(f"{fn}: {name} must hold integer counts, got dtype {arr.dtype} ({name}={x!r})")
    bad = ints < 0
    if bad.any():
        raise ValueError(f"{fn}: {name} must be non-negative, got {name}={_first_bad(ints, bad)}")
    return ints


def _k_rule(fn: str, k: Any, n: int | None = None, *, index: tuple[int, ...] = (), n_name: str = "n",
            where: str = "") -> int:
    """:func:`~passkrl.core.k.check_k` of one ``k`` (against ``n`` when given); its error starts with the
    function's name and says at which array index the value is."""
    at = f" at index {index if len(index) > 1 else index[0]}" if index else ""
    try:
        return check_k(k, n, n_name=n_name, where=where + at)
    except ValueError as err:
        message = str(err) if at in str(err) else f"{err}{at}"
        raise ValueError(f"{fn}: {message}") from None


def _as_k(k: Any, fn: str) -> int:
    """A single ``k`` by the one rule: an integer (not a bool, not a float) ``>= 1``."""
    return _k_rule(fn, k)


def _as_ks(k: Any, fn: str) -> np.ndarray:
    """``k`` as int64, a scalar or an array of values each obeying the one rule (``1 <= k``; ``k <= n`` is
    the caller's, once ``n`` is broadcast); an error names the first bad value and its index."""
    k_a = _to_numpy(k, "k")
    if k_a.dtype.kind not in "iu":  # floats, booleans, strings, objects: the first value that breaks the rule
        for i, value in enumerate(k_a.reshape(-1).tolist()):
            _k_rule(fn, value, index=tuple(int(j) for j in np.unravel_index(i, k_a.shape)) if k_a.ndim else ())
        raise ValueError(f"{fn}: k must hold integers, got dtype {k_a.dtype}")
    bad = k_a < 1
    if bad.any():
        i = tuple(int(j) for j in np.argwhere(bad)[0])
        _k_rule(fn, int(k_a[i]), index=i)
    return k_a.astype(np.int64)


def _as_mask(mask: Any, shape: tuple[int, ...], fn: str) -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = _to_numpy(mask, "mask")
    if m.shape != shape:
        raise ValueError(f"{fn}: mask must have the shape of the values {shape}, got mask shape {m.shape}")
    if m.dtype != bool:
        if m.dtype.kind not in "iuf" or not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{fn}: mask must be boolean or 0/1, got dtype {m.dtype}")
        m = m != 0
    return m


def _scalar_or_array(out: np.ndarray, scalar: bool):
    return float(out.reshape(())) if scalar else out


# ------------------------------------------------------------------------------------ pass@k


def _pass_table(n: int, k: int) -> np.ndarray:
    """``pass@k`` for ``c = 0..n`` correct out of ``n`` (``[n + 1]`` float64; ``k <= n`` checked by callers)."""
    if k == 1:
        return np.arange(n + 1) / n  # pass@1 = c / n, correctly rounded
    # -expm1 keeps the relative precision of small values; + 0.0 turns -0.0 (c = 0) into 0.0.
    return -np.expm1(log_miss_table(n, k)) + 0.0


# Above this n the O(n) table of every c is not built; each element is computed on its own instead.
_TABLE_MAX_N = 1 << 20
# Terms of log1p summed per chunk in the direct form (bounds its memory at a few MB).
_CHUNK = 1 << 18


def _pass_one(n: int, c: int, k: int) -> float:
    """``pass@k`` of one ``(n, c, k)`` in ``O(min(c, k))`` without a table (for very large ``n``).

    ``C(n-c, k)/C(n, k) = prod_{i<c} (1 - k/(n-i)) = prod_{i<k} (1 - c/(n-i))``; the shorter product
    is summed in log space (each factor exact to one rounding, as in ``log_miss_table``).
    """
    if c == 0:
        return 0.0
    if n - c < k:
        return 1.0
    if k == 1:
        return c / n
    terms, numerator = (c, k) if c <= k else (k, c)
    log_ratio = 0.0
    for start in range(0, terms, _CHUNK):
        i = np.arange(start, min(terms, start + _CHUNK), dtype=np.float64)
        log_ratio += float(np.log1p(-numerator / (n - i)).sum())
    return float(-np.expm1(log_ratio) + 0.0)


def pass_at_k(n: Any, c: Any, k: Any):
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct (broadcasts over arrays).

    ``pass@k = 1 - C(n - c, k) / C(n, k)``: the probability that ``k`` samples drawn without
    replacement from the ``n`` contain at least one correct one (Chen et al. 2021, arXiv 2107.03374,
    eq. 1; the Pass@k Training group reward mean of arXiv 2508.10751, eq. 11). It is exactly 1 when
    ``n - c < k``.

    Stable form: ``log(C(n-c, k)/C(n, k)) = sum_{i<c} log1p(-k / (n - i))`` (one ``log_miss_table``
    per distinct ``(n, k)`` pair) and ``pass@k = -expm1(log ratio)``, so a tiny pass@k such as
    ``1/8192`` keeps full relative precision and nothing overflows for ``n`` in the thousands;
    ``pass@1`` is computed as ``c / n`` directly, so it is exactly the accuracy.

    Args:
        n, c: non-negative integer counts, scalars or arrays (floats that are integral, such as ``3.0``,
            are accepted). ``0 <= c <= n``.
        k: integers ``1 <= k <= n`` (:func:`passkrl.core.k.check_k`: ``4.0`` and ``True`` are refused),
            a scalar or an array; ``n``, ``c`` and ``k`` broadcast against each other.

    Returns:
        ``float`` if all inputs are scalars, else a float64 array of the broadcast shape.

    Raises:
        ValueError: ``k > n`` (which a common implementation silently turns into 1.0), ``k < 1``,
            a ``k`` that is not an integer, ``c < 0``, ``c > n``, negative, non-integer, NaN or
            infinite counts.
    """
    fn = "pass_at_k"
    n_a, c_a = (_as_counts(v, name, fn) for v, name in ((n, "n"), (c, "c")))
    k_a = _as_ks(k, fn)
    scalar = n_a.ndim == c_a.ndim == k_a.ndim == 0
    try:
        n_a, c_a, k_a = np.broadcast_arrays(n_a, c_a, k_a)
    except ValueError:
        raise ValueError(f"{fn}: n, c, k have shapes {n_a.shape}, {c_a.shape}, {k_a.shape} that do not broadcast") from None
    too_large = k_a > n_a
    if too_large.any():
        i = tuple(int(v) for v in np.argwhere(too_large)[0])
        _k_rule(fn, int(k_a[i]), int(n_a[i]), index=i if n_a.ndim else ())
    too_many = c_a > n_a
    if too_many.any():
        i = tuple(int(v) for v in np.argwhere(too_many)[0])
        at = f" at index {i if len(i) > 1 else i[0]}" if n_a.ndim else ""
        raise ValueError(f"{fn}: c must be <= n, got n={n_a[i]}, c={c_a[i]}, k={k_a[i]}{at}")

    n_flat, c_flat, k_flat = n_a.ravel(), c_a.ravel(), k_a.ravel()
    out = np.empty(n_flat.shape, dtype=np.float64)
    if n_flat.size:
        # Group the elements by their (n, k) pair: one O(n) table serves every c of the group.
        pairs = np.stack([n_flat, k_flat], axis=1)
        unique_pairs, inverse = np.unique(pairs, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(unique_pairs) + 1))
        for g, (n_g, k_g) in enumerate(unique_pairs):
            idx = order[bounds[g] : bounds[g + 1]]
            if n_g <= _TABLE_MAX_N:
                out[idx] = _pass_table(int(n_g), int(k_g))[c_flat[idx]]
            else:  # a table of n + 1 entries would not fit; each distinct c on its own
                values = {int(c): _pass_one(int(n_g), int(c), int(k_g)) for c in np.unique(c_flat[idx])}
                out[idx] = [values[int(c)] for c in c_flat[idx]]
    return _scalar_or_array(out.reshape(n_a.shape), scalar)


# ------------------------------------------------------------------------------------- max@k


def max_at_k(rewards: Any, k: Any, mask: Any = None):
    """Unbiased estimate of ``E[max of k samples]`` from ``n >= k`` rewards of each prompt.

    With the valid rewards of a prompt sorted ascending, ``r_(0) <= ... <= r_(n-1)``, the mean of
    ``max(S)`` over all ``C(n, k)`` k-subsets ``S`` is

        ``max@k = sum_j r_(j) C(j, k-1) / C(n, k)``   (0-indexed ``j``; ``r_(j)`` is the max of the
        ``C(j, k-1)`` subsets made of it and ``k-1`` smaller-ranked samples),

    the max@k / "pass@k for continuous rewards" of Walder & Karkhanis (arXiv 2505.15201, eq. 19).
    Ties are harmless: tied rewards share the weight between them. We evaluate it by summation by
    parts, ``max@k = r_(0) + sum_{j>=1} (r_(j) - r_(j-1)) P(max rank >= j)`` with
    ``P(max rank >= j) = 1 - C(j, k)/C(n, k)`` (not all ``k`` among the ``j`` lowest), computed as
    :func:`pass_at_k` ``(n, n - j, k)``. Every term is non-negative, nothing overflows, and for
    binary rewards the only jump is at ``j = n - c``, so ``max_at_k`` equals ``pass_at_k(n, c, k)``
    bit for bit.

    Args:
        rewards: ``[P, N]`` (prompts × samples) or ``[N]`` (one prompt); finite floats.
        k: integer ``>= 1``, at most the number of valid samples of every prompt.
        mask: optional ``[P, N]`` / ``[N]`` boolean (or 0/1), ``True`` where a sample is valid, for
            ragged groups; masked entries may hold anything, even NaN.

    Returns:
        ``[P]`` float64 array, or ``float`` for a 1-D input.
    """
    fn = "max_at_k"
    k = _as_k(k, fn)
    rewards_pn = _to_numpy(rewards, "rewards")
    if rewards_pn.dtype.kind not in "biuf":
        raise ValueError(f"{fn}: rewards must be numeric, got dtype {rewards_pn.dtype}")
    if rewards_pn.ndim not in (1, 2):
        raise ValueError(f"{fn}: rewards must have shape [P, N] or [N], got shape {rewards_pn.shape}")
    one_prompt = rewards_pn.ndim == 1
    mask_pn = _as_mask(mask, rewards_pn.shape, fn)
    rewards_pn = np.atleast_2d(rewards_pn.astype(np.float64))
    mask_pn = np.atleast_2d(mask_pn)
    bad = mask_pn & ~np.isfinite(rewards_pn)
    if bad.any():
        raise ValueError(f"{fn}: rewards must be finite, got rewards={_first_bad(rewards_pn, bad)}")
    n_p = mask_pn.sum(axis=1)  # [P] valid samples per prompt
    short = n_p < k
    if short.any():
        p = int(np.argmax(short))
        _k_rule(fn, k, int(n_p[p]), n_name="the number of valid samples n", where=f" of prompt {p}")
    # Masked entries sort to the end as +inf; the first n_p entries of each row are its sorted rewards.
    sorted_pn = np.sort(np.where(mask_pn, rewards_pn, np.inf), axis=1)
    out_p = np.empty(len(n_p), dtype=np.float64)
    for n in np.unique(n_p):
        n = int(n)
        rows = n_p == n
        r_sorted = sorted_pn[rows, :n]  # [R, n]
        # P(max rank >= j) = 1 - C(j, k)/C(n, k) = pass@k with c = n - j correct, for j = 1..n-1.
        reach_j = _pass_table(n, k)[n - np.arange(1, n)]  # [n - 1]
        out_p[rows] = r_sorted[:, 0] + np.diff(r_sorted, axis=1) @ reach_j
    return float(out_p[0]) if one_prompt else out_p


# ------------------------------------------------------------------------------------- maj@k


def _is_one_prompt(answers: Any) -> bool:
    return not any(isinstance(a, (list, tuple, np.ndarray)) for a in answers)


def _binomial_pmf(a: int, p: float) -> np.ndarray:
    """``C(a, x) p^x (1-p)^(a-x)`` for ``x = 0..a`` (through ``lgamma``; exact limits at p = 0, 1)."""
    x = np.arange(a + 1)
    if p >= 1.0:
        return (x == a).astype(np.float64)
    log_comb = np.array([math.lgamma(a + 1) - math.lgamma(i + 1) - math.lgamma(a - i + 1) for i in x])
    return np.exp(log_comb + x * math.log(p) + (a - x) * math.log1p(-p))


def _win_probability(a_i: int, others: list[int], n_none: int, n: int, k: int, pmf: Callable[[int], np.ndarray]) -> float:
    """P(a given answer class of ``a_i`` samples wins the vote of a random k-subset), ties split.

    The subset draws ``x`` samples of this class, ``x_j`` of every other class ``j`` and ``x_0``
    unanswered ones with multivariate hypergeometric probability ``prod C(a_j, x_j) / C(n, k)``. The
    class wins outright if every ``x_j < x`` and shares the win with the ``t`` classes at ``x_j = x``
    (each then wins with probability ``1/(1+t)``). A dynamic programme over the other classes tracks
    (samples used, ties). To keep the numbers in floating range for any ``n``, every ``C(a, x)`` is
    scaled by ``p^x (1-p)^(a-x)`` with ``p = k/n`` (a Binomial pmf); the product of the scalings is
    ``p^k (1-p)^(n-k)`` for every term, so the answer is the scaled sum divided by ``Binom(k; n, p)``.
    """
    p = k / n
    pmf_i, pmf_none = pmf(a_i), pmf(n_none)
    total = 0.0
    for x in range(1, min(a_i, k) + 1):
        rest = k - x  # samples left for the other classes and the unanswered ones
        rivals = [a for a in others if a >= x]  # only these can tie
        n_ties = min(len(rivals), rest // x)
        dp_st = np.zeros((rest + 1, n_ties + 1))  # [samples used, ties so far]
        dp_st[0, 0] = 1.0
        for a_j in others:
            w = pmf(a_j)
            new = np.zeros_like(dp_st)
            for x_j in range(min(a_j, x, rest) + 1):
                if x_j == x:  # a tie: shift the tie count as well
                    new[x_j:, 1:] += w[x_j] * dp_st[: rest + 1 - x_j, :-1]
                else:
                    new[x_j:, :] += w[x_j] * dp_st[: rest + 1 - x_j, :]
            dp_st = new
        # Unanswered samples take the remaining slots: index rest - x_0 of the others' draws.
        m = min(n_none, rest)
        ways_t = pmf_none[: m + 1] @ dp_st[rest - np.arange(m + 1), :]  # [ties]
        total += pmf_i[x] * float(ways_t @ (1.0 / (1.0 + np.arange(n_ties + 1))))
    normaliser = math.exp(
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
        + k * math.log(p) + ((n - k) * math.log1p(-p) if k < n else 0.0)
    )
    return total / normaliser


def _maj_one_prompt(answers: Sequence, correct: Sequence, k: int, prompt: int | None) -> float:
    where = "" if prompt is None else f" of prompt {prompt}"
    if len(answers) != len(correct):
        raise ValueError(f"maj_at_k: answers and correct{where} differ in length: {len(answers)} != {len(correct)}")
    n = len(answers)
    _k_rule("maj_at_k", k, n, n_name="the number of samples n", where=where)
    counts = Counter(a for a in answers if a is not None)
    class_correct: dict[Hashable, bool] = {}
    for a, ok in zip(answers, correct):
        if a is None:
            continue  # an unanswered sample does not vote, whatever its correctness flag says
        ok = bool(ok)
        if class_correct.setdefault(a, ok) != ok:
            raise ValueError(f"maj_at_k: answer {a!r}{where} is marked both correct and wrong; "
                             "correctness must be a function of the answer")
    n_none = n - sum(counts.values())
    sizes = list(counts.values())
    acc = 0.0
    cache: dict[int, float] = {}  # the win probability depends only on the class size
    pmf_cache: dict[int, np.ndarray] = {}

    def pmf(a: int) -> np.ndarray:
        if a not in pmf_cache:
            pmf_cache[a] = _binomial_pmf(a, k / n)
        return pmf_cache[a]

    for answer, a_i in counts.items():
        if not class_correct[answer]:
            continue
        if a_i not in cache:
            others = list(sizes)
            others.remove(a_i)
            cache[a_i] = _win_probability(a_i, others, n_none, n, k, pmf)
        acc += cache[a_i]
    return min(max(acc, 0.0), 1.0)


def maj_at_k(answers: Sequence, correct: Sequence, k: Any):
    """Majority-vote accuracy at ``k`` (maj@k), computed exactly.

    Definition: draw ``k`` of the ``n`` samples of a prompt uniformly without replacement; the
    samples with an answer vote for it (``None`` = no answer, no vote); the plurality answer is
    chosen, ties broken uniformly at random; maj@k is the probability that the chosen answer is
    correct. If all ``k`` drawn samples are unanswered nothing is chosen and the draw scores 0. So

        ``maj@k = (1/C(n,k)) sum_S sum_{a correct} [a wins S] / (#answers tied for the win in S)``.

    ``maj@1`` is the fraction of samples that are correct (among all ``n``), and maj@k is the exact
    mean over all ``C(n, k)`` subsets, not a Monte Carlo estimate: a dynamic programme over answer
    classes (see ``_win_probability``) in floating point, agreeing with rational arithmetic to about
    1e-12 relative for ``n`` in the thousands. Cost: milliseconds for ``n = 32, k = 16``, about half a
    second for ``n = 1024, k = 512`` with every answer distinct (the worst case).

    Args:
        answers: per prompt, a sequence of ``n`` hashable final answers (strings) or ``None``; a list
            of such lists for several prompts (their ``n`` may differ), or one flat list for one prompt.
        correct: the same nesting, truthy where the sample is correct. Correctness must be a function
            of the answer (the same answer string cannot be both correct and wrong); flags of
            unanswered samples are ignored.
        k: integer ``1 <= k <= n`` for every prompt.

    Returns:
        ``[P]`` float64 array, or ``float`` for one prompt given as a flat list.
    """
    k = _as_k(k, "maj_at_k")
    answers, correct = list(answers), list(correct)
    if len(answers) != len(correct):
        raise ValueError(f"maj_at_k: answers and correct differ in length: {len(answers)} != {len(correct)}")
    if _is_one_prompt(answers):
        return _maj_one_prompt(answers, list(correct), k, None)
    return np.array([_maj_one_prompt(list(a), list(c), k, p) for p, (a, c) in enumerate(zip(answers, correct))],
                    dtype=np.float64)


def distinct_wrong_answers(answers: Sequence, correct: Sequence):
    """Number of distinct wrong final answers per prompt (arXiv 2508.10751, Fig. 7a).

    ``|{a_i : a_i is not None and sample i is wrong}|``: how many different mistakes a prompt's
    samples make, a measure of exploration. ``None`` (no extractable answer) is not counted.

    Args:
        answers, correct: per prompt a sequence of answers (hashable or ``None``) and matching
            correctness flags; a list of such lists, or one flat list for one prompt.

    Returns:
        ``[P]`` int64 array, or ``int`` for one prompt given as a flat list.
    """
    answers, correct = list(answers), list(correct)
    if len(answers) != len(correct):
        raise ValueError(f"distinct_wrong_answers: answers and correct differ in length: {len(answers)} != {len(correct)}")

    def one(ans: Sequence, ok: Sequence, prompt: int | None) -> int:
        ans, ok = list(ans), list(ok)
        if len(ans) != len(ok):
            where = "" if prompt is None else f" of prompt {prompt}"
            raise ValueError(f"distinct_wrong_answers: answers and correct{where} differ in length: {len(ans)} != {len(ok)}")
        return len({a for a, good in zip(ans, ok) if a is not None and not bool(good)})

    if _is_one_prompt(answers):
        return one(answers, correct, None)
    return np.array([one(a, c, p) for p, (a, c) in enumerate(zip(answers, correct))], dtype=np.int64)


# ------------------------------------------------------------------------------- eta, alpha_k


def eta(advantages: Any, mask: Any = None):
    """Sum of absolute advantages of a group (arXiv 2508.10751, eq. 16).

    ``eta = N_pos |A_pos| + N_neg |A_neg|``; for a general estimator ``eta = sum_i |A_i|`` over the
    valid responses of the group, which equals eq. 16 when the advantages depend only on
    correctness. The paper reads the optimisation strength a prompt receives off this curve (argmax
    near 25% accuracy for Pass@8 at n = 32, 50% for Pass@1, Fig. 9).

    Args:
        advantages: ``[P, N]`` (prompts × responses) or ``[N]``; numpy or torch.
        mask: optional boolean ``[P, N]`` / ``[N]``, ``True`` for valid responses.

    Returns:
        ``[P]`` float64 array, or ``float`` for a 1-D input.
    """
    adv_pn = _to_numpy(advantages, "advantages")
    if adv_pn.dtype.kind not in "biuf" or adv_pn.ndim not in (1, 2):
        raise ValueError(f"eta: advantages must be a numeric [P, N] or [N] array, got dtype {adv_pn.dtype} "
                         f"and shape {adv_pn.shape}")
    mask_pn = _as_mask(mask, adv_pn.shape, "eta")
    adv_pn = adv_pn.astype(np.float64)
    bad = mask_pn & ~np.isfinite(adv_pn)
    if bad.any():
        raise ValueError(f"eta: advantages must be finite, got advantages={_first_bad(adv_pn, bad)}")
    out = np.where(mask_pn, np.abs(adv_pn), 0.0).sum(axis=-1)
    return float(out) if adv_pn.ndim == 1 else out


def alpha_k(p: Any, k: Any):
    """Pass@k gradient weight ``alpha_k(p) = k (1 - p)^(k - 1)``.

    For a prompt solved with probability ``p`` (pass@1), ``pass@k = 1 - (1 - p)^k`` so
    ``grad pass@k = k (1 - p)^(k-1) grad pass@1``: pass@k training is a per-prompt reweighting of the
    pass@1 gradient that vanishes as ``p -> 1`` (Yang Yu, "Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective");
    ``alpha_1 = 1`` for every ``p`` including 1.

    Args:
        p: probabilities in ``[0, 1]``, scalar or array.
        k: integer(s) ``>= 1`` (:func:`passkrl.core.k.check_k`), broadcast against ``p``.

    Returns:
        ``float`` for scalar inputs, else a float64 array.
    """
    p_a = _to_numpy(p, "p")
    if p_a.dtype.kind not in "biuf":
        raise ValueError(f"alpha_k: p must be numeric, got dtype {p_a.dtype}")
    p_a = p_a.astype(np.float64)
    bad = ~np.isfinite(p_a) | (p_a < 0) | (p_a > 1)
    if bad.any():
        raise ValueError(f"alpha_k: p must lie in [0, 1], got p={_first_bad(p_a, bad)}")
    k_a = _as_ks(k, "alpha_k")
    scalar = p_a.ndim == 0 and k_a.ndim == 0
    p_a, k_a = np.broadcast_arrays(p_a, k_a)
    out = k_a * np.power(1.0 - p_a, k_a - 1.0)  # 0^0 = 1: alpha_1(1) = 1
    return _scalar_or_array(out.astype(np.float64), scalar)


# ----------------------------------------------------------------------------------- entropy


@dataclass(frozen=True)
class EntropyStats:
    """Mean token entropy (nats) of a batch of sequences.

    ``per_sequence``: ``[B]`` mean over each sequence's valid tokens (NaN for a sequence without one).
    ``token_mean``: mean over all valid tokens of the batch, ``sum(H * m) / sum(m)`` (long sequences
    weigh more; the token-level averaging of DAPO). ``sequence_mean``: mean of ``per_sequence`` over
    the sequences that have a valid token (every sequence weighs the same).
    """

    per_sequence: np.ndarray
    token_mean: float
    sequence_mean: float


def mean_token_entropy(entropy_bt: Any, mask_bt: Any = None) -> EntropyStats:
    """Mean entropy over valid tokens, per sequence and overall.

    ``per_sequence[b] = sum_t H[b, t] m[b, t] / sum_t m[b, t]``, ``token_mean = sum H m / sum m``,
    ``sequence_mean = mean_b per_sequence[b]`` (see :class:`EntropyStats`). The per-token entropy
    ``H = -sum_v pi(v) log pi(v)`` comes from the caller (the paper tracks it in Fig. 7b and the
    adaptive-entropy shaper of §4.2.3 ranks prompts by it).

    Args:
        entropy_bt: ``[B, T]`` (sequences × tokens) or ``[T]``; numpy or torch.
        mask_bt: optional ``[B, T]`` boolean / 0-1, ``True`` for real (non-padding) tokens.

    Raises:
        ValueError: shape mismatch, non-finite entropy on a valid token, or no valid token at all.
    """
    h_bt = _to_numpy(entropy_bt, "entropy_bt")
    if h_bt.dtype.kind not in "biuf" or h_bt.ndim not in (1, 2):
        raise ValueError(f"mean_token_entropy: entropy_bt must be a numeric [B, T] or [T] array, got dtype "
                         f"{h_bt.dtype} and shape {h_bt.shape}")
    m_bt = np.atleast_2d(_as_mask(mask_bt, h_bt.shape, "mean_token_entropy"))
    h_bt = np.atleast_2d(h_bt.astype(np.float64))
    bad = m_bt & ~np.isfinite(h_bt)
    if bad.any():
        raise ValueError(f"mean_token_entropy: entropy_bt must be finite on valid tokens, got {_first_bad(h_bt, bad)}")
    tokens_b = m_bt.sum(axis=1)
    if tokens_b.sum() == 0:
        raise ValueError("mean_token_entropy: mask_bt marks no valid token")
    sum_b = np.where(m_bt, h_bt, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_sequence = np.where(tokens_b > 0, sum_b / tokens_b, np.nan)
    return EntropyStats(
        per_sequence=per_sequence,
        token_mean=float(sum_b.sum() / tokens_b.sum()),
        sequence_mean=float(np.nanmean(per_sequence)),
    )


# --------------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class Interval:
    """A point estimate with a bootstrap confidence interval.

    ``mean``: the statistic on the full sample (the mean by default); ``low``, ``high``: the
    percentile interval at confidence ``level``; ``n``: the number of prompts. Fields are floats for
    ``[P]`` values and arrays of the trailing shape for ``[P, ...]`` values.
    """

    mean: Any
    low: Any
    high: Any
    level: float
    n: int


def bootstrap_ci(
    values: Any,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    statistic: Callable[..., Any] = np.mean,
) -> Interval:
    """Percentile bootstrap confidence interval over prompts (Efron & Tibshirani 1993, §13.3).

    Resample the ``P`` prompts (rows of ``values``) with replacement ``n_boot`` times, compute
    ``statistic`` of each resample, and report its ``(1-level)/2`` and ``(1+level)/2`` quantiles.
    Prompts are the unit of resampling because the samples of one prompt are not independent of
    each other. For ``values`` of shape ``[P, K]`` (say, pass@k for several ``k``), the same
    resampled prompts are used for every column. With ``P == 1`` the interval is ``(v, v)``: one
    prompt says nothing about the spread.

    Args:
        values: ``[P]`` or ``[P, ...]`` finite numbers, one row per prompt.
        n_boot: number of resamples (>= 1).
        level: confidence level in ``(0, 1)``.
        seed: seed of ``numpy.random.default_rng``; the same seed gives the same interval.
        statistic: called as ``statistic(x, axis=0)`` (and ``axis=1`` on the stacked resamples),
            e.g. ``np.mean`` or ``np.median``.

    Returns:
        :class:`Interval`.
    """
    fn = "bootstrap_ci"
    values_p = _to_numpy(values, "values")
    if values_p.dtype.kind not in "biuf":
        raise ValueError(f"{fn}: values must be numeric, got dtype {values_p.dtype}")
    if values_p.ndim == 0 or values_p.shape[0] == 0:
        raise ValueError(f"{fn}: values must have at least one prompt (shape [P, ...]), got shape {values_p.shape}")
    values_p = values_p.astype(np.float64)
    bad = ~np.isfinite(values_p)
    if bad.any():
        raise ValueError(f"{fn}: values must be finite, got values={_first_bad(values_p, bad)}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(f"{fn}: n_boot must be an integer >= 1, got n_boot={n_boot!r}")
    if not (isinstance(level, numbers.Real) and 0 < level < 1):
        raise ValueError(f"{fn}: level must lie in (0, 1), got level={level!r}")
    n_prompts = values_p.shape[0]
    rng = np.random.default_rng(seed)
    # Resample in chunks so that [chunk, P, ...] stays below ~32 MB.
    per_boot = max(1, values_p.size)
    chunk = max(1, min(n_boot, (1 << 22) // per_boot))
    stats = []
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        idx_bp = rng.integers(0, n_prompts, size=(size, n_prompts))  # [boot, P]
        stats.append(np.asarray(statistic(values_p[idx_bp], axis=1), dtype=np.float64))
    boot = np.concatenate(stats, axis=0)  # [n_boot, ...]
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
    point = np.asarray(statistic(values_p, axis=0), dtype=np.float64)
    if values_p.ndim == 1:
        return Interval(float(point), float(low), float(high), float(level), int(n_prompts))
    return Interval(point, low, high, float(level), int(n_prompts))
