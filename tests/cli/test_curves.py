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


def test_every_estimator_that_accepts_n_and_k_has_a_curve_whatever_its_name(tmp_path, capsys):
    """No estimator is left out by name: one needing entropy has no curve, one refusing k = n (pkpo_loo) is
    skipped by its own check, the sampling ones only with --sampling; a newly registered one is drawn (even
    one named test_*)."""
    from passkrl import estimators

    @estimators.register("test_sign_kernel", uses_k=False, summary="sign of the centred reward")
    def test_sign_kernel(g, p, *, k, generator):
        return (g.rewards - g.rewards.mean(dim=1, keepdim=True)).sign()

    data = tmp_path / "curves.json"
    try:
        assert main(["curves", "--n", "4", "--k", "4", "--json", str(data)]) == 0
    finally:
        estimators.REGISTRY.pop("test_sign_kernel")
    curves = json.loads(data.read_text())["curves"]
    assert "test_sign_kernel" in curves and curves["test_sign_kernel"]["k"] == 1
    assert curves["test_sign_kernel"]["a_pos"] == [None, 1.0, 1.0, 1.0, 0.0]  # all correct: every reward is the mean
    assert "pkpo_loo" not in curves and curves["pkpo_loo1"]["k"] == 4
    assert "adaptive_entropy" not in curves and "passk_full" not in curves
    assert {"combination", "exceeding", "drop_easy", "alpha_reweight", "grpo", "passk_analytic"} <= set(curves)
    assert "test_sign_kernel" in capsys.readouterr().out


def test_the_shapers_are_the_estimators_with_a_parameter_naming_an_estimator():
    from passkrl import estimators
    from passkrl.cli.curves import _wraps_estimators

    shapers = {name for name in estimators.names() if _wraps_estimators(estimators.REGISTRY[name])}
    assert shapers == {"combination", "exceeding", "drop_easy", "adaptive_entropy", "alpha_reweight"}
