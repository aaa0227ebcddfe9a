"""Sophia: clipped pre-conditioning by a diagonal Hessian estimate refreshed every k steps.

    w <- w (1 - lr wd);   m <- b1 m + (1-b1) g
    every k steps (from step 1):  h <- b2 h + (1-b2) h^, with
        "gnb":        h^ = B * g^ (.) g^,  g^ = grad of the batch's mean loss under labels sampled
                      from the model's own distribution (B = number of loss terms)
        "hutchinson": h^ = u (.) (H u),  u ~ N(0, I)
    w <- w - lr * clip(m / max(rho h, eps), 1)          (clip to [-1, 1] element-wise)
computed as (lr / rho) clip(m / max(h, eps / rho), rho), the same rule with no pass for rho h (SophiaH's form):
six passes a step (decay, m, max, divide, clip, add), each large tensor's clip in one in-place pass.

Trainer contract (``needs``): "gnb" uses ``sampled_loss`` — ``set_sampled_loss(fn)``, where ``fn()``
returns the per-example (or per-token) losses with sampled labels, unreduced, so that B = numel; a
scalar is taken as B = 1. "hutchinson" uses ``create_graph`` (gradients carry their graph); each
estimator asks only for what it uses.

Args:
    lr: peak learning rate (the schedule multiplies it); also the largest per-coordinate step.
    beta1, beta2: EMA of gradients and of Hessian estimates.
    rho: gamma of the paper (> 0), scales h inside the clip.
    weight_decay: decoupled weight decay (matrices/embeddings/head).
    eps: floor of the denominator.
    update_period: k, steps between Hessian refreshes.
    estimator: "gnb" (Gauss-Newton-Bartlett) or "hutchinson".

References:
    Liu, Li, Hall, Liang & Ma, "Sophia: A Scalable Stochastic Second-order Optimizer for Language
    Model Pre-training", ICLR 2024 (arXiv:2305.14342), Algorithms 1-3.
"""

from __future__ import annotations

import torch

from harness.contracts.interface import LogUniform, Optimizer, claim_table, param_groups
from implementations.optimizers._common import LARGE, hutchinson


class Sophia(torch.optim.Optimizer):
    """Sophia-G / Sophia-H with multi-tensor updates; reads ``group['lr']`` every step."""

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.965, 0.99),
        rho=0.05,
        weight_decay=0.1,
        eps=1e-15,
        update_period=10,
        estimator="gnb",
    ):
        if rho <= 0:
            raise ValueError(f"rho must be positive, not {rho!r}")
        if estimator not in ("gnb", "hutchinson"):
            raise ValueError(f"estimator must be 'gnb' or 'hutchinson', not {estimator!r}")
        super().__init__(params, dict(lr=lr, betas=betas, rho=rho, weight_decay=weight_decay, eps=eps))
        self.update_period = update_period
        self.estimator = estimator
        self.sampled_loss = None
        self.steps = 0

    def set_sampled_loss(self, fn) -> None:
        """``fn()`` -> losses of the current batch under labels sampled from the model (GNB)."""
        self.sampled_loss = fn

    def _estimate(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.estimator == "hutchinson":
            return hutchinson(params, "gaussian")
        if self.sampled_loss is None:
            raise RuntimeError("Sophia's GNB estimator needs set_sampled_loss(fn) (the 'sampled_loss' need)")
        with torch.enable_grad():
            losses = self.sampled_loss()
            grads = torch.autograd.grad(losses.mean(), params, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=False)]
        hess = torch._foreach_mul(grads, grads)
        torch._foreach_mul_(hess, float(max(losses.numel(), 1)))
        return hess

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.steps += 1
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        for p in params:
            if not self.state[p]:
                self.state[p]["exp_avg"] = torch.zeros_like(p)
                self.state[p]["hessian"] = torch.zeros_like(p)
        estimate = {}
        if (self.steps - 1) % self.update_period == 0:
            estimate = dict(zip(params, self._estimate(params), strict=False))
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            if not ps:
                continue
            b1, b2 = group["betas"]
            lr, rho = group["lr"], group["rho"]
            ms = [self.state[p]["exp_avg"] for p in ps]
            hs = [self.state[p]["hessian"] for p in ps]
            if group["weight_decay"]:
                torch._foreach_mul_(ps, 1.0 - lr * group["weight_decay"])
            torch._foreach_lerp_(ms, [p.grad.detach() for p in ps], 1.0 - b1)
            if estimate:
                torch._foreach_lerp_(hs, [estimate[p] for p in ps], 1.0 - b2)
            # lr clip(m / max(rho h, eps), 1) = (lr / rho) clip(m / max(h, eps / rho), rho): no pass for rho h
            ratio = list(torch._foreach_clamp_min(hs, group["eps"] / rho))
            small = [i for i, p in enumerate(ps) if p.numel() < LARGE]
            if small:  # one multi-tensor call per op
                r = torch._foreach_div([ms[i] for i in small], [ratio[i] for i in small])
                torch._foreach_clamp_min_(r, -rho)
                torch._foreach_clamp_max_(r, rho)
                for i, x in zip(small, r, strict=True):
                    ratio[i] = x
            for i, p in enumerate(ps):  # large tensors: in place, clip in one pass
                if p.numel() >= LARGE:
                    torch.div(ms[i], ratio[i], out=ratio[i]).clamp_(-rho, rho)
            torch._foreach_add_(ps, ratio, alpha=-lr / rho)
        return loss


def build(groups, lr, beta1, beta2, rho, weight_decay, eps, update_period, estimator):
    return Sophia(
        param_groups(groups, weight_decay),
        lr=lr,
        betas=(beta1, beta2),
        rho=rho,
        eps=eps,
        update_period=update_period,
        estimator=estimator,
    )


_SOURCE = (
    "Liu et al., Sophia: A Scalable Stochastic Second-order Optimizer for Language Model Pre-training, "
    "ICLR 2024, arXiv:2305.14342"
)
_SPEED = "a 2x speed-up compared with Adam in the number of steps, total compute, and wall-clock time"
_OVERHEAD = "negligible average per-step time and memory overhead"
_SETTING = "GPT-2 125M-770M on OpenWebText"

# "negligible" overhead read as at most 5% (the paper's per-step overhead figure for k = 10).
CLAIMS = claim_table(
    [
        dict(quote=_SPEED, factor=2.0, metric="steps"),
        dict(quote=_SPEED, factor=2.0, metric="time", hardware="gpu"),
        dict(quote=_OVERHEAD, factor=1.05, metric="overhead", hardware="gpu"),
        dict(quote=_OVERHEAD, factor=1.0, metric="memory"),
    ],
    baseline="adamw",
    setting=_SETTING,
    source=_SOURCE,
    scale_params=1.25e8,
)

METHOD = Optimizer(
    build=build,
    defaults={
        "lr": 1e-3,
        "beta1": 0.965,
        "beta2": 0.99,
        "rho": 0.05,
        "weight_decay": 0.1,
        "eps": 1e-15,
        "update_period": 10,
        "estimator": "gnb",
    },
    search_space={
        "lr": LogUniform(1e-4, 1e-2),
        "rho": LogUniform(0.01, 0.2),
        "weight_decay": LogUniform(1e-3, 0.3),
    },
    needs=lambda hp: ("sampled_loss",) if hp["estimator"] == "gnb" else ("create_graph",),
    citation=_SOURCE,
    summary="Element-wise clipped Newton-like steps, diagonal Hessian (GNB or Hutchinson) every k steps.",
    claims=CLAIMS,
)
