"""KSchedule: a piecewise-constant k over training steps (arXiv 2508.10751 §3.5)."""

from __future__ import annotations

import pytest

from passkrl.core.schedule import KSchedule


def test_k_schedule():
    schedule = KSchedule.parse("8@0,1@100")
    assert [schedule.k_at(s) for s in (0, 99, 100, 500)] == [8, 8, 1, 1]
    assert schedule.max_k == 8 and str(schedule) == "8@0,1@100"
    assert KSchedule.parse("4").k_at(10_000) == 4
    for bad, message in [("", "empty"), ("8@5", "start at step 0"), ("a@0", "not K or K@STEP"), ("0@0", ">= 1"),
                         ("4@0,2@0", "names a step twice")]:
        with pytest.raises(ValueError, match=message):
            KSchedule.parse(bad)


def test_of_prefers_the_schedule_and_falls_back_to_a_constant_k():
    assert KSchedule.of(4) == KSchedule.parse("4")
    assert KSchedule.of(4, " ") == KSchedule.parse("4")
    assert KSchedule.of(4, "8@0,1@10") == KSchedule.parse("8@0,1@10")


def test_a_config_parses_its_schedule_once():
    from passkrl.train.config import TrainConfig

    cfg = TrainConfig(k_schedule="4@0,1@40")
    assert cfg.schedule is cfg.schedule and cfg.schedule.k_at(40) == 1
