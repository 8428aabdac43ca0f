"""IsolatedWorker: every call within its own limit, including the call after a killed one."""

from __future__ import annotations

import time

from passkrl.tasks.timeout import CallFailed, IsolatedWorker

SLOW_IMPORT = '''
import time
time.sleep(2.0)  # a scorer whose imports are slow, like math-verify's


def nap(seconds):
    time.sleep(seconds)
    return "ok"
'''


def test_the_call_after_a_timeout_does_not_pay_for_the_restart(tmp_path, monkeypatch):
    (tmp_path / "slow_scorer.py").write_text(SLOW_IMPORT)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    worker = IsolatedWorker()
    try:
        assert worker.call("slow_scorer:nap", (0,), 1.0) == "ok"  # the first child's start is never timed
        worker._spare_thread.join()  # the spare warms up in the background (during real work, unseen)
        started = time.perf_counter()
        failed = worker.call("slow_scorer:nap", (30,), 1.0)
        assert isinstance(failed, CallFailed) and failed.kind == "timeout"
        assert time.perf_counter() - started < 1.0 + 1.5  # the limit, plus killing the child
        started = time.perf_counter()
        assert worker.call("slow_scorer:nap", (0,), 1.0) == "ok"
        assert time.perf_counter() - started < 1.0  # a new child would spend 2 s importing the scorer
        assert worker.n_restarts == 1
    finally:
        worker.close()


def test_without_a_spare_the_worker_still_recovers_from_a_timeout(tmp_path):
    worker = IsolatedWorker(keep_spare=False)
    try:
        assert isinstance(worker.call("time:sleep", (30,), 0.5), CallFailed)
        assert worker.call("math:sqrt", (4.0,), 5.0) == 2.0
    finally:
        worker.close()
