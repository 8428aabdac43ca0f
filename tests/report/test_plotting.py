"""The shared plot helpers: PNG files written whole and closed, bands with gaps, a log2 axis labelled by k."""

from __future__ import annotations

import math

import numpy as np
import pytest

from passkrl.report.plotting import log2_k_axis, plot_with_band, pyplot, save_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_save_png_writes_a_png_and_closes_the_figure(tmp_path):
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_png(fig, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes().startswith(PNG_MAGIC)
    assert fig.number not in plt.get_fignums()
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]  # no temporary file left beside it


def test_save_png_refuses_another_extension_before_writing(tmp_path):
    fig, _ = pyplot().subplots()
    with pytest.raises(ValueError, match=r"plot file must end in \.png, got '.*curve\.pdf'"):
        save_png(fig, tmp_path / "curve.pdf")
    assert list(tmp_path.iterdir()) == []
    pyplot().close(fig)


def line_rgb(line) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(line.get_color())


def test_a_band_follows_its_line_and_has_gaps_where_a_bound_is_none():
    fig, ax = pyplot().subplots()
    plot_with_band(ax, [1, 2, 4], [0.2, 0.4, 0.6], [0.1, None, 0.5], [0.3, None, 0.7], label="pass@k", color="C3")
    (line,) = ax.get_lines()
    assert line.get_label() == "pass@k" and list(line.get_ydata()) == [0.2, 0.4, 0.6]
    (band,) = ax.collections
    assert np.allclose(band.get_facecolor()[0][:3], line_rgb(line)) and band.get_alpha() == pytest.approx(0.2)
    vertices = np.concatenate([path.vertices for path in band.get_paths()])
    assert not any(math.isclose(x, 2.0) for x in vertices[:, 0])  # no band at k = 2, where the bounds are None
    pyplot().close(fig)


def test_the_k_axis_is_log2_with_one_label_per_k():
    fig, ax = pyplot().subplots()
    log2_k_axis(ax, [1, 2, 4, 8])
    assert ax.get_xscale() == "log"
    assert list(ax.get_xticks()) == [1, 2, 4, 8]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["1", "2", "4", "8"]
    single = pyplot().subplots()[1]
    log2_k_axis(single, [4])
    assert single.get_xlim() == pytest.approx((4 / 1.5, 6.0))
    pyplot().close("all")
