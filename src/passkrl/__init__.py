"""passkrl: Pass@k Training for reinforcement learning with verifiable rewards.

The mathematical core lives in :mod:`passkrl.core`; the public entry points are
:mod:`passkrl.estimators` (advantage estimators and shapers) and :mod:`passkrl.metrics`.
"""

__version__ = "0.1.0"
