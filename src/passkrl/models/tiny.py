"""A tiny decoder-only transformer with batched KV-cache sampling, temperature and top-p.

Pre-LayerNorm blocks, learned absolute positions, tied input/output embeddings, attention through
``scaled_dot_product_attention``. Prompts of different lengths are left-padded: padding is masked out
of attention and positions count from each row's first real token, so a prompt gives the same logits
alone or in a padded batch.
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
    max_seq_len: int = 512
    dropout: float = 0.0
    suppress_ids: tuple[int, ...] = (0, 1)
    """Token ids the model never predicts (PAD and BOS): their logits are -inf."""


@dataclass
class GenerationOutput:
    sequences: torch.Tensor  # [B, T_prompt + T_new] left-padded prompts then completions (PAD after EOS)
    completion_ids: torch.Tensor  # [B, T_new]
    completion_mask: torch.Tensor  # [B, T_new] 1 for generated tokens up to and including EOS
    logprobs: torch.Tensor  # [B, T_new] log pi(token) of the unmodified policy (before temperature/top-p)
    prompt_lengths: torch.Tensor  # [B]


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

    def forward(self, x, attn_mask, cache=None, cache_pos: int = 0):
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)  # 3 x [B, H, T, Dh]
        if cache is not None:
            cache_k, cache_v = cache
            cache_k[:, :, cache_pos : cache_pos + t] = k
            cache_v[:, :, cache_pos : cache_pos + t] = v
            k, v = cache_k[:, :, : cache_pos + t], cache_v[:, :, : cache_pos + t]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class TinyTransformer(nn.Module):
    def __init__(self, cfg: TinyTransformerConfig):
        super().__init__()
        if cfg.d_model % cfg.n_heads:
            raise ValueError(f"d_model {cfg.d_model} must be divisible by n_heads {cfg.n_heads}")
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_seq_len, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)

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

    def _logits(self, x):
        logits = self.ln_f(x) @ self.tok.weight.T
        if self.cfg.suppress_ids:
            logits[..., list(self.cfg.suppress_ids)] = -math.inf
        return logits

    def forward(self, input_ids, attention_mask=None, position_ids=None):
        """Logits ``[B, T, V]`` of a (left-padded) batch."""
        b, t = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if position_ids is None:
            position_ids = self.positions(attention_mask)
        if t > self.cfg.max_seq_len:
            raise ValueError(f"sequence of {t} tokens exceeds max_seq_len {self.cfg.max_seq_len}")
        causal = torch.ones(t, t, dtype=torch.bool, device=input_ids.device).tril()
        allowed = causal[None, :, :] & attention_mask.bool()[:, None, :]  # [B, T, T]
        allowed = allowed | torch.eye(t, dtype=torch.bool, device=input_ids.device)[None]  # pads see themselves
        x = self.tok(input_ids) + self.pos(position_ids)
        for block in self.blocks:
            x = block(x, allowed[:, None])
        return self._logits(x)

    def sequence_logprobs(self, input_ids, attention_mask, completion_mask):
        """``log p(x_t | x_<t)`` and the entropy of that predictive distribution, ``[B, T]`` each.

        Aligned to the token they predict (column 0 is always 0); zero where ``completion_mask`` is 0.
        """
        logits = self.forward(input_ids, attention_mask).float()  # [B, T, V]
        logp = torch.log_softmax(logits[:, :-1], dim=-1)  # predicts tokens 1..T-1
        token_logp = logp.gather(-1, input_ids[:, 1:, None]).squeeze(-1)
        entropy = -(logp.exp() * logp.clamp(min=-1e30)).sum(-1)  # suppressed ids: 0 * -inf -> 0
        keep = completion_mask[:, 1:].bool()
        token_logp = torch.where(keep, token_logp, torch.zeros_like(token_logp))
        entropy = torch.where(keep, entropy, torch.zeros_like(entropy))
        zeros = torch.zeros_like(token_logp[:, :1])
        return torch.cat([zeros, token_logp], 1), torch.cat([zeros, entropy], 1)

    @torch.no_grad()
    def generate(self, prompts: list[list[int]], max_new_tokens: int, *, temperature: float = 1.0,
                 top_p: float = 1.0, eos_id: int, pad_id: int, generator: torch.Generator | None = None,
                 use_cache: bool = True) -> GenerationOutput:
        device = self.tok.weight.device
        b = len(prompts)
        lengths = torch.tensor([len(p) for p in prompts], device=device)
        t_prompt = int(lengths.max())
        total = t_prompt + max_new_tokens
        if total > self.cfg.max_seq_len:
            raise ValueError(f"prompt + completion of {total} tokens exceeds max_seq_len {self.cfg.max_seq_len}")
        seq = torch.full((b, total), pad_id, dtype=torch.long, device=device)
        for row, p in enumerate(prompts):
            seq[row, t_prompt - len(p) : t_prompt] = torch.tensor(p, device=device)
        attention = torch.zeros((b, total), dtype=torch.bool, device=device)
        attention[:, :t_prompt] = seq[:, :t_prompt] != pad_id
        logprobs = torch.zeros((b, max_new_tokens), device=device)
        done = torch.zeros(b, dtype=torch.bool, device=device)
        caches = None
        if use_cache:
            d, h = self.cfg.d_model, self.cfg.n_heads
            caches = [(torch.zeros(b, h, total, d // h, device=device), torch.zeros(b, h, total, d // h, device=device))
                      for _ in self.blocks]
        n_new = 0
        for step in range(max_new_tokens):
            cur = t_prompt + step
            if use_cache:
                if step == 0:
                    x_ids, start = seq[:, :cur], 0
                else:
                    x_ids, start = seq[:, cur - 1 : cur], cur - 1
                pos = self.positions(attention[:, :cur])[:, start:cur]
                q_len = cur - start
                causal = torch.ones(q_len, cur, dtype=torch.bool, device=device).tril(diagonal=start)
                allowed = causal[None] & attention[:, None, :cur]
                allowed = allowed | (torch.arange(cur, device=device)[None, None, :] ==
                                     torch.arange(start, cur, device=device)[None, :, None])
                x = self.tok(x_ids) + self.pos(pos)
                for block, cache in zip(self.blocks, caches):
                    x = block(x, allowed[:, None], cache, start)
                logits = self._logits(x[:, -1]).float()
            else:
                logits = self.forward(seq[:, :cur], attention[:, :cur].long())[:, -1].float()
            token, logp = _sample(logits, temperature, top_p, generator)
            token = torch.where(done, torch.full_like(token, pad_id), token)
            seq[:, cur] = token
            attention[:, cur] = ~done
            logprobs[:, step] = torch.where(done, torch.zeros_like(logp), logp)
            done = done | (token == eos_id)
            n_new = step + 1
            if bool(done.all()):
                break
        seq = seq[:, : t_prompt + n_new]
        completion = seq[:, t_prompt:]
        mask = attention[:, t_prompt : t_prompt + n_new].long()
        return GenerationOutput(seq, completion, mask, logprobs[:, :n_new], lengths)


def _sample(logits, temperature: float, top_p: float, generator):
    """Sample one token per row; returns the token and its log-probability under the unmodified policy."""
    policy_logp = torch.log_softmax(logits, dim=-1)
    if temperature == 0:
        token = logits.argmax(dim=-1)
    else:
        scaled = torch.log_softmax(logits / temperature, dim=-1)
        if top_p < 1.0:
            sorted_logp, order = scaled.sort(dim=-1, descending=True)
            cumulative = sorted_logp.exp().cumsum(dim=-1)
            # keep the smallest prefix whose mass reaches top_p (always at least the top token)
            drop = cumulative - sorted_logp.exp() >= top_p
            sorted_logp = sorted_logp.masked_fill(drop, -math.inf)
            scaled = torch.full_like(scaled, -math.inf).scatter(-1, order, sorted_logp)
        probs = scaled.exp()
        token = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    return token, policy_logp.gather(-1, token[:, None]).squeeze(-1)
