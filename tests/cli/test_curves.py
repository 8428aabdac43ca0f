import json

import pytest

from passkrl.cli import main


def test_curves_prints_table_and_writes_png_and_json(tmp_path, capsys):
    png, data = tmp_path / "curves.png", tmp_path / "curves.json"
    assert main(["curves", "--n", "16", "--k", "4", "--plot", str(png), "--json", str(data)]) == 0
    out = capsys.readouterr().out
    assert "eta argmax: pass@1 at accuracy 0.500, pass@4 at 0.250" in out
    assert "pkpo_loo1" in out and "alpha_k" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    numbers = json.loads(data.read_text())
    assert numbers["n"] == 16 and numbers["curves"]["grpo"]["a_pos"][0] is None
    assert numbers["curves"]["pkpo"]["w_at"]["0.5"] == pytest.approx(4 * 0.5**3)


def test_curves_rejects_bad_k(capsys):
    assert main(["curves", "--n", "4", "--k", "5"]) == 2
    assert "1 <= k <= n" in capsys.readouterr().err


def test_curves_refuses_a_plot_that_is_not_a_png_before_any_work(tmp_path, capsys):
    out = tmp_path / "x.txt"
    assert main(["curves", "--n", "8", "--k", "2", "--plot", str(out)]) == 2
    assert "--plot: the file must end in .png, got" in capsys.readouterr().err
    assert not out.exists()


def test_an_absurd_n_is_refused_before_torch_is_imported():
    """The memory check needs no estimator: the refusal does not wait for torch's import (about a second)."""
    import subprocess
    import sys

    script = ("import sys; from passkrl.cli import main; code = main(['curves', '--n', '100000000', '--k', '8']); "
              "print(code, 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["2", "False"], proc.stdout + proc.stderr
    assert "--n 100000000: needs at least" in proc.stderr
