"""Linear decay to zero after a linear warmup.

    m(p) = p / w                      for p < w
    m(p) = 1 - (p - w) / (1 - w)      otherwise   (0 at p = 1)

The worst-case-optimal last-iterate schedule of Defazio et al. (their Theorem: stepsize
proportional to 1 - t/T).

Args:
    warmup: fraction w of the run spent in linear warmup.

References:
    Defazio, Cutkosky, Mehta & Mishchenko, "When, Why and How Much? Adaptive Learning Rate
    Scheduling by Refinement", arXiv:2310.07831, 2023.
"""

from __future__ import annotations

from harness.contracts.interface import Schedule, Uniform, claim_table

SOURCE = "Defazio, Cutkosky, Mehta & Mishchenko, When, Why and How Much? Adaptive Learning Rate " \
    "Scheduling by Refinement, arXiv:2310.07831, 2023"


def multiplier(progress: float, warmup: float = 0.0) -> float:
    if progress < warmup:
        return progress / warmup
    t = min(1.0, (progress - warmup) / max(1.0 - warmup, 1e-12))
    return 1.0 - t


def endpoint(warmup: float = 0.0) -> float:
    """The multiplier at progress 1."""
    return 0.0


CLAIMS = claim_table(
    [dict(factor=0.0, metric="quality", baseline="cosine", form="matches")],
    quote="the linear-decay schedule matches or outperforms all commonly used default schedules including cosine "
    "annealing",
    setting="last iterate at equal budget; 10 deep-learning problems, LLMs, logistic regression; also against "
    "step and constant",
    source=SOURCE,
    suite="schedules",
)

METHOD = Schedule(
    multiplier=multiplier,
    defaults={"warmup": 0.0},
    search_space={"warmup": Uniform(0.0, 0.2)},
    citation=SOURCE,
    summary="Linear decay to zero after a linear warmup (the worst-case-optimal last-iterate schedule).",
    claims=CLAIMS,
)
