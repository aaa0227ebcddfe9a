"""Cascaded Forward (CaFo-Rand): fixed random CNN blocks, each with its own trained linear predictor.

The native CNN is cut into blocks (conv + activation (+ pooling)); block i's output h_i feeds a
predictor p_i (linear, flattened h_i -> classes); the workload's head is the last block's
predictor. Blocks keep their random initialisation (``requires_grad`` off); each predictor is
trained alone on its block's output:

    h_i = B_i(h_{i-1}) (no gradient)
    L_i = CE(p_i(h_i), y)   or   ||softmax(p_i(h_i)) - onehot(y)||^2   (``loss=mse``)
    prediction = argmax sum_i p_i(h_i)

The paper also pre-trains the blocks with direct feedback alignment (CaFo+DFA); that variant is
not implemented here.

Args:
    loss: ``ce`` (cross-entropy) or ``mse`` (squared error on the softmax outputs).

References:
    Zhao et al., "The Cascaded Forward Algorithm for Neural Network Training", Pattern Recognition 2025,
    arXiv:2303.09728.
    Spyra, "Beyond Backpropagation: Exploring Innovative Algorithms for Energy-Efficient Deep Neural
    Network Training", arXiv:2509.19063, 2025 (CaFo on its native CNN).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from harness.contracts.interface import Choice, TrainingHooks, TrainingMethod
from implementations.methods._local import example_input, local_step, split_layers, widths


class CascadedNet(nn.Module):
    def __init__(self, blocks: list[nn.Sequential], predictors: list[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.predictors = nn.ModuleList(predictors)
        self.blocks.requires_grad_(False)

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every predictor's class scores; no gradient reaches or crosses a block."""
        out, h = [], x
        for block, predictor in zip(self.blocks, self.predictors, strict=False):
            with torch.no_grad():
                h = block(h)
            out.append(predictor(h.flatten(1)))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.outputs(x)).sum(0)


class CascadedForward(TrainingHooks):
    def setup(self, model, workload):
        blocks, head = split_layers(model)
        sizes = widths(blocks, example_input(workload))
        classes = head[-1].out_features
        return CascadedNet(blocks, [nn.Linear(w, classes) for w in sizes[:-1]] + [head])

    def update(self, model, batch, optimizers, progress):
        x, y = batch
        outs = model.outputs(x)
        if self.hp["loss"] == "ce":
            losses = [F.cross_entropy(o, y) for o in outs]
        else:
            target = F.one_hot(y, outs[0].shape[1]).to(outs[0].dtype)
            losses = [(F.softmax(o, -1) - target).pow(2).sum(1).mean() for o in outs]
        local_step(optimizers, losses)
        return torch.stack(losses).mean().detach()


METHOD = TrainingMethod(
    hooks=CascadedForward,
    defaults={"loss": "ce"},
    search_space={"loss": Choice(("ce", "mse"))},
    citation="Zhao et al., The Cascaded Forward Algorithm for Neural Network Training, arXiv:2303.09728",
    summary="CaFo-Rand: fixed random CNN blocks, one independently trained linear predictor per block.",
    architecture="cnn",
)
