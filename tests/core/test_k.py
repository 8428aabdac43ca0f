"""The one rule for k (passkrl.core.k.check_k), and every entry point that takes a k behaving by it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

from passkrl import estimators, metrics
from passkrl.core.curves import advantage_curve
from passkrl.core.k import check_k
from passkrl.core.schedule import KSchedule

N = 4  # every entry point below gets groups (prompts) of 4 samples where it has groups


@pytest.mark.parametrize("k", [1, 4, np.int64(4), np.int32(2), np.uint8(3), 10**30])
def test_integers_are_accepted_as_python_ints(k):
    assert check_k(k) == int(k) and type(check_k(k)) is int


@pytest.mark.parametrize(
    ("k", "message"),
    [
        (4.0, r"^k must be an integer, got 4\.0 \(float\)$"),
        (np.float64(4.0), r"^k must be an integer, got np\.float64\(4\.0\) \(float64\)$"),
        (True, r"^k must be an integer, got True \(bool\)$"),
        (np.True_, r"^k must be an integer, got np\.True_ \(bool\)$"),
        ("4", r"^k must be an integer, got '4' \(str\)$"),
        (None, r"^k must be an integer, got None \(NoneType\)$"),
        (torch.tensor(4), r"^k must be an integer, got tensor\(4\) \(Tensor\)$"),
        (0, r"^k must be >= 1, got k=0$"),
        (-3, r"^k must be >= 1, got k=-3$"),
    ],
)
def test_everything_else_is_refused_naming_the_value(k, message):
    with pytest.raises(ValueError, match=message):
        check_k(k)


def test_k_above_n_names_both_and_the_caller_names_them():
    assert check_k(4, 4) == 4
    with pytest.raises(ValueError, match=r"^k=5 is larger than n=4: need 1 <= k <= n$"):
        check_k(5, 4)
    with pytest.raises(ValueError, match=r"^--k=9 is larger than the group size n=8 of group 2: need 1 <= k <= n$"):
        check_k(9, 8, name="--k", n_name="the group size n", where=" of group 2")
    with pytest.raises(ValueError, match=r"^passk_k must be >= 1, got passk_k=0$"):
        check_k(0, 4, name="passk_k")  # the lower bound is checked before n


# --------------------------------------------------------------------------------------------------
# Every entry point: 4.0, True, 0 and k > n
# --------------------------------------------------------------------------------------------------

CASES = {
    "float": (4.0, r"must be an integer, got 4\.0 \(float\)"),
    "bool": (True, r"must be an integer, got True \(bool\)"),
    "zero": (0, r"must be >= 1, got \S*k=0"),
    "above n": (N + 1, rf"k={N + 1} is larger than [^=]*={N}\b.*need 1 <= k <= n"),
}


@dataclass(frozen=True)
class EntryPoint:
    call: Callable[[Any, Any], Any]  # (k, tmp_path) -> runs the entry point with groups of N where it has any
    own_words: bool = False  # refuses by its own check, in its own words (a command-line parser, the trainer)
    knows_n: bool = True


def _verl(k, tmp_path):
    pytest.importorskip("verl")
    import passkrl.integrations.verl  # noqa: F401  (registers passkrl's estimators with verl)
    from verl.trainer.ppo import core_algos

    rewards = torch.zeros(N, 3)
    rewards[0, -1] = 1.0
    estimator = core_algos.get_adv_estimator_fn("passk_analytic")
    estimator(token_level_rewards=rewards, response_mask=torch.ones(N, 3), index=np.array(["uid"] * N, dtype=object),
              config={"passk": {"k": k}})


def _trl(k, tmp_path):
    pytest.importorskip("trl")
    from passkrl.integrations.trl import PassKGRPOConfig

    PassKGRPOConfig(output_dir=str(tmp_path), passk_k=k, num_generations=N, per_device_train_batch_size=N,
                    use_cpu=True, bf16=False, report_to="none")


def _trainer(k, tmp_path):
    from passkrl.train.config import TrainConfig

    TrainConfig(k=k, n_rollouts=N).validate()


def _curves_command(k, tmp_path):
    from passkrl.cli.curves import main

    main(["--n", str(N), "--k", str(k)])


def _eval_command(k, tmp_path):
    from passkrl.cli.eval import main

    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(f'{{"prompt_id": "p", "correct": {"true" if i == 0 else "false"}}}\n' for i in range(N)))
    main([str(samples), "--k", str(k)])


def _metrics(name):
    def call(k, tmp_path):
        args = {"pass_at_k": (N, 1), "max_at_k": ([0.1, 0.9, 0.5, 0.2],), "alpha_k": (0.5,),
                "maj_at_k": (["a", "b", "a", None], [True, False, True, False])}[name]
        getattr(metrics, name)(*args, k)

    return call


ENTRY_POINTS = {
    "core.k.check_k": EntryPoint(lambda k, _: check_k(k, N)),
    "estimators.compute": EntryPoint(lambda k, _: estimators.compute("passk_analytic", [[1.0, 0.0, 0.0, 1.0]], k=k)),
    "estimators.compute (ragged)": EntryPoint(lambda k, _: estimators.compute(
        "pkpo_loo1", [[1.0, 0.0, 0.0, 1.0, 0.0]], k=k, mask=[[True, True, True, True, False]])),
    "metrics.pass_at_k": EntryPoint(_metrics("pass_at_k")),
    "metrics.max_at_k": EntryPoint(_metrics("max_at_k")),
    "metrics.maj_at_k": EntryPoint(_metrics("maj_at_k")),
    "metrics.alpha_k": EntryPoint(_metrics("alpha_k"), knows_n=False),
    "core.curves.advantage_curve": EntryPoint(lambda k, _: advantage_curve("grpo", n=N, k=k)),
    "trainer's k schedule (KSchedule.of)": EntryPoint(lambda k, _: KSchedule.of(k), knows_n=False),
    "trainer (TrainConfig.validate)": EntryPoint(_trainer, own_words=True),
    "verl (algorithm.passk.k)": EntryPoint(_verl),
    "TRL (PassKGRPOConfig.passk_k)": EntryPoint(_trl),
    "passkrl curves --k": EntryPoint(_curves_command),
    "passkrl eval --k": EntryPoint(_eval_command, own_words=True),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_refuses_the_same_ks(entry, case, tmp_path, capsys):
    point = ENTRY_POINTS[entry]
    k, rule_words = CASES[case]
    if case == "above n" and not point.knows_n:
        pytest.skip(f"{entry} has no n")
    # A command line reads text: 4.0 and True are refused by its parser (tyro exits with status 2).
    with pytest.raises((ValueError, SystemExit)) as caught:
        point.call(k, tmp_path)
    if isinstance(caught.value, SystemExit):
        assert entry.startswith("passkrl ") and caught.value.code == 2 and case in ("float", "bool")
        message = capsys.readouterr().err
    else:
        message = str(caught.value)
    assert str(k) in message
    if case == "above n":
        assert str(N) in message
    if not point.own_words and not isinstance(caught.value, SystemExit):
        assert re.search(rule_words, message), message


@pytest.mark.parametrize("entry", [e for e, point in ENTRY_POINTS.items() if point.knows_n])
def test_every_entry_point_accepts_k_equal_to_n_and_numpy_integers(entry, tmp_path, capsys):
    ENTRY_POINTS[entry].call(N, tmp_path)
    if not ENTRY_POINTS[entry].own_words and not entry.startswith("passkrl "):  # a command line gets text
        ENTRY_POINTS[entry].call(np.int64(2), tmp_path)
