"""Every registered claim beside what was measured: ``per_scale`` and ``per_budget`` read what ``report.judge_claims``
(``engine.judge``, as ``harness verify`` runs it) found once per results folder (``data.bundle``).
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
@st.cache_resource
def all_claims() -> list[tuple[str, str, object]]:
    """(kind, method, claim) for every claim of every importable method (from the catalog: no torch import)."""
    from harness import report

    return report.registered_claims()


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

