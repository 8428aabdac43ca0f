"""The studies of ``passkrl experiment``: arms, and the paper's claims each one tests.

An :class:`Arm` is a set of changes to :class:`~passkrl.train.config.TrainConfig`; every arm of a
study runs for the same seeds, and the arms of one seed share one warm-up (the trainer caches it by
its settings, which no arm changes). A :class:`Claim` compares two arms on one test metric; its
verdict comes from the 95% interval of the paired difference (see :mod:`passkrl.experiment.results`).

Seeds. A study seed is a pair (warm-up seed, RL replicate): the warm-up seed draws the training
mazes and the supervised warm-up, the replicate (``TrainConfig.rl_seed``) the RL sampling from that
warm-up. Full studies run ``SEEDS`` independent warm-ups with ``REPLICATES`` RL replicates each, so
their intervals cover the variation between warm-ups; ``--seeds`` and ``--replicates`` change both.
Every arm is evaluated on the same fixed pool of mazes (:func:`passkrl.tasks.maze.held_out_pool`):
the test pool, which no setting was ever tuned on; ``--set eval_pool=validation`` evaluates on the
validation pool instead, where regime choices are made.

Claims. Every claim names where the paper (or Yu's note, or the ICLR 2026 reviews) says it; a claim
the paper does not make says so. One claim per study is declared primary; all are Holm-adjusted.

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
    """Test mazes it is measured on: "all", "trained" (sizes seen in training) or "unseen" (the others)."""
    margin: float | None = None
    """Non-inferiority margin: the claim is "better is not worse than worse by more than ``margin``"
    (``better - worse > -margin``), for claims of the kind "does not cost" or "stays stable". None: a
    superiority claim (``better - worse > 0``)."""


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
    primary: int = 0
    """Index in ``claims`` of the study's primary claim (declared before any run; all claims are Holm-adjusted)."""
    pass_k: int = TrainConfig.k
    """The primary k of "pass@k" in claims and tables (every k from 1 to the samples is reported too)."""

    def __post_init__(self) -> None:
        if self.claims and not 0 <= self.primary < len(self.claims):
            raise ValueError(f"study {self.name!r}: primary claim {self.primary} is not one of its {len(self.claims)} claims")


QUICK_OVERRIDES: dict[str, Any] = {"rl_steps": 30, "eval_every": 15, "n_test_problems": 32, "eval_samples": 16}
"""What ``--quick`` changes in every arm."""
SEEDS = 5
"""Warm-up seeds of a full study: independent warm-ups are the unit of replication of a claim about a method.
Five give the rows' part of eq. (4) t with 4 degrees of freedom: a quantile of 2.78 at 95% and 5.60 at
``main``'s first Holm level (0.05 / 10 claims), where three give 4.30 and 14.1. A warm-up is cached and
shared by every study, so five warm-ups x 1 replicate cost less than three x 2 (5 runs per arm, not 6)."""
REPLICATES = 1
"""RL replicates per warm-up seed of a full study (a replicate's RL noise is inside the warm-ups' spread)."""
QUICK_SEEDS = 1
QUICK_REPLICATES = 2

K = TrainConfig.k
"""The k of every Pass@k arm unless the arm says otherwise: the trainer's default (4 of 16 answers)."""

# Arms shared between studies (the same settings give the same run, which is reused).
GRPO = Arm("pass@1", {"estimator": "grpo"}, "GRPO: pass@1 training")
ANALYTIC = Arm("pass@k analytic", {"estimator": "passk_analytic"}, f"analytic Pass@k Training, the study's k ({K} unless --set k=...)")
"""The headline arms leave ``k`` to the study (``--set k=8`` changes it in every one of them); their run
directories are those of ``"k": K`` since their configurations are the same."""


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
    """k = 2, 4, 8 at the default learning rate (k = 4 is the default analytic arm), and k = 4, 8 at a
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


CONTINUOUS_SOURCE = "not in the paper (binary rewards only, §2.1); the ICLR 2026 reviews ask for it"

STUDIES: dict[str, Study] = {}


def _add(study: Study) -> None:
    STUDIES[study.name] = study


_add(Study(
    name="main",
    title="Pass@k Training against Pass@1 Training at equal rollouts",
    question="Does Pass@k Training raise pass@k (and keep pass@1) on test mazes of the trained and of "
             "unseen sizes; does Pass@1 Training's pass@k stay stable (the paper: \"stable with slight "
             "improvement\") while Pass@k Training's rises; and which of its three estimators works best? "
             "(paper §2.2-2.4, Fig. 3-5, Table 7)",
    arms=(
        GRPO,
        Arm("pass@k full", {"estimator": "passk_full"}, "full sampling: disjoint groups of k"),
        Arm("pass@k bootstrap", {"estimator": "passk_bootstrap"}, "bootstrap sampling of k-subsets"),
        ANALYTIC,
    ),
    # The headline study measures on the whole held-out pool (512 mazes per size, four times the default):
    # the unseen size's mazes (9x9 at the defaults) are rarely solved, so their differences need the larger
    # sample to be decided.
    # 64 answers per test maze give unbiased pass@k up to k = 64, where Pass@1 Training's curve may fall
    # below its start's while Pass@k Training's does not.
    # One evaluation of 1,024 mazes x 64 answers takes about three minutes on one CPU thread (most of it
    # on unseen-size answers that run to the answer limit), so the study evaluates at the start (shared by
    # the arms of a warm-up) and at the end only; the claims are all about the end.
    settings={"n_test_problems": 512, "eval_samples": 64, "eval_every": TrainConfig.rl_steps},
    # primary: the paper's Table 7 claim where training acts, on the trained sizes
    primary=1,
    claims=(
        Claim("Pass@k Training reaches a higher test pass@k than Pass@1 Training", "§2.4, Fig. 5b; Table 7",
              "pass@k analytic", "pass@1"),
        Claim("... on the trained maze sizes", "Table 7 (trained sizes 9-15)", "pass@k analytic", "pass@1",
              sizes="trained"),
        Claim("... also on maze sizes never seen in training", "Table 7 (unseen sizes 7, 17-21)",
              "pass@k analytic", "pass@1", sizes="unseen"),
        Claim("Pass@k Training does not cost pass@1 (non-inferior, margin 0.01)", "§2.2 takeaway; Table 7",
              "pass@k analytic", "pass@1", metric="pass@1", margin=0.01),
        Claim("... nor pass@1 on the unseen sizes (margin 0.01)", "Table 7 (unseen sizes 7, 17-21)",
              "pass@k analytic", "pass@1", metric="pass@1", sizes="unseen", margin=0.01),
        Claim("Pass@1 Training's pass@k stays stable: not below its start (margin 0.01)",
              "§2.2, Fig. 3 (\"remains stable with slight improvement\")", "pass@1", WARM_UP, margin=0.01),
        Claim("Pass@k Training raises pass@k above its start", "§2.2, Fig. 3b; §2.4, Fig. 5b", "pass@k analytic",
              WARM_UP),
        Claim("the analytic estimator beats full sampling", "Table 7; §2.3-2.4", "pass@k analytic", "pass@k full"),
        Claim("bootstrap sampling beats full sampling", "§2.3, Fig. 4; Table 7", "pass@k bootstrap", "pass@k full"),
        Claim("the analytic estimator beats bootstrap sampling", "Table 7 (analytic 47.7 / 65.0, bootstrap 16.8 / 26.7)",
              "pass@k analytic", "pass@k bootstrap"),
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
        Claim("Pass@k Training keeps a higher policy entropy than Pass@1 Training", "§3.2, Fig. 7b (on puzzles)",
              "pass@k analytic", "pass@1", metric="entropy"),
        Claim("Pass@k Training produces more distinct wrong answers than Pass@1 Training",
              "§3.2, Fig. 7a (mazes; the paper counts the share of distinct answers)",
              "pass@k analytic", "pass@1", metric="distinct_wrong"),
        Claim("Pass@k Training beats noise rewards on pass@k", "§3.1, Fig. 6a", "pass@k analytic", "pass@1 + noise rewards"),
        Claim("Pass@k Training beats an entropy bonus on pass@k", "§3.1, Fig. 6b", "pass@k analytic", "pass@1 + entropy bonus"),
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
        Claim("at equal learning rate a larger k trains slower: k = 2 reaches a higher test pass@k than k = 8",
              "§3.4, Fig. 8a-b (k = 4, 8, 16 there)", "k=2", "k=8"),
        Claim("a scaled learning rate makes k = 8 train better than at the base rate", "§3.4, Fig. 8c-d",
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
        Claim("Pass@k then Pass@1 reaches a higher pass@1 than Pass@1 alone",
              "§3.5, Tables 2-3 (Enigmata, multimodal; not mazes)",
              "pass@k then pass@1", "pass@1", metric="pass@1"),
        Claim("... and a higher pass@k", "Tables 2-3 (their numbers; the text claims pass@1 only)",
              "pass@k then pass@1", "pass@1"),
    ),
))

_add(Study(
    name="shaping",
    title="Advantage shaping beyond Pass@k Training",
    question="Do the shaped advantages of §4 (drop easy problems, exceeding, combination, entropy-adaptive) "
             "improve on plain Pass@k Training? (§4, Fig. 10-13)",
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
        Claim("Combination Training beats plain Pass@k Training on pass@1", "§4.2.2, Fig. 12 (Enigmata)", "combination",
              "pass@k analytic", metric="pass@1"),
        Claim("entropy-adaptive training beats plain Pass@k Training on pass@k", "§4.2.3, Fig. 13 (Enigmata)",
              "entropy-adaptive", "pass@k analytic"),
        Claim("Exceeding Pass@k Training beats plain Pass@k Training on pass@k", "§4.2.1, Fig. 11b (early in training)",
              "exceeding",
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
        Claim("analytic Pass@k Training beats RLOO (pass@1) on pass@k",
              "not in the paper (it compares with DAPO only, §2.4, Fig. 5)",
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
              CONTINUOUS_SOURCE, "pass@k analytic, partial credit", "pass@k analytic"),
        Claim("... and on pass@1", CONTINUOUS_SOURCE, "pass@k analytic, partial credit", "pass@k analytic",
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
        Claim("the pass@k - pass@1 gap stays larger under Pass@k Training (exploration is kept)",
              "Yu's note, \"Pass@k Metric for RLVR: A Diagnostic Tool of Exploration, But Not an Objective\" "
              "(the gap as a diagnostic); the paper's Table 7",
              "pass@k analytic", "pass@1", metric="gap"),
    ),
    curves=("pass@1", "pass@k", "gap", "alpha_k"),
    extras=("tabular_diagnostic",),
))


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; known: {', '.join(STUDIES)} (passkrl experiment --list)")
    return STUDIES[name]
