"""Exponential decay from the peak to a final fraction of it.

    m(p) = f ** p        (1 at p = 0, f at p = 1)

Args:
    final_frac: multiplier f at the end of training.

References:
    Li, Yumer & Ramanan, "Budgeted Training: Rethinking Deep Neural Network Training Under Resource
    Constraints", ICLR 2020; the exponential baseline of Chen et al., REX, MLSys 2022.
"""

from __future__ import annotations

from harness.contracts.interface import LogUniform, Schedule


def multiplier(progress: float, final_frac: float = 0.01) -> float:
    return float(final_frac ** min(max(progress, 0.0), 1.0))


def endpoint(final_frac: float = 0.01) -> float:
    """The multiplier at progress 1."""
    return final_frac


METHOD = Schedule(
    multiplier=multiplier,
    defaults={"final_frac": 0.01},
    search_space={"final_frac": LogUniform(1e-3, 1e-1)},
    citation="Li, Yumer & Ramanan, Budgeted Training: Rethinking Deep Neural Network Training Under "
    "Resource Constraints, ICLR 2020",
    summary="Exponential decay to a final fraction of the peak.",
)
