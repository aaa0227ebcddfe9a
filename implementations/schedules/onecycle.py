"""One-cycle (Smith & Topin): cosine rise from peak/div to the peak, cosine fall to peak/(div*final_div).

    a = pct_start
    m(p) = cos_anneal(1/div, 1, p / a)                          for p < a
    m(p) = cos_anneal(1, 1/(div*final_div), (p - a) / (1 - a))  otherwise
    cos_anneal(s, e, x) = e + (s - e) (1 + cos(pi x)) / 2

This is the two-phase cosine form of ``torch.optim.lr_scheduler.OneCycleLR`` (its defaults);
the momentum cycling of the paper belongs to the optimizer and is not part of this multiplier.
Given the run's ``total_steps`` T (the trainer hands it over), the phases end where torch's do, at
steps a*T - 1 and T - 1 (step s = progress * T), so the last step takes the final value; without T
the phases end at progress a and 1 (the limit of large T).

Args:
    pct_start: fraction a of the run spent rising to the peak.
    div_factor: initial multiplier is 1/div_factor.
    final_div_factor: final multiplier is 1/(div_factor*final_div_factor).

References:
    Smith & Topin, "Super-Convergence: Very Fast Training of Neural Networks Using Large Learning
    Rates", arXiv:1708.07120, 2019.
"""

from __future__ import annotations

import math

from harness.contracts.interface import Schedule, Uniform


def _cos_anneal(start: float, end: float, x: float) -> float:
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * min(max(x, 0.0), 1.0)))


def multiplier(
    progress: float, pct_start: float = 0.3, div_factor: float = 25.0, final_div_factor: float = 1e4,
    total_steps: int | None = None,
) -> float:
    step, peak, end = progress, pct_start, 1.0
    if total_steps:  # torch's step-level phase ends: a*T - 1 and T - 1
        step, peak, end = progress * total_steps, pct_start * total_steps - 1.0, total_steps - 1.0
    if step <= peak and peak > 0:
        return _cos_anneal(1.0 / div_factor, 1.0, step / peak)
    x = (step - peak) / max(end - peak, 1e-12)
    return _cos_anneal(1.0, 1.0 / (div_factor * final_div_factor), x)


def endpoint(pct_start: float = 0.3, div_factor: float = 25.0, final_div_factor: float = 1e4,
             total_steps: int | None = None) -> float:
    """The multiplier at progress 1."""
    return 1.0 / (div_factor * final_div_factor)


METHOD = Schedule(
    multiplier=multiplier,
    defaults={"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4, "total_steps": None},
    search_space={"pct_start": Uniform(0.1, 0.5)},
    citation="Smith & Topin, Super-Convergence: Very Fast Training of Neural Networks Using Large "
    "Learning Rates, arXiv:1708.07120, 2019",
    needs=("total_steps",),
    summary="One cycle: cosine rise to the peak over 30% of the run, cosine fall to ~0.",
)
