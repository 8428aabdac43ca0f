"""Every command, every option, hostile values: exit 0 or 2, never a traceback, and a refusal names the
option and leaves nothing behind.

Hypothesis draws, for one command at a time, an option and a value of every kind: numbers at and far
beyond their limits, non-numbers, JSON that is not JSON or has unknown keys, and paths that are files,
directories, missing, or under a file. The command runs in-process, in a fresh directory of its own
(with its own warm-up cache), from a base command line that keeps any run that is accepted tiny
(``--smoke``, ``--stop-after 1``). Examples are derandomised, so the suite is the same on every run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passkrl.cli import main as passkrl_main
from passkrl.train.config import TrainConfig

NUMBERS = ["-1", "0", "1", "2", "3", "2147483648", "9223372036854775808", "1" + "0" * 30, "1.5", "-0.0", "nan",
           "inf", "-inf", "1e308", "abc", ""]
JSON_TEXTS = ["nojson", "{", "[]", "{}", '{"bogus": 1}', '{"reduce": "bogus"}', '"text"', "null"]
PATHS = ["FILE", "DIR", "missing/deeper/x", "FILE/under", "x.png", "x.jsonl", "x.parquet", "x.txt"]
NAMES = ["bogus", "", "grpo", "passk_analytic", "maze", "7,9", "7,x", "8@0,1@2", "8@x", "1,2,3"]
VALUES = st.sampled_from(NUMBERS + JSON_TEXTS + PATHS + NAMES)

# Options whose valid values cost time, not memory, and that nothing but a user's patience bounds: a
# huge accepted value would run for hours (the RL steps are bounded by --stop-after, these are not).
UNBOUNDED_TIME = {"warmup_steps", "pass1_steps", "dynamic_max_rounds", "lr_warmup_steps", "eval_every"}
TRAIN_OPTIONS = sorted(
    f.name for f in TrainConfig.__dataclass_fields__.values()
    if f.name not in UNBOUNDED_TIME | {"out", "resume", "progress", "smoke", "stop_after", "model"}
)
BOOL_OPTIONS = {f.name for f in TrainConfig.__dataclass_fields__.values() if f.type in (bool, "bool")}
"""Flags take no value: they are drawn on (``--flag``) or off (``--no-flag``)."""
TRAIN_BASE = ["train", "--smoke", "--stop-after", "1", "--no-progress", "--warmup-steps", "4", "--out", "run"]

COMMANDS: dict[str, tuple[list[str], list[str]]] = {  # command -> (base argv, options drawn)
    "train": (TRAIN_BASE, TRAIN_OPTIONS),
    "curves": (["curves"], ["n", "k", "estimator", "plot", "json"]),
    "eval": (["eval", "samples.jsonl"], ["k", "threshold", "plot", "json", "level", "n_boot", "seed"]),
    "data maze": (["data", "maze", "--n", "3", "--out", "rows.jsonl", "--no-progress"],
                  ["n", "sizes", "seed", "split", "exclude", "out", "cell_px", "layout"]),
    "experiment": (["experiment", "diagnostic", "--out", "exp", "--report-only"],
                   ["seeds", "replicates", "jobs", "out", "set k", "set rl_steps", "set estimator_params",
                    "set lr", "set bogus"]),
    "report": (["report"], ["PATH"]),
    "doctor": (["doctor"], ["json", "ARG", "OPTION"]),
}
FLAGS = {"train": BOOL_OPTIONS, "doctor": {"json"}}
"""Per command, the options that are flags."""


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _argv(command: str, option: str, value: str) -> list[str]:
    base, _ = COMMANDS[command]
    if option in ("PATH", "ARG"):  # a positional argument (report's run directory; a stray one elsewhere)
        return [*base, value]
    if option == "OPTION":  # an option the command does not have
        return [*base, "--" + value]
    if option.startswith("set "):
        return [*base, "--set", f"{option[4:]}={value}"]
    flag = _flag(option)
    if option in FLAGS.get(command, ()):
        return [*base, flag if len(value) % 2 else "--no-" + flag[2:]]
    argv = list(base)
    if flag in argv:  # replace the base's value
        i = argv.index(flag)
        del argv[i:i + 2]
    return [*argv, flag, value]


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = passkrl_main(argv)
        except SystemExit as exit_:  # argument parsers (tyro, argparse) exit on their own
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, err.getvalue()


def _names_the_option(option: str, message: str, value: str) -> bool:
    if option in ("ARG", "OPTION"):  # the parser names what it does not recognise
        return value in message
    if option == "PATH":
        return "PATH" in message or "run directory" in message or "does not exist" in message
    if option.startswith("set "):
        return option[4:] in message
    names = {_flag(option), option, option.replace("_", "-")}
    return any(name in message for name in names)


@pytest.fixture
def sandbox(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("sandbox")
    monkeypatch.chdir(root)
    monkeypatch.setenv("PASSKRL_CACHE", str(root.parent / f"{root.name}-cache"))
    return root


def _prepare(root: Path) -> None:
    (root / "FILE").write_text("not a directory\n")
    (root / "DIR").mkdir(exist_ok=True)
    (root / "samples.jsonl").write_text("".join(json.dumps({"prompt_id": p, "correct": c}) + "\n"
                                                for p in range(3) for c in (True, False, False, True)))


def _check(root: Path, command: str, option: str, value: str) -> None:
    for name in list(root.iterdir()):  # each example starts from the same files
        if name.name not in ("FILE", "DIR", "samples.jsonl"):
            _remove(name)
    _prepare(root)
    before = _tree(root)
    argv = _argv(command, option, value)
    code, stderr = _run(argv)
    if code == 130 and "stopped after step 1" in stderr:  # the base's --stop-after 1: an accepted run, paused
        code = 0
    assert code in (0, 2), f"{argv}: exit {code}\n{stderr}"
    assert "Traceback" not in stderr, f"{argv}:\n{stderr}"
    if code == 2:
        # a good value meets the base command line's own refusal (--report-only of a study never run)
        base_refusal = command == "experiment" and "run it without --report-only first" in stderr
        assert base_refusal or _names_the_option(option, stderr, value), f"{argv}: the message does not name the option:\n{stderr}"
        assert _tree(root) == before, f"{argv}: a refusal created {sorted(_tree(root) - before)}"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            _remove(child)
        path.rmdir()
    else:
        path.unlink()


PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "train"])
def test_every_option_of_a_command_refuses_bad_values_cleanly(sandbox, monkeypatch, command):
    if command == "doctor":  # the engines' own checks (fresh interpreters importing verl, ~30 s) are test_doctor's
        from passkrl.cli import doctor

        monkeypatch.setattr(doctor, "check_verl", lambda: {"installed": None, "ok": None})
        monkeypatch.setattr(doctor, "check_trl", lambda: {"installed": None, "ok": None})

    @PROPERTY
    @given(option=st.sampled_from(COMMANDS[command][1]), value=VALUES)
    def check(option, value):
        _check(sandbox, command, option, value)

    check()


def test_every_train_option_refuses_bad_values_cleanly(sandbox):
    @settings(PROPERTY, max_examples=60)
    @given(option=st.sampled_from(TRAIN_OPTIONS), value=VALUES)
    def check(option, value):
        _check(sandbox, "train", option, value)

    check()


def test_the_cases_found_by_hand_are_refused(sandbox):
    """The inputs that once gave a traceback or ran silently, each as typed."""
    _prepare(sandbox)
    cases = [
        (["train", "--smoke", "--seed", "1180591620717411303424"], "--seed"),
        (["train", "--smoke", "--task-options", "nojson"], "--task-options"),
        (["train", "--smoke", "--task-options", '{"bogus": 1}'], "--task-options"),
        (["train", "--smoke", "--max-new-tokens", "0"], "--max-new-tokens"),
        (["train", "--smoke", "--n-rollouts", "10000000"], "--n-rollouts"),
        (["train", "--smoke", "--eval-samples", "1000000000"], "--eval-samples"),
        (["curves", "--n", "100000000", "--k", "8"], "--n"),
        (["experiment", "diagnostic", "--quick", "--out", "FILE/x"], "--out"),
        (["experiment", "diagnostic", "--quick", "--out", "FILE"], "--out"),
        (["experiment", "diagnostic", "--quick", "--out", "exp", "--set", "k=0"], "k"),
        (["experiment", "diagnostic", "--quick", "--out", "exp", "--set", "rl_steps=abc"], "rl_steps"),
        (["experiment", "diagnostic", "--quick", "--out", "exp", "--set", "rl_steps=-1"], "rl_steps"),
        (["experiment", "--list", "bogus"], "--list"),
        (["experiment", "diagnostic", "--jobs", "0", "--out", "exp"], "--jobs"),
        (["experiment", "diagnostic", "--report-only", "--out", "exp"], "--report-only"),
        (["data", "maze", "--n", "1000000000000", "--out", "rows.jsonl"], "--n"),
    ]
    before = _tree(sandbox)
    for argv, option in cases:
        code, stderr = _run(argv)
        assert code == 2 and "Traceback" not in stderr and option in stderr, (argv, code, stderr)
        assert _tree(sandbox) == before, (argv, sorted(_tree(sandbox) - before))


def test_resume_reads_sizes_written_as_a_list(sandbox):
    """A config.json edited by a script, with "train_sizes": [7]: read as the sizes, not a TypeError."""
    # stopped after one of its two steps (exit 130), so that --resume has work to do
    assert _run(["train", "--smoke", "--rl-steps", "2", "--stop-after", "1", "--out", "r", "--no-progress"])[0] == 130
    config = json.loads((sandbox / "r" / "config.json").read_text())
    config["train_sizes"] = [7]
    (sandbox / "r" / "config.json").write_text(json.dumps(config))
    code, stderr = _run(["train", "--resume", "r", "--no-progress"])
    assert code == 0, stderr
    assert os.path.exists(sandbox / "r" / "eval.json")
