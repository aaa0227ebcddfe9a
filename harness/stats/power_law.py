"""The power law of loss against data, L(D) = a·D^-b + c, fitted by least squares.

For a fixed exponent b the model is linear in (a, c), so (a, c) are solved exactly (under their
bounds) and only b is searched: a coarse scan, then a bounded golden-section search, for many loss
curves at once (bootstrap resamples share the budgets). Pure numpy.

References:
    Wen, Hall, Ma, Liang. Fantastic Pretraining Optimizers and Where to Find Them. arXiv:2509.02046
    (the fit and its inversion for the data speedup).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PowerLaw:
    """L(D) = a·(D/d0)^-b + c, fitted on budgets in units of ``d0`` (the smallest budget)."""

    a: float
    b: float
    c: float
    d0: float

    def loss(self, budget):
        return self.a * (np.asarray(budget, float) / self.d0) ** (-self.b) + self.c

    def budget(self, loss: float) -> float:
        """D* = d0·(a / (L - c))^(1/b); infinite when L <= c (the fit says the loss is unreachable)."""
        return float(self.d0 * (self.a / (loss - self.c)) ** (1.0 / self.b)) if loss > self.c else np.inf


B_RANGE = (1e-3, 5.0)  # bounds of the exponent b
A_MIN = 1e-12  # a > 0
B_GRID = np.geomspace(*B_RANGE, 32)  # coarse scan of b before the bounded 1-D search
GOLDEN = (np.sqrt(5) - 1) / 2
GOLDEN_STEPS = 40  # the bracket (two grid steps) shrinks by GOLDEN^40 ~ 4e-9


def linear_part(z, y, c_low, c_high) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """min ||a·z + c - y||² over a >= A_MIN, c_low <= c <= c_high, for fixed z = x^-b (last axis: budgets).

    A convex quadratic in (a, c): its minimum over the box is the unconstrained least-squares solution
    when that is feasible, else the best of the 1-D minima (clipped) on the faces a = A_MIN, c = c_low,
    c = c_high. Leading axes broadcast; returns (sse, a, c) over them.
    """
    n, sy = y.shape[-1], y.sum(-1)
    sz, szz, szy = z.sum(-1), (z * z).sum(-1), (z * y).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (n * szy - sz * sy) / (n * szz - sz * sz)
    c = (sy - a * sz) / n
    inside = (a >= A_MIN) & (c >= c_low) & (c <= c_high)
    a, c = np.where(inside, a, A_MIN), np.where(inside, c, np.clip((sy - A_MIN * sz) / n, c_low, c_high))
    sse = ((a[..., None] * z + c[..., None] - y) ** 2).sum(-1)
    for bound in (c_low, c_high) if not inside.all() else ():
        bound = np.broadcast_to(bound, sse.shape)
        af = np.maximum((szy - np.where(np.isfinite(bound), bound, 0) * sz) / szz, A_MIN)
        sf = ((af[..., None] * z + bound[..., None] - y) ** 2).sum(-1)
        better = ~inside & np.isfinite(bound) & (sf < sse)  # face c = bound: a = <z, y - bound> / <z, z>
        a, c, sse = np.where(better, af, a), np.where(better, bound, c), np.where(better, sf, sse)
    return sse, a, c


def fit_rows(d: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Fit L = a·(D/d0)^-b + c to every row of ``y`` (R x n) at the sorted, distinct budgets ``d``.

    For a fixed b the model is linear in (a, c) (``linear_part``); b minimises that profile residual
    by a scan of ``B_GRID`` and then a bounded golden-section search between the grid neighbours of
    the best grid point, all rows at once. Returns (a, b, c, trusted) per row; a row is not trusted
    when its losses do not decrease with budget or a residual exceeds half its loss range.
    """
    logx = np.log(d / d[0])
    c_low = np.where(y[:, -1] > 0, 0.0, -np.inf)
    c_high = y[:, -1] - 1e-9 * np.maximum(np.abs(y[:, -1]), 1.0)

    def profile(b):  # b: (R,) or (R, G)
        z = np.exp(-b[..., None] * logx)
        yy, lo, hi = (y[:, None], c_low[:, None], c_high[:, None]) if b.ndim == 2 else (y, c_low, c_high)
        return linear_part(z, yy, lo, hi)

    grid = profile(np.broadcast_to(B_GRID, (len(y), len(B_GRID))))[0]
    i = np.argmin(np.where(np.isfinite(grid), grid, np.inf), axis=1)
    lo, hi = B_GRID[np.maximum(i - 1, 0)], B_GRID[np.minimum(i + 1, len(B_GRID) - 1)]
    x1, x2 = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
    f1, f2 = profile(x1)[0], profile(x2)[0]
    for _ in range(GOLDEN_STEPS):
        left = f1 < f2  # the minimum is in [lo, x2]
        lo, hi = np.where(left, lo, x1), np.where(left, x2, hi)
        x_new = np.where(left, hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo))
        f_new = profile(x_new)[0]
        x1, x2 = np.where(left, x_new, x2), np.where(left, x1, x_new)
        f1, f2 = np.where(left, f_new, f2), np.where(left, f1, f_new)
    b = np.where(np.minimum(f1, f2) <= grid[np.arange(len(y)), i], (lo + hi) / 2, B_GRID[i])
    _, a, c = profile(b)
    residual = np.abs(a[:, None] * np.exp(-b[:, None] * logx) + c[:, None] - y).max(1)
    trusted = (np.all(np.diff(y, axis=1) < 0, axis=1) & np.isfinite(a) & np.isfinite(c)
               & (residual <= 0.5 * (y[:, 0] - y[:, -1])))
    return a, b, c, trusted


def fit_power_law(budgets, losses) -> PowerLaw | None:
    """Least-squares fit of L(D) = a·D^-b + c (a > 0, 0.001 <= b <= 5, 0 <= c < min L).

    Exact in (a, c) for each b, a 1-D bounded search over b (``fit_rows``). One loss per budget
    (average seeds first). Returns None when it cannot be trusted: fewer than 3 budgets, a repeated
    budget, losses that do not decrease with budget, or residuals larger than half the loss range.
    """
    d, y = np.asarray(budgets, float), np.asarray(losses, float)
    ok = np.isfinite(d) & np.isfinite(y)
    order = np.argsort(d[ok])
    d, y = d[ok][order], y[ok][order]
    if len(np.unique(d)) < 3 or len(np.unique(d)) != len(d):
        return None
    (a,), (b,), (c,), (trusted,) = fit_rows(d, y[None])
    return PowerLaw(float(a), float(b), float(c), d0=float(d[0])) if trusted else None
