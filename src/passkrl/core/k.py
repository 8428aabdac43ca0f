"""What a ``k`` is: the one rule every entry point applies to the ``k`` of pass@k.

``k`` is the size of the subsets that pass@k, max@k, maj@k and every Pass@k estimator average over:
``k`` of the ``n`` samples of a prompt, drawn without replacement (arXiv 2107.03374 §2.1, arXiv
2508.10751 §2). So, everywhere in passkrl (the estimators, the metrics, the advantage curves, a k
schedule, the trainer, verl, TRL and the command line):

============================  ==========================================================
``k``                         outcome
============================  ==========================================================
``4``, ``numpy.int64(4)``     accepted, returned as the Python ``int`` 4
``4.0``, ``numpy.float64(4)`` ``ValueError``: a count is an integer, even when integral
``True``, ``numpy.True_``     ``ValueError``: a flag is not a count
``"4"``, ``None``             ``ValueError`` (a command line parses its text first)
``0``, ``-1``                 ``ValueError``: ``k >= 1``
``k > n``                     ``ValueError`` naming ``k`` and ``n``: ``C(n, k)`` is 0, there is
                              no k-subset to average over (a common implementation silently
                              returns 1.0 there)
============================  ==========================================================

Every message names the setting (``k``, ``--k``, ``passk_k``, ``algorithm.passk.k``) and the value.
Only the standard library is imported (numpy's integers are ``numbers.Integral``), so that a command
checks its options before it pays for numpy or torch.
"""

from __future__ import annotations

import numbers
from typing import Any


def check_k(k: Any, n: int | None = None, *, name: str = "k", n_name: str = "n", where: str = "") -> int:
    """``k`` as a Python ``int`` if it is an integer with ``1 <= k`` (and ``k <= n`` when ``n`` is given).

    ``name`` is how the caller's user wrote ``k`` (``"--k"``, ``"passk_k"``); ``n_name`` and ``where``
    say what ``n`` counts (``"the group size n"``, ``" of group 3"``). Raises ``ValueError`` otherwise,
    as the table of the module docstring says.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {k!r} ({type(k).__name__})")
    k = int(k)
    if k < 1:
        raise ValueError(f"{name} must be >= 1, got {name}={k}")
    if n is not None and k > n:
        raise ValueError(f"{name}={k} is larger than {n_name}={int(n)}{where}: need 1 <= k <= n")
    return k
