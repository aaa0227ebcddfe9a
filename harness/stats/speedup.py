"""Data speedup D*/D with a calibrated confidence interval that never leaves the measured budgets.

The baseline is trained at budgets D_1 < ... < D_k (S_b seeds each), the method at D (S_m seeds).
D* solves L_base(D*) = mean(L_method); the speedup is s = D*/D (Wen, Hall, Ma, Liang, "Fantastic
Pretraining Optimizers and Where to Find Them", arXiv:2509.02046). Here, with x = log D:

* Point: isotonic (non-increasing, PAVA, weights n_j) seed means g_j, joined between neighbouring
  budgets by the power-law shape  L(x) = g_j + (g_{j+1} - g_j)·phi_b(x - x_j),
  phi_b(t) = (1 - e^{-b t}) / (1 - e^{-b h_j}),  h_j = x_{j+1} - x_j,
  which is what L = c + a·D^-b looks like between two of its points (a and c cancel; b -> 0 gives
  linear interpolation in log D). It passes through the means, so a budget's own seeds give exactly
  1.0, and nothing is extrapolated: beyond the budgets the answer is a bound ("> D_k/D", "< D_1/D").
  The exponent b is the weighted least-squares power-law exponent of the means (profile over a grid
  of b, exact in (a, c) for each b: the idea of harness/power_law.py's ``fit_rows``, re-implemented
  here in a few lines, not imported), used only when B_PLAUSIBLE[0] <= b <= B_PLAUSIBLE[1] and
  (k >= 4 and a variance estimate exists) its lack-of-fit F test has p >= GOF_P; else b = 0
  (linear in log D). Linear interpolation of a convex curve overestimates L between budgets, biasing
  log D* up by about b·h²/8 (3% in s for b = 0.5 and doubling budgets); the shape removes that.
  Measured (REPORT.md): a GOF test at p >= 0.05 sends 5% of true power laws to the biased linear
  fallback and even a non-power-law curve is served better by the fitted shape, so the test only
  catches gross misfit; outside [0.02, 2] the exponent is noise (grid edge), and b < 0.02 is linear.
* Interval: test inversion (a Fieller-type interval). For each candidate x the statistic
  t(x) = (mean(L_m) - Lhat(x)) / se(x),  Lhat(x) = (1 - w)·ybar_j + w·ybar_{j+1},  w = phi_b,
  se² = s_b²·((1-w)²/n_j + w²/n_{j+1}) + s_m²/n_m  with raw (not isotonic) seed means, s_b² the
  baseline's seed variance pooled over all its budgets (df_b = sum(n_j - 1): every budget's seed
  scatter estimates the same noise level, so 3 seeds x 4 budgets give 8 df, not 2) and s_m² the
  method's own (df n_m - 1; the method may be noisier), df by Welch-Satterthwaite
  (``variance="pooled_base"``, the default). The interval is the hull of {x : |t(x)| <= t_df} within
  [x_1, x_k] (a grid, then linear interpolation of |t| - q at the crossings). Also available, for
  comparison: "pooled" (the method pooled too: narrower, but under-covers when the method's noise
  differs; also the fallback with a single method seed) and "welch" (per-budget variances: wide).
  Chosen by simulation: simulate.py, REPORT.md.
Bounds and open ends (lo, hi, point are always inside [D_1/D, D_k/D] or NaN, never beyond):
  kind "value": the method's mean loss lies within the baseline's (isotonic) means;
  kind "lower_bound": below the loss at D_k, point = D_k/D (the result is "> point");
  kind "upper_bound": above the loss at D_1, point = D_1/D ("< point"); kind "none": no data.
  open_hi: t accepts s = D_k/D, so the interval runs beyond the budgets: hi = NaN ("open"); open_lo
  likewise (lo = NaN). When every s in the range is rejected because the method beats the baseline
  everywhere, lo = D_k/D (s > D_k/D at the one-sided level) and hi = NaN, open_hi; symmetric below.
  lo = hi = NaN with both open flags False: no interval (fewer than 2 seeds anywhere, df = 0).

Verdicts on these intervals (the rule, direct comparisons, sequential looks) are ``harness.stats.claims`` and
``harness.stats.engine``'s. ``kappa`` adds one study's tuning noise to every mean (the between-study term used
when a study ran one tuning study: ``harness.stats.moments.KAPPA``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special  # t and F distributions without the slow scipy.stats import

B_GRID = np.geomspace(0.01, 3.0, 64)  # exponents searched for the shape
B_PLAUSIBLE = (0.02, 2.0)  # the shape is used only for an exponent in this range (see REPORT.md)
GOF_P = 0.001  # and a lack-of-fit F test (k >= 4 budgets) with p at least this (gross misfit only)
GRID = 48  # candidate points per budget segment for the test inversion
VARIANCE = "pooled_base"  # the interval used (docs/statistics.md)


class SpeedupEstimate(NamedTuple):
    """point, lo, hi (NaN = none/open), kind ("value" | "lower_bound" | "upper_bound" | "none"),
    open_lo/open_hi (the interval runs beyond the smallest/largest budget), b (shape exponent used)."""

    point: float
    lo: float
    hi: float
    kind: str
    open_lo: bool = False
    open_hi: bool = False
    b: float = 0.0


_DF = np.geomspace(1.0, 1e5, 2001)
_TABLES: dict = {}


def t_quantile(p: float, df):
    """scipy.stats.t.ppf(p, df) for array df >= 1, interpolated in log df (a cached table; relative
    error < 1e-4, and far faster than ppf on non-integer df); NaN where df is not finite."""
    if p not in _TABLES:
        _TABLES[p] = special.stdtrit(_DF, p)
    df = np.asarray(df, float)
    return np.where(np.isfinite(df), np.interp(np.log(np.clip(df, 1.0, 1e5)), np.log(_DF), _TABLES[p]), np.nan)


def isotonic_decreasing(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted non-increasing least-squares fit of each row of y (R x k), by the min-max formula
    g_j = min_{i<=j} max_{l>=j} mean_w(y_i..y_l) (exact PAVA result; k is small)."""
    R, k = y.shape
    cw, cwy = np.cumsum(w, 1), np.cumsum(w * y, 1)
    cw, cwy = np.pad(cw, ((0, 0), (1, 0))), np.pad(cwy, ((0, 0), (1, 0)))
    i, e = np.triu_indices(k)  # blocks i..e
    avg = np.full((R, k, k), np.nan)
    avg[:, i, e] = (cwy[:, e + 1] - cwy[:, i]) / (cw[:, e + 1] - cw[:, i])
    g = np.empty_like(y)
    for j in range(k):
        g[:, j] = np.nanmin(np.nanmax(avg[:, : j + 1, j:], axis=2), axis=1)
    return g


def shape_exponent(x, ybar, n, s2, df) -> np.ndarray:
    """Power-law exponent b of L = c + a·e^{-b x} fitted to the means (weights n), or 0 where the
    fit is implausible (a <= 0, b outside B_PLAUSIBLE) or fails the lack-of-fit F test."""
    k = len(x)
    if k < 3:
        return np.zeros(len(ybar))
    z = np.exp(-B_GRID[:, None] * (x - x[0]))  # (G, k); sums over budgets as matrix products
    w = n
    yc = ybar - (w * ybar).sum(1, keepdims=True) / w.sum(1, keepdims=True)  # centred: less cancellation
    wy = w * yc
    sw, sy, syy = w.sum(1)[:, None], wy.sum(1)[:, None], (wy * yc).sum(1)[:, None]
    sz, szz, szy = w @ z.T, w @ (z * z).T, wy @ z.T
    a = (sw * szy - sz * sy) / (sw * szz - sz * sz)
    c = (sy - a * sz) / sw
    sse = syy - 2 * a * szy - 2 * c * sy + a * a * szz + 2 * a * c * sz + c * c * sw  # sum w·(y - a·z - c)²
    best = np.argmin(sse, 1)
    rows = np.arange(len(ybar))
    b, sse_b = B_GRID[best], sse[rows, best]
    ok = np.isfinite(sse_b) & (b >= B_PLAUSIBLE[0]) & (b <= B_PLAUSIBLE[1])
    if k >= 4:
        with np.errstate(divide="ignore", invalid="ignore"):
            p = special.fdtrc(k - 3, np.maximum(df, 1), (sse_b / (k - 3)) / s2)
        ok &= ~((df > 0) & (s2 > 0)) | (p >= GOF_P)  # no variance estimate: plausibility only
    return np.where(ok, b, 0.0)


def _shape_x(x, j, u, b):
    """x where the shape from budget j reaches fraction u in [0, 1] of the way to budget j+1."""
    h = x[j + 1] - x[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        curved = x[j] - np.log1p(-u * -np.expm1(-b * h)) / b
    inner = np.where(b > 0, curved, x[j] + u * h)
    return np.where(u <= 0, x[j], np.where(u >= 1, x[j + 1], inner))


def _shape_w(x, b, grid):
    """Grid positions (R, P) along x_1..x_k and the weight w = phi_b of the upper budget at each."""
    pos, wts, seg = [], [], []
    for j in range(len(x) - 1):
        u = np.broadcast_to(grid, (len(b), len(grid)))
        pos.append(_shape_x(x, j, u, b[:, None]))
        wts.append(u)
        seg.append(np.full(len(grid), j))
    return np.concatenate(pos, 1), np.concatenate(wts, 1), np.concatenate(seg)


def point_x(x, g, mbar, b):
    """log D* on the isotonic means g (R x k) at mean method loss mbar (R,), and the kind. A flat
    stretch equal to mbar gives its midpoint; exact at a budget whose mean equals mbar."""
    R, k = g.shape
    rows = np.arange(R)
    first = np.argmax(g <= mbar[:, None], 1)  # first budget at or below mbar
    last = k - 1 - np.argmax(g[:, ::-1] >= mbar[:, None], 1)  # last budget at or above mbar
    xa, xb = np.full(R, x[0]), np.full(R, x[-1])
    for j in range(k - 1):
        gj, gk = g[:, j], g[:, j + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (gj - mbar) / (gj - gk)
        xj = _shape_x(x, j, np.clip(u, 0, 1), b)
        xa = np.where(first == j + 1, xj, xa)
        xb = np.where(last == j, xj, xb)
    xa = np.where(first == 0, x[0], xa)
    xp = np.where(xa == xb, xa, (xa + xb) / 2)
    kind = np.where(mbar < g[rows, -1], "lower_bound", np.where(mbar > g[rows, 0], "upper_bound", "value"))
    xp = np.where(kind == "lower_bound", x[-1], np.where(kind == "upper_bound", x[0], xp))
    return xp, kind


def invert(pos, t, q):
    """Hull of {pos : |t| <= q} per row, crossings interpolated; returns lo, hi (NaN when open
    or absent), open_lo, open_hi. No accepted point: the side the method lies on (see module doc)."""
    R, P = t.shape
    f = np.abs(t) - q  # <= 0: accepted
    acc = f <= 0
    anyacc = acc.any(1)
    i0, i1 = np.argmax(acc, 1), P - 1 - np.argmax(acc[:, ::-1], 1)
    rows = np.arange(R)

    def cross(i, j):  # between rejected i and accepted j
        fi, fj = f[rows, i], f[rows, j]
        return pos[rows, i] + (pos[rows, j] - pos[rows, i]) * fi / (fi - fj)

    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = cross(np.maximum(i0 - 1, 0), i0), cross(np.minimum(i1 + 1, P - 1), i1)
    open_lo, open_hi = anyacc & (i0 == 0), anyacc & (i1 == P - 1)
    better = ~anyacc & (t[:, -1] < 0)  # the method beats the baseline even at D_k
    worse = ~anyacc & ~better
    lo = np.where(open_lo | worse, np.nan, np.where(better, pos[:, -1], lo))
    hi = np.where(open_hi | better, np.nan, np.where(worse, pos[:, 0], hi))
    return lo, hi, open_lo | worse, open_hi | better


def _weights(x, b, pos):
    """Segment index and weight w = phi_b of the upper budget at arbitrary positions ``pos`` (R, P)."""
    seg = np.clip(np.searchsorted(x, pos, side="right") - 1, 0, len(x) - 2)
    h, t = x[seg + 1] - x[seg], np.clip(pos - x[seg], 0.0, None)
    bb = np.broadcast_to(b[:, None], pos.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        curved = np.expm1(-bb * t) / np.expm1(-bb * h)
    return seg, np.clip(np.where(bb > 0, curved, t / h), 0.0, 1.0)


def _statistic(pos, b, x, n, ybar, mbar, s2b, dfb, ss, ssm, nm, alpha, variance, kappa):
    """t(x) and its two-sided quantile at positions ``pos`` (R, P) (see the module docstring). ``kappa`` (R,): each
    budget's mean and the method's also carry one study's tuning noise of kappa times the seed variance."""
    seg, w = _weights(x, b, pos)
    rows = np.arange(len(pos))[:, None]
    n0, n1 = n[rows, seg], n[rows, seg + 1]
    k = kappa[:, None]
    w0, w1 = (1 - w) ** 2 * (1 / n0 + k), w ** 2 * (1 / n1 + k)
    nm_eff = 1 / (1 / nm + kappa)  # the method's mean: var·(1/nm + kappa) = var / nm_eff
    diff = mbar[:, None] - ((1 - w) * ybar[rows, seg] + w * ybar[rows, seg + 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        if variance in ("pooled", "pooled_base"):
            df = dfb + nm - 1
            s2 = (ss.sum(1) + ssm) / df
            var, dfv = s2[:, None] * (w0 + w1 + 1 / nm_eff[:, None]), np.broadcast_to(df[:, None], w.shape)
        if variance == "pooled_base":  # pooled only in rows with a single method seed (no variance of its own)
            A, B = s2b[:, None] * (w0 + w1), (ssm / (nm - 1) / nm_eff)[:, None]
            single = (nm < 2)[:, None]
            var, dfv = np.where(single, var, A + B), np.where(single, dfv, (A + B) ** 2 / (
                A ** 2 / dfb[:, None] + B ** 2 / (nm - 1)[:, None]))
        if variance == "welch":
            v = ss / (n - 1)
            terms = [v[rows, seg] * w0, v[rows, seg + 1] * w1,
                     np.broadcast_to((ssm / (nm - 1) / nm_eff)[:, None], w.shape)]
            dfs = [(n - 1)[rows, seg], (n - 1)[rows, seg + 1], np.broadcast_to((nm - 1)[:, None], w.shape)]
            var = sum(terms)
            dfv = var ** 2 / sum(np.where(tm > 0, tm ** 2 / d, 0) for tm, d in zip(terms, dfs, strict=True))
        if variance not in ("pooled", "pooled_base", "welch"):
            raise ValueError(variance)
        q = t_quantile(1 - alpha / 2, dfv)
        stat = np.where(var > 0, diff / np.sqrt(var), np.sign(diff) * np.inf)
    return stat, q, var


def _zoom(pos, t, q):
    """Positions (R, GRID) spanning the coarse grid cells around the accepted set's ends (or around the sign
    change of t when no grid point was accepted): a second, finer pass resolves narrow intervals."""
    P, rows = pos.shape[1], np.arange(len(pos))
    acc = np.abs(t) <= q
    i0, i1 = np.argmax(acc, 1), P - 1 - np.argmax(acc[:, ::-1], 1)
    sign = np.argmax(np.diff(np.sign(t), axis=1) != 0, 1)  # first sign change (none: 0)
    a = np.where(acc.any(1), np.maximum(i0 - 1, 0), sign)
    z = np.where(acc.any(1), np.minimum(i1 + 1, P - 1), np.minimum(sign + 1, P - 1))
    return pos[rows, a][:, None] + (pos[rows, z] - pos[rows, a])[:, None] * np.linspace(0, 1, 4 * GRID)[None]


def estimate_rows(x, Y, M, xm, confidence=0.95, variance=VARIANCE, shape=True, b=None, kappa=0.0):
    """Vectorised core. x (k,) sorted log budgets, Y (R, S_b, k) baseline losses, M (R, S_m) method
    losses (NaN = missing seed; every budget needs one finite seed per row), xm (R,) log method
    budget; ``kappa`` (scalar or (R,)): the between-study variance term (0: the seeds are whole repeated tuning
    studies, or tuning noise is ignored). Returns a dict of arrays: point, lo, hi, kind, open_lo, open_hi, b
    (speedups, not logs)."""
    n, nm = np.isfinite(Y).sum(1).astype(float), np.isfinite(M).sum(1).astype(float)
    ybar, mbar = np.nanmean(Y, 1), np.nanmean(M, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = np.nansum((Y - ybar[:, None]) ** 2, 1)  # (R, k)
        ssm = np.nansum((M - mbar[:, None]) ** 2, 1)
        dfb = (n - 1).sum(1)
        s2b = ss.sum(1) / dfb
    if b is None:
        b = shape_exponent(x, ybar, n, s2b, dfb) if shape else np.zeros(len(ybar))
    xp, kind = point_x(x, isotonic_decreasing(ybar, n), mbar, b)
    pos = _shape_w(x, b, np.linspace(0.0, 1.0, GRID))[0]
    kappa = np.broadcast_to(np.asarray(kappa, float), ybar.shape[:1])
    args = (b, x, n, ybar, mbar, s2b, dfb, ss, ssm, nm, 1 - confidence, variance, kappa)
    t, q, var = _statistic(pos, *args)
    coarse = invert(pos, t, q)
    fine = _zoom(pos, t, q)  # the accepted set (or the sign change of t) again at 4 x GRID resolution
    tf, qf, _ = _statistic(fine, *args)
    use = (np.abs(t) <= q).any(1) | (np.abs(tf) <= qf).any(1)
    lo, hi, open_lo, open_hi = (np.where(use, f, c) for f, c in zip(invert(fine, tf, qf), coarse, strict=True))
    none = ~np.isfinite(q).all(1) | ~np.isfinite(var).all(1)  # no variance estimate: no interval
    exact = (var == 0).all(1)  # identical seeds everywhere: the interval is the point
    lo, hi = np.where(exact, xp, lo), np.where(exact, xp, hi)
    lo, hi = np.where(none, np.nan, np.minimum(lo, xp)), np.where(none, np.nan, np.maximum(hi, xp))
    open_lo, open_hi = open_lo & ~none & ~exact, open_hi & ~none & ~exact
    edge = np.exp(x[0] - xm), np.exp(x[-1] - xm)  # clipped: rounding never leaves the range
    point, lo, hi = (np.clip(np.exp(v - xm), *edge) for v in (xp, lo, hi))
    return dict(point=point, lo=lo, hi=hi, kind=kind, open_lo=open_lo, open_hi=open_hi, b=b)


def estimate_many(d, Y, method_budgets, M, confidence=0.95, variance=VARIANCE, kappa=0.0) -> dict:
    """``estimate_speedup`` for R method budgets against baselines that share the budgets ``d`` (k,), sorted,
    positive, distinct: Y (R, S_b, k) baseline losses (every budget one finite seed per row), method_budgets
    (R,), M (R, S_m) method losses (NaN = missing). Returns a dict of arrays (point, lo, hi, kind, open_lo,
    open_hi, b); a row whose method has no finite loss or budget is kind "none" (NaN)."""
    d, Y, M = np.asarray(d, float), np.asarray(Y, float), np.asarray(M, float)
    mb = np.asarray(method_budgets, float)
    valid = np.isfinite(M).any(1) & (mb > 0)
    R = len(mb)
    out = dict(point=np.full(R, np.nan), lo=np.full(R, np.nan), hi=np.full(R, np.nan),
               kind=np.full(R, "none", dtype=object), open_lo=np.zeros(R, bool), open_hi=np.zeros(R, bool),
               b=np.zeros(R))
    if len(d) < 2 or not valid.any():
        return out
    kappa = np.broadcast_to(np.asarray(kappa, float), mb.shape)[valid]
    got = estimate_rows(np.log(d), Y[valid], M[valid], np.log(mb[valid]), confidence, variance, kappa=kappa)
    for key, v in got.items():
        out[key][valid] = v
    # the baseline against itself (the method's seeds are the baseline's at one budget): 1.0 by definition
    j = np.searchsorted(d, mb).clip(0, len(d) - 1)
    width = max(Y.shape[1], M.shape[1])
    pad = lambda a: np.pad(np.sort(a, 1), ((0, 0), (0, width - a.shape[1])), constant_values=np.nan)  # noqa: E731
    mine, theirs = pad(M), pad(Y[np.arange(R), :, j])
    same = valid & (d[j] == mb) & ((mine == theirs) | (np.isnan(mine) & np.isnan(theirs))).all(1)
    out["point"][same], out["kind"][same] = 1.0, "value"
    lo_edge, hi_edge = d[0] / mb, d[-1] / mb  # exact ratios at the ends: a bound at a budget is that ratio
    for key in ("point", "lo", "hi"):
        v = np.clip(out[key], lo_edge, hi_edge)
        for edge in (lo_edge, hi_edge):
            v = np.where(np.isclose(v, edge, rtol=1e-12, atol=0), edge, v)
        out[key] = np.where(valid, v, np.nan)
    return out


def estimate_speedup(base_budgets, base_losses, method_budget, method_losses, confidence=0.95,
                     variance=VARIANCE) -> SpeedupEstimate:
    """Data speedup of one method budget over the baseline (see the module docstring).

    base_losses: (S_b x k) array, seeds x budgets, NaN = missing (a 1-D array is one seed);
    method_losses: the method's S_m final losses at ``method_budget``. A budget with no finite seed
    is dropped. The baseline's own seeds at one of its budgets give point = 1.0 exactly.
    """
    d = np.asarray(base_budgets, float)
    Y = np.atleast_2d(np.asarray(base_losses, float))
    keep = np.isfinite(d) & (d > 0) & np.isfinite(Y).any(0)
    order = np.argsort(d[keep])
    d, Y = d[keep][order], Y[:, keep][:, order]
    if len(np.unique(d)) != len(d):
        return SpeedupEstimate(np.nan, np.nan, np.nan, "none")
    out = estimate_many(d, Y[None], [float(method_budget)], np.asarray(method_losses, float).ravel()[None],
                        confidence, variance)
    return SpeedupEstimate(float(out["point"][0]), float(out["lo"][0]), float(out["hi"][0]), str(out["kind"][0]),
                           bool(out["open_lo"][0]), bool(out["open_hi"][0]), float(out["b"][0]))


def estimate_text(est: SpeedupEstimate) -> str:
    """Text for a report: '1.23x [1.10, 1.37]', '> 2.00x', '1.10x [0.95, open]', 'n/a'."""
    if est.kind == "none":
        return "n/a"
    head = {"value": f"{est.point:.2f}x", "lower_bound": f"> {est.point:.2f}x",
            "upper_bound": f"< {est.point:.2f}x"}[est.kind]
    if not (est.open_lo or est.open_hi or np.isfinite(est.lo)):
        return head + " (no interval)"
    fmt = [("open" if o else f"{v:.2f}") for v, o in ((est.lo, est.open_lo), (est.hi, est.open_hi))]
    return f"{head} [{fmt[0]}, {fmt[1]}]"


TABLE_COLUMNS = ["budget", "speedup", "speedup_lo", "speedup_hi", "kind", "open_lo", "open_hi", "b", "text"]


def _matrix(frame: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per group of ``keys`` and its losses padded with NaN into a (groups x seeds) matrix."""
    frame = frame.sort_values(keys, kind="stable")
    groups = frame.groupby(keys, sort=False, dropna=False)
    index = groups.ngroup().to_numpy()
    seat = groups.cumcount().to_numpy()
    losses = np.full((groups.ngroups, int(seat.max()) + 1 if len(seat) else 0), np.nan)
    losses[index, seat] = frame["loss"].to_numpy(float)
    return frame[keys].drop_duplicates().reset_index(drop=True), losses


def speedup_tables(baseline: pd.DataFrame, methods: pd.DataFrame, by: list[str], confidence: float = 0.95,
                   kappa: dict | None = None) -> pd.DataFrame:
    """``speedup_table`` for every group of ``by`` at once (the leaderboard's path: one vectorised estimate per
    distinct set of baseline budgets). ``baseline``: by + budget, loss (a row per seed); ``methods``: by +
    method + budget, loss; ``kappa``: {(by values): the between-study variance term} (default 0). Returns by +
    method + ``TABLE_COLUMNS``."""
    keys = [*by, "method", "budget"]
    if methods.empty or baseline.empty:
        return pd.DataFrame(columns=[*by, "method", *TABLE_COLUMNS])
    base = baseline[np.isfinite(baseline["budget"].astype(float)) & (baseline["budget"].astype(float) > 0)]
    base_keys, base_losses = _matrix(base[[*by, "budget", "loss"]], [*by, "budget"])
    base_keys = base_keys[np.isfinite(base_losses).any(1)]  # a budget with no finite seed is dropped
    base_losses = base_losses[np.isfinite(base_losses).any(1)]
    scales = {}  # by-key -> (budgets, S x k losses)
    for key, idx in base_keys.groupby(by, sort=False, dropna=False).indices.items():
        key = key if isinstance(key, tuple) else (key,)
        scales[key] = (base_keys["budget"].to_numpy(float)[idx], base_losses[idx].T)
    rows, losses = _matrix(methods[keys + ["loss"]], keys)
    rows["scale_key"] = list(rows[by].itertuples(index=False, name=None))
    rows = rows.assign(**{c: np.nan for c in TABLE_COLUMNS[1:4]}, kind="none", open_lo=False, open_hi=False, b=0.0)
    signature = [(len(scales[k][0]), scales[k][1].shape[0], tuple(scales[k][0])) if k in scales else None
                 for k in rows["scale_key"]]
    for sig in {s for s in signature if s is not None}:
        at = np.flatnonzero([s == sig for s in signature])
        Y = np.stack([scales[rows["scale_key"].iat[i]][1] for i in at])
        k = [(kappa or {}).get(rows["scale_key"].iat[i], 0.0) for i in at]
        got = estimate_many(np.array(sig[2]), Y, rows["budget"].to_numpy(float)[at], losses[at], confidence, kappa=k)
        for col, key in (("speedup", "point"), ("speedup_lo", "lo"), ("speedup_hi", "hi"), ("kind", "kind"),
                         ("open_lo", "open_lo"), ("open_hi", "open_hi"), ("b", "b")):
            rows.iloc[at, rows.columns.get_loc(col)] = got[key]
    rows["text"] = [estimate_text(SpeedupEstimate(*r)) for r in rows[["speedup", "speedup_lo", "speedup_hi", "kind",
                                                                  "open_lo", "open_hi", "b"]].itertuples(
                                                                      index=False, name=None)]
    one = np.array([s is not None and s[0] < 2 for s in signature], bool)  # a speedup needs 2 baseline budgets
    rows.loc[one, "text"] = "n/a (the baseline ran at one budget)"
    return rows.drop(columns="scale_key")[[*by, "method", *TABLE_COLUMNS]]


def speedup_table(baseline: pd.DataFrame, method: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """``estimate_speedup`` at every budget of ``method``; both frames have columns budget, loss (a row per
    seed). Columns: budget, speedup, speedup_lo, speedup_hi, kind, open_lo, open_hi, b, text (``describe``)."""
    one = dict(scale=0, method="m")
    return speedup_tables(baseline.assign(**one), method.assign(**one), ["scale"], confidence)[TABLE_COLUMNS]


def data_speedup(baseline_budgets, baseline_losses, method_budgets, method_losses) -> pd.DataFrame:
    """Points only, from one loss per budget (e.g. a published table of seed means): ``speedup_table`` with
    one "seed" per budget, so no interval. The Fantastic-Optimizers data speedup, never extrapolated."""
    base = pd.DataFrame({"budget": np.asarray(baseline_budgets, float), "loss": np.asarray(baseline_losses, float)})
    mine = pd.DataFrame({"budget": np.asarray(method_budgets, float), "loss": np.asarray(method_losses, float)})
    return speedup_table(base, mine)
