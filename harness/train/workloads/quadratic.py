"""quadratic: noisy least squares, a cheap problem for tests.

    f(W) = 1/2n ||X W - Y||^2 with X ~ N(0, diag(s^2)), s log-spaced in [10^-0.5, 1] (Hessian condition number 10),
    Y = X W* + 0.01 noise. The model is one linear layer (a ``matrix``) plus a bias (``scalar``).
"""

from __future__ import annotations

import torch
from torch import nn

from harness.train import flops
from harness.train.workloads.base import Task, split_roles

UNIT = "examples"
SCALES = {"tiny": dict(dim=16, out=4, batch=32, target=0.05), "small": dict(dim=64, out=16, batch=64, target=0.05)}
N_TRAIN, N_VAL = 2048, 512


def build(scale: str, seed: int, data: dict | None = None) -> Task:
    cfg = SCALES[scale]
    g = torch.Generator().manual_seed(1000 + cfg["dim"])  # the problem is fixed; the seed moves init and batches
    scales = torch.logspace(-0.5, 0, cfg["dim"])
    w_star = torch.randn(cfg["dim"], cfg["out"], generator=g)
    x = torch.randn(N_TRAIN + N_VAL, cfg["dim"], generator=g) * scales
    y = x @ w_star + 0.01 * torch.randn(N_TRAIN + N_VAL, cfg["out"], generator=g)
    x_tr, y_tr, x_va, y_va = x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
    batch = int((data or {}).get("batch_size") or cfg["batch"])
    torch.manual_seed(seed)
    model = nn.Linear(cfg["dim"], cfg["out"])

    def loss(m: nn.Module, b) -> torch.Tensor:
        return 0.5 * (m(b[0]) - b[1]).pow(2).sum(-1).mean()

    def batches(batch_seed: int):
        gen = torch.Generator().manual_seed(batch_seed)
        while True:
            j = torch.randint(0, N_TRAIN, (batch,), generator=gen)
            yield x_tr[j], y_tr[j]

    @torch.no_grad()
    def evaluate(m: nn.Module) -> tuple[float, float]:
        value = loss(m, (x_va, y_va)).item()
        return value, value

    return Task(
        model=model,
        groups=split_roles(model),
        loss=loss,
        batches=batches,
        evaluate=evaluate,
        metric_name="mse",
        units_per_step=batch,
        params=sum(p.numel() for p in model.parameters()),
        flops_per_unit=flops.mlp_flops_per_example([cfg["dim"], cfg["out"]]),
        target=cfg["target"],
        data_fingerprint=f"quadratic-{scale}",
        architecture="linear",
    )
