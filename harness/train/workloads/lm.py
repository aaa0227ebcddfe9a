"""lm: a modern decoder-only language model (Llama-style as Marin's, QK-norm as modded-nanogpt's) on ``gpt``'s data.

The model class the published optimizer comparisons were run on, beside ``gpt``'s 2017 one (LayerNorm, learned
positions, GELU, biases). Sources: Marin = Wen et al., "Fantastic Pretraining Optimizers and Where to Find Them",
arXiv:2509.02046, whose models are Levanter's ``LlamaConfig`` (github.com/marin-community/marin
``marin/optimizer_sweep/models.py``); modded-nanogpt = github.com/KellerJordan/modded-nanogpt (the speedrun and its
optimizer track, ``records/track_3_optimization``). Each choice:

- **RMSNorm**, pre-norm, with a learned gain (both): ``rms(x) = g * x / sqrt(mean(x^2) + eps)`` before attention,
  before the MLP and before the head; eps = 1e-5 (Levanter's ``layer_norm_epsilon``).
- **Rotary positions** (both; Su et al., arXiv:2104.09864) in Llama's form, and no position table: the two halves
  of each head's query and key are paired, pair i at position p turned by ``p * 10000^(-2i/head_dim)`` (Levanter's
  default theta 10000; modded-nanogpt's records later truncate half the frequencies at base 1024, a speedrun tweak
  not taken). ``<R_i q, R_j k>`` then depends on the positions only through i - j.
- **SwiGLU MLP** (Marin) rather than ReLU^2 (modded-nanogpt): ``down(silu(gate(x)) * up(x))``, hidden width 4 d
  (Marin's ``intermediate_dim = 4 hidden_dim`` at every size, not Llama's 8/3 d). Taken because Muon's claim here
  (1.4x over AdamW at 0.1B -> 1.1x at 1.2B) and the Marin tables in ``published/`` were measured on it; gate, up and
  down are separate matrices (Levanter's ``gate_proj``/``up_proj``/``down_proj``), as a matrix optimizer saw them.
- **QK-norm** (modded-nanogpt; Marin's Llama has none): queries and keys RMS-normalised over each head before the
  rotation; softmax scale 1/sqrt(head_dim). One deviation: a learned gain per head dimension (shared by the heads;
  one for q, one for k per layer; as OLMo 2 and Qwen3). modded-nanogpt's norm has no gain, which caps a logit at
  +-sqrt(head_dim) x scale: 15.4 there (heads of 128, scale 0.12) but 4 at nano's heads of 16 and 3.5 at micro's 12.
  Final val loss at 1x Chinchilla (AdamW, cosine, seed 0), without / with the gain: nano 2.016 / 1.952 (lr 3e-3)
  and 1.936 / 1.893 (lr 1e-2), micro 1.702 / 1.615 (lr 1e-2); without it nano did worse than with no QK-norm at all
  (1.989, 1.933). q, k, v and o are separate matrices (both), so Muon orthogonalises each on its own.
- **No biases** (Marin: Levanter's ``use_bias=False``; modded-nanogpt's speedrun: ``CastedLinear`` has none).
- **Untied head** (both; Levanter's ``tie_word_embeddings=False``): its own d x V matrix.

Initialisation as ``gpt`` (GPT-2's; 0.02 is also Levanter's ``initializer_range``): the embedding and every matrix
N(0, 0.02^2), the residual-stream outputs (``o``, ``down``) N(0, (0.02 / sqrt(2 L))^2), gains 1.

Parameter roles as both split them (Levanter's Muon mask; modded-nanogpt's Muon + Adam): ``matrix`` = the 2-D
weights inside the blocks (q, k, v, o, gate, up, down), for Muon/SOAP/Shampoo/Sophia-style updates; ``embedding`` =
the token table, ``head`` = the output matrix, ``scalar`` = the RMSNorm and QK-norm gains, for AdamW.

Parameters (V = vocab, d = d_model, L = layers, h = d / heads, d_ff = 4 d):

    P = 2 V d + L (4 d^2 + 3 d d_ff + 2 d + 2 h) + d

FLOPs per token: ``flops.lm_flops_per_token`` = 6 (L (4 d^2 + 3 d d_ff) + d V) + 6 L d T (causal attention).
Data, batches, evaluation (bits per token: per byte on the default corpus), chance loss and the shared scales'
targets are ``gpt``'s (``gpt.load_tokens``, ``gpt.language_task``).
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
# gpt's scales (and targets: the same bar on the same data) plus milli, between micro and mini, the largest that one
# CPU thread trains at 1x Chinchilla in minutes (a literal, not gpt.SCALES plus one: `workloads.scale_names` reads
# it without importing torch). d_model, n_layer, n_head, ctx, batch (sequences), val loss target
SCALES = {
    "nano": dict(d_model=32, n_layer=2, n_head=2, ctx=64, batch=16, target=2.6),
    "micro": dict(d_model=48, n_layer=3, n_head=4, ctx=64, batch=16, target=2.4),
    "milli": dict(d_model=64, n_layer=3, n_head=4, ctx=128, batch=16, target=2.1),
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
        self.gate, self.up = nn.Linear(d, d_ff, bias=False), nn.Linear(d, d_ff, bias=False)
        self.down = nn.Linear(d_ff, d, bias=False)

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
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith((".o.weight", ".down.weight")) else 0.02
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
