"""What every task provides: problems identified by id, question and answer, each split on its own stream."""

from __future__ import annotations

import numpy as np
import pytest

from passkrl.tasks import TASKS, get_task
from passkrl.tasks.base import SPLIT_STREAMS, Problem, Task, split_seed


def test_each_split_has_its_own_stream_of_the_seed():
    assert [split_seed(7, split) for split in ("train", "test", "validation")] == [[7, 0], [7, 1], [7, 2]]
    assert len(set(SPLIT_STREAMS.values())) == len(SPLIT_STREAMS)
    assert split_seed(np.int64(3), "test") == [3, 1] and type(split_seed(np.int64(3), "test")[0]) is int
    with pytest.raises(ValueError, match="unknown split 'dev'; known: train, test, validation"):
        split_seed(0, "dev")


def test_a_problem_is_identified_without_its_meta():
    a = Problem("p1", "What is 1+1?", "2", meta={"group": "sums"})
    b = Problem("p1", "What is 1+1?", "2", meta={"group": "other"})
    assert hash(a) == hash(b) and a != b  # a dict meta can be hashed: the hash leaves it out, equality does not
    assert Problem("p1", "What is 1+1?", "2", meta={"group": "sums"}) == a
    assert a != Problem("p2", "What is 1+1?", "2", meta={"group": "sums"})
    with pytest.raises(AttributeError):
        a.answer = "3"  # frozen


def test_every_registered_task_follows_the_protocol():
    for name, spec in TASKS.items():
        if spec.extra is not None:
            pytest.importorskip(spec.extra.module)
        task = get_task(name)
        assert isinstance(task, Task), name
        assert spec.serves(task.data_source) or spec.serves(task.data_source + "x"), name
        problem = task.generate(np.random.default_rng(0))
        assert isinstance(problem, Problem) and problem.question and isinstance(task.prompt(problem), str)
        score = task.score(problem, "")
        assert 0.0 <= score <= 1.0 and (score in (0.0, 1.0) or not task.reward_is_binary)
