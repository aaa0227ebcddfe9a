"""The one engine from rows to verdicts: what a leaderboard row pools, how sequential seeds are judged, and every
claim of a method judged — ``harness verify`` (run or ``--reference``), ``harness report`` and the dashboard call
these functions and print the same numbers for the same rows.

Pooling key (``POOL``): one leaderboard per suite, suite version and hardware (results of different versions or
machines are never pooled); within it one row per workload, scale, budget and method (``analysis.STUDY_KEYS``).

Sequential seeds: ``harness verify`` judges a claim at the suite's planned seeds (its first look, recorded with every
row: ``tuning_seeds`` x ``tuning_repeats``), then adds one seed (or one repeated tuning study) at a time to the
scales still undecided. Look k is judged at two-sided confidence 1 − 0.05/2^k (95%, 97.5%, 98.75%, ...): one-sided
false support 2.5% at the first look and 2.5%·(1/2 + 1/4 + ...) < 2.5% over all later ones, so at most 5% in all
whatever the number of looks (no cap to know). ``judge`` replays the looks on the stored rows, so a stored run and
the run that made it give the same verdicts, each at the level of the look that decided it (printed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.stats import analysis, claims

POOL = ("suite", "suite_version", "hardware")
ERROR_BUDGET = 0.05  # one-sided false support over all looks


def look_confidence(look: int) -> float:
    """Two-sided confidence of the interval judged at ``look`` (0 = the first): 1 − 0.05/2^look."""
    return 1 - ERROR_BUDGET / 2**look


def hardware_label(rows: pd.DataFrame) -> pd.Series:
    """The GPU's name, else ``CPU (<model>)``, else the device string: what a leaderboard never pools across."""
    def column(name):
        return rows[name].astype("string") if name in rows else pd.Series(pd.NA, index=rows.index, dtype="string")

    cpu = ("CPU (" + column("cpu_model") + ")").fillna(column("device"))
    return column("device_name").fillna(cpu).fillna("unknown").astype(str)


def boards(rows: pd.DataFrame, baseline: str, confidence: float = analysis.CONFIDENCE,
           spaces: dict | None = None) -> pd.DataFrame:
    """``analysis.leaderboard`` of each ``POOL`` part against ``baseline``, with its suite version and hardware."""
    if rows.empty:
        return pd.DataFrame()
    rows = rows if "hardware" in rows else rows.assign(hardware=hardware_label(rows))
    rows = rows.assign(suite_version=rows["suite_version"].fillna("1").astype(str)) if "suite_version" in rows \
        else rows.assign(suite_version="1")
    parts = []
    for (_, version, hardware), part in rows.groupby(list(POOL), sort=True, observed=True):
        table = analysis.leaderboard(part, baseline, confidence, spaces)
        if not table.empty:
            parts.append(table.assign(suite_version=version, hardware=hardware))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def first_look(rows: pd.DataFrame) -> int | None:
    """The seeds per study the suite planned before ``verify`` added any (recorded with each row), or None."""
    if "tuning_seeds" not in rows or rows["tuning_seeds"].isna().all():
        return None
    planned = rows["tuning_seeds"].astype(float) * rows.get("tuning_repeats", pd.Series(1.0, index=rows.index)
                                                           ).fillna(1.0).astype(float)
    return int(planned.min())


def _once(rows: pd.DataFrame, method: str, mine, confidence: float, spaces: dict | None) -> pd.DataFrame:
    """Every claim in ``mine`` judged once at ``confidence`` (one board per baseline the claims name)."""
    out = []
    for baseline in dict.fromkeys(c.baseline for c in mine):
        theirs = [c for c in mine if c.baseline == baseline]
        if baseline not in set(rows["method"]):
            out.append(pd.DataFrame([{"quote": c.quote, "baseline": baseline, "metric": c.metric, "claimed": c.factor,
                                      "form": c.form, "verdict": "inconclusive", "confidence": confidence,
                                      "reason": f"baseline {baseline!r} not run in this suite"} for c in theirs]))
            continue
        out.append(claims.judge_board(boards(rows, baseline, confidence, spaces), method, theirs, confidence))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


SCALE_KEY = ["quote", "baseline", "metric", "claimed", "hardware", "workload", "scale"]


def judge(rows: pd.DataFrame, method: str, mine, start: int | None = None, spaces: dict | None = None
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every claim of ``method`` in ``mine`` on ``rows``: (per-budget rows, one verdict per claim and scale), each
    at the look that decided it (replayed from the stored seeds; ``start``: the first look's seeds when the rows
    do not record it). A scale's looks run from ``start`` to the seeds it has."""
    final = rows["phase"] == "final"
    seeds = rows.loc[final & (rows["method"] == method), "seed"]
    most = int(seeds.max()) if len(seeds) else 0
    start = start or first_look(rows) or most
    decided: dict[tuple, tuple[pd.Series, pd.DataFrame]] = {}  # (claim, scale) -> (its verdict, its rows)
    for look in range(max(most - start, 0) + 1):
        sub = rows[~final | (rows["seed"] <= start + look)]
        per_budget = _once(sub, method, mine, look_confidence(look), spaces)
        if per_budget.empty or "workload" not in per_budget:
            return per_budget, pd.DataFrame()
        summary = claims.summarize(per_budget)
        last = _last_look(rows, method, start)
        where = per_budget.groupby(SCALE_KEY, sort=False, dropna=False).indices
        for s in summary.to_dict("records"):
            key = tuple(s[k] for k in SCALE_KEY)
            if key in decided and decided[key][0]["verdict"] in (*claims.DECIDED, "mixed"):
                continue  # decided at an earlier look
            if look <= last.get((s["hardware"], s["workload"], s["scale"]), 0):
                decided[key] = ({**s, "look": look}, per_budget.iloc[where[key]].assign(look=look))
    summary = pd.DataFrame([d[0] for d in decided.values()]).reset_index(drop=True) if decided else pd.DataFrame()
    per_budget = pd.concat([d[1] for d in decided.values()], ignore_index=True) if decided else pd.DataFrame()
    if not summary.empty:
        order = {k: i for i, k in enumerate(dict.fromkeys(zip(summary["quote"], summary["claimed"], strict=True)))}
        summary["_o"] = [order[k] for k in zip(summary["quote"], summary["claimed"], strict=True)]
        summary = summary.sort_values(["_o", "params"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return per_budget, summary


def _last_look(rows: pd.DataFrame, method: str, start: int) -> dict[tuple, int]:
    """Per (hardware, workload, scale): the last look its stored seeds reach (the method's most seeds − start)."""
    mine = rows[(rows["phase"] == "final") & (rows["method"] == method)]
    if mine.empty:
        return {}
    hw = mine["hardware"] if "hardware" in mine else hardware_label(mine)
    most = mine.assign(hardware=hw).groupby(["hardware", "workload", "scale"], observed=True)["seed"].max()
    return {k: max(int(v) - start, 0) for k, v in most.items() if np.isfinite(v)}
