"""N:M sparsity: at most N of every M consecutive weights (along the input dimension) are non-zero.

Every nn.Linear but the head is replaced by an ``NMLinear`` holding the dense weight W; its
forward uses W~ = W * s, with the mask m = top-N |W| in each group of M recomputed every step.

- ``sr_ste`` (the conventional recipe, Zhou et al. 2021): s = m and a sparse-refined straight-through
  gradient dL/dW = dL/dW~ + lambda (1 - m) * W (pruned weights keep a gradient and decay).
- ``mdgf`` (Progressive Gradient Flow, mask decay): s = m + beta(t) (1 - m), so the gradient reaching
  pruned weights is dL/dW~ * beta(t); beta decays (``decay=linear``: 1 - t / t_end,
  ``exponential``: exp(-rate t / t_end)) and is 0 from t_end = ``decay_end`` on.
- ``sdgf`` (Progressive Gradient Flow, structure decay): SR-STE with N(t) halving in equal stages up
  to t_end, e.g. 1:8 goes 4:8 -> 2:8 -> 1:8.

Evaluation always uses the target N:M weights. ``flops_per_example`` counts the training FLOPs of
the linear layers under sparsity (sparse forward and input-gradient GEMMs, dense weight-gradient
GEMM, which every recipe here needs), for iso-FLOP comparisons.

Args:
    n, m: the N:M pattern (2:4 ... 1:8).
    recipe: ``sr_ste``, ``mdgf`` or ``sdgf`` (tuned between the last two; the conventional recipe is
        the variant ``nm_sparsity(recipe=sr_ste)``, equally tuned, the claims' baseline).
    sr_lambda: lambda of SR-STE (``sr_ste``, ``sdgf``).
    decay: ``linear`` or ``exponential`` (``mdgf``); decay_rate: the exponential's rate.
    decay_end: fraction of training after which the decay is complete.

References:
    Zhou et al., "Learning N:M Fine-grained Structured Sparse Neural Networks From Scratch", ICLR 2021.
    Bambhaniya et al., "Progressive Gradient Flow for Robust N:M Sparsity Training in Transformers",
    arXiv:2402.04744, 2024.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from harness.contracts.interface import Choice, LogUniform, TrainingHooks, TrainingMethod, Uniform, claim_table


def nm_mask(w: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """1 for the N largest |w| of every M consecutive entries of each row, else 0."""
    groups = w.detach().abs().reshape(w.shape[0], -1, m)
    keep = torch.zeros_like(groups).scatter_(-1, groups.topk(n, dim=-1).indices, 1.0)
    return keep.reshape(w.shape)


class _SRSTE(torch.autograd.Function):
    """W~ = W * mask; dW = dW~ + lambda (1 - mask) W."""

    @staticmethod
    def forward(ctx, w, mask, lam):
        ctx.save_for_backward(w, mask)
        ctx.lam = lam
        return w * mask

    @staticmethod
    def backward(ctx, grad):
        w, mask = ctx.saved_tensors
        return grad + ctx.lam * (1 - mask) * w, None, None


class NMLinear(nn.Module):
    """A linear layer whose effective weight is N:M sparse (see the module docstring)."""

    def __init__(self, linear: nn.Linear, n: int, m: int, recipe: str, sr_lambda: float) -> None:
        super().__init__()
        if linear.in_features % m:
            raise ValueError(f"in_features {linear.in_features} is not a multiple of M={m}")
        self.weight, self.bias = linear.weight, linear.bias
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.n, self.m, self.recipe, self.sr_lambda = n, m, recipe, sr_lambda
        self.current_n, self.beta = n, 0.0

    def sparse_weight(self) -> torch.Tensor:
        """The target N:M weight (what is deployed and evaluated)."""
        return self.weight * nm_mask(self.weight, self.n, self.m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            w = self.sparse_weight()
        elif self.recipe == "mdgf":
            mask = nm_mask(self.weight, self.n, self.m)
            w = self.weight * (mask + self.beta * (1 - mask))
        else:
            w = _SRSTE.apply(self.weight, nm_mask(self.weight, self.current_n, self.m), self.sr_lambda)
        return F.linear(x, w, self.bias)


def sparsify(model: nn.Module, n: int, m: int, recipe: str, sr_lambda: float) -> list[NMLinear]:
    """Replace every nn.Linear but the last (the head) in place; returns the new layers."""
    linears = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if isinstance(child, nn.Linear)
    ]
    out = []
    for parent, name, child in linears[:-1]:
        layer = NMLinear(child, n, m, recipe, sr_lambda)
        setattr(parent, name, layer)
        out.append(layer)
    return out


def flops_per_example(model: nn.Module) -> float:
    """Training FLOPs per example (or token) of the linear layers: 2 io N/M (forward) + 2 io N/M
    (input gradient) + 2 io (weight gradient, dense) for N:M layers, 6 io for dense ones."""
    total = 0.0
    for layer in model.modules():
        if isinstance(layer, NMLinear):
            io = layer.in_features * layer.out_features
            total += 4 * io * layer.n / layer.m + 2 * io
        elif isinstance(layer, nn.Linear):
            total += 6 * layer.in_features * layer.out_features
    return total


class NMSparsity(TrainingHooks):
    def setup(self, model, workload):
        hp = self.hp
        self.layers = sparsify(model, hp["n"], hp["m"], hp["recipe"], hp["sr_lambda"])
        self.batch(None, 0.0)
        return model

    def batch(self, batch, progress):
        hp = self.hp
        t = min(progress / hp["decay_end"], 1.0) if hp["decay_end"] > 0 else 1.0
        if hp["decay"] == "linear":
            beta = 1.0 - t
        else:
            beta = 0.0 if t >= 1.0 else math.exp(-hp["decay_rate"] * t)
        levels = [hp["n"] * 2**j for j in range(8) if hp["n"] * 2**j < hp["m"]][::-1]
        stage = min(int(t * len(levels)), len(levels) - 1)
        for layer in self.layers:
            layer.beta = beta
            layer.current_n = levels[stage] if hp["recipe"] == "sdgf" else hp["n"]
        return batch


CLAIMS = claim_table(
    [
        dict(quote="Our approach improves the model quality by up to 2% and 5% in vision and language models at "
             "high sparsity regime",
             setting="ViT/Swin and T5/decoder transformers at >80% N:M sparsity, vs SR-STE (recipe=sr_ste)"),
        dict(quote="At iso-training FLOPs, our method yields better performance compared to conventional sparse "
             "training recipes, exhibiting an accuracy improvement of up to 2%",
             setting="iso training FLOPs (flops_per_example), vs SR-STE, transformers"),
    ],
    factor=0.02,
    metric="quality",
    form="up_to",
    baseline="nm_sparsity(recipe=sr_ste)",
    source="Bambhaniya et al., Progressive Gradient Flow, arXiv:2402.04744",
    suite="sparsity",
)

METHOD = TrainingMethod(
    hooks=NMSparsity,
    defaults={
        "n": 2,
        "m": 4,
        "recipe": "mdgf",
        "sr_lambda": 2e-4,
        "decay": "exponential",
        "decay_rate": 5.0,
        "decay_end": 0.5,
    },
    search_space={
        "recipe": Choice(("mdgf", "sdgf")),  # the paper's two recipes; its baseline is nm_sparsity(recipe=sr_ste)
        "sr_lambda": LogUniform(1e-5, 1e-2),
        "decay_end": Uniform(0.1, 0.9),
        "decay": Choice(("linear", "exponential")),
    },
    citation="Bambhaniya et al., Progressive Gradient Flow for Robust N:M Sparsity Training in Transformers, "
    "arXiv:2402.04744, 2024",
    summary="N:M sparse linear layers (2:4 to 1:8): SR-STE, or decaying gradient flow to pruned weights.",
    claims=CLAIMS,
)
