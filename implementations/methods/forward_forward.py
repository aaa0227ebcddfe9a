"""Forward-Forward: each layer separates positive from negative data by its goodness; no backward pass.

The label is embedded in the input (the first C input values are replaced by a one-hot of the
label, scaled to the input's maximum): positive data carry the true label, negative data a random
wrong one. Each layer sees the length-normalised output of the layer below (a constant) and learns

    g(h) = mean_j h_j^2,   h = relu(W x / ||x||)
    L = softplus(-(g(h_pos) - theta)) + softplus(g(h_neg) - theta)

All layers are updated together on every batch (their losses have block-diagonal gradients).
Prediction: the label whose embedding gives the largest goodness summed over layers; ``forward``
returns these summed goodnesses (one column per label) as class scores.

Args:
    threshold: theta, the goodness that separates positive from negative data.
    layers_scored: ``all`` layers, or ``skip_first`` (Hinton's choice for deeper networks).

References:
    Hinton, "The Forward-Forward Algorithm: Some Preliminary Investigations", arXiv:2212.13345, 2022.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from harness.contracts.interface import Choice, TrainingHooks, TrainingMethod, Uniform
from implementations.methods._local import local_step, split_layers


def embed_label(x: torch.Tensor, y: torch.Tensor, classes: int) -> torch.Tensor:
    """Flattened input with its first ``classes`` values replaced by the scaled one-hot of ``y``."""
    flat = x.flatten(1).clone()
    flat[:, :classes] = F.one_hot(y, classes).to(flat.dtype) * flat.amax()
    return flat


class ForwardForwardNet(nn.Module):
    """The native hidden layers (the head is not used by FF); forward = goodness per candidate label."""

    def __init__(self, layers: list[nn.Sequential], classes: int, skip_first: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.classes = classes
        self.skip_first = skip_first

    def goodness(self, x: torch.Tensor, detach: bool = True) -> list[torch.Tensor]:
        """Per-layer goodness of already label-embedded inputs; each layer's input is a constant."""
        out, h = [], x
        for layer in self.layers:
            h = h.detach() if detach else h
            h = layer(h / (h.norm(dim=1, keepdim=True) + 1e-4))
            out.append(h.pow(2).mean(1))
            h = h.flatten(1)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cols = []
        for c in range(self.classes):
            label = torch.full((len(x),), c, dtype=torch.long, device=x.device)
            g = self.goodness(embed_label(x, label, self.classes))
            cols.append(torch.stack(g[1:] if self.skip_first and len(g) > 1 else g).sum(0))
        return torch.stack(cols, 1)


class ForwardForward(TrainingHooks):
    def setup(self, model, workload):
        layers, head = split_layers(model)
        return ForwardForwardNet(layers, head[-1].out_features, self.hp["layers_scored"] == "skip_first")

    def update(self, model, batch, optimizers, progress):
        x, y = batch
        c, theta = model.classes, self.hp["threshold"]
        wrong = (y + torch.randint(1, c, y.shape, device=y.device)) % c
        g_pos = model.goodness(embed_label(x, y, c))
        g_neg = model.goodness(embed_label(x, wrong, c))
        losses = [
            (F.softplus(theta - gp) + F.softplus(gn - theta)).mean()
            for gp, gn in zip(g_pos, g_neg, strict=False)
        ]
        local_step(optimizers, losses)
        return torch.stack(losses).mean().detach()


METHOD = TrainingMethod(
    hooks=ForwardForward,
    defaults={"threshold": 2.0, "layers_scored": "all"},
    search_space={"threshold": Uniform(0.5, 5.0), "layers_scored": Choice(("all", "skip_first"))},
    citation="Hinton, The Forward-Forward Algorithm: Some Preliminary Investigations, arXiv:2212.13345",
    summary="Layer-local logistic loss on goodness of positive (true label) vs negative (wrong label) data.",
    architecture="mlp",
)
