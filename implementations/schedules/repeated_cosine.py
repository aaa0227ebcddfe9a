"""Repeated cosine: re-warm and cosine-decay again for every task of a sequence.

The run is split into ``tasks`` equal segments; within each, q = position in the segment (0..1/K):

    m(p) = q / w                                          for q < w
    m(p) = f + (1 - f) (1 + cos(pi (q - w) / (1/K - w))) / 2   otherwise

Args:
    warmup: length w of each (re-)warmup, as a fraction of the whole run (< 1/K).
    final_frac: multiplier f at the end of every task.
    tasks: number K of tasks.

References:
    Gupta et al., "Continual Pre-Training of Large Language Models: How to (re)warm your model?",
    arXiv:2308.04014, 2023; the baseline of Singh et al., arXiv:2503.02844, 2025.
"""

from __future__ import annotations

import math

from harness.contracts.interface import Schedule, Uniform


def multiplier(progress: float, warmup: float = 0.01, final_frac: float = 0.0, tasks: int = 1) -> float:
    length = 1.0 / tasks
    k = min(int(progress * tasks), tasks - 1)
    q = progress - k * length
    if warmup >= length:
        raise ValueError("repeated_cosine: warmup must be shorter than one task")
    if q < warmup:
        return q / warmup
    t = min(1.0, (q - warmup) / (length - warmup))
    return final_frac + (1.0 - final_frac) * 0.5 * (1.0 + math.cos(math.pi * t))


def endpoint(warmup: float = 0.01, final_frac: float = 0.0, tasks: int = 1) -> float:
    """The multiplier at progress 1."""
    return final_frac


METHOD = Schedule(
    multiplier=multiplier,
    defaults={"warmup": 0.01, "final_frac": 0.0, "tasks": 1},
    search_space={"warmup": Uniform(0.0, 0.05)},
    citation="Gupta et al., Continual Pre-Training of Large Language Models: How to (re)warm your model?, "
    "arXiv:2308.04014, 2023",
    summary="Cosine decay with a re-warmup at the start of every task.",
)
