"""The bridge from our scale to theirs: does a CPU-tier verdict predict the published one?

For every method with a published replication against the same baseline, ``tier_table`` puts our data speedup at
each of our scales beside the published one at each of theirs (``replications``: our estimator on the source's
losses), and says whether they agree: the same side of 1x, and (where both have two sizes) the same direction of
the trend with size. ``rank_agreement`` measures the whole tier: Spearman's rank correlation between our speedups
and the published ones across methods, with a bootstrap interval over methods (few methods: the interval says how
little the tier is known) and the exact permutation p-value.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from harness.stats.replications import replications

COLUMNS = ("method", "ours_scale", "ours_params", "ours", "ours_lo", "ours_hi", "ours_kind", "ours_text",
           "published_scale", "published_params", "published", "published_text", "source", "same_side", "agreement")


def ours_table(board: pd.DataFrame, baseline: str, budget: float = 1.0) -> pd.DataFrame:
    """Our data speedups against ``baseline`` at ``budget`` per method and scale, from an ``engine.boards`` table."""
    mine = board[(board["method"] != baseline) & np.isclose(board["budget_multiple"].astype(float), budget)]
    return mine[["method", "scale", "params", "data_speedup", "data_speedup_lo", "data_speedup_hi",
                 "data_speedup_kind"]].rename(columns={"data_speedup": "point", "data_speedup_lo": "lo",
                                                       "data_speedup_hi": "hi", "data_speedup_kind": "kind"})


def published_table(methods, baseline: str, published, budget: float = 1.0) -> pd.DataFrame:
    """The published data speedups of ``methods`` against ``baseline`` at ``budget``; a bound ("< 1.00x": worse
    than the baseline at its smallest budget) stands at its limit, with its text."""
    parts = [replications(m, baseline, published.losses) for m in methods]
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if rows.empty:
        return rows
    rows = rows[np.isclose(rows["budget_multiple"].astype(float), budget) & rows["speedup"].notna()]
    return rows[["method", "scale", "params", "speedup", "kind", "text", "source"]]


def _side(v: float, kind: str = "value") -> float:
    """+1 faster than the baseline, -1 slower, 0 level, NaN unknown. A bound has a side only when its limit is on
    the far side of 1x ("< 0.50x" is slower; "< 1.20x" could be either)."""
    if not np.isfinite(v) or kind == "none":
        return np.nan
    if kind == "upper_bound":
        return -1.0 if v <= 1 else np.nan
    if kind == "lower_bound":
        return 1.0 if v >= 1 else np.nan
    return float(np.sign(round(v - 1.0, 3)))


def _lo(v: float) -> float:
    return v if np.isfinite(v) else -np.inf


def _hi(v: float) -> float:
    return v if np.isfinite(v) else np.inf


def _text(point: float, lo: float, hi: float, kind: str) -> str:
    if kind in ("upper_bound", "lower_bound"):
        return f"{'<' if kind == 'upper_bound' else '>'} {point:.2f}x (bound)"
    if not np.isfinite(point):
        return "—"
    ends = [f"{v:.2f}x" if np.isfinite(v) else "open" for v in (lo, hi)]
    return f"{point:.2f}x [{ends[0]}, {ends[1]}]"


def tier_table(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Per method, each of our scales beside each published one: ours [lo, hi], theirs, and the agreement (the same
    side of 1x; "ours holds 1x": our interval contains it)."""
    rows = []
    for method in sorted(set(ours["method"]) & set(theirs["method"])):
        for o, t in itertools.product(ours[ours["method"] == method].itertuples(),
                                      theirs[theirs["method"] == method].itertuples()):
            covers = o.kind == "value" and _lo(o.lo) <= 1 <= _hi(o.hi)  # an open end is unbounded
            mine, theirs_side = _side(o.point, o.kind), _side(t.speedup, t.kind)
            same = mine == theirs_side
            word = "ours holds 1x" if covers else "unknown (a bound)" if np.isnan(mine) or np.isnan(theirs_side) \
                else "agrees" if same else "disagrees"
            rows.append({"method": method, "ours_scale": o.scale, "ours_params": o.params, "ours": o.point,
                         "ours_lo": o.lo, "ours_hi": o.hi, "ours_kind": o.kind,
                         "ours_text": _text(o.point, o.lo, o.hi, o.kind), "published_scale": t.scale,
                         "published_params": t.params, "published": t.speedup, "published_text": t.text,
                         "source": t.source, "same_side": same, "agreement": word})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return np.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def rank_agreement(pairs: pd.DataFrame, confidence: float = 0.95, draws: int = 4000, seed: int = 0) -> dict:
    """Spearman's rho between ``pairs["ours"]`` and ``pairs["published"]`` (one row per method), its percentile
    bootstrap interval over methods, and the exact permutation p-value of rho >= the observed (no agreement)."""
    x, y = pairs["ours"].to_numpy(float), pairs["published"].to_numpy(float)
    n = len(x)
    rho = _spearman(x, y)
    if n < 3 or not np.isfinite(rho):
        return {"n": n, "rho": rho, "lo": np.nan, "hi": np.nan, "p": np.nan}
    rng = np.random.default_rng(seed)
    boot = np.array([_spearman(x[i], y[i]) for i in rng.integers(0, n, (draws, n))])
    boot = boot[np.isfinite(boot)]
    lo, hi = np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2]) if len(boot) else (np.nan, np.nan)
    perms = [_spearman(x, y[list(p)]) for p in itertools.permutations(range(n))] if n <= 8 else \
        [_spearman(x, rng.permutation(y)) for _ in range(draws)]
    p = float(np.mean(np.asarray(perms) >= rho - 1e-12))
    return {"n": n, "rho": rho, "lo": float(lo), "hi": float(hi), "p": p}


def trend_agreement(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Per method with two or more sizes on both sides: the direction of the speedup from the smallest size to the
    largest, ours and published, and whether they agree. Ours has a direction only where the two sizes' intervals
    do not overlap (the published figures are single runs: their points). Bounds have no trend and are left out."""
    rows = []
    ours, theirs = ours[ours["kind"] == "value"], theirs[theirs["kind"] == "value"]
    for method in sorted(set(ours["method"]) & set(theirs["method"])):
        o = ours[ours["method"] == method].dropna(subset=["point"]).sort_values("params")
        t = theirs[theirs["method"] == method].sort_values("params")
        if len(o) < 2 or t["scale"].nunique() < 2:
            continue
        t = t.groupby("params", sort=True)["speedup"].mean()
        small, large = o.iloc[0], o.iloc[-1]
        apart = _lo(large["lo"]) > _hi(small["hi"]) or _hi(large["hi"]) < _lo(small["lo"])
        mine, pub = np.sign(large["point"] - small["point"]), np.sign(t.iloc[-1] - t.iloc[0])
        word = {1: "rises", -1: "falls", 0: "flat"}
        rows.append({"method": method, "ours": f"{small['point']:.2f} -> {large['point']:.2f}",
                     "ours_trend": word[int(mine)] if apart else "unclear (the intervals overlap)",
                     "published": f"{t.iloc[0]:.2f} -> {t.iloc[-1]:.2f}", "published_trend": word[int(pub)],
                     "agreement": "cannot say" if not apart else "agrees" if mine == pub else "disagrees"})
    return pd.DataFrame(rows)


def bridge(board: pd.DataFrame, baseline: str, published, budget: float = 1.0) -> dict | None:
    """Everything the tier check shows, from an ``engine.boards`` table: ``table`` (``tier_table``), ``first`` (the
    smallest published scale) and ``near`` (the table's rows at it), ``ranks`` (per our scale, ``rank_agreement``
    against ``first``) and ``trends`` (``trend_agreement``); None where no method has a published replication."""
    ours = ours_table(board, baseline, budget)
    theirs = published_table(sorted(set(ours["method"])), baseline, published, budget)
    table = tier_table(ours, theirs) if len(theirs) else pd.DataFrame()
    if table.empty:
        return None
    first = table.sort_values("published_params")["published_scale"].iloc[0]
    near = table[table["published_scale"] == first]
    ranks = pd.DataFrame([{"ours_scale": s, "published_scale": first, **rank_agreement(near[near["ours_scale"] == s])}
                          for s in ours["scale"].unique()])
    return {"table": table, "first": first, "near": near, "ranks": ranks, "trends": trend_agreement(ours, theirs)}

