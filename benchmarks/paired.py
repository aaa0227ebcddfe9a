"""Interleaved A/B ratios with an interval: helpers for the benchmark scripts (not a benchmark itself)."""

from __future__ import annotations

import statistics


def ratio_ci(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Median of the paired ratios a_i / b_i and its ~95% distribution-free interval: the order statistics
    k and n-1-k with k = floor(n/2 - 0.98 sqrt(n)) (binomial(n, 1/2) quantiles; n >= 6 for a finite one)."""
    r = sorted(x / y for x, y in zip(a, b, strict=True))
    n = len(r)
    k = max(0, int(n / 2 - 0.98 * n**0.5))
    return statistics.median(r), r[k], r[n - 1 - k]


def text(a: list[float], b: list[float], target: float | None = None) -> str:
    mid, lo, hi = ratio_ci(a, b)
    verdict = "" if target is None else f"; target <= {target}: " + ("met" if hi <= target else
                                                                      "not shown" if mid <= target else "missed")
    return f"{mid:.3f} [95% CI {lo:.3f}, {hi:.3f}] over {len(a)} interleaved pairs{verdict}"
