"""Warmup-stable-decay: linear warmup, constant at the peak, then a short decay to the end.

    m(p) = p / w                                   for p < w
    m(p) = 1                                       for w <= p < 1 - d
    m(p) = f + (1 - f) (1 - s)      (linear)       for p >= 1 - d,   s = (p - (1 - d)) / d
    m(p) = f + (1 - f) (1 - sqrt(s))  (sqrt)

Args:
    warmup: fraction w of the run spent in linear warmup.
    decay: fraction d of the run spent in the final decay ("cooldown").
    shape: ``linear`` or ``sqrt`` (1 - sqrt, the best cooldown in Hägele et al.).
    final_frac: multiplier f at the end.

References:
    Hu et al., "MiniCPM: Unveiling the Potential of Small Language Models with Scalable Training
    Strategies", arXiv:2404.06395, 2024; Hägele et al., "Scaling Laws and Compute-Optimal Training
    Beyond Fixed Training Durations", NeurIPS 2024, arXiv:2405.18392.
"""

from __future__ import annotations

import math

from harness.contracts.interface import Choice, Schedule, Uniform


def multiplier(
    progress: float, warmup: float = 0.01, decay: float = 0.2, shape: str = "sqrt", final_frac: float = 0.0
) -> float:
    if progress < warmup:
        return progress / warmup
    start = 1.0 - decay
    if progress < start:
        return 1.0
    s = min(1.0, (progress - start) / max(decay, 1e-12))
    drop = math.sqrt(s) if shape == "sqrt" else s
    return final_frac + (1.0 - final_frac) * (1.0 - drop)


def endpoint(warmup: float = 0.01, decay: float = 0.2, shape: str = "sqrt", final_frac: float = 0.0) -> float:
    """The multiplier at progress 1."""
    return final_frac


METHOD = Schedule(
    multiplier=multiplier,
    defaults={"warmup": 0.01, "decay": 0.2, "shape": "sqrt", "final_frac": 0.0},
    search_space={
        "warmup": Uniform(0.0, 0.1), "decay": Uniform(0.1, 0.4), "shape": Choice(("linear", "sqrt"))
    },
    citation="Hu et al., MiniCPM, arXiv:2404.06395, 2024; Hägele et al., Scaling Laws and Compute-Optimal "
    "Training Beyond Fixed Training Durations, NeurIPS 2024, arXiv:2405.18392",
    summary="Warmup, constant peak, then a (1 - sqrt) decay over the last 20%.",
)
