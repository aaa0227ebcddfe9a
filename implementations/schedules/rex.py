"""REX: the reflected-exponential profile of Chen, Wolfe & Kyrillidis.

    z = (p - w) / (1 - w)
    m(p) = p / w                                    for p < w
    m(p) = (1 - z) / (1/2 + 1/2 (1 - z))            otherwise   (1 at z = 0, 0 at z = 1)

The paper uses no warmup (w = 0); it is kept as an option so every schedule can be given the
same warmup when a suite asks for one.

Args:
    warmup: fraction w of the run spent in linear warmup (0 in the paper).

References:
    Chen, Wolfe & Kyrillidis, "REX: Revisiting Budgeted Training with an Improved Schedule",
    MLSys 2022, arXiv:2107.04197.
"""

from __future__ import annotations

from harness.contracts.interface import Schedule, claim_table

SOURCE = "Chen, Wolfe & Kyrillidis, REX: Revisiting Budgeted Training with an Improved Schedule, " \
    "MLSys 2022, arXiv:2107.04197"


def multiplier(progress: float, warmup: float = 0.0) -> float:
    if progress < warmup:
        return progress / warmup
    z = min(1.0, (progress - warmup) / max(1.0 - warmup, 1e-12))
    return (1.0 - z) / (0.5 + 0.5 * (1.0 - z))


def endpoint(warmup: float = 0.0) -> float:
    """The multiplier at progress 1."""
    return 0.0


CLAIMS = claim_table(
    [
        dict(quote="REX outperforms the linear schedule in the low budget regime", baseline="linear", form="better",
             setting="low budgets (e.g. 1-10% of a full run); 7 settings, SGD and Adam"),
        dict(quote="while matching or exceeding the performance of several state-of-the-art learning rate "
             "schedules (linear, step, exponential, cosine, step decay on plateau, and OneCycle) in both high and "
             "low budget regimes", baseline="cosine", form="matches",
             setting="low and high budgets; 7 settings (vision, language, GANs), SGD and Adam"),
    ],
    factor=0.0,
    metric="quality",
    source=SOURCE,
    suite="schedules",
)

METHOD = Schedule(
    multiplier=multiplier,
    defaults={"warmup": 0.0},
    search_space={},
    citation=SOURCE,
    summary="Reflected exponential: (1-z)/(1/2 + (1-z)/2), decays slowly then fast to zero.",
    claims=CLAIMS,
)
