"""Per-group moments and the t intervals built on them, vectorised over integer group codes (numpy bincounts:
a pandas groupby costs milliseconds per call), and the group codes themselves (``group_codes``, ``first_valid``,
``joined``). Shared by the leaderboard and the to-target ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

KAPPA = 1.0  # a study that ran one tuning study: its tuning noise assumed to have the seeds' variance (an assumption)


def t_quantile(confidence: float, df):
    return special.stdtrit(df, (1 + confidence) / 2)  # scipy.stats.t.ppf, without importing scipy.stats


def one(values, log: bool = False) -> pd.DataFrame:
    """``moments`` of one sample."""
    return moments(pd.DataFrame({"v": np.asarray(values, float).ravel(), "_g": 0}), "_g", "v", 1, log)


def moments(frame: pd.DataFrame, code: str, column: str, size: int, log: bool = False) -> pd.DataFrame:
    """Per group code 0..size-1: n, mean, var (ddof 1; exactly 0 when the values are equal) of the non-NaN
    values of ``column``; with ``log``, of their logs, and neg/zero (some value < 0 / == 0: no ratio)."""
    v = frame[column].to_numpy(float, na_value=np.nan) if column in frame else np.full(len(frame), np.nan)
    return moments_of(frame[code].to_numpy(np.int64), v, size, log)


def moments_of(c: np.ndarray, v: np.ndarray, size: int, log: bool = False) -> pd.DataFrame:
    """``moments`` of the values ``v`` (floats, NaN = none) with group codes ``c``: numpy bincounts."""
    out = {}
    if log:
        with np.errstate(invalid="ignore"):
            out["neg"] = np.bincount(c[v < 0], minlength=size) > 0
            out["zero"] = np.bincount(c[v == 0], minlength=size) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log(np.where(v > 0, v, np.nan))
    keep = ~np.isnan(v)
    order = np.argsort(c[keep], kind="stable")
    c, v = c[keep][order], v[keep][order]
    n = np.bincount(c, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(c, v, size) / n
        var = np.where(n >= 2, np.bincount(c, (v - mean[c]) ** 2, size) / (n - 1), np.nan)
    if len(c):
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        equal = np.maximum.reduceat(v, starts) == np.minimum.reduceat(v, starts)
        var[c[starts][equal & (n[c[starts]] >= 2)]] = 0.0
    return pd.DataFrame({"n": n, "mean": mean, "var": var, **out})


def welch(b: pd.DataFrame, m: pd.DataFrame, confidence: float, tuning=0.0, extra=0.0):
    """mean(m) - mean(b) with its Welch t interval, per row of moments (NaN without data).

    ``tuning`` (kappa, per row or scalar): each mean also carries one draw of its study's tuning noise, assumed
    to have kappa times the seed variance (var/n + kappa·var: the between-study variance term used when only
    one tuning study ran, docs/statistics.md); ``extra``: a further known variance (the paired test-set
    variance of an accuracy difference), added with infinite degrees of freedom."""
    nb, nm = b["n"].to_numpy(float), m["n"].to_numpy(float)
    point = m["mean"].to_numpy(float) - b["mean"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        vb, vm = b["var"].to_numpy(float) * (1 / nb + tuning), m["var"].to_numpy(float) * (1 / nm + tuning)
        s = vb + vm + extra
        df = s**2 / (vb**2 / (nb - 1) + vm**2 / (nm - 1))
        half = t_quantile(confidence, np.where(s > 0, df, 1.0)) * np.sqrt(s)
    half = np.where(s == 0, 0.0, half)
    few = (nb < 2) | (nm < 2)
    none = (nb == 0) | (nm == 0)
    point = np.where(none, np.nan, point)
    return point, np.where(few | none, np.nan, point - half), np.where(few | none, np.nan, point + half)


def ratio(b, m, confidence):
    """``ratio_ci(b values, m values)`` per row: mean(b) / mean(m) of geometric means with its interval."""
    point, lo, hi = (np.exp(v) for v in welch(m, b, confidence))
    bad = b["neg"].fillna(False).to_numpy(bool) | m["neg"].fillna(False).to_numpy(bool) | b["zero"].fillna(
        False).to_numpy(bool)
    inf = ~bad & m["zero"].fillna(False).to_numpy(bool) & (b["n"].to_numpy() > 0)
    point = np.where(inf, np.inf, point)
    lo, hi = np.where(inf, np.nan, lo), np.where(inf, np.nan, hi)
    return np.where(bad, np.nan, point), np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def mean_ci(mom: pd.DataFrame, confidence: float, tuning=0.0):
    """mean ± t_{n-1}·sqrt(var·(1/n + tuning)) per row of moments (``tuning``: as in ``welch``)."""
    n, mean, var = mom["n"].fillna(0).to_numpy(float), mom["mean"].to_numpy(float), mom["var"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(var > 0, t_quantile(confidence, np.maximum(n - 1, 1)) * np.sqrt(var * (1 / n + tuning)), 0.0)
    lo, hi = np.where(n < 2, np.nan, mean - half), np.where(n < 2, np.nan, mean + half)
    return np.where(n == 0, np.nan, mean), lo, hi


def group_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The stable order of ``frame``'s rows sorted by ``keys`` (missing values last: ``sort_values(kind="stable")``)
    and, for each prefix ``keys[:1]``, ``keys[:2]``, ..., every row's group code in that order (0, 1, ... in key
    order: ``groupby(prefix, sort=False, dropna=False).ngroup()`` of the sorted rows)."""
    codes = [sorted_codes(frame[key]) for key in keys]
    order = np.lexsort(codes[::-1]) if codes else np.arange(len(frame))
    change, out = np.zeros(len(frame), bool), []
    for c in codes:
        c = c[order]
        change = change | np.r_[True, c[1:] != c[:-1]][: len(c)]
        out.append(np.cumsum(change) - 1)
    return order, out


def sorted_codes(values) -> np.ndarray:
    """Each value's rank among the distinct values (missing ones last, as ``sort_values`` puts them)."""
    c = pd.factorize(values, sort=True)[0]  # missing: -1
    return np.where(c < 0, c.max(initial=-1) + 1, c)


def first_valid(c: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per group code 0..size-1: the first value of its rows that is not missing (``groupby(...).first()``), else
    NaN; ``values`` a numpy array (floats or objects)."""
    have = pd.notna(values)
    out = np.full(size, np.nan, dtype=values.dtype)
    codes, at = np.unique(c[have], return_index=True)
    out[codes] = values[have][at]
    return out


def joined(c: np.ndarray, values, size: int) -> list[str]:
    """Per group code 0..size-1: the distinct values (strings; none missing) of its rows, sorted and comma-joined
    ("" when none)."""
    out = np.full(size, "", dtype=object)
    if len(c):
        which, names = pd.factorize(np.asarray(values, object), sort=True)
        pairs = np.unique(c.astype(np.int64) * len(names) + which)  # by group, then value
        owner, names = pairs // len(names), np.asarray(names, object)[pairs % len(names)]
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        ends = np.r_[starts[1:], len(owner)]
        one = ends - starts == 1
        out[owner[starts[one]]] = names[starts[one]]
        for s, e in zip(starts[~one], ends[~one], strict=True):
            out[owner[s]] = ",".join(names[s:e])
    return out.tolist()
