"""Speedup vs scale: each method's data speedup over the baseline at every model scale, at one
budget, one panel per suite, workload and hardware, on a log axis; the range the baseline's budgets
can measure is shaded, intervals are bars (an open end runs to the panel's edge), a speedup known only as a bound
is a triangle ("> 2×"). A panel where no method but the baseline has a speedup is not drawn."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from dashboard import data, look

BOUNDS = {"lower_bound": ">", "upper_bound": "<"}  # data_speedup_kind -> the arrow's direction
TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 50, 100, 200, 500, 1000)


def frame(board: pd.DataFrame) -> pd.DataFrame:
    """The chart's rows: one per (panel, scale, method) with the point, its interval, the bound
    (``bound_value`` and ``bound_dir`` ``>``/``<`` where ``harness.stats`` gives only a bound) and the
    measurable range [lo, hi] of the baseline's budgets at that scale (D_min/D, D_max/D, from the leaderboard);
    ``interval``: the speedup has an interval, open ends included."""
    out = board.copy()
    out["panel"] = out["suite"] + " · " + out["workload"] + " · " + out["hardware"]
    kind = out["data_speedup_kind"]
    bounded = kind.isin(list(BOUNDS))
    out["bound_dir"] = kind.map(BOUNDS)
    out["bound_value"] = out["data_speedup"].where(bounded)
    out["data_speedup"] = out["data_speedup"].where(~bounded)  # a bound is drawn as an arrow, never as a point
    out["bound"] = out["data_speedup_text"].where(bounded).map(look.times).where(bounded)
    out["range_lo"], out["range_hi"] = out["speedup_range_lo"], out["speedup_range_hi"]  # harness.stats' range
    out["ci"] = out["data_speedup_text"].astype(str).str.extract(r"(\[[^\]]*\])")[0]  # as the engine prints it
    out["interval"] = out["ci"].notna()  # open ends included
    out["ci"] = out["ci"].fillna("—")
    keep = out["data_speedup"].notna() | out["bound_value"].notna()
    return out[keep][["panel", "suite", "workload", "hardware", "scale", "params", "budget_multiple", "method",
                      "baseline", "data_speedup", "data_speedup_lo", "data_speedup_hi", "ci", "interval", "bound",
                      "bound_dir", "bound_value", "range_lo", "range_hi", "n_seeds"]].reset_index(drop=True)


def chart(rows: pd.DataFrame, scales: list[str], color: alt.Color) -> alt.LayerChart:
    """One panel: x = scale (small → large), methods side by side, y = speedup on a log axis."""
    values = pd.concat([rows[c] for c in ("data_speedup", "data_speedup_lo", "data_speedup_hi", "bound_value",
                                           "range_lo", "range_hi")]).astype(float)
    values = values[np.isfinite(values) & (values > 0)]
    domain = [min(values.min(), 1.0) / 1.3, max(values.max(), 1.0) * 1.3]
    rows = rows.assign(bar_lo=rows["data_speedup_lo"].fillna(domain[0]), bar_hi=rows["data_speedup_hi"].fillna(
        domain[1]))  # an open end runs to the edge
    x = alt.X("scale:N", sort=scales, title="model scale (small → large)", axis=alt.Axis(labelAngle=0))
    log = alt.Scale(type="log", domain=domain, clamp=True, nice=False)
    ticks = [v for v in TICKS if domain[0] <= v <= domain[1]]
    y = alt.Y("data_speedup:Q", title="speedup (×, log scale)", scale=log, axis=alt.Axis(format="~g", values=ticks))
    offset = alt.XOffset("method:N")
    tooltip = ["method", "scale", "params", "budget_multiple", alt.Tooltip("data_speedup:Q", format=".3f",
                                                                           title="speedup"),
               alt.Tooltip("ci:N", title="95% CI"), "bound", "n_seeds"]
    base = alt.Chart(rows)
    shade = base.mark_bar(color="#dbe9f6", opacity=0.6).encode(
        x=x, y=alt.Y("min(range_lo):Q", scale=log),
        y2="max(range_hi):Q", tooltip=[alt.Tooltip("min(range_lo):Q", format=".2f", title="measurable from"),
                                       alt.Tooltip("max(range_hi):Q", format=".2f", title="measurable up to")])
    one = base.mark_rule(strokeDash=[5, 4], color="gray").encode(y=alt.datum(1.0))
    bars = base.transform_filter("datum.interval").mark_rule(strokeWidth=2).encode(
        x=x, xOffset=offset, y=alt.Y("bar_lo:Q", scale=log), y2="bar_hi:Q", color=color, tooltip=tooltip)
    points = base.transform_filter("isValid(datum.data_speedup)").mark_point(size=110, filled=True).encode(
        x=x, xOffset=offset, y=y, color=color, tooltip=tooltip)
    arrows = base.transform_filter("isValid(datum.bound_value)").mark_point(size=150, filled=True).encode(
        x=x, xOffset=offset, y=alt.Y("bound_value:Q", scale=log), color=color, tooltip=tooltip,
        shape=alt.Shape("bound_dir:N", scale=alt.Scale(domain=[">", "<"], range=["triangle-up", "triangle-down"]),
                        legend=None))
    return alt.layer(shade, one, bars, points, arrows).properties(height=look.height(300, rows))


def drawn(rows: pd.DataFrame) -> bool:
    """A panel is worth drawing when a method other than the baseline has a speedup (a point or a bound)."""
    other = rows[rows["method"] != rows["baseline"]]
    return bool((other["data_speedup"].notna() | other["bound_value"].notna()).any())


def main() -> None:
    opened = data.page("Speedup vs scale", "Data speedup D*/D over the suite's baseline (dashed line at 1×, log "
                       "axis): above the line the method reaches a lower loss than the baseline would with the same "
                       "data. Bars are 95% intervals over seeds; a bar that runs to the panel's edge has an open end "
                       "(beyond what the baseline's budgets can measure: the shaded band); a triangle is only a bound "
                       "(\\> or <).", leaderboard=True)
    if opened is None:
        return
    _, _, board = opened
    rows = frame(board) if not board.empty else pd.DataFrame()
    if rows.empty:
        st.info("No speedups in this view: they need final-phase trials of the baseline and of a method at "
                "two or more budgets of the same scale.")
        return
    budgets = sorted(rows["budget_multiple"].unique())
    measured = rows[rows["data_speedup"].notna() & (rows["method"] != rows["baseline"])]["budget_multiple"]
    counts = measured.value_counts()  # the budget where most speedups are numbers, not bounds (the largest on a tie)
    first = max(counts.index, key=lambda b: (counts[b], b)) if len(counts) else budgets[-1]
    wanted = st.query_params.get("at")
    picked = st.segmented_control("Budget (× Chinchilla)", budgets, format_func=lambda b: f"{b:g}×", key="at",
                                  default=next((b for b in budgets if f"{b:g}" == wanted), first),
                                  help="Beyond the baseline's largest budget a speedup is only a bound, so the page "
                                       "opens at the budget where most speedups are numbers.")
    picked = first if picked is None else picked
    st.query_params["at"] = f"{picked:g}"
    shown = rows[rows["budget_multiple"] == picked]
    missing = board.assign(panel=board["suite"] + " · " + board["workload"] + " · " + board["hardware"])
    missing = missing[(missing["budget_multiple"] == picked) & missing["data_speedup"].isna()
                      & (missing["method"] != missing["baseline"])]
    order = {s: i for i, s in enumerate(data.suite_order())}
    panels = sorted(shown["panel"].unique(), key=lambda p: (order.get(p.split(" · ")[0], len(order)), p))
    fixed, empty = data.colors(), []
    for panel in panels:
        part = shown[shown["panel"] == panel]
        if not drawn(part):
            empty.append(panel)
            continue
        st.subheader(panel, anchor=False)
        st.altair_chart(chart(part, data.scale_order(part), look.method_color(fixed, part)), width="stretch")
        absent = missing[missing["panel"] == panel]
        if len(absent):  # methods the chart cannot draw, and why
            st.caption("Not drawn: " + "; ".join(f"`{m}` at {s}: {look.times(t)}" for m, s, t in zip(
                absent["method"], absent["scale"], absent["data_speedup_text"], strict=True)))
    if empty:
        st.caption(f"Not drawn at {picked:g}× (no method but the baseline has a speedup there: the baseline ran one "
                   "budget, or nothing else ran): " + "; ".join(empty) + ".")
    with st.expander("The numbers behind the charts"):
        st.dataframe(rows.drop(columns=["panel", "bound_dir", "bound_value"]), hide_index=True)


if __name__ == "__main__":  # streamlit runs a page as __main__; tests import it
    main()
