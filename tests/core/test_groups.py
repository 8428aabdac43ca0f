"""Groups checked once (passkrl.core.groups.prepare) and their accuracy (group_mean)."""

from __future__ import annotations

import pytest
import torch

from passkrl.core.groups import Groups, as_tensor, group_mean, prepare


def test_prepare_zeroes_masked_entries_and_counts_each_group():
    rewards = torch.tensor([[1.0, float("nan"), 0.0], [1.0, 1.0, 0.0]])
    mask = torch.tensor([[True, False, True], [True, True, True]])
    g = prepare(rewards, mask, 2)
    assert isinstance(g, Groups) and g.rewards.dtype == torch.float64
    assert g.rewards.tolist() == [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]  # the masked NaN is never read
    assert g.n.tolist() == [2, 3] and not g.full and g.binary
    assert group_mean(g).tolist() == [0.5, 2 / 3]  # c / n over the valid responses


def test_prepare_holds_k_to_every_group_by_the_k_rule():
    rewards = torch.ones(3, 4)
    mask = torch.tensor([[True] * 4, [True, True, False, False], [True, False, False, False]])
    with pytest.raises(ValueError, match=r"k=3 is larger than the group size n=2 of group 1 \(its valid responses\)"):
        prepare(rewards, mask, 3)
    with pytest.raises(ValueError, match=r"k=5 is larger than the group size n=4: need 1 <= k <= n"):
        prepare(rewards, None, 5)
    with pytest.raises(ValueError, match=r"k must be an integer, got 2\.0 \(float\)"):
        prepare(rewards, None, 2.0)


@pytest.mark.parametrize(
    ("rewards", "mask", "message"),
    [
        (torch.ones(4), None, r"shape \[n_prompts, n_rollouts\] \(2 dimensions\)"),
        (torch.ones(0, 4), None, "rewards is empty"),
        (torch.tensor([[1.0, float("inf")]]), None, r"rewards must be finite; rewards\[0, 1\] = inf"),
        (torch.ones(1, 2), [[1, 2]], r"mask must hold booleans \(or 0/1\); mask\[0, 1\] = 2"),
        (torch.ones(1, 2), [[True]], r"mask has shape \(1, 1\) but rewards have shape \(1, 2\)"),
    ],
)
def test_prepare_names_what_is_wrong(rewards, mask, message):
    with pytest.raises(ValueError, match=message):
        prepare(rewards, mask, 1)


def test_as_tensor_refuses_what_is_not_a_real_rectangle():
    assert as_tensor([[1, 0]]).dtype == torch.int64
    with pytest.raises(ValueError, match="rectangular"):
        as_tensor([[1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="real numbers"):
        as_tensor([["a"]])
