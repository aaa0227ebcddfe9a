"""Every registered claim beside what was measured: ``harness.stats.claims.judge_board`` on the full
leaderboard (made against the claim's own baseline), one verdict per claim and scale from
``claims.summarize``. Shared by the first screen, the Claims page and the Method page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, look
from harness import report
from harness.stats import claims

COLORS = {"supported": "#1a7f37", "not supported": "#cf222e", "inconclusive": "#6e7781", "mixed": "#9a6700"}
BADGES = {"supported": ("green", ":material/check_circle:"), "not supported": ("red", ":material/cancel:"),
          "inconclusive": ("gray", ":material/help:"), "mixed": ("orange", ":material/contrast:")}
ORDER = {"supported": 0, "not supported": 1, "mixed": 2, "inconclusive": 3}


@st.cache_resource
def all_claims() -> list[tuple[str, str, object]]:
    """(kind, method, claim) for every claim of every importable method (from the catalog: no torch import)."""
    return report.registered_claims()


def per_budget(df: pd.DataFrame, entries, own_baseline_only: bool = False) -> pd.DataFrame:
    """``claims.judge_board`` of each measured claim on every leaderboard row of its method, per hardware;
    with the claim's method, kind, source and suite beside it. A claim against another baseline than
    its suite's needs a leaderboard of its own (a full recomputation): ``own_baseline_only`` skips those."""
    suites = {suite: data.suite_baseline(suite, df) for suite in df["suite"].unique()}
    ran = set(zip(df["suite"], df["method"]))  # (suite, method) pairs with trials
    path = data.results_path()
    key = data.stamp(path)
    parts = []
    for kind, method, claim in entries:
        own = claim.baseline == suites.get(claim.suite)
        measured = (claim.suite, method) in ran and (claim.suite, claim.baseline) in ran
        if not measured or (own_baseline_only and not own):
            continue
        board, _ = (data.full_board(str(path), key) if own  # the suite's own board is shared with every page
                    else data.full_board(str(path), key, claim.baseline, claim.suite))
        board = board[board["suite"] == claim.suite] if not board.empty else board
        for hardware, part in board.groupby("hardware"):
            judged = claims.judge_board(part, method, [claim])
            if not judged.empty:
                parts.append(judged.assign(hardware=hardware, method=method, kind=kind, source=claim.source,
                                           suite=claim.suite, setting=claim.setting))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def per_scale(judged: pd.DataFrame) -> pd.DataFrame:
    """One verdict per (claim, workload, scale, hardware): ``claims.summarize`` of the rows of each
    hardware, measured claims first (supported, not supported, mixed, inconclusive)."""
    if judged.empty:
        return judged
    keep = ["method", "kind", "source", "suite", "setting"]
    parts = []
    for hardware, part in judged.groupby("hardware"):
        summary = claims.summarize(part)
        claim = ["quote", "baseline", "metric", "claimed"]  # one paper sentence can carry several claims
        extra = part.drop_duplicates(claim).set_index(claim)[keep]
        parts.append(summary.join(extra, on=claim).assign(hardware=hardware))
    out = pd.concat(parts, ignore_index=True)
    out["order"] = out["verdict"].map(ORDER).fillna(9)
    return out.sort_values(["order", "method", "quote", "params"], kind="stable").drop(columns="order").reset_index(
        drop=True)


def badge(verdict: str, text: str | None = None) -> str:
    color, icon = BADGES.get(verdict, ("gray", ":material/help:"))
    return f":{color}-badge[{icon} {text or verdict}]"


def quote(claim) -> str:
    size = f"; model size {claim.scale_params:.3g} parameters" if claim.scale_params else ""
    gpu = " (wall-clock on GPUs)" if claim.hardware == "gpu" else ""
    return f"> “{claim.quote}”\n\n— {look.linked(claim.source)}. Setting: {claim.setting}{size}{gpu}."

