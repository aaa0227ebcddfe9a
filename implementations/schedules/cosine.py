"""Cosine decay with linear warmup — the baseline schedule.

    m(p) = p / w                                   for p < w
    m(p) = f + (1 - f) * (1 + cos(pi * (p - w) / (1 - w))) / 2   otherwise

Args:
    warmup: fraction w of the run spent in linear warmup.
    final_frac: multiplier f at the end of training.

References:
    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
"""

from __future__ import annotations

import math

from harness.contracts.interface import Schedule, Uniform


def multiplier(progress: float, warmup: float = 0.05, final_frac: float = 0.0) -> float:
    if progress < warmup:
        return progress / warmup
    t = min(1.0, (progress - warmup) / max(1.0 - warmup, 1e-12))
    return final_frac + (1.0 - final_frac) * 0.5 * (1.0 + math.cos(math.pi * t))


def endpoint(warmup: float = 0.05, final_frac: float = 0.0) -> float:
    """The multiplier at progress 1."""
    return final_frac


METHOD = Schedule(
    multiplier=multiplier,
    defaults={"warmup": 0.05, "final_frac": 0.0},
    search_space={"warmup": Uniform(0.0, 0.2)},
    citation="Loshchilov & Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017",
    summary="Half-cosine decay after a linear warmup.",
)
