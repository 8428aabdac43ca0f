"""Atomic writes: whole files or nothing, with the permissions a plain open() would give."""

from __future__ import annotations

import json
import os
import stat

import pytest

from passkrl.io import atomic_open, write_json_atomic, write_text_atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_new_file_gets_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.md", "hello\n")
        with open(tmp_path / "b.md", "w") as handle:
            handle.write("hello\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.md") == _mode(tmp_path / "b.md") == 0o644


def test_existing_file_keeps_its_mode(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("{}")
    os.chmod(path, 0o640)
    write_json_atomic(path, {"x": 1})
    assert _mode(path) == 0o640
    assert json.loads(path.read_text()) == {"x": 1}


def test_failed_write_keeps_old_content_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_open(path) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_missing_directory_and_bad_mode_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"), atomic_open(tmp_path / "nope" / "x.json"):
        pass
    with pytest.raises(ValueError, match="mode must be"), atomic_open(tmp_path / "x.json", "a"):
        pass
