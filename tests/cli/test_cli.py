"""The dispatcher (``passkrl COMMAND``, also ``python -m passkrl.cli``): the usage, the version, and every way a
command can end badly (bad input, an interrupt at any moment, no memory) as one line and an exit status, never
a traceback."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import passkrl
import passkrl.cli as cli


def test_the_usage_lists_every_command_and_the_version_is_the_packages(capsys):
    assert cli.main([]) == 0 and cli.main(["--help"]) == 0
    usage = capsys.readouterr().out
    for name, (module, text) in cli.COMMANDS.items():
        assert f"  {name}" in usage and text in usage
        assert module == f"passkrl.cli.{name}" and importlib.util.find_spec(module) is not None
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"passkrl {passkrl.__version__}"


def test_an_unknown_command_is_refused_with_the_known_ones(capsys):
    assert cli.main(["trian"]) == 2
    known = ", ".join(cli.COMMANDS)
    assert capsys.readouterr().err.strip() == f"passkrl: unknown command 'trian'; choose one of: {known}"


def test_ctrl_c_while_the_command_is_imported_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    assert cli.main(["curves"]) == 130
    assert capsys.readouterr().err.strip() == "passkrl: interrupted"


def test_bad_input_and_exhausted_memory_are_one_line_and_exit_2(monkeypatch, capsys):
    failures = {"curves": ValueError("--n must be >= 1"), "eval": FileNotFoundError("no such file: x.jsonl"),
                "data": MemoryError()}

    def failing_command(module: str) -> types.SimpleNamespace:
        def main(argv):
            raise failures[module.rsplit(".", 1)[1]]

        return types.SimpleNamespace(main=main)

    monkeypatch.setattr(importlib, "import_module", failing_command)
    assert [cli.main([name]) for name in failures] == [2, 2, 2]
    assert capsys.readouterr().err.splitlines() == [
        "passkrl curves: error: --n must be >= 1", "passkrl eval: error: no such file: x.jsonl",
        "passkrl data: error: out of memory; ask for smaller sizes"]


def test_python_m_passkrl_cli_is_the_command():
    out = subprocess.run([sys.executable, "-m", "passkrl.cli", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"passkrl {passkrl.__version__}"
    out = subprocess.run([sys.executable, "-m", "passkrl.cli", "nope"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "unknown command 'nope'" in out.stderr and "Traceback" not in out.stderr
