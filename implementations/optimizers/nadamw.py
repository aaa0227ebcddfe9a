"""NAdamW: Nesterov-accelerated Adam with decoupled weight decay — torch.optim.NAdam.

    mu_t = b1 (1 - 0.5 * 0.96^(t psi));  m_t = b1 m + (1-b1) g;  v_t = b2 v + (1-b2) g^2
    m_hat = mu_{t+1} m_t / (1 - prod_{i<=t+1} mu_i) + (1-mu_t) g / (1 - prod_{i<=t} mu_i)
    w <- w (1 - lr wd) - lr m_hat / (sqrt(v_t / (1-b2^t)) + eps)

Args:
    lr: peak learning rate (the schedule multiplies it).
    weight_decay: decoupled weight decay (matrices/embeddings/head).
    beta1, beta2, eps: moment coefficients and epsilon.
    momentum_decay: psi of Dozat's momentum schedule.

References:
    Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop;
    Dahl et al., "Benchmarking Neural Network Training Algorithms" (AlgoPerf), arXiv:2306.07179.
"""

from __future__ import annotations

import torch

from harness.contracts.interface import LogUniform, Optimizer, Uniform, param_groups


def build(groups, lr, weight_decay, beta1, beta2, eps, momentum_decay):
    return torch.optim.NAdam(
        param_groups(groups, weight_decay),
        lr=lr,
        betas=(beta1, beta2),
        eps=eps,
        momentum_decay=momentum_decay,
        decoupled_weight_decay=True,
        foreach=True,
    )


METHOD = Optimizer(
    build=build,
    defaults={
        "lr": 3e-3,
        "weight_decay": 0.1,
        "beta1": 0.9,
        "beta2": 0.95,
        "eps": 1e-8,
        "momentum_decay": 4e-3,
    },
    search_space={
        "lr": LogUniform(1e-4, 3e-2),
        "weight_decay": LogUniform(1e-3, 0.3),
        "beta2": Uniform(0.9, 0.999),
    },
    citation="Dozat, Incorporating Nesterov Momentum into Adam, ICLR 2016 workshop",
    summary="Adam with Nesterov momentum and decoupled weight decay (torch.optim.NAdam).",
)
