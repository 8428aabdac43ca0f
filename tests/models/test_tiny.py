"""The tiny transformer: KV-cache sampling equals full recomputation, log-probs are consistent."""

import pytest
import torch

from passkrl.models.tiny import TinyTransformer, TinyTransformerConfig
from passkrl.models.tokenizer import CharTokenizer

TOK = CharTokenizer("abcd")
PROMPTS = [[1, 3, 4, 5], [1, 4], [1, 5, 5, 3, 4, 6]]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return TinyTransformer(TinyTransformerConfig(vocab_size=TOK.vocab_size, d_model=32, n_layers=2, n_heads=2,
                                                 d_ff=64)).eval()


def generate(model, seed=0, **kwargs):
    options = dict(temperature=1.0, top_p=1.0, eos_id=TOK.eos_id, pad_id=TOK.pad_id)
    options.update(kwargs)
    return model.generate(PROMPTS, 12, generator=torch.Generator().manual_seed(seed), **options)


def test_tokenizer_round_trip_and_errors():
    assert TOK.decode(TOK.encode("abca") + [TOK.eos_id] + TOK.encode("b")) == "abca"
    with pytest.raises(ValueError, match="'z' at position 2"):
        TOK.encode("abz")
    assert CharTokenizer.from_dict(TOK.to_dict()) == TOK


@pytest.mark.parametrize("temperature, top_p", [(0.0, 1.0), (1.0, 1.0), (1.0, 0.8), (0.7, 0.95)])
def test_kv_cache_equals_full_recomputation(model, temperature, top_p):
    a = generate(model, temperature=temperature, top_p=top_p)
    b = generate(model, temperature=temperature, top_p=top_p, use_cache=False)
    assert torch.equal(a.sequences, b.sequences)
    torch.testing.assert_close(a.logprobs, b.logprobs, atol=1e-5, rtol=0)


def test_sequence_logprobs_reproduce_sampling_logprobs(model):
    out = generate(model)
    full = torch.zeros_like(out.sequences)
    full[:, -out.completion_mask.shape[1]:] = out.completion_mask
    logprobs, entropy = model.sequence_logprobs(out.sequences, (out.sequences != TOK.pad_id).long(), full)
    t_new = out.completion_mask.shape[1]
    torch.testing.assert_close(logprobs[:, -t_new:], out.logprobs * out.completion_mask, atol=1e-5, rtol=0)
    assert torch.isfinite(entropy).all() and (entropy[:, -t_new:][out.completion_mask.bool()] > 0).all()


def test_left_padding_does_not_change_logits(model):
    alone = model(torch.tensor([[1, 4, 5]]))[0]
    padded = model(torch.tensor([[0, 0, 1, 4, 5]]), torch.tensor([[0, 0, 1, 1, 1]]))[0, 2:]
    torch.testing.assert_close(alone, padded, atol=1e-5, rtol=0)


def test_eos_padding_masks_and_suppressed_tokens(model):
    out = generate(model, seed=3)
    for row in range(len(PROMPTS)):
        ids = out.completion_ids[row].tolist()
        mask = out.completion_mask[row].tolist()
        if TOK.eos_id in ids:
            end = ids.index(TOK.eos_id)
            assert mask[: end + 1] == [1] * (end + 1) and set(mask[end + 1 :]) <= {0}
            assert set(ids[end + 1 :]) <= {TOK.pad_id}
        assert TOK.bos_id not in ids  # PAD and BOS are never sampled
        assert TOK.pad_id not in [t for t, m in zip(ids, mask) if m]


def test_seeds_and_greedy(model):
    assert torch.equal(generate(model, seed=1).sequences, generate(model, seed=1).sequences)
    assert not torch.equal(generate(model, seed=1).sequences, generate(model, seed=2).sequences)
    assert torch.equal(generate(model, top_p=1e-6).sequences, generate(model, temperature=0.0).sequences)


def test_learns_a_copy_task():
    torch.manual_seed(0)
    model = TinyTransformer(TinyTransformerConfig(vocab_size=TOK.vocab_size, d_model=32, n_layers=2, n_heads=2,
                                                  d_ff=64, max_seq_len=32))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(300):
        x = torch.randint(3, 7, (32, 4), generator=gen)
        seq = torch.cat([torch.ones(32, 1, dtype=torch.long), x, x, torch.full((32, 1), TOK.eos_id)], 1)
        target = torch.zeros_like(seq)
        target[:, 5:] = 1
        logprobs, _ = model.sequence_logprobs(seq, torch.ones_like(seq), target)
        loss = -(logprobs.sum() / target.sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
    prompt = [1, 3, 6, 4, 5]
    out = model.generate([prompt], 5, temperature=0.0, eos_id=TOK.eos_id, pad_id=TOK.pad_id)
    assert out.completion_ids[0].tolist() == [3, 6, 4, 5, TOK.eos_id]


# --- rotary positions, prompt sharing, finished groups leaving the batch


def test_rotary_positions_are_relative_and_have_no_length_table(model):
    seq = torch.tensor([[1, 3, 4, 5, 6, 3, 4]])
    base = model(seq)
    shifted = model(seq, position_ids=torch.arange(seq.shape[1])[None] + 1000)  # far past any training length
    torch.testing.assert_close(base, shifted, atol=1e-4, rtol=0)  # only distances matter
    long = torch.randint(3, 7, (2, 300), generator=torch.Generator().manual_seed(0))
    long[:, 0] = 1
    logits = model(long)  # 300 tokens: more than this model's tests ever train on
    assert torch.isfinite(logits[..., 2:]).all()


def test_kv_cache_equals_recomputation_at_unseen_lengths(model):
    prompts = [[1] + [3, 4, 5, 6] * 20, [1, 4, 4]]  # an 81-token prompt
    options = dict(temperature=1.0, top_p=0.9, eos_id=TOK.eos_id, pad_id=TOK.pad_id)
    a = model.generate(prompts, 40, generator=torch.Generator().manual_seed(5), **options)
    b = model.generate(prompts, 40, generator=torch.Generator().manual_seed(5), use_cache=False, **options)
    assert torch.equal(a.completion_ids, b.completion_ids)
    torch.testing.assert_close(a.logprobs, b.logprobs, atol=1e-5, rtol=0)


@pytest.mark.parametrize("temperature, top_p", [(1.0, 1.0), (0.7, 0.95), (0.0, 1.0)])
def test_prompt_shared_sampling_equals_unshared(model, temperature, top_p):
    n = 5
    options = dict(temperature=temperature, top_p=top_p, eos_id=TOK.eos_id, pad_id=TOK.pad_id)
    shared = model.generate(PROMPTS, 12, n_samples=n, generator=torch.Generator().manual_seed(3), **options)
    repeated = [p for p in PROMPTS for _ in range(n)]
    plain = model.generate(repeated, 12, generator=torch.Generator().manual_seed(3), **options)
    reference = model.generate(repeated, 12, generator=torch.Generator().manual_seed(3), use_cache=False, **options)
    assert torch.equal(shared.sequences, plain.sequences)
    assert torch.equal(shared.completion_ids, reference.completion_ids)
    torch.testing.assert_close(shared.logprobs, reference.logprobs, atol=1e-5, rtol=0)
    assert shared.prompt_ids.shape[0] == len(PROMPTS)  # prompts are kept once
    if temperature:
        # rows finish at different steps (finished groups leave the batch), and the samples of a prompt differ
        lengths = shared.completion_mask.sum(1)
        assert len(set(lengths.tolist())) > 1
        assert len({tuple(r) for r in shared.completion_ids[:n].tolist()}) > 1


def test_shared_logprobs_equal_unshared_values_and_gradients():
    torch.manual_seed(1)
    model = TinyTransformer(TinyTransformerConfig(vocab_size=TOK.vocab_size, d_model=32, n_layers=2, n_heads=2, d_ff=64))
    n = 4
    out = model.generate(PROMPTS, 10, n_samples=n, eos_id=TOK.eos_id, pad_id=TOK.pad_id,
                         generator=torch.Generator().manual_seed(0))
    weights = torch.randn(out.completion_ids.shape, generator=torch.Generator().manual_seed(1))

    shared_lp, shared_h = model.shared_logprobs(out.prompt_ids, out.prompt_mask, out.completion_ids, out.completion_mask, n)
    (shared_lp * weights).sum().backward()
    shared_grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()

    sequences = out.sequences
    t_new = out.completion_ids.shape[1]
    attention = torch.cat([out.prompt_mask.repeat_interleave(n, 0), out.completion_mask], 1)
    full = torch.zeros_like(sequences)
    full[:, -t_new:] = out.completion_mask
    plain_lp, plain_h = model.sequence_logprobs(sequences, attention, full)
    plain_lp, plain_h = plain_lp[:, -t_new:], plain_h[:, -t_new:]
    (plain_lp * weights).sum().backward()

    torch.testing.assert_close(shared_lp, plain_lp, atol=1e-5, rtol=0)
    torch.testing.assert_close(shared_h, plain_h, atol=1e-5, rtol=0)
    torch.testing.assert_close(shared_lp.detach(), out.logprobs * out.completion_mask, atol=1e-5, rtol=0)
    # the sampler's entropies are those of the same distributions (what the evaluation reports)
    torch.testing.assert_close(shared_h.detach(), out.entropy * out.completion_mask, atol=1e-5, rtol=0)
    assert float((out.entropy * out.completion_mask).sum()) > 0
    for name, p in model.named_parameters():
        torch.testing.assert_close(shared_grads[name], p.grad, atol=1e-5, rtol=1e-4, msg=name)
