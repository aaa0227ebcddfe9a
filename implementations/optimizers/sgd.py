"""SGD with (Nesterov) momentum — torch.optim.SGD.

    b <- mu b + (g + wd w);   w <- w - lr (g + wd w + mu b)  (Nesterov)  or  w - lr b

Args:
    lr: peak learning rate (the schedule multiplies it).
    momentum: heavy-ball coefficient mu.
    nesterov: use the Nesterov look-ahead form.
    weight_decay: L2 penalty added to the gradient (coupled), matrices/embeddings/head only.

References:
    Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and momentum in deep
    learning", ICML 2013.
"""

from __future__ import annotations

import torch

from harness.contracts.interface import Choice, LogUniform, Optimizer, Uniform, param_groups


def build(groups, lr, momentum, nesterov, weight_decay):
    return torch.optim.SGD(
        param_groups(groups, weight_decay), lr=lr, momentum=momentum, nesterov=nesterov, fused=True
    )


METHOD = Optimizer(
    build=build,
    defaults={"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.0},
    search_space={
        "lr": LogUniform(1e-3, 1.0),
        "momentum": Uniform(0.8, 0.99),
        "nesterov": Choice((True, False)),
        "weight_decay": LogUniform(1e-6, 1e-3),
    },
    citation="Sutskever et al., On the importance of initialization and momentum in deep learning, ICML 2013",
    summary="Stochastic gradient descent with Nesterov momentum (torch.optim.SGD).",
)
