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

Communication claims ("c times less bandwidth") are judged on the leaderboard's
``comm_ratio_at_loss``: the bytes the baseline needs to reach the method's final loss over the
bytes the method sent in its schedule, so that sending less by learning less earns nothing. Where
that is not measured (the baseline's final loss cannot be inverted, e.g. a single budget), the
equal-budget ratio ``comm_ratio`` is judged instead and labelled ``equal budget, loss not matched``;
bytes from simulated workers are labelled ``simulated communication``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.contracts.interface import Claim
from harness.stats.analysis import Estimate

WALL_CLOCK_METRICS = ("time", "energy", "overhead")
AT_MOST_METRICS = ("overhead", "memory")
COLUMNS = {  # claim.metric -> leaderboard column (with _lo/_hi beside it)
    "data": "data_speedup", "steps": "steps_ratio", "time": "time_ratio", "energy": "energy_ratio",
    "quality": "metric_delta", "overhead": "overhead_ratio", "memory": "memory_ratio",
    "forgetting": "forgetting_delta", "communication": "comm_ratio_at_loss",
}
DELTA_METRICS = ("quality", "forgetting")  # judged on a difference (null 0), not a ratio (null 1)
EQUAL_BUDGET = {"communication": "comm_ratio"}  # judged instead when the equal-loss column is not measured


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
          energy_quality: str | None = None, labels: tuple[str, ...] = ()) -> dict:
    """Verdict of one claim from one measured estimate (point, lo, hi).

    Returns metric, claimed, point, lo, hi, verdict, reason and labels (comma-separated:
    ``scaled-down`` when scale_params < claim.scale_params; ``estimated energy`` when an energy
    claim rests on estimated energy). A GPU wall-clock/energy/overhead claim measured on another
    device is ``inconclusive`` with the reason "needs a GPU run". ``labels`` are added as given.
    """
    point, lo, hi = (float(v) for v in estimate)
    labels = list(labels)
    if claim.scale_params and scale_params and scale_params < claim.scale_params:
        labels.append("scaled-down")
    if claim.metric == "energy" and energy_quality != "measured":
        labels.append("estimated energy" if energy_quality == "estimated" else "no energy measurement")
    out = dict(metric=claim.metric, claimed=claim.factor, point=point, lo=lo, hi=hi)
    if claim.hardware == "gpu" and claim.metric in WALL_CLOCK_METRICS and not _is_gpu(device):
        result, reason = "inconclusive", "needs a GPU run"
    elif np.isnan(lo) and np.isnan(hi):
        result, reason = "inconclusive", "no confidence interval (fewer than 2 seeds or no measurement)"
    elif np.isnan(lo) or np.isnan(hi):
        result, reason = "inconclusive", (f"open interval [{lo:.3g}, {hi:.3g}]: a bound lies beyond the baseline's "
                                          "measured losses (extrapolated), so it is not judged")
    elif claim.metric in AT_MOST_METRICS:
        result = verdict_at_most(claim.factor, lo, hi)
        reason = f"[{lo:.3g}, {hi:.3g}] against at most {claim.factor:g}x"
    else:
        null = 0.0 if claim.metric in DELTA_METRICS else 1.0
        result = verdict(claim.factor, lo, hi, null=null)
        reason = f"[{lo:.3g}, {hi:.3g}] against {claim.factor:g}{'' if null == 0 else 'x'} (null {null:g})"
    return {**out, "verdict": result, "reason": reason, "labels": ", ".join(labels)}


def _estimate(row: pd.Series, column: str | None) -> tuple[float, float, float]:
    if column is None or column not in row:
        return (np.nan, np.nan, np.nan)
    return tuple(float(row[c]) if row[c] is not None else np.nan for c in (column, f"{column}_lo", f"{column}_hi"))


def verify(board: pd.DataFrame, method: str, claims) -> pd.DataFrame:
    """Judge each claim of ``method`` on every leaderboard row of that method (a leaderboard made
    with ``baseline = claim.baseline``); one row per (claim, workload, scale, budget)."""
    rows = []
    for claim in claims:
        column = COLUMNS.get(claim.metric)
        for _, r in board[board["method"] == method].iterrows():
            est, labels = _estimate(r, column), []
            fallback = EQUAL_BUDGET.get(claim.metric)
            if fallback and np.isnan(est[0]) and not np.isnan(_estimate(r, fallback)[0]):
                est, labels = _estimate(r, fallback), ["equal budget, loss not matched"]
            if claim.metric == "communication" and r.get("communication_simulated") is True:
                labels.append("simulated communication")
            judged = judge(claim, est, r.get("params"), r.get("device"), r.get("energy_quality"), tuple(labels))
            unit = r.get("metric_name")
            if claim.metric == "quality" and claim.factor != 0 and unit not in (None, "accuracy"):
                judged.update(verdict="inconclusive", reason=f"the claim is in accuracy; this workload measures {unit}")
            formats = [p for p in str(r.get("simulated") or "").split(",") if p and p != "communication"]
            if claim.metric in WALL_CLOCK_METRICS and formats:  # rounded in software: not the format's speed
                judged.update(verdict="inconclusive", reason=f"simulated formats ({', '.join(formats)}): "
                              "time and energy are not the format's")
            rows.append({"quote": claim.quote, "baseline": claim.baseline, "workload": r["workload"],
                         "scale": r["scale"], "budget_multiple": r["budget_multiple"], **judged})
    return pd.DataFrame(rows)
