"""Published speedups beside ours: what other people's numbers say about a method against a baseline.

``replications`` takes the tables of ``harness.store.published.read_published`` (rows only, no I/O):
where a source published raw final losses, this project's own estimator (``speedup.data_speedup``)
is applied to them; where it did not, its own stated figure is used. Each row says which (``how``).
The estimator never extrapolates: a method loss beyond the baseline's budgets is a bound (``kind``
``lower_bound``: "> speedup", ``upper_bound``: "< speedup"), ``text`` says it as the report does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.stats.speedup import data_speedup

COLUMNS = ("source", "workload", "scale", "params", "budget_multiple", "method", "baseline", "speedup", "kind",
           "text", "metric", "how", "citation")
HOW = {"estimator": "our data-speedup estimator on the source's final losses",
       "reported": "the source's own figure",
       "steps_ratio": "baseline steps / method steps to the target, from the source's table"}


def replications(method: str, baseline: str, losses: pd.DataFrame, reported: pd.DataFrame | None = None,
                 records: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published speedups of ``method`` over ``baseline``, one row per (source, scale, budget).

    ``losses``: rows of the results schema (``final_val_loss`` per ``budget_multiple``, one per budget
    or averaged), grouped by ``run_id`` (the source), workload and scale. ``reported``: a source's
    stated speedups, used for a (source, scale) only where no losses of both methods exist.
    ``records``: modded-nanogpt-style steps to a target; the fewest steps of each method are compared.
    """
    rows = _estimated(method, baseline, losses)
    covered = {(r["source"], r["scale"]) for r in rows}
    if reported is not None:
        mine = reported[(reported["method"] == method) & (reported["baseline"] == baseline)]
        rows += [{"source": r.source_id, "workload": r.workload, "scale": r.scale, "params": r.params,
                  "budget_multiple": np.nan, "method": method, "baseline": baseline, "speedup": r.speedup,
                  "kind": "value", "text": f"{r.speedup:.2f}x (reported)", "metric": r.metric, "how": "reported",
                  "citation": r.citation}
                 for r in mine.itertuples() if (r.source_id, r.scale) not in covered]
    if records is not None:
        rows += _steps_ratios(method, baseline, records)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _estimated(method: str, baseline: str, losses: pd.DataFrame) -> list[dict]:
    rows = []
    ok = losses[(losses["status"] == "ok") & losses["final_val_loss"].notna()]
    for (source, workload, scale), g in ok.groupby(["run_id", "workload", "scale"], sort=True):
        base = g[g["method"] == baseline].groupby("budget_multiple")["final_val_loss"].mean()
        mine = g[g["method"] == method].groupby("budget_multiple")["final_val_loss"].mean()
        if base.empty or mine.empty:
            continue
        table = data_speedup(base.index, base.values, mine.index, mine.values)
        citation = g[g["method"] == method].groupby("budget_multiple")["citation"].first()  # the method's row
        rows += [{"source": source, "workload": workload, "scale": scale, "params": g["params"].iloc[0],
                  "budget_multiple": t.budget, "method": method, "baseline": baseline, "speedup": t.speedup,
                  "kind": t.kind, "text": t.text, "metric": "data", "how": "estimator",
                  "citation": citation.get(t.budget)}
                 for t in table.itertuples()]
    return rows


def _steps_ratios(method: str, baseline: str, records: pd.DataFrame) -> list[dict]:
    rows = []
    steps = records[records["steps_to_target"].notna()]
    for track, g in steps.groupby("track", sort=True):
        best = g.sort_values(["steps_to_target", "number"]).groupby("method").head(1).set_index("method")
        if method in best.index and baseline in best.index:
            m, b = best.loc[method], best.loc[baseline]
            rows.append({"source": f"modded_nanogpt_{track}", "workload": "modded-nanogpt", "scale": m["scale"],
                         "params": np.nan, "budget_multiple": np.nan, "method": method, "baseline": baseline,
                         "speedup": (ratio := b["steps_to_target"] / m["steps_to_target"]), "kind": "value",
                         "text": f"{ratio:.2f}x (steps to target)", "metric": "steps", "how": "steps_ratio",
                         "citation": f"results #{m['number']} ({m['steps_to_target']:g} steps) and "
                                     f"#{b['number']} ({b['steps_to_target']:g} steps); {m['citation']}"})
    return rows


def nearest_text(rows: pd.DataFrame, scale_params: float | None, brief: bool = False) -> str:
    """The published figures at the scale closest to a claim's (``replications`` rows), in one phrase:
    "1.29-1.42x at 130m (our estimator on marin losses, 1-4x; > 1.00x at 8x)"; "—" when there are none.
    ``brief``: figure, scale and source only ("1.29-1.42x at 130m (marin_fantastic_optimizers_2025)")."""
    rows = rows[rows["speedup"].notna()]
    if rows.empty:
        return "—"
    if scale_params and rows["params"].notna().any():
        with np.errstate(divide="ignore"):
            gap = (np.log(rows["params"].astype(float)) - np.log(scale_params)).abs()
        rows = rows[rows["scale"] == rows.loc[gap.idxmin(), "scale"]] if gap.notna().any() else rows
    parts = []
    for (source, scale, how), g in rows.groupby(["source", "scale", "how"], sort=False):
        values = g[g["kind"] == "value"]
        bounds = g[g["kind"] != "value"]
        span = (f"{values['speedup'].min():.2f}x" if values["speedup"].nunique() <= 1 else
                f"{values['speedup'].min():.2f}-{values['speedup'].max():.2f}x") if len(values) else ""
        budgets = ", ".join(f"{b:g}x" for b in values["budget_multiple"].dropna())
        extra = "; ".join(f"{t} at {b:g}x" for t, b in zip(bounds["text"], bounds["budget_multiple"], strict=True))
        where = f"{HOW[how]}, {source}" + (f", {budgets}" if budgets else "") + (f"; {extra}" if extra else "")
        parts.append(f"{span or extra} at {scale} ({source if brief else where})")
    return " | ".join(parts)


def beside(method: str, claim, published, brief: bool = False) -> str:
    """The published figures for one claim of ``method`` at the scale nearest the claim's (``nearest_text``);
    ``published``: ``harness.store.published.read_published()``. Only data and steps claims have replications;
    a steps claim without published steps shows the data speedup (the same thing at equal batch size), labelled."""
    if claim.metric not in ("data", "steps"):
        return "—"
    rows = replications(method, claim.baseline, published.losses, published.reported, published.records)
    mine = rows[rows["metric"] == claim.metric]
    if claim.metric == "steps" and mine.empty and (rows["metric"] == "data").any():  # as verify's fallback:
        text = nearest_text(rows[rows["metric"] == "data"], claim.scale_params, brief)  # equal batch sizes
        return f"{text} [data speedup: steps at equal batch size]"
    return nearest_text(mine, claim.scale_params, brief)


def trend_text(method: str, claims, published) -> str:
    """The published trend across the scales of ``claims`` (one claim per model size, e.g. Muon's 1.4x at 0.1B and
    1.1x at 1.2B): the figures nearest each claim's size, small to large, and their direction; "" when fewer than
    two sizes have one."""
    steps = []
    for claim in sorted(claims, key=lambda c: c.scale_params or 0):
        if claim.metric not in ("data", "steps") or not claim.scale_params:
            continue
        rows = replications(method, claim.baseline, published.losses, published.reported, published.records)
        rows = rows[rows["speedup"].notna() & rows["params"].notna() & (rows["kind"] == "value")]
        if rows.empty:
            continue
        gap = (np.log(rows["params"].astype(float)) - np.log(claim.scale_params)).abs()
        near = rows[rows["scale"] == rows.loc[gap.idxmin(), "scale"]]
        if not steps or steps[-1][0] != near["scale"].iloc[0]:
            steps.append((near["scale"].iloc[0], near["speedup"].min(), near["speedup"].max()))
    if len(steps) < 2:
        return ""
    span = lambda lo, hi: f"{lo:.2f}x" if abs(hi - lo) < 0.005 else f"{lo:.2f}-{hi:.2f}x"  # noqa: E731
    first, last = (steps[0][1] + steps[0][2]) / 2, (steps[-1][1] + steps[-1][2]) / 2
    way = "falls" if last < first else "rises" if last > first else "flat"
    return " → ".join(f"{span(lo, hi)} at {scale}" for scale, lo, hi in steps) + f" ({way} with scale)"
