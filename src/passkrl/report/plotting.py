"""Shared matplotlib helpers for every passkrl plot.

* :func:`pyplot` — ``matplotlib.pyplot`` on the non-interactive Agg backend (no display needed).
* :func:`save_png` — write a figure as PNG atomically (temporary file + ``os.replace``, through
  :mod:`passkrl.io`) and close it, so a reader never sees a half-written image.
* :func:`plot_with_band` — a line with a shaded confidence band.
* :func:`log2_k_axis` — a log2 x-axis with one labelled tick per ``k``.

matplotlib is imported lazily so that importing this module (and ``passkrl --help``) stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from passkrl.io import pyplot, save_figure_atomic

__all__ = ["pyplot", "save_png", "save_figure_atomic", "plot_with_band", "log2_k_axis"]


def save_png(fig: Any, path: str | os.PathLike, dpi: int = 120) -> None:
    """Save ``fig`` to ``path`` as PNG atomically and close it; ``path`` must end in ``.png``."""
    if Path(path).suffix.lower() != ".png":
        raise ValueError(f"plot file must end in .png, got {str(path)!r}")
    save_figure_atomic(fig, path, dpi=dpi)


def plot_with_band(ax: Any, x: Sequence[float], mean: Sequence[float], low: Sequence[float],
                   high: Sequence[float], *, label: str, color: str | None = None, marker: str = "o") -> None:
    """Draw ``mean`` against ``x`` with a translucent band from ``low`` to ``high`` (None: no band there)."""
    (line,) = ax.plot(x, mean, marker=marker, label=label, color=color)
    def as_float(values: Sequence[float | None]) -> list[float]:
        return [float("nan") if v is None else v for v in values]

    ax.fill_between(x, as_float(low), as_float(high), color=line.get_color(), alpha=0.2, linewidth=0)


def log2_k_axis(ax: Any, ks: Sequence[int]) -> None:
    """Log2-scaled x-axis labelled with the ``k`` values themselves (1, 2, 4, ... not 2^0, 2^1)."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(ks))
    ax.set_xticklabels([str(k) for k in ks])
    ax.minorticks_off()
    if len(ks) == 1:
        ax.set_xlim(ks[0] / 1.5, ks[0] * 1.5)
