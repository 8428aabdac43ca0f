"""The dispatcher: an interrupt at any moment, even while a command's module is still being imported,
ends with one line and exit 130, never a traceback."""

from __future__ import annotations

import importlib

import passkrl.cli as cli


def test_ctrl_c_while_the_command_is_imported_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(importlib, "import_module", interrupted)
    assert cli.main(["curves"]) == 130
    assert capsys.readouterr().err.strip() == "passkrl: interrupted"
