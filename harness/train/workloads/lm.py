"""lm: a modern decoder-only language model (Llama/Marin-style, with modded-nanogpt's QK-norm) on ``gpt``'s data.

The model class the optimizer claims were measured on, beside ``gpt``'s 2017 one (LayerNorm, learned positions,
GELU, biases). Each choice, and where it comes from:

- **RMSNorm**, pre-norm, with a learned gain (Marin: Llama-style, arXiv:2509.02046 Sec. 3; modded-nanogpt, both):
  ``rms(x) = g * x / sqrt(mean(x^2) + eps)``, eps = 1e-5 (Llama's); before attention, before the MLP and before
  the head.
- **Rotary position embeddings** (both; Su et al., arXiv:2104.09864), Llama's form: no position table; the first
  and second halves of each head's query and key are paired, and pair i at position p is rotated by the angle
  ``p * base^(-2i/head_dim)``, base 10000 (Levanter's default, which Marin trains with; modded-nanogpt's later records
  truncate half the frequencies and use base 1024, a speedrun tweak not taken). Then ``<R_i q, R_j k>`` depends on
  positions only through i - j.
- **SwiGLU MLP** (Marin) rather than ReLU^2 (modded-nanogpt): ``down(silu(gate(x)) * up(x))`` with hidden width
  4 d (Marin's ``intermediate_dim = 4 hidden_dim`` at every size, not Llama's 8/3 d). Taken because the claims this
  project checks (Muon, SOAP, Sophia, ... vs AdamW, 1.4x -> 1.1x) were measured by Marin on this MLP; its three
  matrices (gate and up separate, as Levanter's ``gate_proj``/``up_proj``) are what a matrix optimizer sees there.
- **QK-norm** (modded-nanogpt; not in Marin's Llama): queries and keys RMS-normalised over each head before the
  rotation, softmax scale 1/sqrt(head_dim). One deviation: a learned gain per head dimension (shared by the heads,
  one for q and one for k per layer, as OLMo 2's and Qwen3's QK-norm). modded-nanogpt's norm has none, which caps
  every logit at +-sqrt(head_dim) times its scale: 15.4 there (heads of 128, scale 0.12), but +-4 at nano's heads of
  16, and nano at 1x Chinchilla (AdamW, cosine) ended 0.04-0.06 nats worse without the gain (2.016 vs 1.952 at lr
  3e-3, 1.936 vs 1.893 at 1e-2) -- worse even than no QK-norm (1.989, 1.933). q, k and v are separate matrices
  (both: Levanter's q/k/v_proj, modded-nanogpt's q/k/v), so Muon orthogonalises each on its own.
- **No biases** (Marin: Levanter's Llama has ``use_bias=False``; modded-nanogpt's speedrun's ``CastedLinear``).
- **Untied head** (both): a separate d x V output matrix; no position table (RoPE only).

Initialisation as ``gpt`` (GPT-2's): every matrix and the embedding N(0, 0.02^2), the residual-stream outputs
(attention ``o``, MLP ``down``) N(0, (0.02 / sqrt(2 L))^2), gains 1.

Parameter roles as the papers split them (Marin's Levanter Muon/Scion/Kron masks; modded-nanogpt's Muon + Adam):
``matrix`` = the 2-D weights inside the blocks (q, k, v, o, gate, up, down), for Muon/SOAP/Shampoo/Sophia-style
updates; ``embedding`` = the token table; ``head`` = the output matrix; ``scalar`` = the RMSNorm and QK-norm gains
(AdamW).

Parameters (V = vocab, d = d_model, L = layers, h = d / heads, d_ff = 4 d):

    P = 2 V d + L (4 d^2 + 3 d d_ff + 2 d + 2 h) + d

FLOPs per token: ``flops.lm_flops_per_token`` = 6 (L (4 d^2 + 3 d d_ff) + d V) + 6 L d T (causal attention).
Data, batches, evaluation (bits per token, per byte on the default corpus), targets and chance: ``gpt``'s
(``gpt.load_tokens``, ``gpt.language_task``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from harness.train import flops
from harness.train.workloads import gpt
from harness.train.workloads.base import Task

UNIT = "tokens"
# d_model, n_layer, n_head, ctx, batch (sequences), val loss target (nats per token reached at 1x)
SCALES = {
    "nano": dict(d_model=32, n_layer=2, n_head=2, ctx=64, batch=16, target=2.6),
    "micro": dict(d_model=48, n_layer=3, n_head=4, ctx=64, batch=16, target=2.4),
    "milli": dict(d_model=64, n_layer=4, n_head=4, ctx=128, batch=16, target=2.2),
    "mini": dict(d_model=128, n_layer=4, n_head=4, ctx=128, batch=16, target=1.8),
    "small": dict(d_model=256, n_layer=6, n_head=8, ctx=256, batch=32, target=1.4),
    "gpt2-124m": dict(d_model=768, n_layer=12, n_head=12, ctx=1024, batch=32, target=1.0),
}
MLP_RATIO = 4  # d_ff = 4 d_model (Marin)
ROPE_BASE = 10000.0
EPS = 1e-5
ROLES = dict(embedding=("tok.",), head=("head.",))


def rope_tables(positions: torch.Tensor, head_dim: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the angles ``p * ROPE_BASE^(-2i/head_dim)`` (positions x head_dim/2), computed in float64."""
    freq = ROPE_BASE ** (-torch.arange(0, head_dim, 2, dtype=torch.float64, device=positions.device) / head_dim)
    angles = positions.to(torch.float64)[:, None] * freq[None, :]
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (..., T, heads, head_dim) with each pair (x_i, x_{i + head_dim/2}) at position t rotated by angle[t, i]."""
    x1, x2 = x.chunk(2, dim=-1)
    cos, sin = cos[:, None, :], sin[:, None, :]
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class Block(nn.Module):
    """Pre-norm residual block: x + attention(rms(x)), then x + SwiGLU(rms(x))."""

    def __init__(self, d: int, n_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.norm1, self.norm2 = nn.RMSNorm(d, eps=EPS), nn.RMSNorm(d, eps=EPS)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.q_norm, self.k_norm = nn.RMSNorm(d // n_head, eps=EPS), nn.RMSNorm(d // n_head, eps=EPS)
        d_ff = MLP_RATIO * d
        self.gate, self.up, self.down = nn.Linear(d, d_ff, bias=False), nn.Linear(d, d_ff, bias=False), \
            nn.Linear(d_ff, d, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.norm1(x)
        q, k, v = (proj(h).view(b, t, self.n_head, d // self.n_head) for proj in (self.q, self.k, self.v))
        q, k = rotate(self.q_norm(q), cos, sin), rotate(self.k_norm(k), cos, sin)  # QK-norm, then RoPE
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
        x = x + self.o(y.transpose(1, 2).reshape(b, t, d))
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class LM(nn.Module):
    """Token embedding, pre-norm blocks with RoPE, a final RMSNorm, an untied head; no biases, no position table."""

    def __init__(self, vocab: int, d_model: int, n_layer: int, n_head: int) -> None:
        super().__init__()
        if d_model % n_head or (d_model // n_head) % 2:
            raise ValueError(f"d_model={d_model} must split into {n_head} heads of an even size (RoPE pairs)")
        self.head_dim = d_model // n_head
        self.tok = nn.Embedding(vocab, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_head) for _ in range(n_layer))
        self.norm, self.head = nn.RMSNorm(d_model, eps=EPS), nn.Linear(d_model, vocab, bias=False)
        for name, p in self.named_parameters():
            if p.ndim >= 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("o.weight", "down.weight")) else 0.02
                nn.init.normal_(p, std=std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx)
        cos, sin = rope_tables(torch.arange(idx.shape[1], device=idx.device), self.head_dim, x.dtype)
        for block in self.blocks:
            x = block(x, cos, sin)
        return self.head(self.norm(x))


def build(scale: str, seed: int, data: dict | None = None) -> Task:
    cfg = SCALES[scale]
    tokens = gpt.load_tokens((data or {}).get("path"))
    vocab = tokens[2]
    torch.manual_seed(seed)
    model = LM(vocab, cfg["d_model"], cfg["n_layer"], cfg["n_head"])
    flops_per_token = flops.lm_flops_per_token(cfg["n_layer"], cfg["d_model"], cfg["ctx"], vocab,
                                               MLP_RATIO * cfg["d_model"])
    task = gpt.language_task(model, cfg, tokens, data, roles=ROLES, flops_per_unit=flops_per_token,
                             architecture="lm")
    task.extra["roles"] = ROLES  # the same roles after a training method rebuilds layers (trainer._regroup)
    return task


check_data = gpt.check_data
