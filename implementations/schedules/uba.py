"""UBA: the Unified Budget-Aware schedule, one hyperparameter phi.

    u(x) = 1 + cos(pi x),       x = (p - w) / (1 - w)
    m(p) = p / w                                                   for p < w
    m(p) = f + (1 - f) * 2 u / (2 phi + (2 - phi) u)               otherwise

m is 1 at x = 0 and f at x = 1 for every phi > 0; phi = 2 is cosine annealing, phi -> 0 tends to a
constant, larger phi decays faster early (the paper ties phi to the condition number).
Checked against a third-party implementation of the same term (the paper's method section could not be
read from here); the warmup, the default phi and its range are this project's choices.

Args:
    phi: the trade-off hyperparameter (> 0).
    warmup: fraction w of the run spent in linear warmup.
    final_frac: multiplier f at the end (eta_min / eta_max).

References:
    Tang, Dong, Zeng, Zhou & Lin, "Stepsize anything: A unified learning rate schedule for
    budgeted-iteration training", NeurIPS 2025, arXiv:2505.24452.
"""

from __future__ import annotations

import math

from harness.contracts.interface import LogUniform, Schedule, Uniform, claim_table

SOURCE = "Tang, Dong, Zeng, Zhou & Lin, Stepsize anything: A unified learning rate schedule for " \
    "budgeted-iteration training, NeurIPS 2025, arXiv:2505.24452"


def multiplier(progress: float, phi: float = 1.0, warmup: float = 0.0, final_frac: float = 0.0) -> float:
    if progress < warmup:
        return progress / warmup
    x = min(1.0, (progress - warmup) / max(1.0 - warmup, 1e-12))
    u = 1.0 + math.cos(math.pi * x)
    return final_frac + (1.0 - final_frac) * 2.0 * u / (2.0 * phi + (2.0 - phi) * u)


def endpoint(phi: float = 1.0, warmup: float = 0.0, final_frac: float = 0.0) -> float:
    """The multiplier at progress 1."""
    return final_frac


CLAIMS = claim_table(
    [dict(factor=0.0, metric="quality", baseline="cosine")],
    quote="UBA consistently surpasses the commonly-used schedules across diverse vision and language tasks, "
    "spanning network architectures (e.g., ResNet, OLMo) and scales, under different training-iteration budgets",
    setting="ResNet (CIFAR/ImageNet) and OLMo language models, several iteration budgets",
    source=SOURCE,
    suite="schedules",
)

METHOD = Schedule(
    multiplier=multiplier,
    defaults={"phi": 1.0, "warmup": 0.0, "final_frac": 0.0},
    search_space={"phi": LogUniform(0.2, 10.0), "warmup": Uniform(0.0, 0.1)},
    citation=SOURCE,
    summary="Unified budget-aware schedule 2u/(2 phi + (2 - phi) u), u = 1 + cos(pi t/T).",
    claims=CLAIMS,
)
