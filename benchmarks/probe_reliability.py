"""Probe passkrl as a hostile but realistic user would, and print the figures of docs/reliability.md.

Four parts, each counted:

1. **Bad input**: every command and library call below is wrong in one way. It counts as handled
   clearly when the command exits with status 2 and a message on stderr (no traceback) that names
   the option or value, or the library raises ``ValueError`` (never ``TypeError``, ``OverflowError``,
   ``MemoryError`` ...), and no file or directory was created and none damaged.
2. **Kills**: ``passkrl train --smoke`` killed with ``kill -9`` at a random moment, then resumed;
   it survives when the final weights, ``eval.json`` and every metrics record (times aside) equal
   those of an uninterrupted run.
3. **Fuzz**: random and adversarial answers through the maze, maths and puzzle verifiers; a crash is
   an exception or a score outside [0, 1]; calls whose wall time passed the scorer's limit are counted.
4. **Interrupts**: ``passkrl experiment diagnostic --quick`` sent Ctrl-C (SIGINT to its process group,
   as a terminal does) a few seconds after its start; it ends cleanly when it exits 130 without a
   traceback or a leaked-semaphore warning, no process of its group is left and its lock is free.

    python benchmarks/probe_reliability.py               # everything (about 5 minutes on 2 cores)
    python benchmarks/probe_reliability.py --kills 4 --fuzz 2000
    python benchmarks/probe_reliability.py --smoke       # seconds: a few cases of each part
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

PY = [sys.executable, "-m", "passkrl.cli"]


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*PY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def bad_commands(work: Path) -> list[tuple[list[str], str]]:
    """``(argv, text the error must contain)``; ``work`` holds the files some cases need."""
    samples = work / "samples.jsonl"
    samples.write_text("".join(json.dumps({"prompt_id": i // 4, "correct": i % 3 == 0}) + "\n" for i in range(16)))
    (work / "bad_utf8.jsonl").write_bytes(b'{"prompt_id": 0, "correct": true}\n{"prompt_id": "\xff"}\n')
    (work / "bad_json.jsonl").write_text('{"prompt_id": 0, "correct": true}\n{oops\n')
    run_dir = work / "done"
    (work / "empty").mkdir()
    train = ["train", "--smoke", "--no-progress"]
    cases = [
        ([*train, "--temperature", "-1"], "--temperature"), ([*train, "--clip-low", "-5"], "--clip-low"),
        ([*train, "--stop-after", "-1"], "--stop-after"), ([*train, "--temperature", "nan"], "--temperature"),
        ([*train, "--lr", "nan"], "--lr"), ([*train, "--grad-clip", "nan"], "--grad-clip"),
        ([*train, "--n-prompts", "100000", "--mini-batches", "1"], "--n-prompts"),
        ([*train, "--warmup-batch-size", "100000"], "--warmup-batch-size"),
        ([*train, "--n-test-problems", "100000"], "--n-test-problems"), ([*train, "--seed", "-1"], "--seed"),
        ([*train, "--k", "0"], "k"), ([*train, "--k", "64"], "--n-rollouts"),
        ([*train, "--k-schedule", "8@5"], "--k-schedule"), ([*train, "--k-schedule", "x"], "--k-schedule"),
        ([*train, "--estimator", "nope"], "--estimator"), ([*train, "--estimator-params", "{"], "--estimator-params"),
        ([*train, "--estimator-params", "[1]"], "--estimator-params"),
        ([*train, "--estimator", "passk_bootstrap", "--estimator-params", '{"reduce": "max"}'], "reduce"),
        ([*train, "--estimator", "combination", "--estimator-params", '{"passk": "nope"}'], "nope"),
        ([*train, "--estimator", "drop_easy", "--estimator-params", '{"threshold": "high"}'], "threshold"),
        ([*train, "--train-sizes", "8"], "--train-sizes"), ([*train, "--train-sizes", "x"], "--train-sizes"),
        ([*train, "--test-sizes", "5"], "--test-sizes"), ([*train, "--d-model", "30", "--n-heads", "4"], "--d-model"),
        ([*train, "--n-prompts", "7", "--mini-batches", "2"], "--n-prompts"),
        ([*train, "--reward-noise", "0.9"], "--reward-noise"), ([*train, "--eval-top-p", "0"], "--eval-top-p"),
        ([*train, "--task", "nope"], "nope"), ([*train, "--task", "maths", "--task-options", "{"], "--task-options"),
        ([*train, "--model", str(work / "no-model")], "--model"), (["train", "--resume", str(work / "none")], "--resume"),
        (["train", "--resume", str(run_dir), "--k", "3"], "--k"),
        ([*train, "--partial-credit", "--estimator", "exceeding"], "--partial-credit"),
        ([*train, "--rl-steps", "-1"], "--rl-steps"), ([*train, "--threads", "-1"], "--threads"),
        ([*train, "--out", "/proc/passkrl-run"], "/proc/passkrl-run"),
        (["eval", str(work / "missing.jsonl")], "missing.jsonl"), (["eval", str(samples), "--k", "0"], "--k"),
        (["eval", str(samples), "--k", "x"], "--k"), (["eval", str(samples), "--k", "9"], "k=9"),
        (["eval", str(samples), "--json", str(samples)], "SAMPLES"), (["eval", str(samples), "--plot", "x.txt"], "--plot"),
        (["eval", str(work / "bad_json.jsonl")], "line 2"), (["eval", str(work / "bad_utf8.jsonl")], "line 2"),
        (["eval", str(samples), "--json", "/proc/x/out.json"], "--json"),
        (["data", "maze", "--n", "3", "--sizes", "8", "--out", str(work / "m.jsonl")], "--sizes"),
        (["data", "maze", "--n", "3", "--sizes", "x", "--out", str(work / "m.jsonl")], "--sizes"),
        (["data", "maze", "--n", "3", "--out", str(work / "m.csv")], ".csv"),
        (["data", "maze", "--n", "0", "--out", str(work / "m.jsonl")], "--n"),
        (["data", "maze", "--n", "3", "--out", str(work / "nodir" / "m.jsonl")], "--out"),
        (["data", "maze", "--n", "3", "--exclude", str(work / "none.jsonl"), "--out", str(work / "m.jsonl")], "none.jsonl"),
        (["data", "maze", "--n", "3", "--exclude", str(samples), "--out", str(samples)], "--exclude"),
        (["data", "maze", "--n", "3", "--exclude", str(work / "bad_utf8.jsonl"), "--out", str(work / "m.jsonl")], "line 2"),
        (["data", "nope", "--n", "3", "--out", str(work / "m.jsonl")], "nope"),
        (["curves", "--k", "0"], "--k"), (["curves", "--n", "0"], "--n"), (["curves", "--plot", "x.txt"], "--plot"),
        (["curves", "--estimator", "nope"], "nope"),
        (["report", str(work / "none")], "none"),
        (["experiment", "nope"], "nope"), (["experiment", "main", "--seeds", "0", "--out", str(work / "e")], "--seeds"),
        (["experiment", "main", "--set", "bogus=1", "--out", str(work / "e")], "bogus"),
        (["experiment", "main", "--jobs", "0", "--out", str(work / "e")], "--jobs"),
        (["nope"], "nope"),
        # Checked before any work: every arm's --set values, --out, --jobs, --report-only, --list.
        (["experiment", "main", "--set", "k=0", "--out", str(work / "e")], "k"),
        (["experiment", "main", "--set", "rl_steps=abc", "--out", str(work / "e")], "rl_steps"),
        (["experiment", "main", "--set", "rl_steps=-1", "--out", str(work / "e")], "rl_steps"),
        (["experiment", "diagnostic", "--quick", "--out", str(samples / "x")], "--out"),
        (["experiment", "diagnostic", "--quick", "--out", str(samples)], "--out"),
        (["experiment", "diagnostic", "--report-only", "--out", str(work / "e")], "--report-only"),
        (["experiment", "diagnostic", "--report-only", "--out", str(work / "empty")], "--report-only"),
        (["experiment", "main", "--set", "threads=2", "--out", str(work / "e")], "threads"),
        (["experiment", "--list", "bogus"], "bogus"),
        # Absurd sizes, refused from the machine's memory or the time they would take.
        ([*train, "--n-rollouts", "10000000"], "--n-rollouts"),
        ([*train, "--eval-samples", "1000000000"], "--eval-samples"),
        (["curves", "--n", "100000000", "--k", "8"], "--n"),
        (["data", "maze", "--n", "1000000000000", "--out", str(work / "m.jsonl")], "--n"),
        (["experiment", "main", "--seeds", "100000000", "--out", str(work / "e")], "--seeds"),
        # Values that used to be ignored or to overflow.
        ([*train, "--seed", "1180591620717411303424"], "--seed"),
        ([*train, "--task-options", "nojson"], "--task-options"),
        ([*train, "--task-options", '{"bogus": 1}'], "--task-options"),
        ([*train, "--max-new-tokens", "0"], "--max-new-tokens"),
        ([*train, "--out", str(samples)], "--out"),
    ]
    return cases


def bad_library_calls() -> list[tuple[str, object]]:
    from passkrl import estimators, metrics
    from passkrl.core.schedule import KSchedule
    from passkrl.tasks import maze

    compute = estimators.compute
    return [
        ("string rewards", lambda: compute("grpo", [["a", "b"]], k=1)),
        ("ragged rewards", lambda: compute("grpo", [[1.0, 0.0], [1.0]], k=1)),
        ("k = 10**30", lambda: compute("grpo", [[1.0, 0.0]], k=10**30)),
        ("k = 0", lambda: compute("passk_analytic", [[1.0, 0.0]], k=0)),
        ("k = 2.5", lambda: compute("passk_analytic", [[1.0, 0.0]], k=2.5)),
        ("n_groups = 10**12", lambda: compute("passk_bootstrap", [[1.0, 0.0]], k=1, n_groups=10**12)),
        ("mask with NaN", lambda: compute("grpo", [[1.0, 0.0]], k=1, mask=[[1.0, float("nan")]])),
        ("mask with 2", lambda: compute("grpo", [[1.0, 0.0]], k=1, mask=[[1, 2]])),
        ("NaN reward", lambda: compute("grpo", [[1.0, float("nan")]], k=1)),
        ("1-D rewards", lambda: compute("grpo", [1.0, 0.0], k=1)),
        ("unknown estimator", lambda: compute("nope", [[1.0, 0.0]], k=1)),
        ("unknown parameter", lambda: compute("grpo", [[1.0, 0.0]], k=1, size=3)),
        ("binary-only on 0.5", lambda: compute("exceeding", [[1.0, 0.5]], k=1)),
        ("adaptive without entropy", lambda: compute("adaptive_entropy", [[1.0, 0.0]], k=1)),
        ("pass_at_k c > n", lambda: metrics.pass_at_k(5, 6, 2)),
        ("pass_at_k k > n", lambda: metrics.pass_at_k(5, 1, 6)),
        ("pass_at_k negative", lambda: metrics.pass_at_k(-1, 0, 1)),
        ("maze of size 10**9 + 1", lambda: maze.generate_maze(10**9 + 1, np.random.default_rng(0))),
        ("maze of size 4", lambda: maze.generate_maze(4, np.random.default_rng(0))),
        ("k schedule 'x'", lambda: KSchedule.parse("x")),
    ]


def probe_bad_input(work: Path, env: dict[str, str], smoke: bool = False) -> tuple[int, int, str, list[str]]:
    assert run(["train", "--smoke", "--no-progress", "--out", str(work / "done"), "--stop-after", "1"], work, env).returncode == 130
    handled, failures = 0, []
    cases = bad_commands(work)
    if smoke:  # one case of each command
        cases = list({argv[0]: (argv, expected) for argv, expected in cases}.values())
    slowest: dict[str, float] = {}  # per command
    sizes = (0.0, "")  # the slowest of the refusals of an absurd size (their message says what it "needs")
    for argv, expected in cases:
        before = {p: p.stat().st_mtime_ns for p in work.rglob("*")}
        began = time.perf_counter()
        proc = run(argv, work, env)
        seconds = time.perf_counter() - began
        slowest[argv[0]] = max(slowest.get(argv[0], 0.0), seconds)
        if "needs a" in proc.stderr:
            sizes = max(sizes, (seconds, " ".join(argv)))
        after = {p: p.stat().st_mtime_ns for p in work.rglob("*")}
        damaged = [p for p, t in before.items() if p.is_file() and after.get(p) != t and p.name != ".lock"]
        created = sorted(str(p.relative_to(work)) for p in after.keys() - before.keys())
        err = " ".join(proc.stderr.split())
        clear = (proc.returncode == 2 and err and "Traceback" not in proc.stderr and expected in err
                 and not damaged and not created)
        handled += bool(clear)
        if not clear:
            failures.append(f"passkrl {' '.join(argv)}: exit {proc.returncode}; created {created[:3]}; {err[-200:]}")
    print("  slowest refusal, including the interpreter's start: "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(slowest.items(), key=lambda x: -x[1])))
    print(f"  slowest refusal of an absurd size: {sizes[0]:.1f} s (passkrl {sizes[1]})")
    # A config.json edited by a script, its sizes a JSON list: resumed (or refused naming the setting).
    config_path = work / "done" / "config.json"
    config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "train_sizes": [7, 9]}))
    proc = run(["train", "--resume", str(work / "done"), "--no-progress"], work, env)
    edited = "Traceback" not in proc.stderr and (
        (proc.returncode == 0 and (work / "done" / "eval.json").exists())
        or (proc.returncode == 2 and "train" in proc.stderr and "sizes" in proc.stderr))
    handled += edited
    if not edited:
        failures.append(f"train --resume with \"train_sizes\": [7, 9]: exit {proc.returncode}; {proc.stderr[-200:]}")
    calls = bad_library_calls()
    for label, call in calls:
        try:
            call()
            failures.append(f"{label}: accepted")
        except ValueError:
            handled += 1
        except Exception as error:  # noqa: BLE001 - what the probe counts
            failures.append(f"{label}: {type(error).__name__}: {error}")
    return (handled, len(cases) + 1 + len(calls),
            f"{len(cases)} commands, 1 resume of an edited config.json, {len(calls)} library calls", failures)


def final_state(run_dir: Path) -> tuple[dict, list[dict], dict]:
    weights = torch.load(run_dir / "checkpoint.pt", weights_only=False)["model"]
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("time_s", None)
    summary = json.loads((run_dir / "eval.json").read_text())
    return weights, records, summary


def probe_kills(work: Path, env: dict[str, str], n_kills: int, seed: int) -> tuple[int, int, list[str]]:
    args = ["train", "--smoke", "--no-progress", "--rl-steps", "8"]
    straight = work / "straight"
    assert run([*args, "--out", str(straight)], work, env).returncode == 0
    reference = final_state(straight)
    rng = random.Random(seed)
    survived, failures = 0, []
    for i in range(n_kills):
        killed = work / f"killed-{i}"
        proc = subprocess.Popen([*PY, *args, "--out", str(killed)], cwd=work, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (killed / "config.json").exists():
            resumed = run(["train", "--resume", str(killed), "--no-progress"], work, env)
        else:  # killed before the run directory was written: start it again
            resumed = run([*args, "--out", str(killed)], work, env)
        ok = resumed.returncode == 0
        if ok:
            weights, records, summary = final_state(killed)
            ok = (weights.keys() == reference[0].keys() and all(torch.equal(weights[k], reference[0][k]) for k in weights)
                  and records == reference[1] and summary == reference[2])
        survived += ok
        if not ok:
            failures.append(f"kill {i}: exit {resumed.returncode}; {resumed.stderr[-300:]}")
    return survived, n_kills, failures


def probe_interrupts(work: Path, env: dict[str, str], delays: list[float]) -> tuple[int, int, list[str]]:
    """Ctrl-C (SIGINT to the process group) of ``passkrl experiment diagnostic --quick`` after each delay."""
    import fcntl

    clean, failures = 0, []
    for i, delay in enumerate(delays):
        out = work / f"interrupted-{i}"
        proc = subprocess.Popen([*PY, "experiment", "diagnostic", "--quick", "--out", str(out)], cwd=work, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # even if ours is ignored
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
        deadline = time.time() + 10
        while time.time() < deadline and subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True).returncode == 0:
            time.sleep(0.2)
        left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
        locked = False
        if (out / ".lock").exists():
            with open(out / ".lock", "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    locked = True
        ok = (proc.returncode == 130 and "Traceback" not in stderr and "leaked" not in stderr and not left
              and not locked)
        clean += ok
        if not ok:
            failures.append(f"SIGINT after {delay:.1f} s: exit {proc.returncode}; {len(left)} process(es) left; "
                            f"lock {'held' if locked else 'free'}; {stderr[-200:]}")
    return clean, len(delays), failures


def random_text(rng: random.Random) -> str:
    alphabet = string.printable + "UDLRudlr<>/\\{}^*()éİ\u200b\U0001f600"
    kind = rng.random()
    if kind < 0.3:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
    if kind < 0.6:
        body = "".join(rng.choice("UDLR ,udlr") for _ in range(rng.randint(0, 80)))
        return f"{rng.choice(['', 'think '])}<answer>{body}</answer>" + rng.choice(["", "</answer>", "<answer>"])
    if kind < 0.8:
        return rng.choice(["\\boxed{", "<answer>", ""]) + rng.choice(
            ["9**9**9", "10^{10^{10^{10}}}", "x" * 10000, "{" * 500, "\\frac{1}{0}", "nan", "1e999999"]) + "}" * rng.randint(0, 3)
    return "".join(chr(rng.randint(1, 0x10FFFF)) for _ in range(rng.randint(1, 50)) if not 0xD800 <= rng.randint(1, 0x10FFFF) <= 0xDFFF)


def probe_fuzz(n: int, seed: int) -> dict[str, tuple[int, int, int]]:
    """Per verifier: ``(answers, crashes, calls over the limit)``."""
    from passkrl.tasks import get_task, maze

    rng = random.Random(seed)
    out = {}
    mazes = maze.make_mazes([7, 9, 11], 50, seed)
    crashes = 0
    for i in range(n * 10):
        text = random_text(rng)
        try:
            value = maze.score(mazes[i % len(mazes)].grid, text, partial=bool(i % 2))
            crashes += not 0.0 <= value <= 1.0
        except Exception:  # noqa: BLE001
            crashes += 1
    out["maze"] = (n * 10, crashes, 0)
    for name, options in (("maths", {}), ("puzzles", {"datasets": ["chain_sum", "basic_arithmetic", "mini_sudoku"]})):
        try:
            task = get_task(name, **options)
        except ValueError:
            continue  # the extra is not installed
        problems = [task.generate(np.random.default_rng(i)) for i in range(50)]
        texts = [random_text(rng) for _ in range(n)]
        crashes = over = 0
        for start in range(0, n, 100):
            batch = list(range(start, min(n, start + 100)))
            began = time.perf_counter()
            try:
                values = task.score_batch([problems[i % 50] for i in batch], [texts[i] for i in batch], workers=2)
                crashes += sum(not 0.0 <= v <= 1.0 for v in values)
            except Exception:  # noqa: BLE001
                crashes += len(batch)
            # Two workers share the batch: it may take up to half the batch times each call's limit.
            over += (time.perf_counter() - began) > task.timeout_s * len(batch) / 2 + 5
        out[name] = (n, crashes, over)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=6, help="kill -9 trials of passkrl train")
    parser.add_argument("--fuzz", type=int, default=3000, help="fuzzed answers per slow verifier (x10 for the maze)")
    parser.add_argument("--interrupts", type=int, default=6,
                        help="Ctrl-C trials of passkrl experiment, 0.5 to 8 s after its start")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="seconds-long run of every code path (the test suite runs it); figures meaningless")
    args = parser.parse_args()
    if args.smoke:  # the options not given keep their smoke values
        parser.set_defaults(kills=1, fuzz=10, interrupts=1)
        args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "PASSKRL_CACHE": str(work / "cache"), "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        handled, tried, split, failures = probe_bad_input(work, env, smoke=args.smoke)
        print(f"bad input handled clearly: {handled} / {tried} ({split})  ({time.perf_counter() - started:.0f} s)")
        for line in failures:
            print("  not clear:", line)
        started = time.perf_counter()
        survived, kills, failures = probe_kills(work, env, args.kills, args.seed)
        print(f"kill -9 of passkrl train survived (resume bit-identical): {survived} / {kills}  "
              f"({time.perf_counter() - started:.0f} s)")
        for line in failures:
            print("  lost:", line)
        started = time.perf_counter()
        rng = random.Random(args.seed)  # one delay in each slice of 0.5-8 s: the imports, the checks, the warm-ups
        delays = [0.5 + 7.5 * (i + rng.random()) / args.interrupts for i in range(args.interrupts)]
        interrupted, tried_interrupts, failures = probe_interrupts(work, env, delays)
        print(f"Ctrl-C of passkrl experiment ended cleanly (exit 130, no traceback or leaked semaphore, no process "
              f"left, lock free): {interrupted} / {tried_interrupts}  ({time.perf_counter() - started:.0f} s)")
        for line in failures:
            print("  not clean:", line)
        started = time.perf_counter()
        fuzzed = probe_fuzz(args.fuzz, args.seed)
        for name, (n, crashes, over) in fuzzed.items():
            print(f"fuzz {name}: {n} answers, {crashes} crashes or scores outside [0, 1], {over} batches over their limit")
        print(f"  ({time.perf_counter() - started:.0f} s)")
    if handled < tried or survived < kills or interrupted < tried_interrupts or any(crashes or over for _, crashes, over in fuzzed.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
