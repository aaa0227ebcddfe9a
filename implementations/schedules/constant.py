"""Constant learning rate after an optional linear warmup — the no-decay reference.

    m(p) = p / w    for p < w
    m(p) = 1        otherwise

Args:
    warmup: fraction w of the run spent in linear warmup (0 = none).

References:
    Defazio et al., "When, Why and How Much? Adaptive Learning Rate Scheduling by Refinement",
    arXiv:2310.07831, 2023 (one of the default schedules it compares against).
"""

from __future__ import annotations

from harness.contracts.interface import Schedule, Uniform


def multiplier(progress: float, warmup: float = 0.0) -> float:
    if progress < warmup:
        return progress / warmup
    return 1.0


def endpoint(warmup: float = 0.0) -> float:
    """The multiplier at progress 1."""
    return 1.0


METHOD = Schedule(
    multiplier=multiplier,
    defaults={"warmup": 0.0},
    search_space={"warmup": Uniform(0.0, 0.2)},
    citation="Defazio, Cutkosky, Mehta & Mishchenko, When, Why and How Much? Adaptive Learning Rate "
    "Scheduling by Refinement, arXiv:2310.07831, 2023 (constant baseline)",
    summary="Constant learning rate after a linear warmup.",
)
