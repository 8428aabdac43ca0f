"""passkrl: Pass@k Training for reinforcement learning with verifiable rewards.

The mathematical core lives in :mod:`passkrl.core`; the public entry points are
:mod:`passkrl.estimators` (advantage estimators and shapers), :mod:`passkrl.metrics` and
:mod:`passkrl.evaluation` (pass@k / max@k / maj@k of a file of sampled answers, ``passkrl eval``).
"""

__version__ = "0.1.0"
