"""How claims and measurements are said: every ratio with its direction, claims and measurements in one unit
(accuracy in points), bounds and open ends named, the confidence printed. Text only; the numbers come from
``harness.stats.claims`` and the leaderboard."""

from __future__ import annotations

import numpy as np
import pandas as pd

LESS = {"steps": "fewer steps", "time": "less time", "energy": "less energy", "data": "less data",
        "communication": "less communication"}
NEEDS = {"data": "data", "steps": "steps", "time": "time", "energy": "energy", "communication": "bytes"}
RATIOS = ("data", "steps", "time", "energy", "communication")
BOUNDS = {"lower_bound": "> {lo}x", "upper_bound": "< {hi}x", "unknown": "unknown"}
TO_TARGET = {"lower_bound": "the method reached the target before its first evaluation, or the baseline never did",
             "upper_bound": "the baseline reached the target before its first evaluation, or the method never did",
             "unknown": "both reached the target before their first evaluation"}


def num(v: float, digits: int = 3) -> str:
    """``v`` to ``digits`` significant digits, trailing zeros kept ("1.50"), never "-0"."""
    text = f"{v:#.{digits}g}".rstrip(".")
    if "e" in text:
        text = f"{v:.{digits}g}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def points(v: float) -> str:
    """An accuracy difference in points: ``+0.56``, ``-1.2``, ``0``."""
    text = f"{v * 100:+.2f}"
    return "0" if float(text) == 0 else text


def claimed(metric: str, factor: float, form: str = "better") -> str:
    """The claim as a reader says it: ``40% fewer steps (needs 0.6x the baseline's)``, ``+1.80 accuracy points``,
    ``matches or beats the baseline's accuracy``, ``at most 2x the baseline's step time``."""
    up = "up to " if form == "up_to" else ""
    if metric in ("quality", "forgetting"):
        thing = "accuracy" if metric == "quality" else "forgetting"
        if form == "matches":
            return f"matches or beats the baseline's {thing}"
        if factor == 0:
            return "better accuracy than the baseline" if metric == "quality" else "less forgetting than the baseline"
        return f"{up}{points(factor)} accuracy points" if metric == "quality" else f"{up}{num(factor)} less forgetting"
    if metric in ("overhead", "memory"):
        return f"at most {num(factor)}x the baseline's {'step time' if metric == 'overhead' else 'memory'}"
    if metric == "data":
        return f"{up}{num(factor)}x data speedup (needs {num(1 / factor, 2)}x the baseline's data)"
    return f"{up}{(1 - 1 / factor) * 100:.0f}% {LESS.get(metric, metric)} (needs {num(1 / factor, 2)}x the baseline's)"


def end(v: float) -> str:
    return "open" if not np.isfinite(v) else num(v)


def interval(point: float, lo: float, hi: float, confidence: float, scale=1.0, fmt=num) -> str:
    """``point [lo, hi] (95%)``; an open end is "open"; no interval: the point alone."""
    if not np.isfinite(point) and not (np.isfinite(lo) or np.isfinite(hi)):
        return "not measured"
    head = fmt(point * scale) if np.isfinite(point) else "?"
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return f"{head} (no interval)"
    ends = [("open" if not np.isfinite(v) else fmt(v * scale)) for v in (lo, hi)]
    return f"{head} [{ends[0]}, {ends[1]}] ({confidence * 100:.3g}%)"


def measured(claim, row: pd.Series, judged: dict, bound: str = "") -> str:
    """A measurement as printed beside its claim, in the claim's unit, with its direction and confidence."""
    point, lo, hi, q = (judged[k] for k in ("point", "lo", "hi", "confidence"))
    if judged["basis"] == "exact" and np.isfinite(point):
        return f"{num(point)}x {LESS.get(claim.metric, '')} (exact: counted, not sampled)".replace("  ", " ")
    column = judged.get("column") or ""
    kind = row.get(f"{column}_kind") if column.endswith("_ratio") else None  # to target: bracketed crossings
    if claim.metric in RATIOS and kind in BOUNDS:  # a to-target crossing outside the evaluations: a bound
        head = BOUNDS[kind].format(lo=num(lo) if np.isfinite(lo) else "", hi=num(hi) if np.isfinite(hi) else "")
        return f"{head} ({q * 100:.3g}%) — {TO_TARGET[kind]}"
    if claim.metric in RATIOS and not (np.isfinite(point) or np.isfinite(lo) or np.isfinite(hi)):
        text = row.get("data_speedup_text") if judged.get("column") == "data_speedup" else None
        return text if isinstance(text, str) and text not in ("—", "") else "not measured"
    if claim.metric in RATIOS:
        text = row.get("data_speedup_text") if judged.get("column") == "data_speedup" else None
        head = f"{text} ({q * 100:.3g}%)" if isinstance(text, str) and text not in ("—", "") else \
            bound or interval(point, lo, hi, q, fmt=lambda v: f"{num(v)}x")
        if "open" in head and column == "data_speedup":
            head += " (open: the interval runs past the baseline's budgets)"
        side = {"lower_bound": "< ", "upper_bound": "> "}.get(row.get("data_speedup_kind"), "") \
            if column == "data_speedup" else ""
        needs = "" if not np.isfinite(point) or point <= 0 else \
            f" ({row['method']} needs {side}{num(1 / point, 2)}x {claim.baseline}'s {NEEDS[claim.metric]})"
        text = head + needs
        if judged.get("direct"):
            text += f"; direct: {direct_text(row, claim, judged['direct'])}"
        return text
    if claim.metric == "quality" and row.get("metric_name") == "accuracy":
        return interval(point, lo, hi, q, fmt=points) + " accuracy points"
    if claim.metric in ("overhead", "memory"):
        return interval(point, lo, hi, q, fmt=lambda v: f"{num(v)}x") + " the baseline's"
    unit = row.get("metric_name") or ""
    better = "higher" if claim.metric == "quality" and unit == "accuracy" else "better"
    return interval(point, lo, hi, q) + (f" {unit} ({better} = positive)" if unit and claim.metric == "quality"
                                         else "")


def direct_text(row: pd.Series, claim, found: dict) -> str:
    """``loss of muon at 1x minus adamw's at 1.26x: -0.031 [-0.05, -0.01]; at 1.4x: -0.012 [-0.03, 0.01]``
    (negative: the method is better)."""
    parts = [f"{num(d['budget'])}x: {num(d['diff'])} [{end(d['lo'])}, {end(d['hi'])}]"
             for d in (found[k] for k in ("floor", "claim", "even") if k in found)]
    return f"loss of {row['method']} at {num(float(row['budget_multiple']))}x minus {claim.baseline}'s at " + \
        "; at ".join(parts)


def sentence(row: dict, g: pd.DataFrame, result: str, seeds: list[int], labels: list[str], flags: list[str],
             note: str) -> str:
    """One verdict per claim and scale, to quote."""
    parts = [f"{m} at {b:g}x" for m, b in zip(g["measured"], g["budget_multiple"], strict=True)]
    seed_text = f"{'/'.join(map(str, seeds))} seed{'' if seeds == [1] else 's'}" if seeds else "no seeds"
    tail = "; ".join([seed_text, *labels, *flags])
    text = claimed(row["metric"], row["claimed"], g["form"].iloc[0] if "form" in g else "better")
    head = f"{result[0].upper()}{result[1:]}: {text} vs {row['baseline']} on {row['workload']}/{row['scale']}"
    why = sorted({r for r in g["reason"].fillna("") if r and not r.startswith(("[", "direct"))})
    found = {v: ", ".join(f"{b:g}x" for b in g.loc[g["verdict"] == v, "budget_multiple"]) for v in set(g["verdict"])}
    if result == "mixed":
        yes = [v for v in found if v.startswith(("supported", "evidence for"))]
        no = [v for v in found if v.startswith(("not supported", "evidence against"))]
        first, last = g["point"].iloc[0], g["point"].iloc[-1]
        parts = [f"holds at {found[yes[0]]}, not at {found[no[0]]}: the measured factor "
                 f"{'falls' if last < first else 'rises'} with budget, {num(first)} -> {num(last)}", *parts]
    elif result.startswith("inconclusive") and len(found) > 1:
        decided = "; ".join(f"{v} at {b}" for v, b in found.items() if not v.startswith("inconclusive"))
        undecided = ", ".join(b for v, b in found.items() if v.startswith("inconclusive"))
        parts = [f"undecided at {undecided} ({decided})", *parts]
    out = f"{head} — {'; '.join(parts)} ({tail})."
    if why and result.startswith("inconclusive"):
        out = out[:-1] + f": {'; '.join(why)}."
    return out + (f" Note: {note}" if note else "")
