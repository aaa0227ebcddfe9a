"""What the dashboard's first screen says, from the leaderboard and the claims' verdicts: per study the best method
that qualifies (``studies``), per suite one line (``suite_lines``), the AlgoPerf score over the studies every scored
method ran (``scores``), and a disk copy of tables that take long to compute (``remembered``).

A method qualifies when it learned and has two or more seeds (no ``DISQUALIFY`` flag): a method that did not learn,
or whose single seed has no interval, is never a winner. Every number is the leaderboard's (``analysis.leaderboard``
through ``engine.boards``) or the verdicts' (``engine.judge``); this module only picks and counts. Imports of the
engine wait until a table is computed: a first screen read back from disk needs neither scipy nor the catalog.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from harness import cache

CELL = ["suite", "suite_version", "hardware", "workload", "scale", "budget_multiple"]  # one study: what ranks
DISQUALIFY = ("did not learn", "single seed")
NUMBER_KINDS = ("value", "lower_bound", "upper_bound")  # a data speedup that says something
SCALED = {"evidence for (scaled-down)": "scaled_for", "evidence against (scaled-down)": "scaled_against",
          "mixed (scaled-down)": "scaled_mixed", "inconclusive (scaled-down)": "scaled_inconclusive"}
OTHER_SIZE = ("scaled-down", "other scale")  # the labels of a run at another model size than the claim's
COUNTS = {"supported": "supported", "not supported": "not_supported", "mixed": "mixed",
          "inconclusive": "inconclusive", **SCALED}
OUTCOMES = ("winner", "tie with baseline", "baseline best", "none qualifies", "only baseline")


# --------------------------------------------------------------------------- one study


def qualifies(rows: pd.DataFrame) -> pd.Series:
    """Learned and two or more seeds: no ``DISQUALIFY`` flag."""
    flags = rows["flags"].fillna("").astype(str)
    flagged = flags.map(lambda f: any(d in f.split(", ") for d in DISQUALIFY)).astype(bool)
    return (rows["n_seeds"] >= 2) & ~flagged


def _versus(row: pd.Series) -> str:
    """The method against the baseline: its data speedup where one is measured, else its loss difference."""
    if row["data_speedup_kind"] in NUMBER_KINDS:
        return str(row["data_speedup_text"])
    from harness.stats.wording import num

    point, lo, hi = (float(row[c]) for c in ("loss_delta", "loss_delta_lo", "loss_delta_hi"))
    if not np.isfinite(point):
        return "not measured"
    word, ends = ("lower", (lo, hi)) if point >= 0 else ("higher", (-hi, -lo))
    span = f" [{', '.join('open' if not np.isfinite(v) else num(v, 2) for v in ends)}]" if np.isfinite(lo) or \
        np.isfinite(hi) else " (no interval)"
    return f"loss {num(abs(point), 2)}{span} {word}"


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _clears(row: pd.Series) -> tuple[bool, bool]:
    """(better, worse): the interval ``_versus`` prints lies wholly above / below "no difference"."""
    if row["data_speedup_kind"] in NUMBER_KINDS:
        lo, hi, null = float(row["data_speedup_lo"]), float(row["data_speedup_hi"]), 1.0
    else:
        lo, hi, null = float(row["loss_delta_lo"]), float(row["loss_delta_hi"]), 0.0
    return bool(np.isfinite(lo) and lo > null), bool(np.isfinite(hi) and hi < null)


def _study(g: pd.DataFrame) -> dict:
    from harness.stats import analysis  # lazily: scipy

    base = g["baseline"].iloc[0]
    others = g[g["method"] != base]
    ok = qualifies(others)
    out = {"baseline": base, "n_methods": len(g), "method": base, "tied": "", "versus": "", "kind": "",
           "n_seeds": int(g.loc[g["method"] == base, "n_seeds"].max() if (g["method"] == base).any() else 0),
           "flags": "", "excluded": "; ".join(f"{m} ({_text(f)})" for m, f in zip(
               others.loc[~ok, "method"], others.loc[~ok, "flags"], strict=True)),
           "range_lo": np.nan, "range_hi": np.nan}
    if others.empty or not ok.any():
        return {**out, "outcome": "only baseline" if others.empty else "none qualifies"}
    pool = g[(g["method"] == base) | g.index.isin(others.index[ok])]
    rank = analysis.rank_with_ties(pool, "loss", "loss_lo", "loss_hi")
    contender = pool[pool["method"] != base].sort_values("loss", kind="stable").iloc[0]
    better, worse = _clears(contender)
    outcome = "winner" if better else "baseline best" if worse else "tie with baseline"
    top = set(pool.loc[rank == rank[contender.name], "method"]) - {contender["method"], base}
    return {**out, "outcome": outcome, "method": contender["method"], "versus": _versus(contender),
            "tied": ", ".join(sorted(top)) if outcome == "winner" else "",
            "kind": _text(contender["data_speedup_kind"]), "n_seeds": int(contender["n_seeds"]),
            "flags": _text(contender["flags"]), "range_lo": contender["speedup_range_lo"],
            "range_hi": contender["speedup_range_hi"]}


def studies(board: pd.DataFrame) -> pd.DataFrame:
    """One row per study (``CELL``): ``method`` (the qualifying method other than the baseline with the lowest
    loss; the baseline itself when nothing else qualifies), ``versus`` (its data speedup as the leaderboard prints
    it, else its loss difference to the baseline, with the interval), ``outcome`` (``OUTCOMES``: "winner" when
    that interval lies wholly on the better side of "no difference", "baseline best" when wholly on the worse
    side, else "tie with baseline"), ``kind`` (the speedup's), ``tied`` (methods whose loss interval overlaps the
    winner's: ``analysis.rank_with_ties``), ``n_seeds``, ``flags``, ``excluded`` (methods that do not qualify and
    why), the baseline's measurable range (``range_lo``/``range_hi``: beyond it an interval end is open), ``params``
    and ``n_methods``."""
    rows = []
    for key, g in board.groupby(CELL, sort=False, dropna=False):
        rows.append({**dict(zip(CELL, key, strict=True)), "params": g["params"].max(), **_study(g)})
    return pd.DataFrame(rows, columns=[*CELL, "params", "outcome", "method", "baseline", "versus", "kind", "tied",
                                       "n_seeds", "flags", "excluded", "range_lo", "range_hi", "n_methods"])


# --------------------------------------------------------------------------- one line per suite


def scoped(verdict: str, labels) -> str:
    """The verdict with "(scaled-down)" wherever its run was at another model size than the claim's, also where the
    summary of several budgets (``claims.summarize``) gave a plain "inconclusive" or "mixed": such a verdict is
    evidence at that scale, never a verdict on the claim."""
    other = set(OTHER_SIZE) & {x.strip() for x in str(labels or "").split(",")}
    return f"{verdict} (scaled-down)" if other and verdict in ("inconclusive", "mixed") else verdict


def _counts(verdicts: pd.DataFrame) -> dict[str, int]:
    shown = pd.Series([scoped(v, x) for v, x in zip(verdicts["verdict"], verdicts.get(
        "labels", pd.Series("", index=verdicts.index)), strict=True)], dtype=object)
    found = shown.map(COUNTS).value_counts() if len(verdicts) else pd.Series(dtype=int)
    return {c: int(found.get(c, 0)) for c in dict.fromkeys(COUNTS.values())}


def suite_lines(table: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """One line per suite and hardware: its headline study (among the studies where a method other than the
    baseline ran, the largest model, then the most methods, then a speedup with both ends, then the largest
    budget), that study's row of ``studies``, ``wins`` ("2 of 3": the compared studies the same method wins),
    and the count of claim verdicts (one per claim and scale) by verdict (``COUNTS``, ``scoped``). Ordered by what was
    measured: suites with claims and a measured speedup first, then a measured speedup, then claims, then the rest;
    more decided verdicts first."""
    lines = []
    verdicts = verdicts if len(verdicts) else pd.DataFrame(columns=["suite", "hardware", "verdict"])
    for (suite, hardware), g in table.groupby(["suite", "hardware"], sort=True):
        compared = g[~g["outcome"].isin(["only baseline", "none qualifies"])]
        pool = compared if len(compared) else g
        closed = pool["kind"].eq("value") & ~pool["versus"].str.contains("open", regex=False)
        order = pool.assign(_closed=closed).sort_values(
            ["params", "n_methods", "_closed", "budget_multiple"], ascending=False, kind="stable")
        head = order.iloc[0].drop("_closed").to_dict()
        same = (compared["method"] == head["method"]) & (compared["outcome"] == head["outcome"])
        counts = _counts(verdicts[(verdicts["suite"] == suite) & (verdicts["hardware"] == hardware)])
        measured = head["kind"] in NUMBER_KINDS and head["outcome"] not in ("only baseline", "none qualifies")
        claims = sum(counts.values()) > 0
        tier = 0 if measured and claims else 1 if measured else 2 if claims and len(compared) else \
            3 if len(compared) else 4
        decided = sum(counts[c] for c in ("supported", "not_supported", "mixed", "scaled_for", "scaled_against",
                                          "scaled_mixed"))
        lines.append({**head, "wins": f"{int(same.sum())} of {len(compared)}", "n_studies": len(g), **counts,
                      "tier": tier, "decided": decided})
    out = pd.DataFrame(lines)
    if out.empty:
        return out
    out["_n"] = out[list(dict.fromkeys(COUNTS.values()))].sum(axis=1)
    out = out.sort_values(["tier", "decided", "_n", "suite"], ascending=[True, False, False, True], kind="stable")
    return out.drop(columns="_n").reset_index(drop=True)


# --------------------------------------------------------------------------- the AlgoPerf score, like for like


def comparable(ran: pd.DataFrame) -> tuple[list, list]:
    """(studies, methods) of a studies x methods table of booleans (did the method run the study): the studies
    where two or more methods ran and the methods that ran every one of them; while fewer than two methods are
    left, the study with the fewest methods is dropped."""
    keep = ran[ran.sum(axis=1) >= 2]
    while len(keep) > 1 and keep.all(axis=0).sum() < 2:
        keep = keep.drop(index=keep.sum(axis=1).idxmin())
    methods = keep.columns[keep.all(axis=0)] if len(keep) else keep.columns[:0]
    return list(keep.index) if len(methods) >= 2 else [], list(methods) if len(methods) >= 2 else []


def scores(rows: pd.DataFrame, taus) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per suite and hardware, ``analysis.algoperf_score`` and ``analysis.performance_profile`` of the time to target
    over the ``comparable`` studies only (a method is never scored on a study it did not run): (scores: suite,
    hardware, method, score or NaN when not scored, ran = studies it ran, of = studies with two or more methods,
    scored = the studies scored, as ``workload · scale · budget×``; profiles: suite, hardware, tau, method, rho)."""
    from harness.stats import analysis  # lazily: scipy

    final = rows[(rows["phase"] == "final") & (rows["status"] == "ok")]
    out, curves = [], []
    for (suite, hardware), part in final.groupby(["suite", "hardware"], sort=True):
        ran = part.pivot_table(index=list(analysis.STUDY_KEYS[:4]), columns="method", values="seed",
                               aggfunc="size", fill_value=0) > 0
        keep, methods = comparable(ran)
        if not keep:
            continue
        times = analysis.target_times(part).loc[keep, methods]
        if not np.isfinite(times.to_numpy(float)).any():
            continue
        label = "; ".join(f"{w} · {s} · {b:g}×" for _, w, s, b in keep)
        score = analysis.algoperf_score(times)
        shared = ran[ran.sum(axis=1) >= 2]
        out += [{"suite": suite, "hardware": hardware, "method": m, "score": score.get(m, np.nan),
                 "ran": int(shared[m].sum()), "of": len(shared), "scored": label} for m in ran.columns]
        long = analysis.performance_profile(times, taus).reset_index().melt(id_vars="tau", var_name="method",
                                                                             value_name="rho")
        curves.append(long.assign(suite=suite, hardware=hardware))
    return (pd.DataFrame(out, columns=["suite", "hardware", "method", "score", "ran", "of", "scored"]),
            pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
                columns=["tau", "method", "rho", "suite", "hardware"]))


# --------------------------------------------------------------------------- a disk copy


def remembered(place: str, key: str, sources: list[Path], compute: Callable[[], dict[str, pd.DataFrame]]
               ) -> dict[str, pd.DataFrame]:
    """``compute()`` (named tables) kept as Parquet files in the project's cache folder (``harness.cache.folder``),
    one set per ``place`` (e.g. a results folder), valid while ``key`` (e.g. its files' stamp) and ``sources`` (the
    code the tables come from, Python and the installed packages: ``cache.stamp``) are unchanged; an older set of
    the same place is removed. A copy that cannot be read is computed again; one that cannot be written is
    skipped."""
    import pyarrow.parquet as pq

    folder = cache.folder() / "dashboard"
    where = hashlib.sha1(place.encode()).hexdigest()[:12]
    try:
        stamp = hashlib.sha1(f"{key}:{cache.stamp(sources)}".encode()).hexdigest()[:16]
    except OSError:  # a source removed while stamping: no copy this time
        return compute()
    mine = folder / f"{where}-{stamp}"
    files = sorted(mine.glob("*.parquet"))
    if files:
        try:
            return {p.stem: pq.read_table(p).to_pandas() for p in files}
        except (OSError, ValueError):  # pyarrow's errors are both
            pass
    tables = compute()
    try:
        tmp = folder / f"{where}-{stamp}.{os.getpid()}.tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            table.to_parquet(tmp / f"{name}.parquet", index=False)
        for stale in folder.glob(f"{where}-*"):
            if stale.is_dir() and stale != tmp:
                for f in stale.iterdir():
                    f.unlink(missing_ok=True)
                stale.rmdir()
        tmp.rename(mine)
    except (OSError, ValueError, ImportError):
        pass
    return tables
