"""The statistics behind a verdict: paired differences with their intervals, Holm's adjustment, margins."""

from __future__ import annotations

import numpy as np
import pytest

from passkrl.experiment import results


def test_paired_differences_intervals_and_verdicts():
    rng = np.random.default_rng(0)
    better = [rng.random(40) * 0.2 + 0.5 for _ in range(3)]
    worse = [b - 0.1 for b in better]
    seeds = [0, 1, 2]
    diff = results.paired_difference(better, worse, seeds)
    assert diff["mean"] == pytest.approx(0.1)
    assert diff["low"] == pytest.approx(0.1) and diff["high"] == pytest.approx(0.1)  # paired: no noise at all
    noisy = results.paired_difference(better, [rng.random(40) * 0.2 + 0.5 for _ in range(3)], seeds)
    assert noisy["low"] < noisy["mean"] < noisy["high"]
    claims = [{"difference": diff, "null": 0.0}, {"difference": noisy, "null": 0.0},
              {"difference": results.paired_difference(worse, better, seeds), "null": 0.0}]
    results.adjust(claims)
    assert [c["verdict"] for c in claims] == ["reproduced", "inconclusive", "not reproduced"]
    for claim in claims:  # the adjusted interval is at least as wide as the unadjusted one
        assert claim["holm"]["low"] <= claim["difference"]["low"] + 1e-12
        assert claim["holm"]["p"] >= claim["difference"]["p"]
    summary = results.summarise(better, seeds)
    assert summary["low"] <= summary["mean"] <= summary["high"]
    assert results.summarise([np.array([])], [0])["mean"] is None
    with pytest.raises(ValueError, match="same number of replicates"):
        results.summarise(better, [0, 0, 1])


def test_holm_can_turn_a_claim_inconclusive_and_margins_decide_non_inferiority():
    """Two claims each just significant alone beside a strong one: Holm keeps the strong one and turns
    the two inconclusive; a small loss within the margin is non-inferior, a larger one is not."""
    rng = np.random.default_rng(5)
    maze = rng.normal(0, 0.1, 300)
    runs = [0.0, 0.004, -0.004, 0.002, -0.002, 0.0]  # [W=3, R=2] run effects
    seeds = [0, 0, 1, 1, 2, 2]

    def claim(shift: float, margin: float | None = None) -> dict:
        null = -margin if margin is not None else 0.0
        return {"difference": results.paired_difference([maze + r + shift for r in runs], [maze] * 6, seeds, null=null),
                "null": null}

    # warm-up means of the run effects: 0.002, -0.001, -0.001, so se = 0.001 with 2 degrees of freedom
    strong, weak, weaker = claim(0.05), claim(0.0055), claim(0.005)
    assert strong["difference"]["p"] < 0.001
    assert weak["difference"]["p"] == pytest.approx(0.0315, abs=5e-4)  # t = 5.5
    assert weaker["difference"]["p"] == pytest.approx(0.0377, abs=5e-4)  # t = 5
    family = [strong, weak, weaker]
    results.adjust(family)
    assert [c["verdict_unadjusted"] for c in family] == ["reproduced"] * 3
    assert [c["verdict"] for c in family] == ["reproduced", "inconclusive", "inconclusive"]
    assert family[0]["holm"]["low"] > 0 and family[1]["holm"]["low"] < 0 and family[2]["holm"]["low"] < 0
    assert [c["holm"]["level"] for c in family] == pytest.approx([1 - 0.05 / 3, 1 - 0.05 / 2, 1 - 0.05 / 2])
    within, beyond = claim(-0.004, margin=0.03), claim(-0.06, margin=0.01)
    results.adjust([within, beyond])
    assert within["verdict"] == "reproduced" and beyond["verdict"] == "not reproduced"
