"""Shampoo: Kronecker-factored preconditioning, with Adam grafting (SOAP's Shampoo baseline).

For a matrix W with gradient G (vectors and sides above ``max_precond_dim`` get the identity):
    L <- b2 L + (1-b2) G G^T;   R <- b2 R + (1-b2) G^T G   (EMA; the 2018 paper sums, the b2 -> 1 limit)
    every f steps (and at step 1):  P_L = (L + eps I)^(-e),  P_R = (R + eps I)^(-e)   (eigh)
    M <- b1 M + (1-b1) G;   V <- b2 V + (1-b2) G^2;   M^ = M/(1-b1^t),  V^ = V/(1-b2^t)
    D = P_L M^ P_R;   A = M^ / (sqrt(V^) + eps_adam)
    W <- W (1 - lr wd) - lr * (||A|| / ||D||) D        (grafting "adam"; "none": D itself)
e = 1/4 is the paper's exponent for matrices (1/(2k) for order k). Vectors take the Adam step A.
Tensors with more than two dimensions are preconditioned as (shape[0], prod(rest)) matrices.

Args:
    lr: peak learning rate (the schedule multiplies it).
    beta1: momentum of the filtered gradient; beta2: EMA of statistics and grafting moments.
    exponent: e of the inverse root.
    eps: damping added to L and R before the inverse root; eps_adam: epsilon of the grafted Adam.
    precondition_frequency: f, steps between inverse-root refreshes.
    grafting: "adam" (step size of Adam, direction of Shampoo, per layer) or "none".
    weight_decay: decoupled weight decay (matrices/embeddings/head).
    max_precond_dim: sides longer than this are not preconditioned.

References:
    Gupta, Koren & Singer, "Shampoo: Preconditioned Stochastic Tensor Optimization", ICML 2018
    (arXiv:1802.09568); Anil et al., "Scalable Second Order Optimization for Deep Learning",
    arXiv:2002.09018 (grafting, amortised roots); Shi et al., "A Distributed Data-Parallel PyTorch
    Implementation of the Distributed Shampoo Optimizer", arXiv:2309.06497.
"""

from __future__ import annotations

import torch

from harness.contracts.interface import Choice, LogUniform, Optimizer, Uniform, param_groups


def inverse_root(mat: torch.Tensor, exponent: float, eps: float) -> torch.Tensor:
    """(mat + eps I)^(-exponent) of a symmetric PSD matrix, by eigendecomposition."""
    eye = torch.eye(mat.shape[0], dtype=mat.dtype, device=mat.device)
    try:
        lam, q = torch.linalg.eigh(mat + eps * eye)
    except RuntimeError:  # ill-conditioned in float32: retry in float64
        lam, q = torch.linalg.eigh((mat + eps * eye).double())
        lam, q = lam.to(mat.dtype), q.to(mat.dtype)
    return (q * lam.clamp_min(eps).pow(-exponent)) @ q.T


class Shampoo(torch.optim.Optimizer):
    """Shampoo with amortised inverse roots and layer-wise Adam grafting."""

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.95),
        exponent=0.25,
        eps=1e-12,
        eps_adam=1e-8,
        precondition_frequency=10,
        grafting="adam",
        weight_decay=0.0,
        max_precond_dim=4096,
    ):
        if grafting not in ("adam", "none"):
            raise ValueError(f"grafting must be 'adam' or 'none', not {grafting!r}")
        defaults = dict(
            lr=lr,
            betas=betas,
            exponent=exponent,
            eps=eps,
            eps_adam=eps_adam,
            grafting=grafting,
            precondition_frequency=precondition_frequency,
            weight_decay=weight_decay,
            max_precond_dim=max_precond_dim,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            b1, b2 = group["betas"]
            t = group["step"] = group.get("step", 0) + 1
            grads = [p.grad for p in params]
            states = [self.state[p] if self.state[p] else self._init_state(p, group) for p in params]
            ms = [st["exp_avg"] for st in states]
            vs = [st["exp_avg_sq"] for st in states]
            torch._foreach_lerp_(ms, grads, 1.0 - b1)
            torch._foreach_mul_(vs, b2)
            torch._foreach_addcmul_(vs, grads, grads, value=1.0 - b2)
            # Adam direction A = M^ / (sqrt(V^) + eps)
            denom = torch._foreach_div(vs, 1.0 - b2**t)
            torch._foreach_sqrt_(denom)
            torch._foreach_add_(denom, group["eps_adam"])
            adam = torch._foreach_div(ms, denom)
            torch._foreach_div_(adam, 1.0 - b1**t)
            refresh = t == 1 or t % group["precondition_frequency"] == 0
            updates = []
            for p, g, st, a in zip(params, grads, states, adam, strict=False):
                if not st["stats"]:
                    updates.append(a)
                    continue
                g2 = g.reshape(g.shape[0], -1)
                stats = st["stats"]
                if stats[0] is not None:
                    stats[0].mul_(b2).addmm_(g2, g2.T, alpha=1.0 - b2)
                if stats[1] is not None:
                    stats[1].mul_(b2).addmm_(g2.T, g2, alpha=1.0 - b2)
                if refresh:
                    st["roots"] = [
                        None if s is None else inverse_root(s, group["exponent"], group["eps"]) for s in stats
                    ]
                d = st["exp_avg"].reshape(g2.shape) / (1.0 - b1**t)
                left, right = st["roots"]
                d = left @ d if left is not None else d
                d = d @ right if right is not None else d
                if group["grafting"] == "adam":
                    d = d * (a.norm() / d.norm().clamp_min(1e-30))
                updates.append(d.reshape(p.shape))
            if group["weight_decay"]:
                torch._foreach_mul_(params, 1.0 - group["lr"] * group["weight_decay"])
            torch._foreach_add_(params, updates, alpha=-group["lr"])
        return loss

    def _init_state(self, p: torch.Tensor, group) -> dict:
        state = self.state[p]
        state["exp_avg"] = torch.zeros_like(p)
        state["exp_avg_sq"] = torch.zeros_like(p)
        shape = p.reshape(p.shape[0], -1).shape if p.ndim >= 2 else ()
        state["stats"] = [
            torch.zeros(n, n, dtype=p.dtype, device=p.device) if n <= group["max_precond_dim"] else None
            for n in shape
        ]
        if state["stats"] and all(s is None for s in state["stats"]):
            state["stats"] = []
        return state


def build(groups, lr, beta1, beta2, exponent, eps, precondition_frequency, grafting, weight_decay):
    return Shampoo(
        param_groups(groups, weight_decay),
        lr=lr,
        betas=(beta1, beta2),
        exponent=exponent,
        eps=eps,
        precondition_frequency=precondition_frequency,
        grafting=grafting,
    )


METHOD = Optimizer(
    build=build,
    defaults={
        "lr": 3e-3,
        "beta1": 0.9,
        "beta2": 0.95,
        "exponent": 0.25,
        "eps": 1e-12,
        "precondition_frequency": 10,
        "grafting": "adam",
        "weight_decay": 0.01,
    },
    search_space={
        "lr": LogUniform(3e-4, 3e-2),
        "beta2": Uniform(0.9, 0.999),
        "weight_decay": LogUniform(1e-3, 0.3),
        "exponent": Choice((0.25, 0.5)),
    },
    citation="Gupta, Koren & Singer, Shampoo: Preconditioned Stochastic Tensor Optimization, ICML 2018, "
    "arXiv:1802.09568",
    summary="Kronecker-factored inverse-root preconditioning, amortised every f steps, Adam-grafted.",
)
