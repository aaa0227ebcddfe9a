"""Mono-Forward: every layer learns from its own class scores; no gradient crosses a layer.

For layer i with activations a_i = f_i(a_{i-1}) (input detached: a_{i-1} is a constant),
a projection matrix M_i (classes x width_i) gives the layer's goodness scores and a local loss

    G_i = a_i M_i^T,      L_i = CE(softmax(G_i), y),      (W_i, M_i) <- opt(W_i, M_i, dL_i/d(W_i, M_i))

All layers are updated from one forward pass (the sum of the L_i has block-diagonal gradients,
so one optimizer step over all parameters equals one local step per layer). Prediction
("FF-pred" in the paper) is argmax of the last layer's scores G_L, or of sum_i G_i (``predict=all``).
On the native MLP the workload's final ``nn.Linear`` is the last hidden layer's M_L (plus bias),
so the evaluated network is exactly the workload's model.

Args:
    predict: ``last`` (G_L, the paper's default) or ``all`` (sum of every layer's scores).

References:
    Gong, Li & Abdulla, "Mono-Forward: Backpropagation-Free Algorithm for Efficient Neural Network
    Training Harnessing Local Errors", arXiv:2501.09238, 2025.
    Spyra, "Beyond Backpropagation: Exploring Innovative Algorithms for Energy-Efficient Deep Neural
    Network Training", arXiv:2509.19063, 2025.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from harness.contracts.interface import Choice, TrainingHooks, TrainingMethod, claim_table
from implementations.methods._local import example_input, local_step, split_layers, widths


class MonoForwardNet(nn.Module):
    """The native layers, one projection per layer (the head is the last one); forward = prediction."""

    def __init__(self, layers: list[nn.Sequential], projections: list[nn.Module], predict: str) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.projections = nn.ModuleList(projections)
        self.predict = predict

    def scores(self, x: torch.Tensor, detach: bool = True) -> list[torch.Tensor]:
        """G_i for every layer; with ``detach`` each layer sees its input as a constant."""
        out, a = [], x
        for layer, proj in zip(self.layers, self.projections, strict=False):
            a = layer(a.detach() if detach else a)
            out.append(proj(a.flatten(1)))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.scores(x)
        return g[-1] if self.predict == "last" else torch.stack(g).sum(0)


class MonoForward(TrainingHooks):
    def setup(self, model, workload):
        layers, head = split_layers(model)
        sizes = widths(layers, example_input(workload))
        classes = head[-1].out_features
        projections = [nn.Linear(w, classes, bias=False) for w in sizes[:-1]] + [head]
        return MonoForwardNet(layers, projections, self.hp["predict"])

    def update(self, model, batch, optimizers, progress):
        x, y = batch
        losses = [F.cross_entropy(g, y) for g in model.scores(x, detach=True)]
        local_step(optimizers, losses)
        return losses[-1].detach()


SOURCE_BB = "Spyra, Beyond Backpropagation: Energy-Efficient DNN Training, arXiv:2509.19063"
NATIVE = "native MLPs, MNIST/F-MNIST/CIFAR-10/100, Optuna-tuned, same early stopping"
CLAIMS = claim_table(
    [
        dict(quote="MF reduces energy consumption by up to 41%", factor=1 / (1 - 0.41), metric="energy",
             setting=NATIVE, hardware="gpu", form="up_to"),
        dict(quote="shortens training time by up to 34%", factor=1 / (1 - 0.34), metric="time", setting=NATIVE,
             hardware="gpu", form="up_to"),
        dict(quote="MF not only competes with but consistently surpasses BP in classification accuracy on its "
             "native MLPs",
             factor=0.0, metric="quality", setting="native MLPs (delta > 0 accuracy points claimed, size not stated)"),
    ],
    baseline="backprop",
    source=SOURCE_BB,
    suite="backprop_free",
)

METHOD = TrainingMethod(
    hooks=MonoForward,
    defaults={"predict": "last"},
    search_space={"predict": Choice(("last", "all"))},
    citation="Gong, Li & Abdulla, Mono-Forward, arXiv:2501.09238, 2025",
    summary="Layer-local cross-entropy through per-layer projection matrices; one forward pass, no backprop.",
    architecture="mlp",
    claims=CLAIMS,
)
