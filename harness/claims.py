"""Claim verdicts: a paper's claimed factor against the measured confidence interval.

Rules (CLAIMS.md), for a claimed factor c > 1 and a measured interval [lo, hi]:
``not supported`` when hi < c; ``supported`` when lo > 1 and hi >= c; ``inconclusive`` otherwise
(the interval holds both "no speedup" and the claim). Quality and forgetting claims (deltas,
positive = better: a higher final metric, less forgetting) follow the same rule on the delta with 0
in place of 1. Cost claims (``overhead``, ``memory``: "at most c times the baseline's per-step time
or memory") are judged the other way round:
``supported`` when hi <= c, ``not supported`` when lo > c.

A measurement at a smaller model than the claim's is labelled ``scaled-down``; wall-clock, energy
and overhead claims made on GPUs are judged only from GPU runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.analysis import Estimate
from harness.interface import Claim

WALL_CLOCK_METRICS = ("time", "energy", "overhead")
AT_MOST_METRICS = ("overhead", "memory")
COLUMNS = {  # claim.metric -> leaderboard column (with _lo/_hi beside it)
    "data": "data_speedup", "steps": "steps_ratio", "time": "time_ratio", "energy": "energy_ratio",
    "quality": "metric_delta", "overhead": "overhead_ratio", "memory": "memory_ratio",
    "forgetting": "forgetting_delta",
}
DELTA_METRICS = ("quality", "forgetting")  # judged on a difference (null 0), not a ratio (null 1)


def verdict(claimed: float, lo: float, hi: float, null: float = 1.0) -> str:
    """not supported: hi < claimed; supported: lo > null and hi >= claimed; else inconclusive
    (also when there is no interval). ``null`` is 1 for factors, 0 for deltas."""
    if np.isnan(lo) or np.isnan(hi):
        return "inconclusive"
    if hi < claimed:
        return "not supported"
    if lo > null and hi >= claimed:
        return "supported"
    return "inconclusive"


def verdict_at_most(claimed: float, lo: float, hi: float) -> str:
    """For "costs at most c times the baseline": supported when hi <= c, not supported when lo > c."""
    if np.isnan(lo) or np.isnan(hi):
        return "inconclusive"
    return "supported" if hi <= claimed else "not supported" if lo > claimed else "inconclusive"


def _is_gpu(device: str | None) -> bool:
    return bool(device) and any(part.strip().startswith(("cuda", "gpu")) for part in str(device).split(","))


def judge(claim: Claim, estimate: Estimate | tuple, scale_params: float | None, device: str | None,
          energy_quality: str | None = None) -> dict:
    """Verdict of one claim from one measured estimate (point, lo, hi).

    Returns metric, claimed, point, lo, hi, verdict, reason and labels (comma-separated:
    ``scaled-down`` when scale_params < claim.scale_params; ``estimated energy`` when an energy
    claim rests on estimated energy). A GPU wall-clock/energy/overhead claim measured on another
    device is ``inconclusive`` with the reason "needs a GPU run".
    """
    point, lo, hi = (float(v) for v in estimate)
    labels = []
    if claim.scale_params and scale_params and scale_params < claim.scale_params:
        labels.append("scaled-down")
    if claim.metric == "energy" and energy_quality != "measured":
        labels.append("estimated energy" if energy_quality == "estimated" else "no energy measurement")
    out = dict(metric=claim.metric, claimed=claim.factor, point=point, lo=lo, hi=hi)
    if claim.hardware == "gpu" and claim.metric in WALL_CLOCK_METRICS and not _is_gpu(device):
        result, reason = "inconclusive", "needs a GPU run"
    elif np.isnan(lo) or np.isnan(hi):
        result, reason = "inconclusive", "no confidence interval (fewer than 2 seeds or no measurement)"
    elif claim.metric in AT_MOST_METRICS:
        result = verdict_at_most(claim.factor, lo, hi)
        reason = f"[{lo:.3g}, {hi:.3g}] against at most {claim.factor:g}x"
    else:
        null = 0.0 if claim.metric in DELTA_METRICS else 1.0
        result = verdict(claim.factor, lo, hi, null=null)
        reason = f"[{lo:.3g}, {hi:.3g}] against {claim.factor:g}{'' if null == 0 else 'x'} (null {null:g})"
    return {**out, "verdict": result, "reason": reason, "labels": ", ".join(labels)}


def verify(board: pd.DataFrame, method: str, claims) -> pd.DataFrame:
    """Judge each claim of ``method`` on every leaderboard row of that method (a leaderboard made
    with ``baseline = claim.baseline``); one row per (claim, workload, scale, budget)."""
    rows = []
    for claim in claims:
        column = COLUMNS.get(claim.metric)
        for _, r in board[board["method"] == method].iterrows():
            if column in r:
                est = (r[column], r[f"{column}_lo"], r[f"{column}_hi"])
            else:
                est = (np.nan, np.nan, np.nan)
            judged = judge(claim, est, r.get("params"), r.get("device"), r.get("energy_quality"))
            rows.append({"quote": claim.quote, "baseline": claim.baseline, "workload": r["workload"],
                         "scale": r["scale"], "budget_multiple": r["budget_multiple"], **judged})
    return pd.DataFrame(rows)
