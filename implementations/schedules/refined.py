"""Schedule refinement: a last-iterate-optimal schedule derived from a pilot run's gradient norms.

Given the per-step gradient norms G_1..G_T of a pilot run (Defazio et al., Algorithms 1-2):

    1. smooth:     G^ = median_filter(G, width = tau*T, padding = (nearest, reflect))
    2. weights:    w_t = G^_t ** -2     (SGD: G = ||g_t||_2)
                   w_t = G^_t ** -1     (Adam: G = ||g_t||_1)
    3. schedule:   eta_t = w_t * sum_{p=t+1}^{T} w_p          (eta_T = 0)
    4. normalise:  eta / max(eta)

Step 3 minimises the paper's last-iterate bound for weights w_t (its closed form for
data-dependent schedules); constant norms give linear decay exactly. The refined schedule is read
at ``progress`` by linear interpolation on t / T, so a pilot of any length serves any budget.

Args:
    pilot_grad_norms: the pilot run's per-step gradient norms (||g||_2 for SGD, ||g||_1 for Adam).
    smoothing: tau, the median-filter width as a fraction of the pilot's length.
    norm: ``l2`` (SGD, w = G^-2) or ``l1`` (Adam and other coordinate-wise methods, w = G^-1).

References:
    Defazio, Cutkosky, Mehta & Mishchenko, "When, Why and How Much? Adaptive Learning Rate
    Scheduling by Refinement", arXiv:2310.07831, 2023 (Algorithm 1, SGD; Algorithm 2, Adam); the
    filter padding follows the authors' code (facebookresearch/adaptive_scheduling).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.ndimage import median_filter

from harness.contracts.interface import Schedule, Uniform, claim_table

SOURCE = "Defazio, Cutkosky, Mehta & Mishchenko, When, Why and How Much? Adaptive Learning Rate " \
    "Scheduling by Refinement, arXiv:2310.07831, 2023"
POWERS = {"l2": 2.0, "l1": 1.0}


def smooth(norms: np.ndarray, smoothing: float) -> np.ndarray:
    """Median filter of odd width ~ tau*T; 'nearest' padding on the left, 'reflect' on the right."""
    width = 2 * (int(smoothing * len(norms)) // 2) + 1
    if width == 1:
        return norms.copy()
    padded = np.pad(norms, (0, width), mode="reflect")
    return median_filter(padded, size=width, mode="nearest")[: len(norms)]


def refine(norms, smoothing: float = 0.1, norm: str = "l2") -> np.ndarray:
    """The refined schedule (peak 1, last step 0) from one pilot run's gradient norms."""
    g = np.asarray(norms, dtype=np.float64)
    if g.ndim != 1 or len(g) < 2 or not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("refined: pilot_grad_norms must be >= 2 positive finite numbers")
    w = smooth(g, smoothing) ** -POWERS[norm]
    tail = np.concatenate([np.cumsum(w[::-1])[::-1][1:], [0.0]])  # sum_{p > t} w_p
    eta = w * tail
    return eta / eta.max()


@lru_cache(maxsize=8)
def _cached(norms: tuple, smoothing: float, norm: str) -> np.ndarray:
    return refine(norms, smoothing, norm)


def multiplier(progress: float, pilot_grad_norms=None, smoothing: float = 0.1, norm: str = "l2") -> float:
    if pilot_grad_norms is None:
        raise ValueError("refined needs pilot_grad_norms: the gradient norms of a pilot run")
    eta = _cached(tuple(float(x) for x in pilot_grad_norms), float(smoothing), norm)
    return float(np.interp(progress * len(eta), np.arange(len(eta)), eta))


def endpoint(pilot_grad_norms=None, smoothing: float = 0.1, norm: str = "l2") -> float:
    """The multiplier at progress 1."""
    return 0.0


CLAIMS = claim_table(
    [dict(factor=0.0, metric="quality", baseline="linear")],
    quote="our schedule refinement method gives further improvements",
    setting="last iterate at equal budget, schedule refined from a pilot run with linear decay; 10 deep-learning "
    "problems, LLMs, logistic regression",
    source=SOURCE,
    suite="schedules",
)

METHOD = Schedule(
    multiplier=multiplier,
    defaults={"pilot_grad_norms": None, "smoothing": 0.1, "norm": "l2"},
    search_space={"smoothing": Uniform(0.01, 0.3)},
    needs=("pilot_grad_norms",),
    citation=SOURCE,
    summary="eta_t = w_t sum_{p>t} w_p with w_t = ||g_t||^-2 (SGD) or ||g_t||_1^-1 (Adam) from a pilot run.",
    claims=CLAIMS,
)
