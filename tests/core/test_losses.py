import torch

from passkrl.core.losses import dapo_policy_loss


def test_on_policy_gradient_is_advantage_weighted_logprob_gradient():
    logits = torch.randn(3, 4, requires_grad=True)
    logprobs = torch.log_softmax(logits, dim=-1)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    adv = torch.tensor([1.0, -0.5, 2.0])
    loss, stats = dapo_policy_loss(logprobs, logprobs.detach(), adv, mask)
    (grad,) = torch.autograd.grad(loss, logits, retain_graph=True)
    reference = -(logprobs * adv[:, None] * mask).sum() / mask.sum()
    (grad_ref,) = torch.autograd.grad(reference, logits)
    torch.testing.assert_close(grad, grad_ref)
    assert stats.clip_fraction == 0 and abs(stats.ratio_mean - 1) < 1e-6


def test_clip_higher_is_asymmetric():
    old = torch.zeros(1, 2)
    mask = torch.ones(1, 2)
    # ratio 1.25 is inside 1 + 0.28 but outside 1 + 0.2: not clipped with clip-higher
    new = torch.full((1, 2), torch.log(torch.tensor(1.25)).item(), requires_grad=True)
    loss, stats = dapo_policy_loss(new, old, torch.tensor([1.0]), mask)
    assert stats.clip_fraction == 0
    (g,) = torch.autograd.grad(loss, new)
    assert (g != 0).all()
    # ratio 1.4 > 1.28 with a positive advantage: clipped, no gradient
    new = torch.full((1, 2), torch.log(torch.tensor(1.4)).item(), requires_grad=True)
    loss, stats = dapo_policy_loss(new, old, torch.tensor([1.0]), mask)
    (g,) = torch.autograd.grad(loss, new)
    assert stats.clip_fraction == 1 and (g == 0).all()
    # ratio 0.75 < 0.8 with a negative advantage: clipped
    new = torch.full((1, 2), torch.log(torch.tensor(0.75)).item(), requires_grad=True)
    loss, stats = dapo_policy_loss(new, old, torch.tensor([-1.0]), mask)
    (g,) = torch.autograd.grad(loss, new)
    assert (g == 0).all()


def test_token_level_averaging_and_entropy_bonus():
    lp = torch.zeros(2, 3)
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    ent = torch.ones(2, 3)
    loss, stats = dapo_policy_loss(lp, lp, torch.tensor([1.0, 1.0]), mask, entropy_bt=ent, entropy_coef=0.1)
    assert abs(loss.item() - (-(4 / 4) - 0.1 * 1.0)) < 1e-6
    assert stats.entropy_mean == 1.0
    loss_n, _ = dapo_policy_loss(lp, lp, torch.tensor([1.0, 1.0]), mask, n_tokens=8)
    assert abs(loss_n.item() + 4 / 8) < 1e-6
