"""Claim verdicts: a paper's claimed factor against the measured confidence interval.

Rules, for a claimed factor or delta c and a measured interval [lo, hi] (NaN = open: beyond what the
measured budgets can show), chosen by simulation (docs/statistics.md):
``supported`` when lo >= c - (1 - MARGIN)|c| (for factors: lo >= 0.9 c; the measured effect is at least 90%
of the claim at one-sided confidence (1 + confidence) / 2) and, when c claims an effect, lo clears "no effect"
(lo > 1 for factors, > 0 for deltas: for c close to 1 the margin alone reaches below 1, and a measured 1.00x
[1.00, 1.00] once "supported" a 1.04x claim); ``not supported`` when hi < c; ``inconclusive`` otherwise.
A truth 10% or more below the claim is judged supported in at most (1 - confidence) / 2 of cases.
Quality and forgetting claims are deltas (positive = better: a higher final metric, less forgetting),
judged by the same rule in the metric's units. Cost claims (``overhead``, ``memory``: "at most c times
the baseline's per-step time or memory") are judged the other way round: ``supported`` when hi <= c,
``not supported`` when lo > c.

A measurement at a smaller model than the claim's is labelled ``scaled-down``; wall-clock, energy
and overhead claims made on GPUs are judged only from GPU runs.

Steps claims ("2x fewer steps") are judged on the steps-to-target ratio; where the workload's target is not
reached by both, on the data speedup (at equal batch size, the baseline's steps to the method's final loss
over the method's steps), labelled so.

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
from scipy import special

from harness.contracts.interface import Claim

WALL_CLOCK_METRICS = ("time", "energy", "overhead")
AT_MOST_METRICS = ("overhead", "memory")
COLUMNS = {  # claim.metric -> leaderboard column (with _lo/_hi beside it)
    "data": "data_speedup", "steps": "steps_ratio", "time": "time_ratio", "energy": "energy_ratio",
    "quality": "metric_delta", "overhead": "overhead_ratio", "memory": "memory_ratio",
    "forgetting": "forgetting_delta", "communication": "comm_ratio_at_loss",
}
DELTA_METRICS = ("quality", "forgetting")  # judged on a difference (null 0), not a ratio (null 1)
FALLBACK = {  # judged instead when the first column is not measured, with this label
    "communication": ("comm_ratio", "equal budget, loss not matched"),
    "steps": ("data_speedup", "no common target reached: steps to the method's final loss (data speedup)"),
}


MARGIN = 0.9  # supported when the effect's lower confidence bound reaches 90% of the claim


def verdict(claimed: float, lo: float, hi: float, null: float = 1.0) -> str:
    """supported: lo >= claimed - (1 - MARGIN)|claimed| and, for a claimed effect (claimed > null: 1 for
    factors, 0 for deltas), lo > null (the interval clears "no effect": with the margin alone, an exact 1.00x
    would support a 1.04x claim); not supported: hi < claimed; else inconclusive.
    A NaN bound is open: it can neither support (lo) nor refute (hi)."""
    clears = lo > null or claimed <= null
    if np.isfinite(lo) and lo >= claimed - (1 - MARGIN) * abs(claimed) and clears:
        return "supported"
    if np.isfinite(hi) and hi < claimed:
        return "not supported"
    return "inconclusive"


def verdict_at_most(claimed: float, lo: float, hi: float) -> str:
    """For "costs at most c times the baseline": supported when hi <= c, not supported when lo > c."""
    if np.isnan(lo) or np.isnan(hi):
        return "inconclusive"
    return "supported" if hi <= claimed else "not supported" if lo > claimed else "inconclusive"


def _bound(v: float) -> str:
    return "open" if not np.isfinite(v) else f"{v:.3g}"


def _is_gpu(device: str | None) -> bool:
    return bool(device) and any(part.strip().startswith(("cuda", "gpu")) for part in str(device).split(","))


def judge(claim: Claim, estimate: tuple, scale_params: float | None, device: str | None,
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
    elif claim.metric in AT_MOST_METRICS:
        result = verdict_at_most(claim.factor, lo, hi)
        reason = f"[{_bound(lo)}, {_bound(hi)}] against at most {claim.factor:g}x"
    else:
        unit = "" if claim.metric in DELTA_METRICS else "x"
        null = 0.0 if claim.metric in DELTA_METRICS else 1.0
        result = verdict(claim.factor, lo, hi, null)
        floor = claim.factor - (1 - MARGIN) * abs(claim.factor)
        start = (f"from {floor:.3g}{unit}" if floor > null or claim.factor <= null  # and above "no effect"
                 else f"above {null:g}{unit}")
        reason = (f"[{_bound(lo)}, {_bound(hi)}] against {claim.factor:.3g}{unit}: supported {start}, "
                  f"not supported below {claim.factor:.3g}{unit}")
    return {**out, "verdict": result, "reason": reason, "labels": ", ".join(labels)}


def _estimate(row: pd.Series, column: str | None) -> tuple[float, float, float]:
    if column is None or column not in row:
        return (np.nan, np.nan, np.nan)
    return tuple(float(row[c]) if row[c] is not None else np.nan for c in (column, f"{column}_lo", f"{column}_hi"))


def judge_board(board: pd.DataFrame, method: str, claims) -> pd.DataFrame:
    """Judge each claim of ``method`` on every leaderboard row of that method (a leaderboard made
    with ``baseline = claim.baseline``); one row per (claim, workload, scale, budget)."""
    rows = []
    for claim in claims:
        column = COLUMNS.get(claim.metric)
        for _, r in board[board["method"] == method].iterrows():
            est, labels, used = _estimate(r, column), [], column
            fallback, label = FALLBACK.get(claim.metric, (None, ""))
            if fallback and np.isnan(est[0]) and not np.isnan(_estimate(r, fallback)[0]):
                est, labels, used = _estimate(r, fallback), [label], fallback
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
            kind = r.get("data_speedup_kind") if used == "data_speedup" else None
            bound = r.get("data_speedup_text") if kind in ("lower_bound", "upper_bound") else ""
            rows.append({"quote": claim.quote, "baseline": claim.baseline, "note": claim.note,
                         "workload": r["workload"], "scale": r["scale"], "params": r.get("params"),
                         "budget_multiple": r["budget_multiple"], "n_seeds": r.get("n_seeds"), "bound": bound,
                         "flags": r.get("flags") or "", **judged})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- one verdict per claim and scale

_LESS = {"steps": "fewer steps", "time": "less time", "energy": "less energy", "data": "less data",
         "communication": "less communication"}


def claimed_text(metric: str, factor: float) -> str:
    """The claim as a reader says it: ``40% fewer steps (1.67x)``, ``+1.80 points``, ``at most 2x step time``."""
    if metric in DELTA_METRICS:
        if factor == 0:
            return "at least the baseline's accuracy" if metric == "quality" else "no more forgetting"
        return f"{factor * 100:+.2f} accuracy points" if metric == "quality" else f"{factor:+.3g} less forgetting"
    if metric in AT_MOST_METRICS:
        return f"at most {factor:.3g}x the baseline's {'step time' if metric == 'overhead' else 'memory'}"
    if metric == "data":
        return f"{factor:.3g}x data speedup"
    return f"{(1 - 1 / factor) * 100:.0f}% {_LESS.get(metric, metric)} ({factor:.3g}x)"


def measured_text(r) -> str:
    """A verdict row's measurement as printed: the bound, or ``point [lo, hi]`` with open ends named."""
    if isinstance(r.get("bound"), str) and r["bound"]:
        return r["bound"]
    point, lo, hi = (float(r.get(k)) if r.get(k) is not None else np.nan for k in ("point", "lo", "hi"))
    if not np.isfinite(point):
        return "not measured"
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return f"{point:.3g} (no interval)"
    return f"{point:.3g} [{_bound(lo)}, {_bound(hi)}]"


def _budgets(rows: pd.DataFrame) -> str:
    return ", ".join(f"{b:g}x" for b in rows["budget_multiple"])


def summarize(per_budget: pd.DataFrame) -> pd.DataFrame:
    """One verdict per claim and scale from ``verify``'s rows (one per budget), with a sentence to quote.

    supported / not supported: the same verdict at every budget; mixed: supported at some budgets
    and not supported at others ("holds at 1x, not at 4x: falls with budget, 1.35 -> 1.10");
    inconclusive otherwise (the sentence says where it was decided, if anywhere).
    """
    keys = ["quote", "baseline", "metric", "claimed", "workload", "scale"]
    if per_budget.empty or not set(keys) <= set(per_budget):
        return pd.DataFrame()
    out = []
    for key, g in per_budget.sort_values("budget_multiple").groupby(keys, sort=False, dropna=False):
        row = dict(zip(keys, key, strict=True))
        found = dict(g.groupby("verdict")["budget_multiple"].apply(lambda s: ", ".join(f"{b:g}x" for b in s)))
        verdicts = set(found)
        verdict = (next(iter(verdicts)) if len(verdicts) == 1 else
                   "mixed" if {"supported", "not supported"} <= verdicts else "inconclusive")
        parts = [f"{measured_text(r)} at {r['budget_multiple']:g}x" for _, r in g.iterrows()]
        first, last = g.iloc[0], g.iloc[-1]
        if verdict == "mixed":
            trend = "falls" if last["point"] < first["point"] else "rises"
            head = (f"holds at {found['supported']}, not at {found['not supported']}: the measured factor {trend} "
                    f"with budget, {first['point']:.3g} -> {last['point']:.3g}")
        elif verdict == "inconclusive" and len(verdicts) > 1:
            decided = "; ".join(f"{v} at {found[v]}" for v in ("supported", "not supported") if v in found)
            head = f"undecided at {found['inconclusive']} ({decided})"
        else:
            head = "; ".join(parts)
        seeds = sorted({int(s) for s in g.get("n_seeds", pd.Series(dtype=float)).dropna()})
        labels = sorted({x.strip() for v in g["labels"].fillna("") for x in str(v).split(",") if x.strip()})
        flags = sorted({x.strip() for v in g.get("flags", pd.Series(dtype=object)).fillna("")
                        for x in str(v).split(",") if x.strip()})
        text = claimed_text(row["metric"], row["claimed"])
        seed_text = f"{'/'.join(map(str, seeds))} seed{'' if seeds == [1] else 's'}" if seeds else "no seeds"
        tail = "; ".join([seed_text, *labels, *flags])
        sentence = (f"{verdict.capitalize()}: {text} vs {row['baseline']} on {row['workload']}/{row['scale']} — "
                    f"{head} ({tail}).")
        if verdict != "mixed" and head != "; ".join(parts):
            sentence = sentence[:-1] + f" Measured: {'; '.join(parts)}."
        why = sorted({r for r in g["reason"].fillna("") if r and not r.startswith("[")})  # not an interval's
        if verdict == "inconclusive" and why:
            sentence = sentence[:-1] + f": {'; '.join(why)}."
        note = g["note"].iloc[0] if "note" in g and isinstance(g["note"].iloc[0], str) else ""
        out.append({**row, "claimed_text": text, "params": last.get("params"), "budgets": _budgets(g),
                    "verdict": verdict, "sentence": sentence + (f" Note: {note}" if note else ""),
                    "point": last["point"], "lo": last["lo"], "hi": last["hi"], "bound": last.get("bound") or "",
                    "n_seeds": max(seeds) if seeds else 0, "labels": ", ".join(labels), "flags": ", ".join(flags),
                    "note": note})
    table = pd.DataFrame(out)  # each claim in the order given, its scales from small to large
    claim = {k: i for i, k in enumerate(dict.fromkeys(zip(table["quote"], table["claimed"], strict=True)))}
    table["_claim"] = [claim[k] for k in zip(table["quote"], table["claimed"], strict=True)]
    table["params"] = table["params"].astype(float)
    return table.sort_values(["_claim", "params"], kind="stable").drop(columns="_claim").reset_index(drop=True)


def scale_trend(summary: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Does the claim survive scale? Per claim with >= 2 measured scales: the factor's change per 10x
    parameters, exp(slope) of a weighted least-squares fit of log(point) on log10(params), each scale
    weighted by its interval (se = log(hi/lo) / (2 z)); the interval is slope +- z se(slope).
    Only scales whose result is a number with a closed interval enter (no bounds)."""
    z = special.ndtri(0.5 + confidence / 2)
    keys = ["quote", "baseline", "metric", "claimed"]
    out = []
    for key, g in summary.groupby(keys, sort=False, dropna=False):
        g = g[np.isfinite(g["point"].astype(float)) & np.isfinite(g["lo"].astype(float))
              & np.isfinite(g["hi"].astype(float)) & (g["lo"].astype(float) > 0) & g["params"].notna()]
        if g["params"].nunique() < 2 or key[2] in DELTA_METRICS:
            continue
        x = np.log10(g["params"].astype(float).to_numpy())
        y = np.log(g["point"].astype(float).to_numpy())
        se = np.maximum(np.log(g["hi"].astype(float) / g["lo"].astype(float)).to_numpy() / (2 * z), 1e-6)
        w = 1 / se**2
        xm = np.sum(w * x) / w.sum()
        slope = np.sum(w * (x - xm) * y) / np.sum(w * (x - xm) ** 2)
        s_se = 1 / np.sqrt(np.sum(w * (x - xm) ** 2))
        per10, lo, hi = (float(np.exp(v)) for v in (slope, slope - z * s_se, slope + z * s_se))
        trend = "falls with scale" if hi < 1 else "rises with scale" if lo > 1 else "no clear trend with scale"
        out.append({**dict(zip(keys, key, strict=True)), "scales": ", ".join(g["scale"]), "per_10x": per10,
                    "per_10x_lo": lo, "per_10x_hi": hi,
                    "sentence": f"x{per10:.2f} per 10x parameters [{lo:.2f}, {hi:.2f}] over {', '.join(g['scale'])}: "
                                f"{trend}."})
    return pd.DataFrame(out)
