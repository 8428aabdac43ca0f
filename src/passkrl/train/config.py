"""The typed configuration of ``passkrl train``: every setting is a command-line option with help."""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from passkrl.core.k import check_k
from passkrl.core.schedule import KSchedule
from passkrl.parsing import IntTuple, int_list, ints_text, json_object

if TYPE_CHECKING:
    from passkrl.train.training_task import MazeTraining, TextTraining


ROLLOUT_INPUTS = ("entropy",)
"""Per-batch inputs the trainer's rollouts give an estimator that declares it needs them (``needs=``)."""


# (field, low, high, low end open): the range of every float setting.
_FLOAT_RANGES = (
    ("reward_noise", 0.0, 0.5, False), ("warmup_lr", 0.0, math.inf, True), ("lr", 0.0, math.inf, True),
    ("pass1_lr", 0.0, math.inf, True),
    ("clip_low", 0.0, 1.0, False), ("clip_high", 0.0, math.inf, False), ("entropy_coef", 0.0, math.inf, False),
    ("grad_clip", 0.0, math.inf, True), ("temperature", 0.0, math.inf, True),
    ("eval_temperature", 0.0, math.inf, True), ("eval_top_p", 0.0, 1.0, True),
)

# The Python types a setting may hold (tyro enforces them on the command line; config.json is checked here).
_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "IntTuple": (tuple,),
    "int | None": (int, type(None)), "str | None": (str, type(None)), "Path | None": (Path, type(None)),
}


def _check_types(cfg: TrainConfig) -> None:
    for f in dataclasses.fields(cfg):
        value, allowed = getattr(cfg, f.name), _TYPES.get(str(f.type))
        if allowed is None:
            continue
        is_bool = isinstance(value, bool)
        if not isinstance(value, allowed) or (is_bool and bool not in allowed):
            raise ValueError(f"--{f.name.replace('_', '-')} must be of type {f.type}, got {value!r}")


MAX_SEED = 2**63 - 1
"""The largest --seed and --rl-seed: torch seeds are signed 64-bit integers."""
SIZE_FIELDS = ("train_sizes", "test_sizes")
"""Integer-list settings: typed tuples in memory and on the command line, ``"7,9"`` text in config.json
and in cache keys (:func:`setting_text`), so files and caches written before keep their names."""


def setting_text(value: Any) -> str:
    """How a setting is written into a cache key: ``"7,9"`` for a tuple of sizes, ``str`` otherwise."""
    return ints_text(value) if isinstance(value, tuple) else str(value)


RENAMED = {"n_train_mazes": "n_train_problems", "n_test_mazes": "n_test_problems"}
"""Former names of settings -> the fields that hold them now. The former names keep working on the command
line (``--n-train-mazes``), in ``passkrl experiment --set`` and in the config.json of runs written before; cache
keys and study run-directory names hash a renamed setting under its former name (:func:`hashed_name`), so that
every cache entry and run directory written before keeps its name."""
_HASHED_AS = {field: former for former, field in RENAMED.items()}


def field_name(name: str) -> str:
    """The field a setting's name denotes, former names included (``n_train_mazes`` -> ``n_train_problems``)."""
    return RENAMED.get(name, name)


def hashed_name(field: str) -> str:
    """The name a field is hashed under in cache keys and run-directory names: its former name if it has one."""
    return _HASHED_AS.get(field, field)


def hashed_settings(cfg: TrainConfig, fields: Iterable[str]) -> dict[str, str]:
    """``{name as hashed: value as text}`` of the given fields: what a cache key is a digest of."""
    return {hashed_name(name): setting_text(getattr(cfg, name)) for name in fields}


def current_options(argv: list[str]) -> list[str]:
    """``argv`` with options given by a former name (``--n-train-mazes 300``) written under today's."""
    renamed = {"--" + former.replace("_", "-"): "--" + field.replace("_", "-") for former, field in RENAMED.items()}
    out = []
    for arg in argv:
        flag, eq, value = arg.partition("=")
        out.append(renamed[flag] + eq + value if flag in renamed else arg)
    return out


@dataclass(frozen=True)
class TrainConfig:
    """Pass@k Training of a tiny transformer on the maze task (arXiv 2508.10751), on a CPU.

    A supervised warm-up on shortest paths (cached and reused) gives a policy that sometimes succeeds;
    then RL steps sample n_prompts x n_rollouts answers, score them with the maze verifier, compute
    advantages with the chosen estimator and update with the DAPO token-level clipped loss.
    """

    # --- run directory
    out: Path | None = None
    """Run directory (default: runs/<time>-<estimator>-k<k>)."""
    resume: Path | None = None
    """Continue the run in this directory from its last checkpoint (its config.json wins)."""
    smoke: bool = False
    """A miniature run of the whole pipeline in well under a minute (for tests)."""
    seed: int = 0
    """Seed of everything random: data, initialisation, sampling."""
    rl_seed: int = 0
    """Replicate of the RL phase: runs that differ only in --rl-seed share the cached warm-up of --seed but draw
    their own rollouts (replicates of RL noise; --seed replicates the warm-up and the training data too)."""
    stop_after: int | None = None
    """Stop with a checkpoint after this many RL steps of this invocation (continue with --resume)."""

    # --- advantage estimation
    estimator: str = "passk_analytic"
    """Registered estimator or shaper (see `python -c "from passkrl import estimators; print(estimators.describe())"`)."""
    k: int = 4
    """The k of Pass@k Training."""
    k_schedule: str | None = None
    """Change k over training, e.g. '4@0,1@40' (P@k then P@1, §3.5); overrides --k."""
    estimator_params: str = "{}"
    """Extra estimator parameters as JSON, e.g. '{"reduce": "mean"}' or '{"passk": "pkpo_loo1"}'."""
    reward_noise: float = 0.0
    """Flip the reward of each wrong answer to 1 with this probability (the noise-reward baseline, §3.1)."""
    partial_credit: bool = False
    """Continuous maze rewards (progress towards E) instead of 0/1."""

    # --- task
    task: str = "maze"
    """What to learn: maze (the paper's task), or a short-answer task the tiny model can learn: chain_sum,
    basic_arithmetic (reasoning-gym), maths (generated arithmetic checked by math-verify); see docs/tasks.md."""
    task_options: str = "{}"
    """Options of a non-maze --task as JSON: reasoning-gym config fields, e.g. '{"max_terms": 4}', or maths options."""
    train_sizes: IntTuple = (7,)
    """Maze sizes (odd) used for training, e.g. 7,9 or 7 9."""
    test_sizes: IntTuple = (7, 9)
    """Maze sizes of the held-out test set (sizes not in training test generalisation)."""
    n_train_problems: int = 10000
    """Distinct training problems: mazes, or problems of a text --task (formerly --n-train-mazes, still accepted)."""
    n_test_problems: int = 128
    """Held-out problems per evaluation group: mazes per test size (the first of a fixed pool of 512 per size that
    training never sees; not part of the maze's warm-up, so changing it reuses the cached warm-up), or problems per
    data set / kind of a text task (formerly --n-test-mazes, still accepted)."""
    eval_pool: Literal["test", "validation"] = "test"
    """Which held-out pool to evaluate on: "test" (what results report; never used to choose a setting) or
    "validation" (where settings are chosen). The two pools and the training data share no maze."""

    # --- model
    model: Path | None = None
    """A local Hugging Face causal-LM directory to train instead of the tiny model (pip install "passkrl[hf]");
    it reads the paper's Fig. 14 prompt and answers in <answer> tags."""
    max_new_tokens: int = 256
    """Answer length limit for --model (the tiny model's limit follows from the maze sizes)."""
    d_model: int = 128
    """Width of the tiny transformer."""
    n_layers: int = 4
    """Transformer blocks."""
    n_heads: int = 4
    """Attention heads."""

    # --- supervised warm-up
    warmup_steps: int = 600
    """Supervised steps on shortest paths before RL (cached by settings)."""
    warmup_batch_size: int = 64
    """Mazes per supervised step."""
    warmup_lr: float = 2e-3
    """Peak learning rate of the warm-up (cosine decay)."""

    # --- Pass@1 phase (the paper's protocol)
    pass1_steps: int = 250
    """GRPO (Pass@1 Training) steps between the warm-up and the compared RL phase, cached like the warm-up: the
    paper continues a policy that Pass@1 Training has already sharpened (0: RL starts from the warm-up)."""
    pass1_lr: float = 2e-4
    """Learning rate of the Pass@1 phase (AdamW, constant after --lr-warmup-steps). Twice --lr by default, so that
    250 steps sharpen the warm-up (pass@1 up, pass@k down) on a laptop; the paper trains both phases at one rate
    (docs/training.md, "Departures from the paper")."""

    # --- RL
    rl_steps: int = 150
    """RL steps."""
    n_prompts: int = 16
    """Prompts (mazes, or problems of a text --task) per RL step."""
    n_rollouts: int = 16
    """Sampled answers per prompt (the group size n)."""
    dynamic_sampling: bool = False
    """DAPO's dynamic sampling: drop groups whose rewards are all equal (no gradient) and sample fresh prompts
    until the batch is full of groups with different rewards, for at most --dynamic-max-rounds rounds. Off by
    default: the paper keeps only clip-higher and the token-level loss of DAPO (its Appendix A.2)."""
    dynamic_max_rounds: int = 4
    """Sampling rounds per step with --dynamic-sampling (a batch still short is filled with dropped groups)."""
    mini_batches: int = 2
    """Optimiser steps per RL batch (the paper: 128 prompts in mini-batches of 32 -> 4)."""
    lr: float = 1e-4
    """RL learning rate (AdamW, constant after a linear warm-up)."""
    lr_warmup_steps: int = 5
    """Linear learning-rate warm-up of the RL phase, in optimiser steps."""
    clip_low: float = 0.2
    """DAPO lower clip range."""
    clip_high: float = 0.28
    """DAPO upper clip range (clip-higher)."""
    entropy_coef: float = 0.0
    """Entropy bonus coefficient (the entropy-regularisation baseline, §3.1)."""
    grad_clip: float = 1.0
    """Gradient-norm clipping."""
    temperature: float = 1.0
    """Sampling temperature of the rollouts."""

    # --- evaluation and checkpoints
    eval_every: int = 50
    """Evaluate on the held-out problems every this many RL steps (and after the warm-up and at the end)."""
    eval_samples: int = 16
    """Samples per test maze: pass@1..pass@eval_samples are reported."""
    eval_temperature: float = 1.0
    """Evaluation temperature (the paper: 1.0)."""
    eval_top_p: float = 0.95
    """Evaluation nucleus (the paper: 0.95)."""
    checkpoint_every: int = 5
    """Save a checkpoint every this many RL steps (and on Ctrl-C and at the end)."""
    threads: int = 0
    """Torch CPU threads (0: all cores)."""
    precision: Literal["auto", "float32", "bfloat16"] = "auto"
    """Arithmetic of the warm-up and the RL update: auto (bfloat16 where the CPU or GPU computes it natively,
    float32 elsewhere), float32, or bfloat16 (autocast: bfloat16 matrix products, float32 weights, optimiser
    state, attention and log-probabilities; sampling stays float32). See docs/training.md, "Speed"."""
    progress: bool = True
    """Show progress bars."""

    def validate(self) -> None:
        """Check every setting before any work; ``ValueError`` naming the option and the value."""
        from passkrl import estimators

        _check_types(self)

        if self.estimator not in estimators.REGISTRY:
            raise ValueError(f"unknown --estimator {self.estimator!r}; known: {', '.join(estimators.names())}")
        try:
            estimators.check_params(self.estimator, self.params())
        except ValueError as err:
            raise ValueError(f"--estimator-params {self.estimator_params}: {err}") from None
        check_k(self.k, name="--k")  # the one k rule (passkrl.core.k)
        try:
            schedule = self.schedule
        except ValueError as err:
            raise ValueError(f"--k-schedule {self.k_schedule!r}: {err}") from None
        source = f"--k {self.k}" if self.k_schedule is None else f"--k {self.k}, --k-schedule {self.k_schedule!r}"
        check_k(schedule.max_k, self.n_rollouts, n_name="--n-rollouts", where=f" ({source})")
        for name in SIZE_FIELDS:
            for size in getattr(self, name):
                if size < 7 or size % 2 == 0:
                    raise ValueError(f"--{name.replace('_', '-')}: maze sizes must be odd and >= 7 (the held-out pool "
                                     f"needs 512 distinct mazes per size; 5x5 has about 160), got {size}")
        if self.eval_pool not in ("test", "validation"):
            raise ValueError(f"--eval-pool must be test or validation, got {self.eval_pool!r}")
        if self.precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"--precision must be auto, float32 or bfloat16, got {self.precision!r}")
        positive = ("max_new_tokens", "n_train_problems", "n_test_problems", "d_model", "n_layers", "n_heads",
                    "warmup_batch_size", "n_prompts", "n_rollouts", "mini_batches", "dynamic_max_rounds", "eval_every",
                    "eval_samples", "checkpoint_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup_steps", "pass1_steps", "rl_steps", "lr_warmup_steps", "threads", "rl_seed", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        for name in ("seed", "rl_seed"):  # torch's generators take a signed 64-bit seed
            if getattr(self, name) > MAX_SEED:
                raise ValueError(f"--{name.replace('_', '-')} must be at most 2**63 - 1 = {MAX_SEED}, got {getattr(self, name)}")
        if self.stop_after is not None and self.stop_after < 1:
            raise ValueError(f"--stop-after must be >= 1 (steps of this invocation), got {self.stop_after}")
        for name, low, high, low_open in _FLOAT_RANGES:
            value = getattr(self, name)
            if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
                interval = f"{'(' if low_open else '['}{low}, {high if math.isfinite(high) else 'inf'}{']' if math.isfinite(high) else ')'}"
                raise ValueError(f"--{name.replace('_', '-')} must be a finite number in {interval}, got {value}")
        for name in ("n_prompts", "warmup_batch_size"):
            if getattr(self, name) > self.n_train_problems:
                raise ValueError(f"--{name.replace('_', '-')} {getattr(self, name)} is larger than the training set "
                                 f"(--n-train-problems {self.n_train_problems})")
        if self.n_prompts % self.mini_batches:
            raise ValueError(f"--n-prompts {self.n_prompts} must be divisible by --mini-batches {self.mini_batches}")
        if self.d_model % self.n_heads:
            raise ValueError(f"--d-model {self.d_model} must be divisible by --n-heads {self.n_heads}")
        missing = sorted(set(estimators.REGISTRY[self.estimator].needs) - set(ROLLOUT_INPUTS))
        if missing:
            raise ValueError(f"--estimator {self.estimator} needs {', '.join(missing)}, which the trainer's rollouts "
                             f"do not provide (they provide: {', '.join(ROLLOUT_INPUTS)})")
        if self.partial_credit and estimators.REGISTRY[self.estimator].binary_only:
            raise ValueError(f"--estimator {self.estimator} needs binary rewards; drop --partial-credit")
        # the task's own limits: an unknown task, a missing extra, bad --task-options, --model on a text task
        self.training.check(self)
        if self.model is not None:
            model_dir = Path(self.model)
            if not model_dir.is_dir():
                raise ValueError(f"--model: {str(model_dir)!r} is not a directory")
            if not (model_dir / "config.json").is_file():
                raise ValueError(f"--model: {str(model_dir)!r} has no config.json; is it a Hugging Face model directory?")

    @property
    def training(self) -> MazeTraining | TextTraining:
        """What ``--task`` trains on (:mod:`passkrl.train.training_task`: its checks, data, policy and names)."""
        from passkrl.train.training_task import training_task

        return training_task(self.task)

    @functools.cached_property
    def schedule(self) -> KSchedule:
        """The k in force at every RL step, parsed once per config."""
        return KSchedule.of(self.k, self.k_schedule)

    @functools.cached_property
    def _params(self) -> dict[str, Any]:
        """``--estimator-params`` parsed once per config (the RL loop asks for them at every step)."""
        return json_object(self.estimator_params, "--estimator-params", example='{"reduce": "mean"}')

    def params(self) -> dict[str, Any]:
        """The estimator's extra parameters (``--estimator-params``): a new dict each call, parsed once."""
        return dict(self._params)

    def __post_init__(self) -> None:
        # Sizes given as text ("7,9" from config.json, a study or --set) or a list become typed tuples.
        for name in SIZE_FIELDS:
            value = getattr(self, name)
            if not (isinstance(value, tuple) and all(type(v) is int for v in value)):
                object.__setattr__(self, name, int_list(value, f"--{name.replace('_', '-')}", what="sizes"))

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready values (paths as text, sizes as ``"7,9"``)."""
        return {f.name: (str(v) if isinstance(v := getattr(self, f.name), Path) else ints_text(v) if f.name in SIZE_FIELDS
                         else v) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The config of a config.json, whichever release wrote it (former setting names included)."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known) - set(RENAMED))
        if unknown:
            raise ValueError(f"config has unknown field(s): {', '.join(unknown)}")
        twice = sorted(former for former in RENAMED if former in data and RENAMED[former] in data)
        if twice:
            raise ValueError(f"config names a setting twice: {', '.join(f'{n} and {RENAMED[n]}' for n in twice)}")
        values = {field_name(name): value for name, value in data.items()}
        values.setdefault("pass1_steps", 0)  # a run written before the Pass@1 phase existed started from the warm-up
        for name in ("out", "resume", "model"):
            if values.get(name) is not None:
                values[name] = Path(values[name])
        return cls(**values)


def explicit_fields(argv: list[str]) -> frozenset[str]:
    """The TrainConfig fields named by the options in ``argv`` (``--d-model 32`` -> ``d_model``; a former name
    such as ``--n-train-mazes`` -> ``n_train_problems``)."""
    flags = {}
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        flags[flag] = flags["--no-" + flag[2:]] = f.name
    argv = current_options(argv)
    return frozenset(flags[arg.split("=", 1)[0]] for arg in argv if arg.split("=", 1)[0] in flags)


SMOKE_OVERRIDES: dict[str, Any] = dict(
    train_sizes=(7,), test_sizes=(7, 9), n_train_problems=200, n_test_problems=4,
    d_model=32, n_layers=1, n_heads=2,
    warmup_steps=40, warmup_batch_size=32, pass1_steps=2, rl_steps=4, n_prompts=4, n_rollouts=4, mini_batches=2,
    eval_every=2, eval_samples=4, checkpoint_every=1,
)


def resolve(cfg: TrainConfig, explicit: frozenset[str] | set[str] | None = None) -> TrainConfig:
    """Apply ``--smoke`` to the settings not given explicitly, then validate.

    ``explicit`` names the fields set on the command line (see :func:`explicit_fields`); without it a
    setting counts as explicit when it differs from its default.
    """
    if cfg.smoke:
        defaults = TrainConfig()

        def given(name: str) -> bool:
            return name in explicit if explicit is not None else getattr(cfg, name) != getattr(defaults, name)

        changes = {name: value for name, value in SMOKE_OVERRIDES.items() if not given(name)}
        if not given("k") and not given("k_schedule"):
            changes["k"] = 2
        cfg = dataclasses.replace(cfg, **changes)
    cfg.validate()
    return cfg
