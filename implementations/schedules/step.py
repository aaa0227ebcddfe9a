"""Budget-proportional step decay ("30-60-90"): x gamma at 30%, 60% and 90% of the run.

    m(p) = gamma ** #{m in milestones : p >= m}

Args:
    gamma: the factor applied at each milestone (0.1).
    milestones: fractions of the run at which the rate is multiplied by gamma.

References:
    Li, Yumer & Ramanan, "Budgeted Training: Rethinking Deep Neural Network Training Under Resource
    Constraints", ICLR 2020 (step schedules scaled with the budget).
"""

from __future__ import annotations

from harness.contracts.interface import Schedule


def multiplier(progress: float, gamma: float = 0.1, milestones: tuple = (0.3, 0.6, 0.9)) -> float:
    return float(gamma ** sum(progress >= m for m in milestones))


def endpoint(gamma: float = 0.1, milestones: tuple = (0.3, 0.6, 0.9)) -> float:
    """The multiplier at progress 1."""
    return float(gamma ** len(milestones))


METHOD = Schedule(
    multiplier=multiplier,
    defaults={"gamma": 0.1, "milestones": (0.3, 0.6, 0.9)},
    search_space={},
    citation="Li, Yumer & Ramanan, Budgeted Training: Rethinking Deep Neural Network Training Under "
    "Resource Constraints, ICLR 2020",
    summary="Step decay by 10x at 30%, 60% and 90% of the budget.",
)
