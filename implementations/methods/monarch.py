"""Monarch: dense nn.Linear layers replaced by products of two block-diagonal factors with permutations.

With b blocks, the input (n = b q) is cut into b blocks of q; the two factors are
R in R^{b x r x q} and L in R^{b x s x r}, r = min(q, s), output m = b s:

    h[k]  = R[k] x[k]                          (block-diagonal, k = 0..b-1)
    h'    = P h,  (P h)[j][i] = h[(i b + j) // r][(i b + j) % r]     (reshape (b, r) -> (r, b), transpose)
    y[j]  = L[j] h'[j]                         (block-diagonal)
    out[i b + j] = y[j][i]                     (the output permutation)

i.e. M = P_out blockdiag(L) P blockdiag(R), applied in O(n (r + s)) instead of O(n m).
``dense_matrix`` returns M explicitly; ``flops_per_example`` counts training FLOPs (3 x forward).

Args:
    nblocks: b (must divide in_features and out_features of every replaced layer; others stay dense).
    include_head: replace the last nn.Linear too.

References:
    Dao et al., "Monarch: Expressive Structured Matrices for Efficient and Accurate Training", ICML 2022,
    arXiv:2204.00595.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from harness.contracts.interface import Choice, TrainingHooks, TrainingMethod, claim_table


class MonarchLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, nblocks: int, bias: bool = True) -> None:
        super().__init__()
        if in_features % nblocks or out_features % nblocks:
            raise ValueError(f"{nblocks} blocks do not divide {in_features} x {out_features}")
        self.in_features, self.out_features, self.nblocks = in_features, out_features, nblocks
        q, s = in_features // nblocks, out_features // nblocks
        r = min(q, s)
        self.R = nn.Parameter(torch.empty(nblocks, r, q))
        self.L = nn.Parameter(torch.empty(nblocks, s, r))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        # each factor initialised like an nn.Linear of its block's fan-in
        for w, fan_in in ((self.R, q), (self.L, r)):
            nn.init.uniform_(w, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        if self.bias is not None:
            nn.init.uniform_(self.bias, -1 / math.sqrt(in_features), 1 / math.sqrt(in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, (_, r, q), s = self.nblocks, self.R.shape, self.L.shape[1]
        lead = x.shape[:-1]
        h = torch.einsum("krq,nkq->nkr", self.R, x.reshape(-1, b, q))
        h = h.reshape(-1, r, b).transpose(1, 2)  # P: (b, r) read as (r, b), transposed
        y = torch.einsum("jsr,njr->njs", self.L, h)
        out = y.transpose(1, 2).reshape(*lead, b * s)
        return out + self.bias if self.bias is not None else out

    def dense_matrix(self) -> torch.Tensor:
        """M (out x in) with forward(x) = x M^T + bias."""
        return self.forward(torch.eye(self.in_features, dtype=self.R.dtype, device=self.R.device)).T - (
            0 if self.bias is None else self.bias[:, None]
        )

    def macs(self) -> int:
        return self.R.numel() + self.L.numel()


def monarchize(model: nn.Module, nblocks: int, include_head: bool) -> list[MonarchLinear]:
    """Replace dense nn.Linear layers in place (those the blocks divide); returns the new layers."""
    linears = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if isinstance(child, nn.Linear)
    ]
    out = []
    for parent, name, child in linears if include_head else linears[:-1]:
        if child.in_features % nblocks or child.out_features % nblocks:
            continue
        layer = MonarchLinear(child.in_features, child.out_features, nblocks, child.bias is not None)
        setattr(parent, name, layer.to(child.weight.device, child.weight.dtype))
        out.append(layer)
    return out


def flops_per_example(model: nn.Module) -> float:
    """Training FLOPs per example (token) of the linear layers: 6 x multiply-accumulates."""
    total = 0
    for layer in model.modules():
        if isinstance(layer, MonarchLinear):
            total += layer.macs()
        elif isinstance(layer, nn.Linear):
            total += layer.in_features * layer.out_features
    return 6.0 * total


class Monarch(TrainingHooks):
    def setup(self, model, workload):
        self.layers = monarchize(model, self.hp["nblocks"], self.hp["include_head"])
        if not self.layers:
            raise ValueError(f"no nn.Linear layer is divisible into {self.hp['nblocks']} blocks")
        return model


CLAIMS = claim_table(
    [dict(factor=2.0, metric="time", baseline="backprop")],
    quote="speeding up ViT and GPT-2 training on ImageNet classification and Wikitext-103 language modeling by 2x "
    "with comparable model quality",
    setting="GPT-2 small/medium on Wikitext-103, ViT on ImageNet, A100 GPUs (time to equal quality)",
    source="Dao et al., Monarch, ICML 2022, arXiv:2204.00595",
    scale_params=1.24e8,
    suite="sparsity",
    hardware="gpu",
)

METHOD = TrainingMethod(
    hooks=Monarch,
    defaults={"nblocks": 4, "include_head": False},
    search_space={"nblocks": Choice((2, 4, 8))},
    citation="Dao et al., Monarch: Expressive Structured Matrices for Efficient and Accurate Training, "
    "ICML 2022, arXiv:2204.00595",
    summary="Dense linear layers replaced by Monarch matrices (two block-diagonal factors, permutations).",
    claims=CLAIMS,
)
