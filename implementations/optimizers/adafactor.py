"""Adafactor — torch.optim.Adafactor: factored second moments, relative step size, no momentum.

For a matrix gradient G (n x m) at step t, with beta2_t = 1 - t^c (c = beta2_decay):
    R <- beta2_t R + (1-beta2_t) rowmean(G^2);  C <- beta2_t C + (1-beta2_t) colmean(G^2)
    V = R C^T / max(mean(R), eps1);  U = G / sqrt(max(V, eps1^2));  U <- U / max(1, RMS(U) / d)
    w <- w (1 - lr wd) - max(eps2, RMS(w)) * min(lr, 1/sqrt(t)) * U   (RMS(w) before the decay)
(vectors keep an unfactored V). torch's variant: rho_t = min(lr, 1/sqrt(t)), so the schedule acts
through lr until lr exceeds 1/sqrt(t).

Args:
    lr: relative step size cap (the schedule multiplies it).
    beta2_decay: c in beta2_t = 1 - t^c.
    eps2: floor on RMS(w) in the step size.
    d: update-clipping threshold.
    weight_decay: decoupled weight decay (matrices/embeddings/head).

References:
    Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost", ICML 2018
    (arXiv:1804.04235).
"""

from __future__ import annotations

import torch

from harness.contracts.interface import LogUniform, Optimizer, Uniform, param_groups


def build(groups, lr, beta2_decay, eps2, d, weight_decay):
    return torch.optim.Adafactor(
        param_groups(groups, weight_decay),
        lr=lr,
        beta2_decay=beta2_decay,
        eps=(None, eps2),
        d=d,
        foreach=True,
    )


METHOD = Optimizer(
    build=build,
    defaults={"lr": 1e-2, "beta2_decay": -0.8, "eps2": 1e-3, "d": 1.0, "weight_decay": 0.0},
    search_space={
        "lr": LogUniform(1e-3, 1e-1),
        "beta2_decay": Uniform(-1.0, -0.5),
        "weight_decay": LogUniform(1e-4, 1e-1),
    },
    citation="Shazeer & Stern, Adafactor: Adaptive Learning Rates with Sublinear Memory Cost, ICML 2018, "
    "arXiv:1804.04235",
    summary="Factored second-moment estimates with relative step sizes (torch.optim.Adafactor).",
)
