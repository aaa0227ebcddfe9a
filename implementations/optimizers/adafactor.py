"""Adafactor — torch.optim.Adafactor: factored second moments, relative step size, no momentum.

For a matrix gradient G (n x m) at step t, with beta2_t = 1 - t^c (c = beta2_decay):
    R <- beta2_t R + (1-beta2_t) rowmean(G^2);  C <- beta2_t C + (1-beta2_t) colmean(G^2)
    V = R C^T / max(mean(R), eps1);  U = G / sqrt(max(V, eps1^2));  U <- U / max(1, RMS(U) / d)
    w <- w (1 - lr wd) - max(eps2, RMS(w)) * min(lr, 1/sqrt(t)) * U   (RMS(w) before the decay)
(vectors keep an unfactored V). torch's variant: rho_t = min(lr, 1/sqrt(t)), so the schedule acts
through lr until lr exceeds 1/sqrt(t).

``Adafactor`` is torch.optim.Adafactor (its groups, state and defaults) with the same update in fewer passes
over G: G^2 once for both means (torch's column norm is a strided reduction, 10-30x a row mean on CPU), and
1/sqrt(V_ij) = a_i b_j with a = 1/sqrt(R / max(mean(R), eps1)), b = 1/sqrt(C) (n + m square roots, not n m),
clamped at 1/eps1 (V at eps1^2) only when max(a) max(b) reaches it. Equal to torch's to rounding (float64:
~1e-16 relative; tests/test_optimizers_reference.py).

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


class Adafactor(torch.optim.Adafactor):
    """torch.optim.Adafactor's update with G^2 computed once and the factored 1/sqrt(V) as an outer product."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lists = [], [], [], [], [], []  # params, grads, row_vars, col_vars, variances, steps
            self._init_group(group, *lists)
            buckets: dict = {}  # one update per device and dtype, as torch's
            for i, p in enumerate(lists[0]):
                buckets.setdefault((p.device, p.dtype), []).append(i)
            for index in buckets.values():
                _update(group, *([xs[i] for i in index] for xs in lists))
        return loss


def _update(group, params, grads, row_vars, col_vars, variances, steps) -> None:
    lr, wd, d, c = float(group["lr"]), group["weight_decay"], group["d"], group["beta2_decay"]
    eps1, eps2 = group["eps"]
    eps1 = torch.finfo(params[0].dtype).eps if eps1 is None else eps1
    if group["maximize"]:
        grads = torch._foreach_neg(grads)
    torch._foreach_add_(steps, torch.tensor(1.0), alpha=1.0)
    ts = [s.item() for s in steps]
    norms = torch.stack(torch._foreach_norm(params)).tolist()  # RMS(w) before the decay
    alphas = [max(eps2, n / p.numel() ** 0.5) * min(lr, 1 / t**0.5) for n, p, t in zip(norms, params, ts, strict=True)]
    weights = [t**c for t in ts]  # 1 - beta2_t
    if wd != 0:
        torch._foreach_mul_(params, 1 - lr * wd)
    squares = torch._foreach_mul(grads, grads)
    updates: list[torch.Tensor] = [None] * len(params)
    mats = [i for i, g in enumerate(grads) if g.dim() > 1]
    vecs = [i for i, g in enumerate(grads) if g.dim() <= 1]
    if mats:
        sq, w = [squares[i] for i in mats], _pick(weights, mats)
        rows, cols = [row_vars[i] for i in mats], [col_vars[i] for i in mats]
        torch._foreach_lerp_(rows, [s.mean(-1, keepdim=True) for s in sq], w)
        torch._foreach_lerp_(cols, [s.mean(-2, keepdim=True) for s in sq], w)
        scale = [r.mean(-2, keepdim=True) for r in rows]
        torch._foreach_clamp_min_(scale, eps1)
        a = torch._foreach_div(rows, scale)  # V_ij^(-1/2) = a_i b_j
        torch._foreach_rsqrt_(a)
        b = torch._foreach_rsqrt(cols)
        top = (torch.stack(torch._foreach_max(a)) * torch.stack(torch._foreach_max(b))).tolist()
        for j, i in enumerate(mats):  # U = G / sqrt(max(V, eps1^2)), written into G^2's buffer
            if top[j] <= 1 / eps1:
                updates[i] = torch.mul(grads[i], a[j], out=sq[j]).mul_(b[j])
            else:  # some V_ij < eps1^2 (or R_i, C_j = 0: a_i b_j = inf): the clamp
                updates[i] = torch.mul(a[j], b[j], out=sq[j]).clamp_max_(1 / eps1).mul_(grads[i])
    if vecs:
        vs = [variances[i] for i in vecs]
        torch._foreach_lerp_(vs, [squares[i] for i in vecs], _pick(weights, vecs))
        us = torch._foreach_clamp_min(vs, eps1 * eps1)
        torch._foreach_rsqrt_(us)
        torch._foreach_mul_(us, [grads[i] for i in vecs])
        for i, u in zip(vecs, us, strict=True):
            updates[i] = u
    rms = torch.stack(torch._foreach_norm(updates)).tolist()
    for p, u, alpha, n in zip(params, updates, alphas, rms, strict=True):
        p.add_(u, alpha=-alpha / max(1.0, n / (u.numel() ** 0.5 * d)))


def _pick(weights: list[float], index: list[int]) -> float | list[float]:
    """Lerp weights of ``index``: one scalar when all are equal (torch's fast path), else a list."""
    picked = [weights[i] for i in index]
    return picked[0] if len(set(picked)) == 1 else picked


def build(groups, lr, beta2_decay, eps2, d, weight_decay):
    return Adafactor(param_groups(groups, weight_decay), lr=lr, beta2_decay=beta2_decay, eps=(None, eps2), d=d)


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
