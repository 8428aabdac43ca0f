"""The experiment runner's workers and directories under kills and concurrent studies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from passkrl.cli.experiment import run_study
from passkrl.runs import directory_lock

PARENT = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from passkrl.experiment.runner import _die_with_parent

if __name__ == "__main__":
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        print(pool.submit(os.getpid).result(), flush=True)
        pool.submit(time.sleep, 120)
        time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its exit status waits to be collected


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_a_worker_dies_with_its_killed_study_process(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    assert _alive(worker)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the orphaned worker kept running"


def test_a_second_study_on_a_busy_experiment_directory_refuses_with_the_pid(tmp_path):
    with directory_lock(tmp_path, "experiment directory"), \
            pytest.raises(ValueError, match=rf"experiment directory .* in use .*\(pid {os.getpid()}\)"):
        run_study("main", seeds=1, quick=True, out=tmp_path, jobs=1, settings={}, report_only=True)
