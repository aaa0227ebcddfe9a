"""Claim verdicts: one rule, one engine — the CLI, the README table and the dashboard all judge through here.

``verdict`` (the only verdict function; its calibration is in docs/statistics.md), for a claimed factor or delta c
and a measured interval [lo, hi] at confidence q (NaN = an open end, which never decides):

* ``better`` (and ``up_to``, said "up to"): supported when lo ≥ c − (1 − MARGIN)·|c| (the effect is at least 90% of
  the claim) and lo clears "no effect" (lo > 1 for a factor, > 0 for a delta); not supported when hi < c.
* ``matches`` ("matches or beats", non-inferiority): supported when lo > −margin (the method is worse by less than
  the claim's margin, default ``MATCH_MARGIN``); not supported when hi < −margin.
* ``at_most`` (cost claims: "at most c times the baseline's step time or memory"): supported when hi ≤ c, not
  supported when lo > c.
A truth 10% below a claimed effect is then supported in at most (1 − q)/2 of cases (one-sided).

Data claims (and steps claims, read at equal batch size as the data speedup) are judged **directly** where the
baseline also ran at 0.9c·D and c·D (``harness verify`` plans both): supported when the method at D is below the
baseline at 0.9c·D (and, for c < 1/0.9, at D) at one-sided (1 + q)/2, not supported when it is above the baseline
at c·D. This assumes only that the baseline's loss falls with its budget; the interpolated data speedup
(``harness.stats.speedup``, which assumes a power law between budgets) is printed beside it and decides nothing:
without the direct budgets the verdict is "inconclusive", its reason says what the interval alone would say (a
bound, the method beyond the baseline's smallest or largest budget, still decides).

Scale: a claim names its model size (``scale_params``); a run more than ``AT_SCALE`` times away from it is
evidence at that scale, never a verdict on the claim (``SCALED``). Wall-clock, energy and overhead claims made
on GPUs are judged only from GPU runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from harness.contracts.interface import Claim
from harness.stats import wording
from harness.stats.moments import KAPPA, welch

MARGIN = 0.9  # supported when the effect's lower confidence bound reaches 90% of the claim
MATCH_MARGIN = 0.005  # "matches": worse by less than half an accuracy point (docs/statistics.md says why)
AT_SCALE = 2.0  # a run within 2x of the claim's model size is at its scale
WALL_CLOCK_METRICS = ("time", "energy", "overhead")
AT_MOST_METRICS = ("overhead", "memory")
DELTA_METRICS = ("quality", "forgetting")  # judged on a difference (null 0), not a ratio (null 1)
DIRECT_METRICS = ("data", "steps")  # judged directly against the baseline at 0.9c·D and c·D when it ran there
COLUMNS = {  # claim.metric -> leaderboard column (with _lo/_hi beside it)
    "data": "data_speedup", "steps": "data_speedup", "time": "time_ratio", "energy": "energy_ratio",
    "quality": "metric_delta", "overhead": "overhead_ratio", "memory": "memory_ratio",
    "forgetting": "forgetting_delta", "communication": "comm_ratio_at_loss",
}
FALLBACK = {"communication": ("comm_ratio", "equal budget, loss not matched"),
            "steps": ("steps_ratio", "steps to the workload's target, bracketed between evaluations")}
SCALED = {"supported": "evidence for (scaled-down)", "not supported": "evidence against (scaled-down)",
          "inconclusive": "inconclusive (scaled-down)"}
DECIDED = ("supported", "not supported", *list(SCALED.values())[:2])
INTERPOLATED = ("interpolated only: a power law between the baseline's budgets decides nothing (simulated: false "
                "support up to 51% where the baseline flattens, true claims refuted up to 82% where it bends); a "
                "verdict needs the baseline at 0.9c·D and c·D, which harness verify runs")


def verdict(claimed: float, lo: float, hi: float, null: float = 1.0, form: str = "better",
            margin: float | None = None) -> str:
    """The verdict rule (module docstring) on one interval; a NaN end is open and never decides."""
    if form == "at_most":
        return "supported" if hi <= claimed else "not supported" if lo > claimed else "inconclusive"
    if form == "matches":
        floor = -(MATCH_MARGIN if margin is None else margin)
        return "supported" if lo > floor else "not supported" if hi < floor else "inconclusive"
    clears = lo > null if claimed <= null else lo >= claimed - (1 - MARGIN) * abs(claimed) and lo > null
    if np.isfinite(lo) and clears:
        return "supported"
    if np.isfinite(hi) and hi < claimed:
        return "not supported"
    return "inconclusive"


def verdict_of(est: tuple, claim: Claim, null: float) -> str:
    """What the rule says of an estimate (point, lo, hi) alone."""
    return verdict(claim.factor, est[1], est[2], null, form_of(claim), claim.margin)


def form_of(claim: Claim) -> str:
    return "at_most" if claim.metric in AT_MOST_METRICS else claim.form


def at_scale(claim: Claim, params) -> bool:
    """Whether a run of ``params`` parameters is at the claim's model size (within ``AT_SCALE`` times)."""
    if not claim.scale_params or params is None or not np.isfinite(float(params)):
        return True
    return abs(np.log(float(params) / claim.scale_params)) <= np.log(AT_SCALE)


def _is_gpu(device: str | None) -> bool:
    return bool(device) and any(part.strip().startswith(("cuda", "gpu")) for part in str(device).split(","))


def _estimate(row: pd.Series, column: str | None) -> tuple[float, float, float]:
    if column is None or column not in row:
        return (np.nan, np.nan, np.nan)
    return tuple(float(row[c]) if row.get(c) is not None else np.nan for c in (column, f"{column}_lo", f"{column}_hi"))


def _z(confidence: float) -> float:
    return float(special.ndtri(0.5 + confidence / 2))


CELL = ("suite", "suite_version", "hardware", "workload", "scale")  # where a direct comparison finds the baseline


def baseline_cells(board: pd.DataFrame, baseline: str) -> dict[tuple, pd.DataFrame]:
    """The baseline's rows of each cell of a board (budget, n_seeds, loss, loss_var, repeats), for ``direct``."""
    keys = [k for k in CELL if k in board]
    mine = board[board["method"] == baseline]
    cols = [c for c in ("budget_multiple", "n_seeds", "loss", "loss_var", "repeats") if c in mine]
    return {k if isinstance(k, tuple) else (k,): g[cols] for k, g in mine.groupby(keys, sort=False, dropna=False)}


def direct(row: pd.Series, cells: dict, claim: Claim, confidence: float) -> dict | None:
    """The direct comparison of a data claim: the method's loss at D against the baseline's at 0.9c·D and c·D (and
    D when 0.9c < 1) in the same cell (``baseline_cells``); None unless the baseline ran at those budgets.
    Differences method − baseline with their Welch intervals (negative: the method is better), with the
    between-study term of the rows' studies."""
    base = cells.get(tuple(row.get(k) for k in CELL if k in row.index))
    if base is None:
        return None
    wanted = {"floor": MARGIN * claim.factor, "claim": claim.factor}
    wanted |= {"even": 1.0} if MARGIN * claim.factor < 1 else {}
    ratio = base["budget_multiple"].to_numpy(float) / float(row["budget_multiple"])
    at = {name: np.flatnonzero(np.isclose(ratio, f, rtol=0.005)) for name, f in wanted.items()}
    if any(len(i) == 0 for i in at.values()):
        return None
    b = base.iloc[[i[0] for i in at.values()]]
    if not np.isfinite(b["loss"].to_numpy(float)).all():
        return None
    k = len(b)
    kappa = 0.0 if row.get("repeats", 1) >= 2 else KAPPA
    mine = pd.DataFrame({"n": [row["n_seeds"]] * k, "mean": [row["loss"]] * k, "var": [row.get("loss_var")] * k})
    theirs = pd.DataFrame({"n": b["n_seeds"].to_numpy(), "mean": b["loss"].to_numpy(), "var": b["loss_var"].to_numpy()})
    point, lo, hi = welch(theirs, mine.astype(float), confidence, kappa)  # method - baseline
    out = {name: {"budget": float(bb), "loss": float(loss), "diff": float(d), "lo": float(lo_), "hi": float(hi_)}
           for name, bb, loss, d, lo_, hi_ in zip(at, b["budget_multiple"], b["loss"], point, lo, hi, strict=True)}
    supported = out["floor"]["hi"] < 0 and ("even" not in out or out["even"]["hi"] < 0)
    refuted = out["claim"]["lo"] > 0
    out["verdict"] = "supported" if supported else "not supported" if refuted else "inconclusive"
    return out


def judge(claim: Claim, row: pd.Series, cells: dict | None = None, confidence: float = 0.95) -> dict:
    """The verdict of one claim on one leaderboard row: metric, claimed, point, lo, hi, verdict (scoped to the
    claim's scale), basis (what decided), reason, labels, confidence and, for a direct comparison, its numbers
    (``cells``: ``baseline_cells`` of the board the row comes from)."""
    column = COLUMNS.get(claim.metric)
    est, labels, basis = _estimate(row, column), [], "interval"
    fallback, label = FALLBACK.get(claim.metric, (None, ""))
    if fallback and np.isnan(est).all() and str(row.get(f"{fallback}_kind", "value")) != "none" and \
            np.isfinite(_estimate(row, fallback)).any() | (row.get(f"{fallback}_kind") == "unknown"):
        est, labels, column = _estimate(row, fallback), [label], fallback
    if claim.metric == "steps" and column == "data_speedup":
        labels.append("steps at equal batch size = data speedup")
    if claim.metric == "communication" and row.get("communication_simulated") is True:
        labels.append("simulated communication")
    if claim.metric == "energy" and row.get("energy_quality") != "measured":
        labels.append("estimated energy" if row.get("energy_quality") == "estimated" else "no energy measurement")
    point, lo, hi = est
    null = 0.0 if claim.metric in DELTA_METRICS else 1.0
    result, reason, compared = _rule(claim, row, est, null)
    if claim.metric in DIRECT_METRICS and cells is not None:
        compared = direct(row, cells, claim, confidence)
        if compared is not None:
            result, basis = compared["verdict"], "direct"
            reason = direct_reason(claim, row, compared)
        elif column == "data_speedup" and row.get("data_speedup_kind", "value") == "value" and result in DECIDED:
            result, basis = "inconclusive", "interpolated"
            reason = f"{INTERPOLATED} (the interval alone: {verdict_of(est, claim, null)}; {reason})"
    exact = column is not None and row.get(f"{column}_exact") is True
    if exact:
        basis = "exact"
    scaled = not at_scale(claim, row.get("params"))
    if scaled:
        labels.append("scaled-down" if float(row.get("params") or 0) < (claim.scale_params or 0) else "other scale")
    shown = SCALED.get(result, result) if scaled else result
    return {"metric": claim.metric, "claimed": claim.factor, "form": claim.form, "column": column,
            "point": point, "lo": lo, "hi": hi,
            "verdict": shown, "raw_verdict": result, "basis": basis, "reason": reason, "labels": ", ".join(labels),
            "confidence": confidence, "direct": compared if basis == "direct" else None}


def _rule(claim: Claim, row: pd.Series, est: tuple, null: float) -> tuple[str, str, None]:
    """The interval's verdict and why, before the direct comparison and the scale."""
    point, lo, hi = est
    unit = row.get("metric_name")
    simulated = [p for p in str(row.get("simulated") or "").split(",") if p and p != "communication"]
    if claim.hardware == "gpu" and claim.metric in WALL_CLOCK_METRICS and not _is_gpu(row.get("device")):
        return "inconclusive", "needs a GPU run", None
    if claim.metric in WALL_CLOCK_METRICS and simulated:  # rounded in software: not the format's speed
        return "inconclusive", f"simulated formats ({', '.join(simulated)}): time and energy are not the format's", None
    if claim.metric == "quality" and claim.factor != 0 and unit not in (None, "accuracy"):
        return "inconclusive", f"the claim is in accuracy; this workload measures {unit}", None
    if np.isnan(lo) and np.isnan(hi):
        return "inconclusive", "no confidence interval (fewer than 2 seeds, or no measurement)", None
    result = verdict_of(est, claim, null)
    return result, rule_reason(claim, lo, hi, null), None


def rule_reason(claim, lo: float, hi: float, null: float) -> str:
    """Why an interval gave its verdict: the thresholds it was held against."""
    num, form = wording.num, form_of(claim)
    span = f"[{wording.end(lo)}, {wording.end(hi)}]"
    if form == "at_most":
        return f"{span} against at most {num(claim.factor)}x"
    if form == "matches":
        margin = MATCH_MARGIN if claim.margin is None else claim.margin
        return f"{span} against a shortfall of at most {num(margin)} (non-inferiority margin)"
    floor = claim.factor - (1 - MARGIN) * abs(claim.factor)
    unit, c = ("" if null == 0 else "x"), num(claim.factor)
    start = f"from {num(floor)}{unit}" if floor > null else f"above {num(null)}{unit}"
    return f"{span} against {c}{unit}: supported {start}, not supported below {c}{unit}"


def direct_reason(claim, row: pd.Series, found: dict) -> str:
    budget = wording.num
    return (f"direct: supported when {row['method']} beats {claim.baseline} at {budget(found['floor']['budget'])}x, "
            f"not supported when it loses to it at {budget(found['claim']['budget'])}x")


def judge_board(board: pd.DataFrame, method: str, claims, confidence: float = 0.95) -> pd.DataFrame:
    """Judge each claim of ``method`` on every leaderboard row of that method (a board made against the claim's
    own baseline); one row per (claim, hardware, workload, scale, budget)."""
    rows = []
    cells = {c.baseline: baseline_cells(board, c.baseline) for c in claims if c.metric in DIRECT_METRICS}
    for claim in claims:
        for _, r in board[board["method"] == method].iterrows():
            judged = judge(claim, r, cells.get(claim.baseline), confidence)
            kind = r.get("data_speedup_kind") if COLUMNS.get(claim.metric) == "data_speedup" else None
            bound = r.get("data_speedup_text") if kind in ("lower_bound", "upper_bound") else ""
            rows.append({"quote": claim.quote, "baseline": claim.baseline, "note": claim.note,
                         "hardware": r.get("hardware"), "workload": r["workload"], "scale": r["scale"],
                         "params": r.get("params"), "claim_params": claim.scale_params,
                         "budget_multiple": r["budget_multiple"], "n_seeds": r.get("n_seeds"), "bound": bound,
                         "flags": r.get("flags") or "", "method": method, **judged,
                         "measured": wording.measured(claim, r, judged, bound)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- one verdict per claim and scale


def _combine(verdicts: set[str]) -> str:
    if len(verdicts) == 1:
        return next(iter(verdicts))
    raw = {v.split(" (")[0].replace("evidence for", "supported").replace("evidence against", "not supported")
           for v in verdicts}
    return "mixed" if {"supported", "not supported"} <= raw else "inconclusive"


def summarize(per_budget: pd.DataFrame) -> pd.DataFrame:
    """One verdict per claim and scale (and hardware) from ``judge_board``'s rows, with a sentence to quote: the
    same verdict at every budget; "mixed" when supported at some budgets and not at others; else inconclusive."""
    keys = ["quote", "baseline", "metric", "claimed", "hardware", "workload", "scale"]
    if per_budget.empty or not set(keys) <= set(per_budget):
        return pd.DataFrame()
    out = []
    for key, g in per_budget.sort_values("budget_multiple").groupby(keys, sort=False, dropna=False):
        row = dict(zip(keys, key, strict=True))
        result = _combine(set(g["verdict"]))
        last = g.iloc[-1]
        seeds = sorted({int(s) for s in g["n_seeds"].dropna()})
        labels = sorted({x.strip() for v in g["labels"].fillna("") for x in str(v).split(",") if x.strip()})
        flags = sorted({x.strip() for v in g["flags"].fillna("") for x in str(v).split(",") if x.strip()})
        note = g["note"].iloc[0] if isinstance(g["note"].iloc[0], str) else ""
        out.append({**row, "method": last.get("method"), "form": last.get("form"),
                    "claimed_text": wording.claimed(row["metric"], row["claimed"], last.get("form", "better")),
                    "params": last.get("params"), "claim_params": last.get("claim_params"),
                    "budgets": ", ".join(f"{b:g}x" for b in g["budget_multiple"]), "verdict": result,
                    "basis": last["basis"], "confidence": float(g["confidence"].min()),
                    "sentence": wording.sentence(row, g, result, seeds, labels, flags, note),
                    "measured": "; ".join(g["measured"]), "point": last["point"], "lo": last["lo"],
                    "hi": last["hi"], "bound": last.get("bound") or "", "n_seeds": max(seeds) if seeds else 0,
                    "labels": ", ".join(labels), "flags": ", ".join(flags), "note": note})
    table = pd.DataFrame(out)  # each claim in the order given, its scales from small to large
    claim = {k: i for i, k in enumerate(dict.fromkeys(zip(table["quote"], table["claimed"], strict=True)))}
    table["_claim"] = [claim[k] for k in zip(table["quote"], table["claimed"], strict=True)]
    table["params"] = table["params"].astype(float)
    return table.sort_values(["_claim", "params"], kind="stable").drop(columns="_claim").reset_index(drop=True)


def scale_trend(summary: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Does the claim survive scale? Per claim with >= 2 measured scales: the factor's change per 10x
    parameters, exp(slope) of a weighted least-squares fit of log(point) on log10(params), each scale
    weighted by its interval (se = log(hi/lo) / (2 z)); the interval is slope +- z se(slope).
    Only scales whose result is a number with a closed interval enter (no bounds). With two scales this is a
    description, not a test."""
    z = _z(confidence)
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
                    "per_10x_lo": lo, "per_10x_hi": hi, "trend": trend,
                    "sentence": f"ours x{per10:.2f} per 10x parameters [{lo:.2f}, {hi:.2f}] over "
                                f"{', '.join(g['scale'])}: {trend}"})
    return pd.DataFrame(out, columns=[*keys, "scales", "per_10x", "per_10x_lo", "per_10x_hi", "trend", "sentence"])
