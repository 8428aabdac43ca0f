"""The studies: every one plans valid, paired arms, names where each claim is made, and has a primary claim."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from passkrl.experiment import runner
from passkrl.experiment.studies import K, STUDIES, WARM_UP, get_study, scaled_lr
from passkrl.train.config import TrainConfig


def test_every_study_plans_valid_configs_with_paired_arms():
    for study in STUDIES.values():
        specs = runner.plan(study, 2, quick=True, out=Path("/tmp/none"), replicates=2)
        assert len(specs) == 4 * len(study.arms)
        assert len({s.run_dir for s in specs}) == len(specs)
        assert {s.unit for s in specs} == {(0, 0), (0, 1), (1, 0), (1, 1)}
        assert all((s.config.seed, s.config.rl_seed) == s.unit for s in specs)
        labels = {arm.label for arm in study.arms}
        for claim in study.claims:
            assert {claim.better, claim.worse} <= labels | {WARM_UP}, (study.name, claim.text)
    # shared arms give the same run directory in different studies
    main = {s.arm.label: s.run_dir for s in runner.plan(get_study("main"), 1, quick=True, out=Path("/x"))}
    expl = {s.arm.label: s.run_dir for s in runner.plan(get_study("exploration"), 1, quick=True, out=Path("/x"))}
    assert main["pass@1"] == expl["pass@1"] and main["pass@k analytic"] == expl["pass@k analytic"]
    # equal settings under another label are one run too
    k_study = {s.arm.label: s.run_dir for s in runner.plan(get_study("k"), 1, quick=True, out=Path("/x"))}
    assert k_study[f"k={K}"] == main["pass@k analytic"]


def test_scaled_lr_follows_the_eta_ratio():
    assert scaled_lr(2) == pytest.approx(TrainConfig.lr)
    assert scaled_lr(8) > scaled_lr(4) > TrainConfig.lr
    assert scaled_lr(2, n=16, base_lr=5e-5) == pytest.approx(5e-5)


def test_every_claim_names_where_it_is_made_and_every_study_a_primary_claim():
    """A claim's source is a section, figure or table of the paper, Yu's note, or says that the paper
    does not make it; the claim the paper's own words contradict is stated as the paper states it."""
    pattern = re.compile(r"§\d|Fig\. \d|Tables? \d|Yu's note|not in the paper")
    for study in STUDIES.values():
        assert study.claims and 0 <= study.primary < len(study.claims)
        for claim in study.claims:
            assert pattern.search(claim.source), (study.name, claim.text, claim.source)
            assert "Fig. 1," not in claim.source and claim.source != "Fig. 1"  # an Enigmata plot
            if claim.margin is not None:
                assert 0 < claim.margin < 0.1
    main = get_study("main")
    stable = next(c for c in main.claims if "stays stable" in c.text)
    assert (stable.better, stable.worse, stable.margin) == ("pass@1", WARM_UP, 0.01)  # §2.2: "remains stable"
    assert main.claims[main.primary].sizes == "trained"
    with pytest.raises(ValueError, match="primary claim 3 is not one of its 1 claims"):
        type(main)(name="x", title="x", question="x", arms=main.arms, claims=main.claims[:1], primary=3)


def test_an_unknown_study_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown study 'mian'"):
        get_study("mian")
