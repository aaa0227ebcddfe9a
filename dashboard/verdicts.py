"""Every registered claim beside what was measured: ``judge`` runs ``engine.judge`` (as ``harness verify`` does) on
each claim's suite, once per results folder (``data.bundle``); ``per_scale`` and ``per_budget`` read the result.
Shared by the first screen, the Claims page and the Method page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, look
from harness.stats import overview

COLORS = {"supported": "#1a7f37", "not supported": "#cf222e", "inconclusive": "#6e7781", "mixed": "#9a6700",
          "evidence for (scaled-down)": "#4d8f5f", "evidence against (scaled-down)": "#b35a5f",
          "inconclusive (scaled-down)": "#6e7781", "mixed (scaled-down)": "#9a6700"}
BADGES = {"supported": ("green", ":material/check_circle:"), "not supported": ("red", ":material/cancel:"),
          "evidence for (scaled-down)": ("green", ":material/trending_down:"),
          "evidence against (scaled-down)": ("red", ":material/trending_down:"),
          "inconclusive (scaled-down)": ("gray", ":material/help:"),
          "inconclusive": ("gray", ":material/help:"), "mixed": ("orange", ":material/contrast:"),
          "mixed (scaled-down)": ("orange", ":material/contrast:")}
ORDER = {"supported": 0, "not supported": 1, "mixed": 2, "evidence for (scaled-down)": 3,
         "evidence against (scaled-down)": 4, "inconclusive": 5, "inconclusive (scaled-down)": 6}


@st.cache_resource
def all_claims() -> list[tuple[str, str, object]]:
    """(kind, method, claim) for every claim of every importable method (from the catalog: no torch import)."""
    from harness import report

    return report.registered_claims()


def judge(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every registered claim judged on the rows by the engine the CLI uses (``engine.judge`` on the claim's suite,
    the sequential looks replayed): (per-budget rows, one verdict per claim, scale and hardware), with each claim's
    method, kind, source, suite and setting beside it; measured claims first. Slow (seconds per method): the
    dashboard computes it once per results folder (``data.bundle``)."""
    from harness import report
    from harness.stats import engine

    groups: dict[tuple, list] = {}
    for kind, method, claim in all_claims():
        groups.setdefault((kind, method, claim.suite), []).append(claim)
    per, summaries = [], []
    for (kind, method, suite), mine in groups.items():
        rows = df[df["suite"] == suite]
        if rows.empty or method not in set(rows["method"]):
            continue
        pb, summary = engine.judge(rows, method, mine, spaces=report.spaces(rows))
        if summary.empty:
            continue
        about = pd.DataFrame([{"quote": c.quote, "claimed": c.factor, "kind": kind, "source": c.source,
                               "suite": suite, "setting": c.setting} for c in mine])
        about = about.drop_duplicates(["quote", "claimed"])
        per.append(pb.drop(columns=["direct"], errors="ignore").assign(kind=kind, suite=suite))
        summaries.append(summary.drop(columns=["suite"], errors="ignore").merge(about, on=["quote", "claimed"]))
    if not summaries:
        return pd.DataFrame(), pd.DataFrame()
    out = pd.concat(summaries, ignore_index=True)
    out["order"] = out["verdict"].map(ORDER).fillna(9)
    out = out.sort_values(["order", "method", "quote", "params"], kind="stable").drop(columns="order")
    return pd.concat(per, ignore_index=True), out.reset_index(drop=True)


def per_scale(methods: list[str] | None = None) -> pd.DataFrame:
    """One verdict per (claim, workload, scale, hardware) of the results folder (of ``methods`` when given)."""
    summary = data.current()["verdicts"]
    return summary[summary["method"].isin(methods)] if methods is not None and not summary.empty else summary


def per_budget() -> pd.DataFrame:
    """The verdicts' per-budget rows (what each verdict rests on)."""
    return data.current()["per_budget"]


def badge(verdict: str, text: str | None = None, labels: str = "") -> str:
    """A coloured badge; with the verdict's ``labels``, "(scaled-down)" wherever the run was at another model size
    (``overview.scoped``)."""
    verdict = overview.scoped(verdict, labels)
    color, icon = BADGES.get(verdict, ("gray", ":material/help:"))
    return f":{color}-badge[{icon} {text or verdict}]"


def quote(claim) -> str:
    size = f"; model size {claim.scale_params:.3g} parameters" if claim.scale_params else ""
    gpu = " (wall-clock on GPUs)" if claim.hardware == "gpu" else ""
    return f"> “{claim.quote}”\n\n— {look.linked(claim.source)}. Setting: {claim.setting}{size}{gpu}."

