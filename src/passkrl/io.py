"""Atomic file writing: a reader never sees a half-written file, and a crash loses nothing old.

Every file passkrl writes (checkpoints, configs, evaluations, plots, data sets) goes through a
temporary file in the same directory followed by ``os.replace``, which is atomic on POSIX and
Windows. Append-only logs (``metrics.jsonl``) are flushed and fsynced line by line instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success it replaces ``path``."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.exists():
        raise FileNotFoundError(f"directory {str(directory)!r} does not exist (writing {str(target)!r})")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates the file private (0600); give it the mode a plain open() would have.
        os.chmod(tmp, _mode_for(target))
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _mode_for(target: Path) -> int:
    """The permission bits of an existing ``target``, else 0666 less the process umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, allow_nan=False)
        handle.write("\n")


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def save_figure_atomic(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_output_file(path: str | os.PathLike | None, option: str, *, suffix: str | None = None,
                      inputs: tuple[tuple[str, str | os.PathLike], ...] = ()) -> None:
    """Refuse, before any work, an output file that cannot be written or would destroy an input.

    Checks that the directory exists and is writable, that ``path`` is not a directory, that it ends
    in ``suffix`` when one is required, and that it is none of ``inputs`` (``(option, path)`` pairs).
    Errors name the option and the path.
    """
    if path is None:
        return
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if suffix is not None and path.suffix.lower() != suffix:
        raise ValueError(f"{option}: the file must end in {suffix}, got {str(path)!r}")
    if not parent.is_dir():
        raise FileNotFoundError(f"{option}: directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{option}: {str(path)!r} is a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{option}: directory {str(parent)!r} is not writable")
    for input_option, input_path in inputs:
        same = (path.exists() and Path(input_path).exists() and os.path.samefile(path, input_path)) or \
            path.resolve() == Path(input_path).resolve()
        if same:
            raise ValueError(f"{option} {str(path)!r} is the {input_option} file: writing it would destroy the input; "
                             "choose another output path")


def check_output_dir(path: str | os.PathLike, option: str) -> None:
    """Refuse, before anything is created, an output directory that cannot be one.

    ``path`` may not exist yet; then its nearest existing ancestor must be a writable directory. A
    file at ``path``, a file among its ancestors, or an unwritable ancestor is a ``ValueError``
    naming the option and the path.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a file, not a directory; choose a directory")
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"{option} {str(path)!r}: {str(ancestor)!r} is a file, so no directory can be made under it")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {str(path)!r}: directory {str(ancestor)!r} is not writable")
