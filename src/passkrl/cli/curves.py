"""``passkrl curves``: advantage, eta and expected-gradient-weight curves against group accuracy.

Reproduces arXiv 2508.10751 Fig. 9 (A_pos, A_neg and eta of Pass@1 and Pass@k Training against the
number of correct answers) and Fig. 18 (the shapers), and adds the expected-gradient weight ``w(p)``
of every deterministic estimator (see :mod:`passkrl.core.curves`).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import tyro

from passkrl.core.k import check_k
from passkrl.io import check_output_file, pyplot, save_figure_atomic, write_json_atomic
from passkrl.limits import require_memory

if TYPE_CHECKING:  # the estimators import torch: main imports them after the checks that need no torch
    from passkrl.core.curves import AdvantageCurve
    from passkrl.estimators import Estimator

@dataclasses.dataclass(frozen=True)
class CurvesConfig:
    """Advantage of a correct and a wrong answer, and eta, against group accuracy (Fig. 9 and 18)."""

    n: int = 32
    """Responses per prompt (the group size)."""
    k: int = 8
    """The k of the pass@k estimators."""
    estimator: str = "passk_analytic"
    """The pass@k estimator compared with pass@1 (GRPO) in the table."""
    plot: Path | None = None
    """Write a PNG with the advantage, eta and w(p) panels here."""
    json: Annotated[Path | None, tyro.conf.arg(name="json")] = None
    """Write every number of the table and the curves here."""
    sampling: bool = False
    """Also draw the sampling estimators (passk_full, passk_bootstrap), averaged over seeded draws."""


def _wraps_estimators(record: Estimator) -> bool:
    """A shaper: one of its parameters names an estimator (declared with ``metadata={"estimator": True}``)."""
    return any(field.metadata.get("estimator") for field in dataclasses.fields(record.params))


def _curves(cfg: CurvesConfig) -> dict[str, AdvantageCurve]:
    """The curve of every registered estimator whose advantages depend only on the rewards (it declares
    no inputs such as entropy) and that accepts this ``n`` and ``k`` (``pkpo_loo`` refuses ``k = n``)."""
    from passkrl import estimators
    from passkrl.core.curves import SAMPLING, advantage_curve

    names = [name for name in estimators.names() if not estimators.REGISTRY[name].needs]
    if not cfg.sampling:
        names = [name for name in names if name not in SAMPLING]
    curves = {}
    for name in names:
        k = cfg.k if estimators.REGISTRY[name].uses_k else 1
        try:
            curves[name] = advantage_curve(name, n=cfg.n, k=k)
        except ValueError:  # the estimator's own check refuses this n and k: it has no curve here
            continue
    return curves


def format_table(pass1: AdvantageCurve, passk: AdvantageCurve) -> str:
    header = (f"{'correct':>7} {'acc':>6} | {'A_pos@1':>8} {'A_neg@1':>8} {'eta@1':>7} | "
              f"{'A_pos@' + str(passk.k):>8} {'A_neg@' + str(passk.k):>8} {'eta@' + str(passk.k):>7}")
    lines = [f"{passk.name} (k={passk.k}) against grpo (pass@1), n={passk.n}", header, "-" * len(header)]

    def fmt(x):
        return f"{x:8.4f}" if math.isfinite(x) else f"{'-':>8}"

    for c in range(passk.n + 1):
        lines.append(
            f"{c:>7} {c / passk.n:6.3f} | {fmt(pass1.a_pos[c])} {fmt(pass1.a_neg[c])} {pass1.eta[c]:7.3f} | "
            f"{fmt(passk.a_pos[c])} {fmt(passk.a_neg[c])} {passk.eta[c]:7.3f}"
        )
    lines.append(f"eta argmax: pass@1 at accuracy {np.argmax(pass1.eta) / passk.n:.3f}, "
                 f"pass@{passk.k} at {np.argmax(passk.eta) / passk.n:.3f}")
    return "\n".join(lines)


def draw(cfg: CurvesConfig, pass1: AdvantageCurve, passk: AdvantageCurve, curves: dict[str, AdvantageCurve]) -> None:
    from passkrl import estimators

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    acc = passk.accuracy
    ax = axes[0]
    for curve, style in ((pass1, "--"), (passk, "-")):
        label = "pass@1" if curve is pass1 else f"pass@{curve.k}"
        ax.plot(acc, curve.a_pos, style, color="tab:green", label=f"A_pos {label}")
        ax.plot(acc, curve.a_neg, style, color="tab:red", label=f"A_neg {label}")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="group accuracy c / n", ylabel="advantage", title=f"advantages, n={cfg.n} (Fig. 9)")
    ax.legend(fontsize=8)
    ax = axes[1]
    # pass@1, the compared estimator and the shapers (Fig. 18)
    shapers = [name for name in curves if _wraps_estimators(estimators.REGISTRY[name])]
    for name in dict.fromkeys(("grpo", cfg.estimator, *shapers)):
        if name in curves:
            ax.plot(acc, curves[name].eta, label=f"{name} (k={curves[name].k})")
    ax.set(xlabel="group accuracy c / n", ylabel="eta = sum |A| (eq. 16)", title="sum of absolute advantage")
    ax.legend(fontsize=8)
    ax = axes[2]
    p = np.linspace(0.001, 0.999, 300)
    colours = plt.get_cmap("tab20").colors
    for i, (name, curve) in enumerate(curves.items()):
        w = curve.weight(p)
        ax.plot(p, w / np.max(np.abs(w)), label=f"{name} (k={curve.k})", lw=1.2,
                color=colours[i % len(colours)], ls=("-", "--", "-.")[i % 3])
    ax.plot(p, cfg.k * (1 - p) ** (cfg.k - 1) / cfg.k, "k:", lw=2, label=f"alpha_{cfg.k} = k(1-p)^(k-1)")
    ax.set(xlabel="prompt accuracy p", ylabel="w(p) / max w", title="expected-gradient weight (normalised)")
    ax.legend(fontsize=6, ncol=2)
    fig.suptitle(f"passkrl curves: n={cfg.n}, k={cfg.k}")
    save_figure_atomic(fig, cfg.plot)


def main(argv: list[str]) -> int:
    cfg = tyro.cli(CurvesConfig, args=argv, prog="passkrl curves")
    if cfg.n < 1:
        raise ValueError(f"--n must be >= 1, got --n {cfg.n}")
    check_k(cfg.k, cfg.n, name="--k", n_name="--n")
    # every curve evaluates the estimator on the [n+1, n] table of groups with c = 0..n correct answers:
    # the rewards and the advantages, float64 (checked before torch's import: an absurd --n is refused at once)
    require_memory(16.0 * (cfg.n + 1) * cfg.n, request=f"--n {cfg.n}",
                   what=f"the rewards and advantages of {cfg.n + 1:,} groups of {cfg.n:,} answers")
    from passkrl import estimators
    from passkrl.core.curves import advantage_curve

    if cfg.estimator not in estimators.REGISTRY:
        raise ValueError(f"unknown estimator {cfg.estimator!r}; known: {', '.join(estimators.names())}")
    check_output_file(cfg.plot, "--plot", suffix=".png")
    check_output_file(cfg.json, "--json", inputs=(("--plot", cfg.plot),) if cfg.plot is not None else ())
    pass1 = advantage_curve("grpo", n=cfg.n, k=1)
    passk = advantage_curve(cfg.estimator, n=cfg.n, k=cfg.k)
    print(format_table(pass1, passk))
    curves = _curves(cfg)
    probe = [0.02, 0.1, 0.25, 0.5, 0.75, 0.9]
    print(f"\nexpected-gradient weight w(p) (n={cfg.n}):")
    print(f"{'estimator':<18}{'k':>3} " + " ".join(f"{f'p={x}':>9}" for x in probe))
    for name, curve in curves.items():
        print(f"{name:<18}{curve.k:>3} " + " ".join(f"{w:9.3f}" for w in curve.weight(probe)))
    print(f"{'alpha_k':<18}{cfg.k:>3} " + " ".join(f"{cfg.k * (1 - x) ** (cfg.k - 1):9.3f}" for x in probe))
    if cfg.json is not None:
        write_json_atomic(cfg.json, {
            "n": cfg.n, "k": cfg.k,
            "curves": {name: {"k": c.k, "a_pos": _nan_to_none(c.a_pos), "a_neg": _nan_to_none(c.a_neg),
                              "eta": c.eta.tolist(), "w_at": dict(zip(map(str, probe), c.weight(probe).tolist()))}
                       for name, c in curves.items()},
        })
    if cfg.plot is not None:
        draw(cfg, pass1, passk, curves)
        print(f"\nplot written to {cfg.plot}")
    return 0


def _nan_to_none(values: np.ndarray) -> list:
    return [None if not math.isfinite(v) else float(v) for v in values]
