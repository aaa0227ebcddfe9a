"""Muon: momentum orthogonalised by Newton-Schulz for 2-D weights; AdamW for the rest.

For each 2-D matrix W with gradient G (torch.optim.Muon):
    B <- mu B + (1-mu) G;  U = (1-mu) G + mu B  (Nesterov) or B
    O = NS5(U)  (5 quintic Newton-Schulz steps, ~ U V^T of U's SVD, computed in bfloat16)
    W <- W (1 - lr wd) - lr * 0.2 sqrt(max(n, m)) * O    ("match_rms_adamw" scaling)
Embeddings, head, scalars and any non-2-D "matrix" go to AdamW with their own ``adam_lr``.

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

import torch

from harness.contracts.interface import Choice, Claim, LogUniform, Optimizer, Uniform, param_groups


def build(groups, lr, adam_lr, weight_decay, momentum, nesterov, ns_steps, adjust_lr_fn, beta1, beta2):
    matrices = [p for p in groups.get("matrix", []) if p.ndim == 2]
    rest = {role: list(ps) for role, ps in groups.items() if role != "matrix"}
    rest["matrix"] = [p for p in groups.get("matrix", []) if p.ndim != 2]
    opts = []
    if matrices:
        opts.append(
            torch.optim.Muon(
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
        opts.append(torch.optim.AdamW(adam_groups, lr=adam_lr, betas=(beta1, beta2), foreach=True))
    return opts


_SOURCE = "Wen et al., Fantastic Pretraining Optimizers and Where to Find Them, arXiv:2509.02046"
_QUOTE = "decreasing from 1.4x over AdamW for 0.1B parameter models to merely 1.1x for 1.2B"
_GROUP = ("The paper states this for matrix-based optimizers as a group (Muon, SOAP, Kron), not for Muon alone; "
          "checked here on Muon.")

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
    claims=(
        Claim(
            quote=_QUOTE,
            factor=1.4,
            metric="data",
            baseline="adamw",
            setting="LM 0.1B, 1-8x Chinchilla",
            source=_SOURCE,
            scale_params=1.3e8,
            note=_GROUP,
        ),
        Claim(
            quote=_QUOTE,
            factor=1.1,
            metric="data",
            baseline="adamw",
            setting="LM 1.2B, 1-8x Chinchilla",
            source=_SOURCE,
            scale_params=1.2e9,
            note=_GROUP,
        ),
    ),
)
