"""A tiny decoder-only transformer with rotary positions and prompt-shared KV-cache sampling.

Pre-LayerNorm blocks, rotary position embeddings (RoPE, Su et al., arXiv 2104.09864), tied
input/output embeddings, attention through ``scaled_dot_product_attention``. Under bfloat16 autocast
(``--precision``) only the blocks' linear layers compute in bfloat16: attention and the output logits
stay float32. RoPE makes the attention
score of a query and a key a function of their *distance* only, and it has no table of positions, so
a model trained on short sequences can still address positions it never saw (a larger maze is a
longer prompt): whether it *generalises* there is then a measurable question, not an impossibility.

Prompts of different lengths are left-padded: padding is masked out of attention and positions
count from each row's first real token, so a prompt gives the same logits alone or in a padded batch.

Rollout groups share their prompt. :meth:`TinyTransformer.generate` with ``n_samples = n`` runs the
prefill once per prompt and keeps its keys and values once: the ``n`` samples' queries meet them in
one matrix product per prompt and head, and only each sample's own tokens are cached per row; groups
whose samples have all emitted EOS leave the batch (the caches are compacted), and no finished row
is reported. :meth:`TinyTransformer.shared_logprobs` does the same for
the update: each prompt's hidden states are computed once (with gradient) and every completion
attends to them. Both are exact rewrites of the unshared computation (tests compare them). Sampling
draws one uniform number per row and step from the generator and inverts the CDF, so which row
leaves the batch when never changes another row's draw: the shared, compacted sampler and the plain
recomputing one return the same tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class TinyTransformerConfig:
    vocab_size: int
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 512
    max_seq_len: int = 4096
    """Longest prompt + completion accepted (a sanity limit: RoPE has no position table)."""
    dropout: float = 0.0
    suppress_ids: tuple[int, ...] = (0, 1)
    """Token ids the model never predicts (PAD and BOS): their logits are -inf."""
    rope_base: float = 10_000.0
    """Base of the rotary frequencies ``base^(-2i/d_head)``."""


@dataclass
class GenerationOutput:
    """Samples of ``P`` prompts, ``n_samples`` each: completion row ``i * n_samples + j`` is sample ``j`` of prompt ``i``."""

    prompt_ids: torch.Tensor  # [P, T_prompt] left-padded prompts
    prompt_mask: torch.Tensor  # [P, T_prompt] 1 on real prompt tokens
    completion_ids: torch.Tensor  # [B, T_new] completions, PAD after EOS (B = P * n_samples)
    completion_mask: torch.Tensor  # [B, T_new] 1 for generated tokens up to and including EOS
    logprobs: torch.Tensor  # [B, T_new] log pi(token) of the unmodified policy (before temperature/top-p)
    prompt_lengths: torch.Tensor  # [P] real tokens per prompt
    n_samples: int = 1
    entropy: torch.Tensor | None = None  # [B, T_new] entropy of the unmodified policy at each generated token, 0 after EOS

    @property
    def sequences(self) -> torch.Tensor:
        """``[B, T_prompt + T_new]``: each completion after its (repeated) left-padded prompt."""
        prompts = self.prompt_ids.repeat_interleave(self.n_samples, dim=0)
        return torch.cat([prompts, self.completion_ids], dim=1)


def rope_tables(positions: torch.Tensor, d_head: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos, sin`` of shape ``[B, 1, T, d_head]`` for integer ``positions [B, T]``."""
    inv_freq = base ** (-torch.arange(0, d_head, 2, dtype=torch.float32, device=positions.device) / d_head)
    angles = positions.to(torch.float32)[..., None] * inv_freq  # [B, T, d_head / 2]
    angles = torch.cat([angles, angles], dim=-1)[:, None]  # [B, 1, T, d_head]
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the pairs ``(x_i, x_{i + d/2})`` by the position's angles (the rotate-half form of RoPE)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rotated * sin


class Block(nn.Module):
    def __init__(self, cfg: TinyTransformerConfig):
        super().__init__()
        self.n_heads = cfg.n_heads
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.GELU(), nn.Linear(cfg.d_ff, cfg.d_model))
        self.dropout = cfg.dropout

    def qkv_heads(self, x, rope):
        """Rotated queries and keys and the values, ``[B, H, T, d_head]`` each."""
        b, t, d = x.shape
        qkv = self.qkv(self.ln1(x)).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(qkv[:2], *rope)  # queries and keys rotated together: [2, B, H, T, d_head]
        return q, k, qkv[2]

    def finish(self, x, q, k, v, attn_mask):
        """Attention of ``q`` over ``(k, v)`` under ``attn_mask``, then the residual MLP."""
        b, t, d = x.shape
        # float32 under bfloat16 autocast too: the CPU's bfloat16 attention backward is several times
        # slower than float32's, and the attention weights are where rounding would hurt most
        with torch.autocast(x.device.type, enabled=False):
            y = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=attn_mask,
                                               dropout_p=self.dropout if self.training else 0.0)
        return self.residual(x, y)

    def residual(self, x, y):
        """The attention output ``y [B, H, T, d_head]`` projected and added, then the MLP."""
        b, t, d = x.shape
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class TinyTransformer(nn.Module):
    def __init__(self, cfg: TinyTransformerConfig):
        super().__init__()
        if cfg.d_model % cfg.n_heads:
            raise ValueError(f"d_model {cfg.d_model} must be divisible by n_heads {cfg.n_heads}")
        if (cfg.d_model // cfg.n_heads) % 2:
            raise ValueError(f"rotary positions need an even head width, got d_model/n_heads = {cfg.d_model // cfg.n_heads}")
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)

    @property
    def d_head(self) -> int:
        return self.cfg.d_model // self.cfg.n_heads

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @staticmethod
    def positions(attention_mask: torch.Tensor) -> torch.Tensor:
        return (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)

    def _rope(self, positions):
        return rope_tables(positions, self.d_head, self.cfg.rope_base)

    def _logits(self, x):
        with torch.autocast(x.device.type, enabled=False):  # float32 logits: the log-probabilities the ratio is made of
            logits = self.ln_f(x.float()) @ self.tok.weight.T
        if self.cfg.suppress_ids:
            logits[..., list(self.cfg.suppress_ids)] = -math.inf
        return logits

    def _check_length(self, t: int) -> None:
        if t > self.cfg.max_seq_len:
            raise ValueError(f"sequence of {t} tokens exceeds max_seq_len {self.cfg.max_seq_len}")

    @staticmethod
    def _causal_padded_mask(attention_mask):
        """``[B, 1, T, T]``: causal and not padding; a padding query sees itself (no empty rows)."""
        t = attention_mask.shape[1]
        device = attention_mask.device
        causal = torch.ones(t, t, dtype=torch.bool, device=device).tril()
        allowed = causal[None] & attention_mask.bool()[:, None, :]
        return (allowed | torch.eye(t, dtype=torch.bool, device=device)[None])[:, None]

    def hidden(self, input_ids, attention_mask=None, position_ids=None, *, return_kv: bool = False):
        """Final hidden states ``[B, T, D]`` (before the last LayerNorm) and, if asked, each layer's ``(k, v)``."""
        self._check_length(input_ids.shape[1])
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if position_ids is None:
            position_ids = self.positions(attention_mask)
        mask = self._causal_padded_mask(attention_mask)
        rope = self._rope(position_ids)
        x = self.tok(input_ids)
        kvs = []
        for block in self.blocks:
            q, k, v = block.qkv_heads(x, rope)
            kvs.append((k, v))
            x = block.finish(x, q, k, v, mask)
        return (x, kvs) if return_kv else x

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        """Logits ``[B, T, V]`` of a (left-padded) batch."""
        return self._logits(self.hidden(input_ids, attention_mask, position_ids))

    def sequence_logprobs(self, input_ids, attention_mask, completion_mask):
        """``log p(x_t | x_<t)`` and the entropy of that predictive distribution, ``[B, T]`` each.

        Aligned to the token they predict (column 0 is always 0); zero where ``completion_mask`` is 0.
        """
        logits = self.forward(input_ids, attention_mask).float()  # [B, T, V]
        token_logp, entropy = _token_logp_entropy(logits[:, :-1], input_ids[:, 1:])  # predicts tokens 1..T-1
        keep = completion_mask[:, 1:].bool()
        token_logp = torch.where(keep, token_logp, torch.zeros_like(token_logp))
        entropy = torch.where(keep, entropy, torch.zeros_like(entropy))
        zeros = torch.zeros_like(token_logp[:, :1])
        return torch.cat([zeros, token_logp], 1), torch.cat([zeros, entropy], 1)

    def shared_logprobs(self, prompt_ids, prompt_mask, completion_ids, completion_mask, n_samples: int):
        """Log-probabilities and entropies ``[B, T_new]`` of completions that share their prompts.

        ``prompt_ids [P, T_p]`` (left-padded), ``completion_ids [B, T_new]`` with ``B = P * n_samples``
        (row ``i * n_samples + j`` follows prompt ``i``). Equal to :meth:`sequence_logprobs` on the
        concatenated sequences, but every prompt's tokens pass through the network once, not
        ``n_samples`` times: the completions' queries attend to the prompt's keys and values,
        expanded over the group. Zero where ``completion_mask`` is 0.
        """
        n_prompts, t_prompt = prompt_ids.shape
        b, t_new = completion_ids.shape
        if b != n_prompts * n_samples:
            raise ValueError(f"{b} completions for {n_prompts} prompts x {n_samples} samples")
        self._check_length(t_prompt + t_new)
        device = prompt_ids.device
        prompt_mask = prompt_mask.bool()
        lengths = prompt_mask.sum(dim=1)  # [P]
        x_p = self.tok(prompt_ids)
        rope_p = self._rope(self.positions(prompt_mask))
        mask_p = self._causal_padded_mask(prompt_mask)
        # completion token j of a row sits at position len(prompt) + j
        positions_c = lengths.repeat_interleave(n_samples)[:, None] + torch.arange(t_new, device=device)[None]
        rope_c = self._rope(positions_c)
        # [B, 1, T_new, T_p + T_new]: the prompt's real tokens, then causal over the completion
        see_prompt = prompt_mask.repeat_interleave(n_samples, dim=0)[:, None, None, :].expand(b, 1, t_new, t_prompt)
        causal = torch.ones(t_new, t_new, dtype=torch.bool, device=device).tril()[None, None].expand(b, 1, t_new, t_new)
        mask_c = torch.cat([see_prompt, causal], dim=-1)
        x_c = self.tok(completion_ids)
        for block in self.blocks:
            q_p, k_p, v_p = block.qkv_heads(x_p, rope_p)
            q_c, k_c, v_c = block.qkv_heads(x_c, rope_c)
            keys = torch.cat([k_p.repeat_interleave(n_samples, dim=0), k_c], dim=2)
            values = torch.cat([v_p.repeat_interleave(n_samples, dim=0), v_c], dim=2)
            x_c = block.finish(x_c, q_c, keys, values, mask_c)
            x_p = block.finish(x_p, q_p, k_p, v_p, mask_p)
        # the prompt's last position predicts completion token 0; completion position j predicts j + 1
        first = self._logits(x_p[:, -1]).float().repeat_interleave(n_samples, dim=0)[:, None]  # [B, 1, V]
        rest = self._logits(x_c[:, :-1]).float()  # [B, T_new - 1, V]
        logp, entropy = _token_logp_entropy(torch.cat([first, rest], dim=1), completion_ids)
        keep = completion_mask.bool()
        return torch.where(keep, logp, torch.zeros_like(logp)), torch.where(keep, entropy, torch.zeros_like(entropy))

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, *, temperature: float = 1.0,
                 top_p: float = 1.0, eos_id: int, pad_id: int, generator: torch.Generator | None = None,
                 n_samples: int = 1, use_cache: bool = True) -> GenerationOutput:
        """``n_samples`` completions of each prompt (row ``i * n_samples + j``), stopping at EOS.

        With the cache (the default) each prompt is prefilled once and its keys and values are shared by
        its samples, and finished groups leave the batch. ``use_cache=False`` recomputes every sequence from
        scratch at every step: the reference the fast path is tested against (same tokens).
        """
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        device = self.tok.weight.device
        n_prompts = len(prompts)
        b = n_prompts * n_samples
        lengths = torch.tensor([len(p) for p in prompts], device=device)
        t_prompt = int(lengths.max())
        self._check_length(t_prompt + max_new_tokens)
        prompt_ids = torch.full((n_prompts, t_prompt), pad_id, dtype=torch.long, device=device)
        for row, p in enumerate(prompts):
            prompt_ids[row, t_prompt - len(p):] = torch.tensor(p, device=device)
        prompt_mask = prompt_ids != pad_id
        completion = torch.full((b, max_new_tokens), pad_id, dtype=torch.long, device=device)
        logprobs = torch.zeros((b, max_new_tokens), device=device)
        entropy = torch.zeros((b, max_new_tokens), device=device)
        done = torch.zeros(b, dtype=torch.bool, device=device)
        step_logits = (self._cached_steps if use_cache else self._recomputed_steps)(
            prompt_ids, prompt_mask, completion, done, n_samples, max_new_tokens)
        n_new = 0
        for step, (rows, logits) in enumerate(step_logits):
            # one uniform per row of the whole batch, finished or not: a row's draw never depends on the others
            uniforms = torch.rand(b, generator=generator, device=device)[rows]
            token, logp, token_entropy = _sample(logits.float(), temperature, top_p, uniforms)
            completion[rows, step] = token
            logprobs[rows, step] = logp
            entropy[rows, step] = token_entropy
            done[rows] = token == eos_id
            n_new = step + 1
        # PAD is never sampled: the generated tokens are exactly the non-PAD ones (EOS included)
        mask = (completion[:, :n_new] != pad_id).long()
        return GenerationOutput(prompt_ids, prompt_mask.long(), completion[:, :n_new], mask, logprobs[:, :n_new],
                                lengths, n_samples, entropy[:, :n_new])

    def _cached_steps(self, prompt_ids, prompt_mask, completion, done, n_samples, max_new_tokens):
        """Yield ``(rows, logits [len(rows), V])`` for each step: the rows still generating and their next-token logits.

        Prefix-shared decoding: each prompt's keys are kept once, transposed, ``[P * H, d_head, T_p]``
        (values ``[P * H, T_p, d_head]``), and the ``n`` queries of its samples meet them in one matrix
        product per prompt and head; only the completion's own keys and values are kept per sample, in
        ``[P * H * n, T_new, d_head]`` (group, head, sample) order so that both parts of the scores come out
        ``[g * H, n, .]`` and one softmax runs over the whole sequence, the prompt never copied ``n`` times.
        Groups whose samples have all finished leave the batch. Rotary angles come from one table per call.
        """
        device = prompt_ids.device
        n, h, d_head = n_samples, self.cfg.n_heads, self.d_head
        x, kvs = self.hidden(prompt_ids, prompt_mask, return_kv=True)  # one prefill per prompt
        n_prompts, t_prompt = prompt_ids.shape
        prompt_keys_t = [k.transpose(-1, -2).reshape(n_prompts * h, d_head, t_prompt) for k, _ in kvs]
        prompt_values = [v.reshape(n_prompts * h, t_prompt, d_head) for _, v in kvs]
        # 0 where a query may look, -inf on padding: added to the prompt's scores by the same product
        prompt_bias = torch.zeros(n_prompts * h, 1, t_prompt, device=device).masked_fill(
            ~prompt_mask.bool().repeat_interleave(h, dim=0)[:, None], -math.inf)
        shape = (n_prompts * h * n, max_new_tokens, d_head)
        completion_keys = [torch.empty(shape, device=device) for _ in self.blocks]
        completion_values = [torch.empty(shape, device=device) for _ in self.blocks]
        lengths = prompt_mask.sum(1)
        cos_table, sin_table = rope_tables(torch.arange(t_prompt + max_new_tokens, device=device)[None], d_head,
                                           self.cfg.rope_base)  # [1, 1, T, d_head]
        groups = torch.arange(n_prompts, device=device)
        scale = d_head ** -0.5
        samples = torch.arange(n, device=device)
        yield torch.arange(n_prompts * n, device=device), self._logits(x[:, -1]).repeat_interleave(n, dim=0)
        for step in range(1, max_new_tokens):
            rows = (groups[:, None] * n + samples[None]).reshape(-1)
            alive = ~done[rows]
            if not bool(alive.any()):
                return
            live_groups = alive.view(-1, n).any(dim=1)
            if int(live_groups.sum()) <= 0.75 * len(groups):  # compact: finished groups leave the batch
                keep = live_groups.nonzero().squeeze(1)
                groups, rows, alive = groups[keep], rows.view(-1, n)[keep].reshape(-1), alive.view(-1, n)[keep].reshape(-1)

                def select(tensors, per_group):
                    return [t.view(-1, per_group, *t.shape[1:]).index_select(0, keep).view(-1, *t.shape[1:]) for t in tensors]

                prompt_keys_t, prompt_values = select(prompt_keys_t, h), select(prompt_values, h)
                prompt_bias = select([prompt_bias], h)[0]
                completion_keys, completion_values = select(completion_keys, h * n), select(completion_values, h * n)
            g = len(groups)
            x = self.tok(completion[rows, step - 1])[:, None]  # [g * n, 1, D]
            position = lengths[groups].repeat_interleave(n) + step - 1  # [g * n]
            rope = (cos_table[0, 0, position][:, None, None], sin_table[0, 0, position][:, None, None])
            for block, k_pt, v_p, k_c, v_c in zip(self.blocks, prompt_keys_t, prompt_values, completion_keys, completion_values):
                q, k, v = block.qkv_heads(x, rope)  # [g * n, H, 1, d_head]
                # (group, sample, head) -> (group, head, sample)
                q = q.reshape(g, n, h, d_head).transpose(1, 2).reshape(g * h, n, d_head)
                k_c.view(g, h, n, max_new_tokens, d_head)[:, :, :, step - 1] = k.reshape(g, n, h, d_head).transpose(1, 2)
                v_c.view(g, h, n, max_new_tokens, d_head)[:, :, :, step - 1] = v.reshape(g, n, h, d_head).transpose(1, 2)
                scores_p = torch.baddbmm(prompt_bias, q, k_pt, alpha=scale)  # [g * H, n, T_p], padding -inf
                scores_c = torch.bmm(q.reshape(g * h * n, 1, d_head), k_c[:, :step].transpose(1, 2)) * scale  # [g*H*n, 1, step]
                probs = torch.softmax(torch.cat([scores_p, scores_c.view(g * h, n, step)], dim=-1), dim=-1)
                y = torch.bmm(probs[..., :t_prompt], v_p)  # [g * H, n, d_head]
                y = y + torch.bmm(probs[..., t_prompt:].reshape(g * h * n, 1, step), v_c[:, :step]).view(g * h, n, d_head)
                x = block.residual(x, y.view(g, h, n, d_head).transpose(1, 2).reshape(g * n, h, 1, d_head))
            logits = self._logits(x[:, -1])
            # finished rows of a live group are computed but not reported
            yield rows[alive], logits[alive]

    def _recomputed_steps(self, prompt_ids, prompt_mask, completion, done, n_samples, max_new_tokens):
        """The reference: every row's whole sequence through the network at every step, no cache."""
        prompts = prompt_ids.repeat_interleave(n_samples, dim=0)
        mask = prompt_mask.repeat_interleave(n_samples, dim=0).long()
        for step in range(max_new_tokens):
            rows = (~done).nonzero().squeeze(1)
            if len(rows) == 0:
                return
            ids = torch.cat([prompts[rows], completion[rows, :step]], 1)
            attention = torch.cat([mask[rows], torch.ones((len(rows), step), dtype=torch.long, device=ids.device)], 1)
            yield rows, self.forward(ids, attention)[:, -1]


def _token_logp_entropy(logits, targets):
    """``log softmax(logits)[target]`` and the entropy of ``softmax(logits)``, over the last axis."""
    logp = torch.log_softmax(logits, dim=-1)
    token_logp = logp.gather(-1, targets[..., None]).squeeze(-1)
    entropy = -(logp.exp() * logp.clamp(min=-1e30)).sum(-1)  # suppressed ids: 0 * -inf -> 0
    return token_logp, entropy


def _sample(logits, temperature: float, top_p: float, uniforms):
    """One token per row by inverting the CDF at ``uniforms``; its log-probability and the entropy
    ``-sum_v p_v log p_v`` of the unmodified policy (before temperature and top-p)."""
    policy_logp = torch.log_softmax(logits, dim=-1)
    entropy = -(policy_logp.exp() * policy_logp.clamp(min=-1e30)).sum(-1)  # suppressed ids: 0 * -inf -> 0
    if temperature == 0:
        token = logits.argmax(dim=-1)
    else:
        probs = torch.softmax(logits / temperature, dim=-1)
        order = None
        if top_p < 1.0:
            probs, order = probs.sort(dim=-1, descending=True, stable=True)
            # keep the smallest prefix whose mass reaches top_p (always at least the top token)
            drop = probs.cumsum(dim=-1) - probs >= top_p
            probs = probs.masked_fill(drop, 0.0)
        cdf = probs.cumsum(dim=-1)
        # the first index whose CDF exceeds u * total: a zero-probability token is never chosen
        index = torch.searchsorted(cdf, (uniforms * cdf[:, -1])[:, None], right=True).clamp(max=cdf.shape[-1] - 1)
        token = index.squeeze(-1) if order is None else order.gather(-1, index).squeeze(-1)
    return token, policy_logp.gather(-1, token[:, None]).squeeze(-1), entropy
