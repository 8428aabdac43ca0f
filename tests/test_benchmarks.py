"""Every benchmark runs, end to end, in its seconds-long ``--smoke`` mode.

The figures in README and docs/ are produced by ``benchmarks/``; a change to the library that
breaks a benchmark (a moved name, a changed type) fails here instead of the next time someone
measures. Each benchmark also checks what it compares (the same rewards serially and in parallel,
an estimator equal to its reference, a resumed run equal to a straight one) and exits non-zero when
that fails, so a smoke run that passes has checked them too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_"))

# What each one prints when its last section ran: the smoke run reached the end of the script.
LAST_LINE_OF = {
    "bench_estimators.py": "passk_analytic differences are the reference's",
    "bench_integrations.py": "target (passk_analytic no slower than verl's grpo)",
    "bench_scorers.py": "maths (integers: no child)",
    "bench_trainer.py": "second pass (reference)",
    "bench_warmup.py": "end of the warm-up benchmark",
    "entropy_standin.py": "same higher-entropy half of the batch",
    "precision_equivalence.py": "end of the comparison",
    "probe_reliability.py": "fuzz maze:",
}


def test_every_benchmark_is_listed_here():
    assert sorted(LAST_LINE_OF) == BENCHMARKS


@pytest.mark.parametrize("script", BENCHMARKS)
def test_the_benchmark_runs_in_smoke_mode(script, tmp_path):
    env = {**os.environ, "PASSKRL_CACHE": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert LAST_LINE_OF[script] in proc.stdout, proc.stdout[-3000:]
    assert "Traceback" not in proc.stderr
