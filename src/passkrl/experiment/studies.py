"""The studies of ``passkrl experiment``: arms, and the paper's claims each one tests.

An :class:`Arm` is a set of changes to :class:`~passkrl.train.config.TrainConfig`; every arm of a
study runs for the same seeds, and the arms of one seed share one warm-up (the trainer caches it by
its settings, which no arm changes). A :class:`Claim` compares two arms on one test metric; its
verdict comes from the 95% interval of the paired difference (see :mod:`passkrl.experiment.results`).

Seeds. A study seed is a pair (warm-up seed, RL replicate): the warm-up seed draws the training
mazes and the supervised warm-up, the replicate (``TrainConfig.rl_seed``) the RL sampling from that
warm-up. A warm-up costs about 2.5 RL runs, so full studies run ``REPLICATES`` RL replicates of
``SEEDS`` warm-up(s); ``--seeds`` and ``--replicates`` change both. Every arm is evaluated on the
same fixed held-out maze pool (:func:`passkrl.tasks.maze.held_out_pool`).

Studies run the trainer's defaults (``passkrl.train.config.TrainConfig``); ``--quick`` changes what
:data:`QUICK_OVERRIDES` says and runs ``QUICK_REPLICATES`` replicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from passkrl.core.curves import advantage_curve
from passkrl.train.config import TrainConfig


@dataclass(frozen=True)
class Arm:
    label: str
    """Short name used in tables and run directories."""
    overrides: dict[str, Any]
    """TrainConfig fields that differ from the defaults."""
    note: str = ""


@dataclass(frozen=True)
class Claim:
    text: str
    """The paper's claim, in one sentence."""
    source: str
    """Where the paper makes it (figure / table / section)."""
    better: str
    """Label of the arm that should score higher ... (``WARM_UP``: the other arm's own start)"""
    worse: str
    """... than this arm ... (``WARM_UP``: the other arm's own start, i.e. the change during RL)"""
    metric: str = "pass@k"
    """... on this metric: "pass@1", "pass@k" (k = samples per test maze), "entropy", "distinct_wrong"."""
    sizes: str = "all"
    """Test mazes it is measured on: "all", "trained" (sizes seen in training) or "unseen" (larger)."""


WARM_UP = "warm-up"
"""Pseudo-arm of a claim: the step-0 evaluation (the warm-up) of the claim's other arm, run by run."""


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    question: str
    arms: tuple[Arm, ...]
    claims: tuple[Claim, ...] = ()
    curves: tuple[str, ...] = ("pass@1", "pass@k")
    """Test metrics drawn over training steps."""
    extras: tuple[str, ...] = field(default_factory=tuple)
    """Extra analyses: "estimator_variance", "tabular_diagnostic", "alpha_k"."""
    settings: dict[str, Any] = field(default_factory=dict)
    """TrainConfig fields every arm of this study changes (before ``--set``, ``--quick`` and the arm's own)."""


QUICK_OVERRIDES: dict[str, Any] = {"rl_steps": 30, "eval_every": 15, "n_test_mazes": 32}
"""What ``--quick`` changes in every arm."""
SEEDS = 1
"""Warm-up seeds of a full study."""
REPLICATES = 5
"""RL replicates per warm-up seed of a full study."""
QUICK_SEEDS = 1
QUICK_REPLICATES = 2

K = TrainConfig.k
"""The k of every Pass@k arm unless the arm says otherwise: the trainer's default (8 of 32 answers)."""

# Arms shared between studies (the same settings give the same run, which is reused).
GRPO = Arm("pass@1", {"estimator": "grpo"}, "GRPO: pass@1 training")
ANALYTIC = Arm("pass@k analytic", {"estimator": "passk_analytic", "k": K}, f"analytic Pass@k Training, k = {K}")


def scaled_lr(k: int, *, n: int = TrainConfig.n_rollouts, base_k: int = 2, base_lr: float = TrainConfig.lr) -> float:
    """The learning rate for Pass@k Training with ``k`` scaled to its smaller advantages (§3.4).

    The paper notes that the advantages (and their sum η, eq. 16) shrink as k grows, and restores
    the training speed with a larger learning rate. We scale by the ratio of the largest η over group
    accuracies: ``lr_k = base_lr * max_c η_{base_k}(c) / max_c η_k(c)`` (exact, from the analytic
    advantage curves at ``n`` rollouts).
    """
    eta_base = advantage_curve("passk_analytic", n=n, k=base_k).eta.max()
    eta_k = advantage_curve("passk_analytic", n=n, k=k).eta.max()
    return float(base_lr * eta_base / eta_k)


def _k_arms() -> tuple[Arm, ...]:
    """k = 2, 4, 8 at the default learning rate (k = 8 is the default analytic arm), and k = 4, 8 at a
    learning rate scaled from k = 2's (:func:`scaled_lr`)."""
    arms = [
        Arm(f"k={k}", {"estimator": "passk_analytic", "k": k}, f"analytic Pass@k, k = {k}")
        for k in (2, 4, 8)
    ]
    for k in (4, 8):
        lr = round(scaled_lr(k), 8)
        arms.append(
            Arm(f"k={k}, scaled lr", {"estimator": "passk_analytic", "k": k, "lr": lr},
                f"analytic Pass@k, k = {k}, lr {lr:.3g} (scaled to the smaller advantages)")
        )
    return tuple(arms)


STUDIES: dict[str, Study] = {}


def _add(study: Study) -> None:
    STUDIES[study.name] = study


_add(Study(
    name="main",
    title="Pass@k Training against Pass@1 Training at equal rollouts",
    question="Does Pass@k Training raise pass@k (and keep pass@1) on held-out mazes of the trained and of "
             "larger unseen sizes; does Pass@1 Training's pass@k fall as it sharpens while Pass@k Training's "
             "holds or rises; and which of its three estimators works best? (paper §2-3, Fig. 1, Fig. 5, Table 7)",
    arms=(
        GRPO,
        Arm("pass@k full", {"estimator": "passk_full", "k": K}, "full sampling: disjoint groups of k"),
        Arm("pass@k bootstrap", {"estimator": "passk_bootstrap", "k": K}, "bootstrap sampling of k-subsets"),
        ANALYTIC,
    ),
    # The headline study measures on the whole held-out pool (512 mazes per size, four times the default):
    # the unseen 11x11 mazes are rarely solved, so their differences need the larger sample to be decided.
    settings={"n_test_mazes": 512},
    claims=(
        Claim("Pass@k Training reaches a higher test pass@k than Pass@1 Training", "Fig. 5, Table 7",
              "pass@k analytic", "pass@1"),
        Claim("... on the trained maze sizes", "Table 7", "pass@k analytic", "pass@1", sizes="trained"),
        Claim("... also on larger maze sizes never seen in training", "Table 7 (sizes 17-21)",
              "pass@k analytic", "pass@1", sizes="unseen"),
        Claim("Pass@k Training does not cost pass@1 (it is higher or equal)", "Table 7",
              "pass@k analytic", "pass@1", metric="pass@1"),
        Claim("... nor pass@1 on the unseen sizes", "Table 7", "pass@k analytic", "pass@1", metric="pass@1",
              sizes="unseen"),
        Claim("Pass@1 Training lowers pass@k below its start as it sharpens", "§3, Fig. 1", WARM_UP, "pass@1"),
        Claim("Pass@k Training raises pass@k above its start", "Fig. 5", "pass@k analytic", WARM_UP),
        Claim("the analytic estimator beats full sampling", "Fig. 5", "pass@k analytic", "pass@k full"),
        Claim("bootstrap sampling beats full sampling", "Fig. 5", "pass@k bootstrap", "pass@k full"),
    ),
))

_add(Study(
    name="exploration",
    title="Exploration: entropy and answer diversity",
    question="Does Pass@k Training keep the policy exploring (higher entropy, more distinct wrong answers), "
             "and does it beat noise rewards and an entropy bonus? (§3.1-3.2, Fig. 6-7)",
    arms=(
        GRPO,
        ANALYTIC,
        Arm("pass@1 + noise rewards", {"estimator": "grpo", "reward_noise": 0.1},
            "GRPO with 10% of the wrong answers rewarded"),
        Arm("pass@1 + entropy bonus", {"estimator": "grpo", "entropy_coef": 0.003},
            "GRPO with entropy regularisation 0.003"),
    ),
    claims=(
        Claim("Pass@k Training keeps a higher policy entropy than Pass@1 Training", "Fig. 7",
              "pass@k analytic", "pass@1", metric="entropy"),
        Claim("Pass@k Training produces more distinct wrong answers than Pass@1 Training", "Fig. 7",
              "pass@k analytic", "pass@1", metric="distinct_wrong"),
        Claim("Pass@k Training beats noise rewards on pass@k", "Fig. 6a", "pass@k analytic", "pass@1 + noise rewards"),
        Claim("Pass@k Training beats an entropy bonus on pass@k", "Fig. 6b", "pass@k analytic", "pass@1 + entropy bonus"),
    ),
    curves=("pass@1", "pass@k", "entropy", "distinct_wrong"),
))

_add(Study(
    name="k",
    title="The value of k, and a learning rate scaled to smaller advantages",
    question="Does a larger k slow training down, and does a learning rate scaled to the smaller advantages "
             "recover the speed? (§3.4, Fig. 8)",
    arms=_k_arms(),
    claims=(
        Claim("at equal learning rate, k = 2 improves pass@1 faster than k = 8", "Fig. 8a", "k=2", "k=8",
              metric="pass@1"),
        Claim("a scaled learning rate makes k = 8 train better than at the base rate", "Fig. 8c-d",
              "k=8, scaled lr", "k=8", metric="pass@k"),
    ),
))

_add(Study(
    name="transfer",
    title="Transfer: Pass@k Training, then Pass@1 Training",
    question="At equal total steps, does Pass@k Training followed by Pass@1 Training beat Pass@1 Training "
             "alone on pass@1? (§3.5, Table 2)",
    arms=(
        GRPO,
        # k = 1 in the analytic estimator is GRPO exactly, so the schedule switches objective halfway.
        Arm("pass@k then pass@1", {"estimator": "passk_analytic", "k": K, "k_schedule": f"{K}@0,1@half"},
            f"analytic Pass@k (k = {K}) for the first half of the steps, then k = 1 (= GRPO)"),
    ),
    claims=(
        Claim("Pass@k then Pass@1 reaches a higher pass@1 than Pass@1 alone", "Table 2-3",
              "pass@k then pass@1", "pass@1", metric="pass@1"),
        Claim("... and a higher pass@k", "Table 2-3", "pass@k then pass@1", "pass@1"),
    ),
))

_add(Study(
    name="shaping",
    title="Advantage shaping beyond Pass@k Training",
    question="Do the shaped advantages of §4 (drop easy problems, exceeding, combination, entropy-adaptive) "
             "improve on plain Pass@k Training? (§4, Fig. 10-12)",
    arms=(
        GRPO,
        ANALYTIC,
        Arm("pass@1 w/o easy", {"estimator": "drop_easy", "k": K, "estimator_params": '{"base": "grpo"}'},
            "GRPO with zero advantage for prompts above 60% accuracy (§4.1.2)"),
        Arm("exceeding", {"estimator": "exceeding", "k": K, "estimator_params": '{"base": "passk_analytic"}'},
            "Exceeding Pass@k Training (eq. 17)"),
        Arm("combination", {"estimator": "combination", "k": K}, "Combination Training (eq. 18)"),
        Arm("entropy-adaptive", {"estimator": "adaptive_entropy", "k": K}, "Adaptive Training on entropy (§4.2.3)"),
    ),
    claims=(
        Claim("Combination Training beats plain Pass@k Training on pass@1", "Fig. 11", "combination",
              "pass@k analytic", metric="pass@1"),
        Claim("entropy-adaptive training beats plain Pass@k Training on pass@k", "Fig. 12, Table 5",
              "entropy-adaptive", "pass@k analytic"),
        Claim("Exceeding Pass@k Training beats plain Pass@k Training on pass@k", "Fig. 11", "exceeding",
              "pass@k analytic"),
        Claim("removing the advantages of easy problems beats Pass@1 Training", "§4.1.2, Fig. 10",
              "pass@1 w/o easy", "pass@1"),
    ),
))

_add(Study(
    name="estimators",
    title="Estimators: variance, cost, and training with PKPO and RLOO",
    question="How far do the sampling estimators scatter around the exact analytic advantages, what does each "
             "estimator cost per step, and how do PKPO and RLOO train beside the analytic form? "
             "(reviewers: cost analysis; only GRPO)",
    arms=(
        ANALYTIC,
        Arm("pkpo_loo1", {"estimator": "pkpo_loo1", "k": K}, "PKPO with the k-1 leave-one-out baseline"),
        Arm("rloo", {"estimator": "rloo"}, "RLOO (pass@1)"),
    ),
    claims=(
        Claim("analytic Pass@k Training beats RLOO (pass@1) on pass@k", "Fig. 5 (with GRPO)",
              "pass@k analytic", "rloo"),
    ),
    extras=("estimator_variance",),
))

_add(Study(
    name="continuous",
    title="Continuous rewards: max@k with partial credit",
    question="Does the analytic estimator's continuous form (max@k) train with partial-credit rewards as well "
             "as with thresholded binary rewards? (reviewers: binary rewards only)",
    arms=(
        ANALYTIC,
        Arm("pass@k analytic, partial credit", {"estimator": "passk_analytic", "k": K, "partial_credit": True},
            "rewards = progress towards the exit; max@k advantages"),
    ),
    claims=(
        Claim("partial-credit rewards with max@k advantages beat binary rewards on pass@k",
              "reviewers' question", "pass@k analytic, partial credit", "pass@k analytic"),
        Claim("... and on pass@1", "reviewers' question", "pass@k analytic, partial credit", "pass@k analytic",
              metric="pass@1"),
    ),
))

_add(Study(
    name="diagnostic",
    title="Is pass@k an objective or a diagnostic? (Yang Yu's note)",
    question="Is the pass@k gradient only alpha_k times the pass@1 gradient, and how do the pass@k - pass@1 "
             "gap and alpha_k evolve along real training runs?",
    arms=(GRPO, ANALYTIC),
    claims=(
        Claim("the pass@k - pass@1 gap stays larger under Pass@k Training (exploration is kept)", "Yang Yu, \"Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective\"",
              "pass@k analytic", "pass@1", metric="gap"),
    ),
    curves=("pass@1", "pass@k", "gap", "alpha_k"),
    extras=("tabular_diagnostic",),
))


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; known: {', '.join(STUDIES)} (passkrl experiment --list)")
    return STUDIES[name]
