"""Responses scored per second, per task: serial against parallel, measured in one run.

For every task the same batch of responses (a mix of correct answers, wrong answers and prose
without an answer, as a policy early in training writes them) is scored once with one worker and
once with ``--workers`` workers; the table prints both rates and their ratio, and checks that the
two lists of rewards are identical. Where a scorer caches (parsed maze grids, math-verify's parsed answers in the children), every
timing gets a fresh batch. The maze and most puzzle scorers run in this process (workers
change nothing for them); maths (math-verify) and the puzzles whose scorer parses the answer with
sympy run in child processes with a hard time limit, and their batches are spread over the workers.

    python benchmarks/bench_scorers.py                 # default sizes
    python benchmarks/bench_scorers.py --quick         # fewer responses
    python benchmarks/bench_scorers.py --workers 4
    python benchmarks/bench_scorers.py --smoke         # seconds: every task once, figures meaningless

Child processes are started and warmed up before timing (as in training, where they persist).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from passkrl.tasks import maths as MA
from passkrl.tasks import maze as MZ
from passkrl.tasks import puzzles as PZ


def responses_for(answers: list[str], rng: np.random.Generator, wrap) -> list[str]:
    """Per reference answer: the answer (40%), a wrong one (40%), prose without an answer (20%)."""
    out = []
    for answer in answers:
        draw = rng.random()
        if draw < 0.4:
            out.append(f"Let me think. {wrap(answer)}")
        elif draw < 0.8:
            out.append(f"Let me think. {wrap(answer + '1')}")
        else:
            out.append("I am not sure how to solve this one.")
    return out


def best_time(score, batches) -> float:
    """The fastest of scoring each batch once (each batch is fresh where caches could help)."""
    best = float("inf")
    for problems, texts in batches:
        started = time.perf_counter()
        score(problems, texts)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=400, help="responses per task")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every code path (the test suite runs it); figures meaningless")
    args = parser.parse_args()
    if args.smoke:
        args.repeats = 1
    n = 8 if args.smoke else 120 if args.quick else args.n
    differ = []
    rng = np.random.default_rng(0)

    def tagged(answer: str) -> str:
        return f"<answer>{answer}</answer>"

    def boxed(answer: str) -> str:
        return f"\\boxed{{{answer}}}"

    # name -> (make a batch, score a batch with w workers, whether each timing needs a fresh batch)
    cases = []
    def make_mazes(i: int) -> tuple[list, list[str]]:
        # a fresh batch per timing: the verifier caches parsed grids
        batch_rng = np.random.default_rng([2, i])
        mazes = [MZ.generate_maze(9, batch_rng) for _ in range(n)]
        return mazes, responses_for([m.solution for m in mazes], batch_rng, tagged)

    cases.append(("maze (9x9)", make_mazes,
                  lambda problems, texts, w: [MZ.score(m.grid, r) for m, r in zip(problems, texts)], True))
    for name in ("chain_sum", "knights_knaves", "mini_sudoku", "countdown", "puzzle24"):
        task = PZ.PuzzleTask([name])
        problems = [task.generate(rng) for _ in range(n)]
        batch = (problems, responses_for([p.answer for p in problems], rng, tagged))
        cases.append((f"puzzles/{name}" + (" (isolated)" if name in task.isolated else ""), lambda i, batch=batch: batch,
                      lambda problems, texts, w, task=task: task.score_batch(problems, texts, workers=w), False))
    for label, kinds in (("maths (all kinds)", MA.KINDS), ("maths (integers: no child)", ["arithmetic"])):
        task = MA.MathsTask(kinds=kinds)

        def make(i: int, task=task) -> tuple[list, list[str]]:
            # a fresh batch per timing: the children cache parsed answers
            batch_rng = np.random.default_rng([1, i])
            problems = [task.generate(batch_rng) for _ in range(n)]
            return problems, responses_for([p.answer for p in problems], batch_rng, boxed)

        cases.append((label, make, lambda problems, texts, w, task=task: task.score_batch(problems, texts, workers=w),
                      True))

    print(f"responses per task: {n}; workers: {args.workers}; best of {args.repeats}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    header = f"{'task':<34}{'serial /s':>12}{'parallel /s':>14}{'ratio':>8}{'same':>6}{'mean reward':>13}"
    print(header)
    print("-" * len(header))
    for name, make, score, fresh in cases:
        problems, texts = make(0)
        serial = score(problems, texts, 1)  # also starts and warms up the child processes
        same = serial == score(problems, texts, args.workers)
        serial_batches = [make(1 + r) if fresh else (problems, texts) for r in range(args.repeats)]
        parallel_batches = [make(1 + args.repeats + r) if fresh else (problems, texts) for r in range(args.repeats)]
        serial_s = best_time(lambda p, t, score=score: score(p, t, 1), serial_batches)
        parallel_s = best_time(lambda p, t, score=score: score(p, t, args.workers), parallel_batches)
        print(f"{name:<34}{n / serial_s:>12.0f}{n / parallel_s:>14.0f}{serial_s / parallel_s:>8.2f}"
              f"{'yes' if same else 'NO':>6}{float(np.mean(serial)):>13.3f}")
        if not same:
            differ.append(name)
    if differ:
        raise SystemExit(f"serial and parallel rewards differ for {', '.join(differ)}")


if __name__ == "__main__":
    main()
