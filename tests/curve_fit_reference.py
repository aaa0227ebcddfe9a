"""The power-law fit as it was before the profile fit: ``scipy.optimize.curve_fit`` (trust-region
reflective, bounded) from a fixed start. A reference for ``analysis.fit_power_law``'s tests and
the old side of its benchmark; same bounds: a > 0, 0.001 <= b <= 5, 0 <= c < min L."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import optimize


def curve_fit_power_law(d, y) -> tuple[float, float, float] | None:
    """(a, b, c) of L = a·(D/d0)^-b + c for sorted budgets ``d``, or None where curve_fit fails."""
    x, span = d / d[0], y[0] - y[-1]
    c_low = 0.0 if y[-1] > 0 else -np.inf
    c_high = y[-1] - 1e-9 * max(abs(y[-1]), 1.0)
    c0 = y[-1] - span if y[-1] - span > c_low else y[-1] / 2
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            popt, _ = optimize.curve_fit(lambda x, a, b, c: a * x ** (-b) + c, x, y, p0=[y[0] - c0, 0.5, c0],
                                         bounds=([1e-12, 1e-3, c_low], [np.inf, 5.0, c_high]), maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    return tuple(map(float, popt))


def sse(d, y, params) -> float:
    a, b, c = params
    return float(np.sum((a * (d / d[0]) ** (-b) + c - y) ** 2))
