"""Claims: each paper's claim (from the registry's ``Method.claims``) beside what was measured, with
the verdict of ``harness.stats.claims.verify`` and the ``scaled-down`` label."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data
from harness.contracts import registry
from harness.stats import claims as judging

BADGES = {"supported": ("green", ":material/check_circle:"), "not supported": ("red", ":material/cancel:"),
          "inconclusive": ("gray", ":material/help:")}
COLORS = {"supported": "#1a7f37", "not supported": "#cf222e", "inconclusive": "#6e7781"}


def all_claims() -> list[tuple[str, str, object]]:
    """(kind, method, claim) for every claim of every importable method."""
    return [(kind, name, claim) for kind in registry.FOLDERS for name, method in registry.available(kind).items()
            for claim in method.claims]


def claimed_text(claim) -> str:
    if claim.metric in judging.DELTA_METRICS:
        return f"Δ ≥ {claim.factor:+g}"
    if claim.metric in judging.AT_MOST_METRICS:
        return f"≤ {claim.factor:g}×"
    return f"{claim.factor:g}×"


def measurements(df: pd.DataFrame, method: str, claim, chosen: dict) -> pd.DataFrame:
    """``claims.verify`` of one claim on every leaderboard row of the method, per hardware."""
    mine = df[(df["suite"] == claim.suite) & (df["method"].isin([method, claim.baseline]))]
    if mine.empty or method not in set(mine["method"]):
        return pd.DataFrame()
    path = data.results_path()
    baseline = None if claim.baseline == data.suite_baseline(claim.suite) else claim.baseline  # shares the cache
    board, _ = data.board(str(path), data.stamp(path), tuple(sorted(chosen.items())), baseline=baseline)
    board = board[board["suite"] == claim.suite] if not board.empty else board
    parts = []
    for hardware, part in board.groupby("hardware"):
        judged = judging.verify(part, method, [claim])
        if not judged.empty:
            parts.append(judged.assign(hardware=hardware))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def quote(claim) -> str:
    size = f"; model size {claim.scale_params:.3g} parameters" if claim.scale_params else ""
    gpu = " (wall-clock on GPUs)" if claim.hardware == "gpu" else ""
    return f"> “{claim.quote}”\n\n— {claim.source}. Setting: {claim.setting}{size}{gpu}."


def table(judged: pd.DataFrame) -> pd.DataFrame:
    out = judged.copy()
    out["measured"] = out["point"]
    out["CI"] = [data.interval(lo, hi) for lo, hi in zip(out["lo"], out["hi"])]
    out = out[["workload", "scale", "budget_multiple", "hardware", "measured", "CI", "verdict", "labels", "reason"]]
    return out.style.map(lambda v: f"color: {COLORS[v]}; font-weight: 600", subset=["verdict"])


COLUMN_CONFIG = {
    "budget_multiple": st.column_config.NumberColumn("budget", format="%g×", help=data.FILTER_HELP["budget_multiple"]),
    "measured": st.column_config.NumberColumn("measured", format="%.3f", help="Point estimate over seeds."),
    "CI": st.column_config.TextColumn("95% CI", help="Bootstrap confidence interval; the verdict compares it with "
                                                     "the claim."),
    "verdict": st.column_config.TextColumn("verdict", help="supported: the interval excludes 'no effect' and reaches "
                                                          "the claim; not supported: it stays below the claim; "
                                                          "inconclusive: it holds both (or there is none)."),
    "labels": st.column_config.TextColumn("labels", help="scaled-down: measured on a smaller model than the paper's; "
                                                         "estimated energy: CodeCarbon's model, not NVML."),
    "reason": st.column_config.TextColumn("reason", help="The interval and the rule the verdict came from."),
}


def main() -> None:
    st.title("Claims")
    st.caption("What each paper claims, beside what this harness measured. A verdict needs a confidence interval: "
               "supported only when the interval clears 'no speedup' and reaches the claimed factor.")
    entries = all_claims()
    df = data.load()
    if not entries:
        st.info("No registered method carries a claim.")
    elif df is not None:
        chosen = data.sidebar_filters(df, columns=("hardware", "suite_version"))
        view = data.apply_filters(df, chosen)
        overview, details = [], []
        for kind, method, claim in entries:
            judged = measurements(view, method, claim, chosen)
            counts = judged["verdict"].value_counts() if not judged.empty else pd.Series(dtype=int)
            scaled = int(judged["labels"].str.contains("scaled-down").sum()) if len(judged) else 0
            overview.append({"method": method, "kind": kind, "metric": claim.metric, "claimed": claimed_text(claim),
                             "baseline": claim.baseline, "suite": claim.suite, "measurements": len(judged),
                             **{v: int(counts.get(v, 0)) for v in COLORS},
                             "scaled-down": scaled})
            details.append((method, claim, judged))
        st.dataframe(pd.DataFrame(overview), hide_index=True)
        measured = [d for d in details if not d[2].empty]
        for method, claim, judged in measured:
            with st.container(border=True):
                st.markdown(f"#### `{method}` · {claim.metric}: {claimed_text(claim)} vs `{claim.baseline}`")
                st.markdown(quote(claim))
                counts = judged["verdict"].value_counts().items()
                badges = [f":{BADGES[v][0]}-badge[{BADGES[v][1]} {v}: {n}]" for v, n in counts]
                if judged["labels"].str.contains("scaled-down").any():
                    badges.append(":orange-badge[:material/compress: scaled-down]")
                st.markdown(" ".join(badges), help="scaled-down: measured on models smaller than the paper's, so the "
                                                   "verdict is about this scale only.")
                st.dataframe(table(judged), hide_index=True, column_config=COLUMN_CONFIG)
        waiting = [d for d in details if d[2].empty]
        if waiting:
            with st.expander(f"{len(waiting)} claim(s) not measured yet in this view"):
                for method, claim, _ in waiting:
                    st.markdown(f"**`{method}`** · {claim.metric}: {claimed_text(claim)} vs `{claim.baseline}` — run "
                                f"suite `{claim.suite}` with `{method}` and `{claim.baseline}`.\n\n{quote(claim)}")


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
