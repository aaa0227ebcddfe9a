"""Infinite learning-rate schedule: warmup, cosine cooldown, constant, exponential anneal per task.

The run is split into ``tasks`` equal segments (a continual-pre-training task sequence); with
c0 = const_frac, fmin = min_frac, K = tasks, segment k = [k/K, (k+1)/K), anneal start
a_k = (k+1)/K - anneal/K:

    m(p) = p / w                                                  warmup      p < w
    m(p) = c0 + (1 - c0) (1 + cos(pi (p - w) / c)) / 2            cooldown    w <= p < w + c
    m(p) = c0                                                     constant    until a_k
    m(p) = c0 (fmin / c0) ** ((p - a_k) / (anneal / K))           anneal      a_k <= p < (k+1)/K

Warmup and cooldown happen once, in the first task. After each task's anneal (the checkpoint),
training goes on at c0 from the annealed weights: one trajectory, since the trainer cannot fork back
to the pre-anneal checkpoint as the paper may.

Args:
    warmup: fraction w of the run spent in linear warmup.
    cooldown: fraction c of the run spent in the cosine cooldown from the peak to c0.
    const_frac: the constant-phase multiplier c0 (eta_const / eta_max).
    min_frac: multiplier fmin at the end of each anneal (eta_min / eta_max).
    anneal: fraction of each task spent annealing before its checkpoint.
    tasks: number K of tasks (checkpoints) in the run.

References:
    Singh et al., "Beyond Cosine Decay: On the effectiveness of Infinite Learning Rate Schedule for
    Continual Pre-training", CoLLAs 2025, arXiv:2503.02844; the schedule of Ibrahim et al., "Simple
    and Scalable Strategies to Continually Pre-train Large Language Models", arXiv:2403.08763, 2024.
"""

from __future__ import annotations

import math

from harness.contracts.interface import Schedule, Uniform, claim_table

SOURCE = "Singh et al., Beyond Cosine Decay: On the effectiveness of Infinite Learning Rate Schedule for " \
    "Continual Pre-training, arXiv:2503.02844, 2025"

QUOTE = "the infinite learning rate schedule consistently enhances continual pre-training performance compared " \
    "to a repeated cosine decay without being restricted to a fixed iteration budget"


def multiplier(
    progress: float,
    warmup: float = 0.01,
    cooldown: float = 0.1,
    const_frac: float = 0.5,
    min_frac: float = 0.1,
    anneal: float = 0.1,
    tasks: int = 1,
) -> float:
    k = min(int(progress * tasks), tasks - 1)
    anneal_len = anneal / tasks
    anneal_start = (k + 1) / tasks - anneal_len
    if warmup + cooldown > 1.0 / tasks - anneal_len + 1e-12:
        raise ValueError("infinite: warmup + cooldown must end before the first task's anneal")
    if progress >= anneal_start:
        s = min(1.0, (progress - anneal_start) / max(anneal_len, 1e-12))
        return const_frac * (min_frac / const_frac) ** s
    if progress < warmup:
        return progress / warmup
    if progress < warmup + cooldown:
        x = (progress - warmup) / cooldown
        return const_frac + (1.0 - const_frac) * 0.5 * (1.0 + math.cos(math.pi * x))
    return const_frac


def endpoint(
    warmup: float = 0.01,
    cooldown: float = 0.1,
    const_frac: float = 0.5,
    min_frac: float = 0.1,
    anneal: float = 0.1,
    tasks: int = 1,
) -> float:
    """The multiplier at progress 1."""
    return min_frac


SETTING = "continual pre-training on a task sequence (MAE on images, autoregressive LMs)"
CLAIMS = claim_table(
    [
        dict(quote=QUOTE, metric="quality", setting=SETTING + ": quality on all tasks at the end", form="matches"),
        dict(quote="Recent works have adopted a repeated cosine annealing schedule for large-scale continual "
             "pre-training; however, these schedules (1) inherently cause forgetting during the re-warming phase",
             metric="forgetting", setting=SETTING + ": forgetting of the earlier tasks"),
    ],
    factor=0.0,
    baseline="repeated_cosine",
    source=SOURCE,
    suite="continual",
)

METHOD = Schedule(
    multiplier=multiplier,
    defaults={
        "warmup": 0.01, "cooldown": 0.1, "const_frac": 0.5, "min_frac": 0.1, "anneal": 0.1, "tasks": 1
    },
    search_space={"const_frac": Uniform(0.2, 0.8), "anneal": Uniform(0.05, 0.3)},
    citation=SOURCE + "; Ibrahim et al., Simple and Scalable Strategies to Continually Pre-train Large "
    "Language Models, arXiv:2403.08763, 2024",
    summary="Warmup, cosine cooldown to a constant, exponential anneal before each task's checkpoint.",
    claims=CLAIMS,
)
