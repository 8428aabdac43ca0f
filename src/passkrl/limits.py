"""What this machine can hold: sizes refused up front, from its available memory and free disk.

A request whose memory (or disk) can be bounded from below by arithmetic on the options is checked
against what the machine has *now* (``MemAvailable`` of ``/proc/meminfo``, the free space of the
output's file system) before any work, and refused with the option, the value, the estimate and
the machine's figure. The estimates are lower bounds, so nothing that fits is refused.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def available_memory_bytes() -> int:
    """Memory the system can give a new process without swapping (Linux ``MemAvailable``)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1  # unknown: refuse nothing


def free_disk_bytes(path: str | os.PathLike) -> int:
    """Free space of the file system that holds ``path`` (or its nearest existing ancestor)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def human_bytes(n_bytes: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:,.1f} {unit}"
    return f"{n_bytes:.0f} B"


def require_memory(needed_bytes: float, *, request: str, what: str) -> None:
    """``ValueError`` if ``needed_bytes`` (a lower bound) exceeds the memory available now.

    ``request`` names the options and values (``"--eval-samples 1000000000"``), ``what`` the arrays
    that need the memory.
    """
    available = available_memory_bytes()
    if needed_bytes > available:
        raise ValueError(f"{request}: needs at least {human_bytes(needed_bytes)} of memory ({what}); this machine has "
                         f"{human_bytes(available)} available. Ask for less.")


def require_disk(needed_bytes: float, where: str | os.PathLike, *, request: str, what: str) -> None:
    """``ValueError`` if ``needed_bytes`` exceeds the free space where ``where`` will be written."""
    free = free_disk_bytes(where)
    if needed_bytes > free:
        raise ValueError(f"{request}: needs about {human_bytes(needed_bytes)} of disk ({what}); the file system of "
                         f"{str(where)!r} has {human_bytes(free)} free. Ask for less.")
