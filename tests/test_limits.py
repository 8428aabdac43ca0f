"""Sizes refused up front: the machine's memory and free disk, read once, and refusals that name the request."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from passkrl import limits


def test_human_bytes_uses_the_largest_unit_the_size_reaches():
    assert limits.human_bytes(0) == "0 B"
    assert limits.human_bytes(1023) == "1023 B"
    assert limits.human_bytes(2048) == "2.0 KiB"
    assert limits.human_bytes(2**20 - 1) == "1,024.0 KiB"
    assert limits.human_bytes(1.5 * 2**30) == "1.5 GiB"
    assert limits.human_bytes(3 * 2**40) == "3.0 TiB"


def test_available_memory_is_memavailable_else_the_free_pages_else_unbounded(monkeypatch):
    meminfo = "MemTotal:  8000 kB\nMemFree:   100 kB\nMemAvailable:   2048 kB\n"
    monkeypatch.setattr(Path, "read_text", lambda self, *args, **kwargs: meminfo)
    assert limits.available_memory_bytes() == 2048 * 1024

    def unreadable(self, *args, **kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(Path, "read_text", unreadable)
    monkeypatch.setattr(os, "sysconf", {"SC_AVPHYS_PAGES": 10, "SC_PAGE_SIZE": 4096}.__getitem__)
    assert limits.available_memory_bytes() == 40960

    def no_sysconf(name):
        raise ValueError(name)

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert limits.available_memory_bytes() == 2**63 - 1  # unknown: nothing is refused


def test_a_request_beyond_the_available_memory_is_refused_with_both_figures(monkeypatch):
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 2**30)
    limits.require_memory(2**30, request="--n 1", what="one table")  # exactly what is there fits
    with pytest.raises(ValueError) as refused:
        limits.require_memory(2**31, request="--eval-samples 9", what="the cache")
    assert str(refused.value) == ("--eval-samples 9: needs at least 2.0 GiB of memory (the cache); this machine has "
                                  "1.0 GiB available. Ask for less.")


def test_free_disk_is_that_of_the_nearest_existing_ancestor(tmp_path, monkeypatch):
    asked = []

    def disk_usage(path):
        asked.append(Path(path))
        return type("Usage", (), {"free": 12345})()

    monkeypatch.setattr(limits.shutil, "disk_usage", disk_usage)
    assert limits.free_disk_bytes(tmp_path / "not" / "yet" / "made.jsonl") == 12345
    assert asked == [tmp_path]


def test_a_file_larger_than_the_free_disk_is_refused_naming_where(monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "free_disk_bytes", lambda path: 2**20)
    limits.require_disk(2**20, tmp_path, request="--n 5", what="rows")
    with pytest.raises(ValueError, match=r"^--n 500: needs about 2\.0 MiB of disk \(rows\); the file system of "
                                         r"'.*' has 1\.0 MiB free\. Ask for less\.$"):
        limits.require_disk(2**21, tmp_path / "out.jsonl", request="--n 500", what="rows")
