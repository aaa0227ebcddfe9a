"""Muon: momentum orthogonalised by Newton-Schulz for 2-D weights; AdamW for the rest.

For each 2-D matrix W with gradient G (torch.optim.Muon):
    B <- mu B + (1-mu) G;  U = (1-mu) G + mu B  (Nesterov) or B
    O = NS5(U)  (5 quintic Newton-Schulz steps, ~ U V^T of U's SVD, in ``ns_dtype``: see below)
    W <- W (1 - lr wd) - lr * 0.2 sqrt(max(n, m)) * O    ("match_rms_adamw" scaling)
Embeddings, head, scalars and any non-2-D "matrix" go to AdamW with their own ``adam_lr``.

Newton-Schulz precision per device and size, at the same orthogonalisation error (max |sigma - 1| of O is the
quintic's designed spread, 0.32, in both): torch runs it in bf16, which is right on CUDA and for large CPU
matrices, but on CPU matrices below 256 on the short side fp32 is 12-35x faster (measured here: 32x96 to
48x192, one thread; bf16 is 2x faster from 256 up). On a CPU without bf16 dot products (no AVX512-BF16, AMX or
Arm BF16; torch then emulates bf16 matmul) fp32 is faster at every size: 40x at 256x256 and 60x at 768x768 on
a 2-core AVX2 EPYC, one thread (95 ms vs 2.3 ms; 2.8 s vs 46 ms per product), so there every CPU matrix runs
in fp32. ``Muon`` below is torch.optim.Muon with that choice.

Args:
    lr: Muon peak learning rate (the schedule multiplies it).
    adam_lr: AdamW peak learning rate for the other roles.
    weight_decay: decoupled weight decay (Muon matrices and AdamW's matrices/embeddings/head).
    momentum: mu; nesterov: Nesterov form; ns_steps: Newton-Schulz iterations.
    adjust_lr_fn: torch's per-shape lr scaling ("match_rms_adamw" or "original").
    beta1, beta2: AdamW's moment coefficients.

References:
    Jordan et al., "Muon: An optimizer for hidden layers in neural networks", 2024
    (kellerjordan.github.io/posts/muon); Liu et al., "Muon is Scalable for LLM Training",
    arXiv:2502.16982 (match_rms_adamw); Wen et al., "Fantastic Pretraining Optimizers and Where to
    Find Them", arXiv:2509.02046.
"""

from __future__ import annotations

import sys

import torch
from torch.optim._muon import _adjust_lr

from harness.contracts.interface import Choice, LogUniform, Optimizer, Uniform, claim_table, param_groups


def cpu_has_bf16_dot() -> bool:
    """Whether this CPU multiplies bf16 in hardware (Linux flags avx512_bf16, amx_bf16, Arm bf16); True elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        return True
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


# short side under which Newton-Schulz runs in fp32 on CPU: every size where bf16 matmul is emulated
CPU_FP32_BELOW = 256 if cpu_has_bf16_dot() else sys.maxsize


def ns_dtype(shape: torch.Size, device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "cpu" and min(shape) < CPU_FP32_BELOW else torch.bfloat16


def newton_schulz(g: torch.Tensor, coefficients, steps: int, eps: float, dtype: torch.dtype) -> torch.Tensor:
    """torch's quintic iteration X <- a X + (b A + c A^2) X, A = X X^T, in ``dtype``."""
    a, b, c = coefficients
    x = g.to(dtype)
    if g.size(0) > g.size(1):
        x = x.T
    x = x / x.norm().clamp(min=eps)
    for _ in range(steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if g.size(0) > g.size(1) else x


class Muon(torch.optim.Muon):
    """torch.optim.Muon (its groups, state and lr adjustment) with Newton-Schulz in ``ns_dtype``."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads, bufs = [], [], []
            self._init_group(group, params, grads, bufs)
            lr, mu = group["lr"], group["momentum"]
            for p, g, buf in zip(params, grads, bufs, strict=True):
                buf.lerp_(g, 1 - mu)
                update = g.lerp(buf, mu) if group["nesterov"] else buf
                update = newton_schulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"],
                                       ns_dtype(p.shape, p.device))
                p.mul_(1 - lr * group["weight_decay"])
                p.add_(update, alpha=-_adjust_lr(lr, group["adjust_lr_fn"], p.shape))
        return loss


def build(groups, lr, adam_lr, weight_decay, momentum, nesterov, ns_steps, adjust_lr_fn, beta1, beta2):
    matrices = [p for p in groups.get("matrix", []) if p.ndim == 2]
    rest = {role: list(ps) for role, ps in groups.items() if role != "matrix"}
    rest["matrix"] = [p for p in groups.get("matrix", []) if p.ndim != 2]
    opts = []
    if matrices:
        opts.append(
            Muon(
                matrices,
                lr=lr,
                weight_decay=weight_decay,
                momentum=momentum,
                nesterov=nesterov,
                ns_steps=ns_steps,
                adjust_lr_fn=adjust_lr_fn,
            )
        )
    adam_groups = param_groups(rest, weight_decay)
    if adam_groups:
        opts.append(torch.optim.AdamW(adam_groups, lr=adam_lr, betas=(beta1, beta2), fused=True))
    return opts


_SOURCE = "Wen et al., Fantastic Pretraining Optimizers and Where to Find Them, arXiv:2509.02046"
_QUOTE = "decreasing from 1.4x over AdamW for 0.1B parameter models to merely 1.1x for 1.2B"
_GROUP = ("The paper states this for matrix-based optimizers as a group (Muon, SOAP, Kron), not for Muon alone; "
          "checked here on Muon.")

CLAIMS = claim_table(
    [
        dict(factor=1.4, setting="LM 0.1B, 1-8x Chinchilla", scale_params=1.3e8),
        dict(factor=1.1, setting="LM 1.2B, 1-8x Chinchilla", scale_params=1.2e9),
    ],
    quote=_QUOTE,
    metric="data",
    baseline="adamw",
    source=_SOURCE,
    note=_GROUP,
)

METHOD = Optimizer(
    build=build,
    defaults={
        "lr": 3e-3,
        "adam_lr": 3e-3,
        "weight_decay": 0.1,
        "momentum": 0.95,
        "nesterov": True,
        "ns_steps": 5,
        "adjust_lr_fn": "match_rms_adamw",
        "beta1": 0.9,
        "beta2": 0.95,
    },
    search_space={
        "lr": LogUniform(3e-4, 3e-2),
        "adam_lr": LogUniform(1e-4, 3e-2),
        "weight_decay": LogUniform(1e-3, 0.3),
        "momentum": Uniform(0.85, 0.98),
        "adjust_lr_fn": Choice(("match_rms_adamw", "original")),
    },
    citation="Jordan et al., Muon: An optimizer for hidden layers in neural networks, 2024; " + _SOURCE,
    summary="Newton-Schulz-orthogonalised momentum on 2-D weights (torch.optim.Muon), AdamW elsewhere.",
    claims=CLAIMS,
)
