"""Public estimator API: ``compute``, ``check_params``, ``REGISTRY``, ``register``.

>>> import numpy as np
>>> from passkrl import estimators
>>> rewards = np.array([[1, 0, 0, 0], [1, 1, 0, 0]])          # [n_prompts, n_rollouts]
>>> estimators.compute("passk_analytic", rewards, k=2).round(3)
array([[ 1.   , -0.333, -0.333, -0.333],
       [ 0.447,  0.447, -0.447, -0.447]])

Every estimator is one record in ``REGISTRY`` (:class:`~passkrl.core.estimators.Estimator`: kernel,
parameters dataclass, declared inputs such as ``entropy``, properties). They are defined in
:mod:`passkrl.core.estimators` (pass@1 baselines, Pass@k Training, PKPO) and
:mod:`passkrl.core.shaping` (the shapers of arXiv 2508.10751 §4), and all of them are registered as
soon as any of these modules is imported. ``passkrl.estimators.describe()`` lists their names,
parameters and one-line summaries.
"""

from __future__ import annotations

from passkrl.core.estimators import REGISTRY, Estimator, Groups, NoParams, check_params, compute, lookup, register
from passkrl.core.schedule import KSchedule

__all__ = ["compute", "check_params", "lookup", "REGISTRY", "Estimator", "Groups", "NoParams", "register",
           "names", "describe", "KSchedule"]


def names() -> list[str]:
    """Registered estimator names, sorted."""
    return sorted(REGISTRY)


def describe() -> str:
    """One line per estimator: name, parameters (and declared inputs) and summary."""
    lines = []
    for name in names():
        record = REGISTRY[name]
        fields = list(record.param_names) + [f"{key}: input" for key in record.needs]
        params = f"({', '.join(fields)})" if fields else ""
        lines.append(f"{name:<18} {params:<28} {record.summary}")
    return "\n".join(lines)
